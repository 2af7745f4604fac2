"""Recipe of the voice embedders: CosFace over training speakers x speed factors, distilled
towards Resemblyzer; each training sample is one model window placed where the utterance path
(``voice_phrase.plan``) places windows: on the energy centre of a short word, anywhere inside
the speech span of a longer one."""
from __future__ import annotations

import numpy as np

from eyeauth import datasets
from eyeauth.models import preprocess as P
from eyeauth.training import Trained

RECIPE = "voice/2"  # 2: features from the audio front end (models/audio_fe.tflite) instead of the numpy log-mel
TEACHER = "resemblyzer-0.1.4/v1: Resemblyzer VoiceEncoder 0.1.4 (GE2E), 8 kHz clips resampled to 16 kHz"

VOICE_SPEEDS = (0.80, 0.85, 0.90, 0.95, 1.0, 1.05, 1.10, 1.15, 1.20)  # an entry without "speeds"



def train(entry, data, out_dir):
    from eyeauth.models import vad, voice_teacher
    from eyeauth.training import audio, loops

    tr = data.train_ids
    frames, mels = entry["input"]
    speeds = tuple(entry.get("speeds", VOICE_SPEEDS))
    items = data.ds.subset(tr).items()
    base = [datasets.load_audio(p) for _, p in items]
    clips, cls = [], []
    for k, f in enumerate(speeds):  # a speed-perturbed speaker is a new class
        for wav, (ident, _) in zip(base, items):
            clips.append(wav if f == 1.0 else audio.speed(wav, f))
            cls.append(k * len(tr) + tr.index(ident))
    cls = np.array(cls)
    win = P.voice_window_samples(frames)
    spans = []
    for wav in clips:
        sp = vad.speech_span(wav) or (0, wav.size)
        spans.append((sp[0], sp[1], vad.energy_centre(wav)))
    n = entry["samples_per_epoch"]
    distill = float(entry.get("distill", 0.0))
    if distill > 0:  # teacher embedding of every (speed-perturbed) training clip, cached
        t_all = voice_teacher.embed(clips, mode=entry.get("teacher_mode", "pad"))
        mean = t_all.mean(0)
        t_all = voice_teacher.project(t_all, voice_teacher.pca_basis(t_all, entry["emb_dim"]),
                                      mean)

    def sample(i, rng):
        x = clips[i].astype(np.float64) * rng.uniform(0.3, 2.0)
        rms = np.sqrt(np.mean(x ** 2) + 1e-9)
        if rng.random() < 0.8:  # white or pinkish noise, 5-40 dB SNR
            noise = rng.normal(0, 1, x.size)
            if rng.random() < 0.5:
                noise = np.convolve(noise, np.ones(4) / 2, mode="same")
            x = x + noise * rms / (10 ** (rng.uniform(5, 40) / 20))
        x = np.clip(x, -32768, 32767).astype(np.int16)
        s, e, c = spans[i]
        if e - s <= win:
            centre = c + int(rng.integers(-800, 801))
        else:
            centre = int(rng.integers(s + win // 2, e - win // 2 + 1))
        return P.voice_input(x, frames, mels, centre=centre)

    def make_epoch(rng):
        idx = rng.integers(0, len(clips), n)
        x = np.stack([sample(i, rng) for i in idx])
        return (x, cls[idx], t_all[idx]) if distill > 0 else (x, cls[idx])

    n_classes = len(tr) * len(speeds)
    model = loops.train_embedder(entry, make_epoch, n_classes, entry["epochs"], entry["seed"],
                             entry["lr"], batch=int(entry.get("batch", 64)))
    rng = np.random.default_rng(entry["seed"] + 7)
    pick = rng.choice(len(base), min(300, len(base)), replace=False)
    rep = [P.to_float(P.voice_input(base[i], frames, mels))[..., None] for i in pick]
    method = (f"CosFace (s=20, m=0.25) over speaker x speed classes ({len(tr)} Speech Commands "
              f"`train` speakers x speeds {list(speeds)}: speed perturbation moves pitch and "
              "tempo together; no separate pitch shift); gain 0.3-2, white/pink noise at 5-40 dB "
              "SNR (80%); the window is placed at a random position inside the speech span of "
              "a word longer than the window (else on its energy centre +-0.1 s), as the "
              "utterance path places its windows")
    if distill > 0:
        method += (f"; distillation weight {distill}: 1 - cos to Resemblyzer's speaker "
                   f"embedding (the 8 kHz clip resampled to 16 kHz, zero-padded to 1.6 s; "
                   f"centred, PCA to {entry['emb_dim']} d) of the same speed-perturbed clip")
    method += ("; 8 kHz front end kept: " + entry["rate_reason"]) if entry.get("rate_reason") else ""
    training = {"data": entry["data"], "split": entry.get("split"),
                "identities": tr, "heldout_identities": data.eval_ids,
                "seed": entry["seed"], "epochs": entry["epochs"],
                "samples_per_epoch": n,
                "classes": f"{len(tr)} speakers x speeds {list(speeds)} = {n_classes}",
                "teacher": "Resemblyzer VoiceEncoder 0.1.4" if distill > 0 else None,
                "method": method,
                "credit": entry.get("credit")}
    return Trained(model, rep, training)
