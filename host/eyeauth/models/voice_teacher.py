"""Speaker-encoder teacher for the voice embedders: Resemblyzer's VoiceEncoder (GE2E, 256-d).

Only used at training time on the host (distillation); never on the device. Needs
``torch`` and ``resemblyzer`` (weights ship inside the resemblyzer wheel, nothing is downloaded at
run time); both are imported lazily so the rest of eyeauth works without them.

API
  embed(clips, rate=8000, mode="pad", cache_dir=DEFAULT_CACHE) -> float32 (n, 256), unit rows
      Teacher embeddings of int16 clips. Each clip is resampled to 16 kHz (scipy resample_poly),
      volume-normalised to -30 dBFS (increase only, as Resemblyzer's preprocess_wav), long
      silences trimmed by webrtcvad (skipped when that would leave < 0.2 s), then:
        mode "pad":  ``embed_utterance`` as is (zero padding to 1.6 s; the build uses this:
                     23 % EER on FSDD theo/yweweler, 14.8 % on all six speakers);
        mode "tile": the clip is repeated end to end up to Resemblyzer's 1.6 s partial;
        mode "raw":  the LSTM is run over the clip's own mel frames (no padding).
      Results are cached on disk, one .npy per clip, keyed by sha256(mode, rate, clip bytes).
  project(t, basis) -> float32 (n, d) unit rows: t @ basis, renormalised.
  pca_basis(t, d) -> float32 (256, d): principal axes of teacher embeddings (mean-centred
      directions; the projection keeps the centring off, see ``project``).
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from eyeauth.errors import ModelError
from eyeauth.models.progress import Steps

DEFAULT_CACHE = Path(os.environ.get("EYEAUTH_TEACHER_CACHE",
                                    Path.home() / ".cache" / "eyeauth" / "teacher"))
TEACHER_RATE = 16000
EMB_DIM = 256
_VERSION = b"resemblyzer-0.1.4/v1"


@lru_cache(maxsize=1)
def _encoder():
    try:
        import torch
        from resemblyzer import VoiceEncoder
    except ImportError as e:
        raise ModelError(f"the voice teacher needs torch and resemblyzer ({e.name} is missing): "
                         "pip install -e '.[train]'") from None
    torch.set_num_threads(1)

    return VoiceEncoder(device="cpu", verbose=False)


def _key(wav, rate, mode):
    h = hashlib.sha256(_VERSION)
    h.update(f"{mode}/{rate}/".encode())
    h.update(np.ascontiguousarray(wav, np.int16).tobytes())
    return h.hexdigest()


def prepare(wav, rate=8000):
    """int16 clip at ``rate`` -> float32 16 kHz waveform as Resemblyzer's preprocess_wav."""
    from math import gcd

    from resemblyzer.audio import normalize_volume, trim_long_silences
    from scipy.signal import resample_poly

    x = np.asarray(wav, np.int16).reshape(-1).astype(np.float32) / 32768.0
    if rate != TEACHER_RATE:
        g = gcd(rate, TEACHER_RATE)
        x = resample_poly(x, TEACHER_RATE // g, rate // g).astype(np.float32)
    if np.sqrt(np.mean(x ** 2)) > 1e-6:
        x = normalize_volume(x, -30, increase_only=True).astype(np.float32)
    trimmed = trim_long_silences(x)
    if trimmed.size >= 0.2 * TEACHER_RATE:
        x = trimmed
    return np.clip(x, -1.0, 1.0).astype(np.float32)


def _embed_one(x, mode):
    import torch
    from resemblyzer import audio
    from resemblyzer.hparams import partials_n_frames, mel_window_step

    enc = _encoder()
    if mode == "tile":
        need = partials_n_frames * mel_window_step * TEACHER_RATE // 1000
        if x.size < need:
            x = np.tile(x, int(np.ceil(need / max(x.size, 1))))[:need]
        return enc.embed_utterance(x)
    if mode == "pad":
        return enc.embed_utterance(x)
    if mode == "raw":
        mel = audio.wav_to_mel_spectrogram(x)
        with torch.no_grad():
            e = enc(torch.from_numpy(mel[None])).numpy()[0]
        return e / max(np.linalg.norm(e), 1e-12)
    raise ValueError(f"unknown teacher mode {mode!r}")


def embed(clips, rate=8000, mode="pad", cache_dir=DEFAULT_CACHE, progress=True):
    """Unit teacher embeddings (n, 256) float32 of a list of int16 clips at ``rate`` Hz."""
    cache = Path(cache_dir) if cache_dir else None
    out = np.zeros((len(clips), EMB_DIM), np.float32)
    steps = Steps("voice teacher", len(clips), every=10 if progress else 1e9)
    for i, wav in enumerate(clips):
        steps.tick()
        f = None
        if cache is not None:
            k = _key(wav, rate, mode)
            f = cache / k[:2] / f"{k}.npy"
            if f.exists():
                out[i] = np.load(f)
                continue
        e = _embed_one(prepare(wav, rate), mode).astype(np.float32)
        e /= max(float(np.linalg.norm(e)), 1e-12)
        out[i] = e
        if f is not None:
            f.parent.mkdir(parents=True, exist_ok=True)
            tmp = f.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, e)
            os.replace(tmp, f)
    return out


def pca_basis(t, d):
    """(256, d) principal axes of the teacher embeddings ``t`` (rows)."""
    t = np.asarray(t, np.float64)
    _, _, vt = np.linalg.svd(t - t.mean(0), full_matrices=False)
    return vt[:d].T.astype(np.float32)


def project(t, basis, mean=None):
    """Project teacher embeddings onto ``basis`` (optionally after subtracting ``mean``) and
    renormalise the rows."""
    t = np.asarray(t, np.float32)
    if mean is not None:
        t = t - mean
    p = t @ basis
    return (p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)).astype(np.float32)
