"""The voice factor is an utterance: host reference of the device's utterance embedding.

An utterance (a 1 s word, a 2-3 s phrase) is embedded as the mean of the unit embeddings of the
embedder's T-frame windows laid over the speech, then L2-normalised. Exactly what the firmware
(``firmware/eyeauth_fw/audio.py`` ``utterance_plan`` / ``pipeline.voice_embedding``) does:

  1. VAD (``vad.speech_frames``, 256-sample frames); fewer than 3 speech frames -> no speech
     (DataError here, ``no_speech`` on the device). Speech span [s, e): first to last speech
     frame.
  2. W = (T - 1) * 128 + 256 samples per window. If e - s <= W, or the model allows one
     window: one window centred on the energy centre (``vad.energy_centre``) - the single-word
     input the models were trained on, identical to ``preprocess.voice_input``.
  3. Else the frames run on a grid from s (frame r covers samples s + 128 r .. + 256, zero
     outside the clip); extra = ceil((e - s - W) / 128) frames beyond one window;
     n = min(1 + ceil(extra / hop_frames), max_windows) windows at frame offsets
     o_k = round_half_up(k * extra / (n - 1)), k = 0..n-1 (the first starts at s, the last
     ends at or just past e).
  4. Each frame: pre-emphasis 0.97, Hann 256, |rfft|^2, HTK mel, 10 log10(mel + 1e-10) (the
     absolute log-mel row; the device streams these rows through a ring of T rows, so a frame
     shared by overlapping windows is computed once). Each window: its T rows relative to the
     window's own maximum, clipped at -80 dB, q = round(rel * 255 / 80) + 127 (int8) -> model.
  5. embedding = unit(mean_k unit(dequantized output of window k)).

``hop_frames`` and ``max_windows`` come from the card (``input.preprocess.utterance``), chosen
per model so a 3 s phrase stays inside the ESP32 latency budget (``phrase_latency``).

Evaluation: ``eyeauth models eval --modality voice`` (eyeauth/evaluation/crosseval.py: these
embeddings, scored as the board scores, on Speech Commands and FSDD, single clips and 3-word
phrases made by :func:`phrase_sets`).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from eyeauth.errors import DataError
from eyeauth.models import preprocess as P, vad as V

DEFAULT_UTTERANCE = {"hop_frames": 16, "max_windows": 1}
#: phrase protocol: enrol ENROL_PHRASES phrases made from a speaker's first ENROL_CLIPS clips,
#: score TEST_PHRASES phrases made from the speaker's other clips (enrol and test audio disjoint)
ENROL_CLIPS = 5
ENROL_PHRASES = 5
TEST_PHRASES = 10
NOISE_DB = -30.0


# ---------------------------------------------------------------- the device's computation

def utterance_settings(card):
    u = (card.get("input", {}).get("preprocess", {}) or {}).get("utterance") or {}
    return {"hop_frames": int(u.get("hop_frames", DEFAULT_UTTERANCE["hop_frames"])),
            "max_windows": int(u.get("max_windows", DEFAULT_UTTERANCE["max_windows"]))}


def _as_clip(wav):
    x = np.asarray(wav)
    if x.dtype != np.int16:
        raise DataError(f"voice clips are int16 at 8 kHz, got {x.dtype}; use "
                        "eyeauth.datasets.to_int16")
    x = x.reshape(-1)
    if x.size == 0:
        raise DataError("empty audio clip")
    return x


def plan(wav, n_frames, hop_frames=16, max_windows=1):
    """(first sample of frame row 0, [row offset of each window], rows on the grid).

    Raises DataError when the clip holds no speech (too short, silent or steady noise)."""
    x = _as_clip(wav)
    flags = V.speech_frames(x)
    nsp = int(flags.sum())
    if nsp < V.MIN_SPEECH_FRAMES:
        raise DataError(f"no speech in the clip ({nsp} speech frames of 32 ms, need "
                        f"{V.MIN_SPEECH_FRAMES}; {x.size / P.RATE:.2f} s long): too short, "
                        "silent or steady noise")
    idx = np.flatnonzero(flags)
    s, e = int(idx[0]) * V.FRAME, min((int(idx[-1]) + 1) * V.FRAME, x.size)
    w = P.voice_window_samples(n_frames)
    if e - s <= w or max_windows <= 1:
        return V.energy_centre(x) - w // 2, [0], n_frames
    extra = -(-(e - s - w) // P.HOP)
    n = min(1 + -(-extra // max(1, hop_frames)), max_windows)
    offs = [(2 * k * extra + (n - 1)) // (2 * (n - 1)) for k in range(n)]
    return s, offs, offs[-1] + n_frames


def logmel_rows(wav, start, n_rows, n_mels):
    """Absolute log-mel rows (n_rows, n_mels) float32 of frames at start + 128 r (zero padded)."""
    x = np.asarray(wav, np.int16).reshape(-1)
    n = P.voice_window_samples(n_rows)
    seg = np.zeros(n, np.int16)
    a, b = max(start, 0), min(start + n, x.size)
    if b > a:
        seg[a - start:b - start] = x[a:b]
    f = seg.astype(np.float32) / 32768.0
    y = np.empty_like(f)
    y[0] = f[0]  # sample 0 of every frame has Hann weight 0: the grid start never matters
    y[1:] = f[1:] - 0.97 * f[:-1]
    idx = np.arange(n_rows)[:, None] * P.HOP + np.arange(P.FRAME)[None, :]
    spec = np.abs(np.fft.rfft(y[idx] * P.hann(P.FRAME), n=P.FRAME)) ** 2
    mel = spec.astype(np.float32) @ P.mel_matrix(n_mels, P.FRAME).T
    return (10.0 * np.log10(mel + 1e-10)).astype(np.float32)


def quantize_window(rows):
    """int8 (T, M) model input from T absolute log-mel rows (relative to their own maximum)."""
    rel = np.clip(rows - rows.max(), -P.DB_RANGE, 0.0)
    q = np.round(rel * (255.0 / P.DB_RANGE)) + 127
    return np.clip(q, -128, 127).astype(np.int8)


def _shape(card):
    return tuple(int(v) for v in card["input"]["shape"][1:3])


def tensors(card, wav):
    """The int8 input tensors (T, M) of every window of a clip, in order."""
    t, m = _shape(card)
    u = utterance_settings(card)
    start, offs, n_rows = plan(wav, t, u["hop_frames"], u["max_windows"])
    rows = logmel_rows(wav, start, n_rows, m)
    return [quantize_window(rows[o:o + t]) for o in offs]


def _card(card):
    from eyeauth.models import zoo

    return zoo.load_card(card) if isinstance(card, str) else card


_bytes_cache: dict = {}


def _model(card, flt):
    from eyeauth.models import zoo

    path = Path(card["path"]) if card.get("path") else zoo.tflite_path(card["name"])
    if flt:
        path = path.parent / "float" / path.name
    key = (str(path), path.stat().st_mtime_ns if path.exists() else 0)
    if key not in _bytes_cache:
        if not path.exists():
            raise DataError(f"{path} is missing; run `eyeauth models build`")
        _bytes_cache[key] = path.read_bytes()
    return _bytes_cache[key]


def infer(card, q, flt=False):
    """Dequantized output of one int8 window (T, M) through TFLM (float reference: ``flt``)."""
    from eyeauth.models import tflm

    return tflm.infer(_model(card, flt), q, flt)


def embed(card, wav_int16_8k, flt=False):
    """Unit utterance embedding (float32) of an int16 8 kHz clip of any length: the mean of the
    unit embeddings of its windows (int8 model in TFLM, or the float reference with ``flt``).
    ``card``: a card dict (``zoo.load_card``) or a model name."""
    card = _card(card)
    return windows_embedding(card, tensors(card, wav_int16_8k), flt)


def windows_embedding(card, qs, flt=False):
    """unit(mean of the unit embeddings of the window tensors ``qs``) (float32): the utterance
    embedding, for callers that reuse one clip's tensors (int8 and float)."""
    from eyeauth.models.tflm import unit

    outs = [unit(infer(card, q, flt), np.float64) for q in qs]
    return unit(np.mean(outs, axis=0), np.float64).astype(np.float32)


# ---------------------------------------------------------------- phrases

def trim(wav, margin=0.05):
    """The speech span of a clip (VAD) with ``margin`` seconds either side (whole clip if none)."""
    x = np.asarray(wav, np.int16).reshape(-1)
    span = V.speech_span(x)
    if span is None:
        return x
    m = int(margin * P.RATE)
    return x[max(0, span[0] - m):min(x.size, span[1] + m)]


def make_phrase(clips, rng, gap=(0.1, 0.4), noise_db=NOISE_DB, margin=0.05):
    """One int16 8 kHz phrase: the word clips (one speaker's) trimmed to their speech, joined
    with silent gaps of uniform(gap) seconds, 0.1 s of lead-in and tail, plus white noise
    ``noise_db`` dB under the phrase's speech RMS (None: no noise)."""
    if not clips:
        raise DataError("a phrase needs at least one clip")
    lead = np.zeros(int(0.1 * P.RATE), np.float64)
    parts = [lead]
    for k, c in enumerate(clips):
        if k:
            parts.append(np.zeros(int(round(rng.uniform(*gap) * P.RATE))))
        parts.append(trim(c, margin).astype(np.float64))
    parts.append(lead)
    x = np.concatenate(parts)
    if noise_db is not None:
        speech = np.concatenate([trim(c, 0).astype(np.float64) for c in clips])
        rms = np.sqrt(np.mean(speech ** 2) + 1e-9)
        x = x + rng.normal(0, rms * 10 ** (noise_db / 20), x.size)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def phrase_sets(dataset_dir, speakers, n_words=3, n_phrases=ENROL_PHRASES + TEST_PHRASES,
                seed=5, enrol_phrases=ENROL_PHRASES, enrol_clips=ENROL_CLIPS):
    """{speaker: [int16 phrases]} for evaluation. The first ``enrol_phrases`` phrases of a
    speaker are made of ``n_words`` distinct clips drawn from the speaker's first
    ``enrol_clips`` clips (natural order, as the single-clip protocol enrols them); the other
    ``n_phrases - enrol_phrases`` from the remaining clips only (test audio never enrolled).
    Random draws, gaps and noise from ``seed`` and the speaker's position in ``speakers``."""
    from eyeauth import datasets

    ds = datasets.scan(dataset_dir, "voice").subset(list(speakers))
    out = {}
    for k, spk in enumerate(speakers):
        rng = np.random.default_rng([seed, k])
        clips = [datasets.load_audio(p) for p in ds.files[spk]]
        enrol, rest = clips[:enrol_clips], clips[enrol_clips:]
        if len(enrol) < n_words or len(rest) < n_words:
            raise DataError(f"speaker {spk} has {len(clips)} clips; phrases of {n_words} words "
                            f"need {enrol_clips + n_words}")
        phr = []
        for i in range(n_phrases):
            pool = enrol if i < enrol_phrases else rest
            pick = rng.choice(len(pool), n_words, replace=False)
            phr.append(make_phrase([pool[j] for j in pick], rng))
        out[spk] = phr
    return out


# ---------------------------------------------------------------- latency

_VM_LATENCY = r"""
import sys, time, gc
sys.path.insert(0, %(fw)r)
from array import array
from eyeauth_fw import audio
x = array("h", open(%(clip)r, "rb").read())
T, M, H, K = %(t)d, %(m)d, %(hop)d, %(maxw)d
def run():
    t0 = time.ticks_us()
    ok, c, nsp, peak, s, e = audio.vad_span(x)
    audio.clipped_fraction(x)
    t1 = time.ticks_us()
    start, offs = audio.utterance_plan(c, s, e, T, H, K)
    gc.collect()  # as pipeline.voice_embedding: one collection, then every 64 KB allocated
    gc.threshold(65536)
    lm = audio.LogMel(T, M)
    done = -1
    rows = 0
    for o in offs:
        r = max(o, done + 1)
        while r < o + T:
            lm.row(x, start + r * audio.HOP, r)
            r += 1
            rows += 1
        done = o + T - 1
        lm.window(o)
    t2 = time.ticks_us()
    gc.threshold(-1)
    return time.ticks_diff(t1, t0), time.ticks_diff(t2, t1), len(offs), rows
run()
best = None
for _ in range(%(rep)d):  # the fastest of each part (a shared host only ever adds time)
    gc.collect()
    r = run()
    best = r if best is None else (min(best[0], r[0]), min(best[1], r[1]), r[2], r[3])
print(*best)
"""


def latency_clip(seconds=3.0, seed=0):
    """A worst-case test utterance: ``seconds`` of speech-like noise (4 Hz syllable envelope,
    loud at both ends), so the VAD's speech span is the whole clip."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * P.RATE)) / P.RATE
    env = 0.03 + 0.97 * (0.5 + 0.5 * np.cos(2 * np.pi * 4 * t))
    return np.clip(rng.normal(0, 3000, t.size) * env, -32768, 32767).astype(np.int16)


def phrase_latency(card, seconds=3.0, board="esp-eye", repeats=5):
    """Modeled ESP32 ms of the whole voice path for ``seconds`` of speech (``latency_clip``):
    the firmware's VAD + clipping check, its streamed log-mel rows and window tensors with the
    pipeline's garbage collections (timed in
    the MicroPython VM, x the board's python_speed_factor) + windows x the model's modeled
    inference latency (timing model)."""
    import tempfile

    from eyeauth import FIRMWARE_DIR, mpvm
    from eyeauth.board.configs import load_board

    t, m = _shape(card)
    u = utterance_settings(card)
    cfg = load_board(board)
    factor = float(cfg.get("python_speed_factor") or 1.0)
    with tempfile.TemporaryDirectory() as d:
        clip = Path(d) / "clip.bin"
        latency_clip(seconds).tofile(clip)
        script = _VM_LATENCY % {"fw": str(FIRMWARE_DIR), "clip": str(clip), "t": t, "m": m,
                                "hop": u["hop_frames"], "maxw": u["max_windows"],
                                "rep": repeats}
        heap = int(cfg.get("micropython_heap_bytes") or 2097152)
        r = mpvm.run(script, heap_bytes=heap, timeout=300, what="timing the voice path",
                     error=DataError)
    vad_us, lm_us, n, rows = (int(v) for v in r.stdout.split())
    from eyeauth.timing import card_latency_ms

    nn = card_latency_ms(card, cfg["chip"])
    vad_ms, lm_ms = vad_us * factor / 1000.0, lm_us * factor / 1000.0
    import hashlib

    fw = hashlib.sha256(b"".join((Path(FIRMWARE_DIR) / "eyeauth_fw" / f).read_bytes()
                                 for f in ("audio.py", "pipeline.py"))).hexdigest()[:12]
    return {"seconds": seconds, "board": board, "python_speed_factor": factor, "windows": n,
            "firmware": fw,
            "rows": rows, "vad_ms": round(vad_ms, 1), "logmel_ms": round(lm_ms, 1),
            "nn_ms": round(nn * n, 1), "total_ms": round(vad_ms + lm_ms + nn * n, 1)}


def update_latency(name, out_dir=None, repeats=15):
    """Re-time the voice path of a card (the VM is timed on a shared host: the fastest of
    ``repeats`` runs is the stable figure) and write ``latency_phrase_3s_ms`` on it."""
    from eyeauth.models import zoo

    card = zoo.load_card(name, out_dir)
    new = phrase_latency(card, repeats=repeats)
    old = card.get("latency_phrase_3s_ms") or {}
    same = all(old.get(k) == new[k] for k in ("firmware", "windows", "rows", "nn_ms"))
    if same:  # interference only ever adds time: keep the fastest of each part seen
        for k in ("vad_ms", "logmel_ms"):
            new[k] = min(new[k], old[k])
        new["total_ms"] = round(new["vad_ms"] + new["logmel_ms"] + new["nn_ms"], 1)
    card["latency_phrase_3s_ms"] = new
    return zoo.save_card(card, out_dir)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m eyeauth.models.voice_phrase",
                                 description="modeled ESP32 time of the whole voice path of a 3 s "
                                             "phrase (VAD, streamed log-mel, every window's "
                                             "inference); the voice sets' figures are `eyeauth "
                                             "models eval --modality voice`")
    ap.add_argument("--models", nargs="*", help="voice models (default: all)")
    ap.add_argument("--latency", action="store_true", help="modeled ms of a 3 s phrase")
    ap.add_argument("--update-latency", action="store_true",
                    help="re-time the 3 s voice path of the built voice models onto their cards")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if not (a.latency or a.update_latency):
        ap.error("give --latency or --update-latency")
    from eyeauth.models import zoo

    cards = [c for c in zoo.list_models(modality="voice") if not a.models or c["name"] in a.models]
    out = {}
    if a.update_latency:
        for c in cards:
            c = update_latency(c["name"])
            print(f"{c['name']}: 3 s phrase {c['latency_phrase_3s_ms']['total_ms']} ms modeled")
    if a.latency:
        out["latency_3s"] = {c["name"]: phrase_latency(c) for c in cards}
    if a.json:
        print(json.dumps(out, indent=1))
        return 0
    for m, lat in out.get("latency_3s", {}).items():
        print(f"{m}: 3 s phrase {lat['total_ms']} ms modeled on the ESP32 ({lat['windows']} "
              f"windows, {lat['rows']} log-mel rows: vad {lat['vad_ms']} + log-mel "
              f"{lat['logmel_ms']} + nn {lat['nn_ms']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
