"""The VAD before and after the audio front end, on the evaluation sets: refused speech (speech
clips the board would answer `no_speech`) and accepted silence (clips without speech it would
take for speech), and how often the two decide alike.

Before: the VAD of c076b0e (eyeauth/models/vad.py then: frame energies from the samples in
float64, dB = 10 log10(mean x^2 + 1)); it is reproduced below as the reference. After: the
board's VAD now (models/vad.py: the front end's frame levels, firmware speech.py's integer
decisions).

Speech: Speech Commands eval speakers' clips (all), FSDD (all 3,000 clips), the 3-word phrases of
both (voice_phrase.phrase_sets, seed 5). Without speech: digital silence, white and pink noise
at RMS 3 .. 3000 LSB, 50 Hz hum, 1 s and 3 s long, 5 seeds each.

    python3 bench/vad_compare.py [--json]
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from eyeauth import datasets, splits
from eyeauth.models import vad, voice_phrase


# ---------------------------------------------------------------- the VAD of c076b0e
def old_frame_db(wav, frame=256):
    x = np.asarray(wav, np.int16).reshape(-1).astype(np.float64)
    n = max(1, -(-x.size // frame))
    pad = np.zeros(n * frame)
    pad[:x.size] = x
    return 10.0 * np.log10((pad.reshape(n, frame) ** 2).mean(axis=1) + 1.0)


def old_speech_frames(wav):
    db = old_frame_db(wav)
    noise, peak = np.percentile(db, 10), db.max()
    if db.size >= 16 and peak - noise < 12.0:
        return np.zeros(db.size, bool)
    return db >= max(min(noise + 12.0, peak - 6.0), peak - 30.0, 35.0)


def old_has_speech(wav):
    return int(old_speech_frames(wav).sum()) >= 3


# ---------------------------------------------------------------- sets
def speech_sets():
    sc = datasets.scan(splits.folder("speech_commands", None), "voice")
    sc_ids = splits.identities("speech_commands", "eval")
    fs = datasets.scan(splits.folder("fsdd", None), "voice")
    fs_ids = splits.identities("fsdd", "eval")
    out = {"sc": [datasets.load_audio(p) for _, p in sc.subset(sc_ids).items()],
           "fsdd": [datasets.load_audio(p) for _, p in fs.subset(fs_ids).items()]}
    for name, folder, ids in (("sc_phrase", splits.folder("speech_commands", None), sc_ids),
                              ("fsdd_phrase", splits.folder("fsdd", None), fs_ids)):
        ps = voice_phrase.phrase_sets(folder, ids, seed=5)
        out[name] = [x for s in ids for x in ps[s]]
    return out


def silence_set():
    clips = []
    for seconds in (1.0, 3.0):
        n = int(seconds * 8000)
        clips.append(np.zeros(n, np.int16))
        for seed in range(5):
            rng = np.random.default_rng([seed, n])
            for rms in (3, 10, 30, 100, 300, 1000, 3000):
                w = rng.normal(0, rms, n)
                pink = np.cumsum(rng.normal(0, 1, n))
                pink = (pink - np.convolve(pink, np.ones(64) / 64, "same"))
                pink *= rms / (pink.std() + 1e-9)
                t = np.arange(n) / 8000
                hum = rms * 1.4 * np.sin(2 * np.pi * 50 * t + seed)
                for x in (w, pink, hum + rng.normal(0, rms / 10, n)):
                    clips.append(np.clip(np.round(x), -32768, 32767).astype(np.int16))
    return clips


def compare():
    res = {}
    sets = speech_sets()
    sets["no_speech"] = silence_set()
    for name, clips in sets.items():
        old = np.array([old_has_speech(x) for x in clips])
        new = np.array([vad.has_speech(x) for x in clips])
        frames_same = np.mean([np.array_equal(old_speech_frames(x), vad.speech_frames(x))
                               for x in clips])
        row = {"clips": len(clips), "same_decision": round(float(np.mean(old == new)), 4),
               "same_speech_frames": round(float(frames_same), 4)}
        if name == "no_speech":
            row.update(accepted_before=int(old.sum()), accepted_after=int(new.sum()),
                       accepted_silence_before=round(float(old.mean()), 4),
                       accepted_silence_after=round(float(new.mean()), 4))
        else:
            row.update(refused_before=int((~old).sum()), refused_after=int((~new).sum()),
                       refused_speech_before=round(float((~old).mean()), 4),
                       refused_speech_after=round(float((~new).mean()), 4))
        res[name] = row
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    res = compare()
    if a.json:
        print(json.dumps(res, indent=1))
        return 0
    for name, r in res.items():
        if name == "no_speech":
            what = (f"accepted silence {r['accepted_before']} -> {r['accepted_after']} of "
                    f"{r['clips']}")
        else:
            what = f"refused speech {r['refused_before']} -> {r['refused_after']} of {r['clips']}"
        print(f"{name:12s} {what}; same decision {100 * r['same_decision']:.1f} %, same speech "
              f"frames {100 * r['same_speech_frames']:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
