"""Seeded augmentation of the premodel's probes, so that easy and hard inputs both exist.

Images: 1-3 of brightness, contrast, gamma, Gaussian blur, Gaussian noise (each from mild to
severe), and on every second augmented version the face placed small or large into a textured
QVGA scene (``eyeauth.training.synth.scene_frame``), the frame a camera gives. Audio: 1-3 of gain
(-30..+12 dB), a muffled microphone (moving-average low-pass), white or pink noise at -5..40 dB
SNR, noise-only padding of up to 0.6 s on each side. Variant 0 is always the file itself.
"""
from __future__ import annotations

import numpy as np

from eyeauth.models import vad

CLIPPED_MAX = 0.05  # pipeline.voice_check rejects clips more than 5 % clipped


def _blur(img, sigma):
    from PIL import Image, ImageFilter

    return np.asarray(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
                      .filter(ImageFilter.GaussianBlur(sigma)), np.float32)


def augment_image(img, rng):
    """A photometrically degraded copy (uint8): 1-3 of brightness, contrast, gamma, blur, noise,
    each with a random strength from none to severe."""
    x = np.asarray(img, np.float32)
    ops = rng.choice(5, size=int(rng.integers(1, 4)), replace=False)
    for op in sorted(ops):
        s = rng.uniform(0.2, 1.0)
        if op == 0:
            x = x + rng.choice([-1, 1]) * s * 100
        elif op == 1:
            x = (x - x.mean()) * (1 - 0.8 * s if rng.random() < 0.7 else 1 + 0.8 * s) + x.mean()
        elif op == 2:
            x = 255 * (np.clip(x, 0, 255) / 255) ** (1 + s * rng.choice([-0.6, 1.5]))
        elif op == 3:
            x = _blur(x, 0.5 + 3.5 * s)
        else:
            x = x + rng.normal(0, 3 + 30 * s, x.shape)
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def face_probe(img, variant, rng):
    """The frame the camera gives for variant ``variant`` of a face image (uint8 2-D)."""
    from eyeauth.training import synth

    if variant == 0:
        return np.asarray(img, np.uint8)
    if variant % 2 == 1:
        return augment_image(img, rng)
    frame, _ = synth.scene_frame(np.asarray(img, np.uint8), rng, min_frac=0.2, max_frac=0.95)
    return augment_image(frame, rng) if rng.random() < 0.5 else frame


def augment_audio(wav, rng):
    """A degraded copy (int16): gain, white or pink noise at -5..40 dB SNR, noise-only
    padding, or a muffled microphone (first-order low-pass), 1-3 of them."""
    x = np.asarray(wav, np.float64)
    rms = float(np.sqrt(np.mean(x * x))) + 1.0
    ops = rng.choice(4, size=int(rng.integers(1, 4)), replace=False)
    noise_rms = 0.0
    for op in sorted(ops):
        if op == 0:
            x = x * 10 ** rng.uniform(-1.5, 0.6)
        elif op == 1:
            k = int(rng.integers(8, 40))
            kern = np.ones(k) / k
            x = np.convolve(x, kern, mode="same")
        elif op == 2:
            noise_rms = rms * 10 ** (-rng.uniform(-5, 40) / 20)
        else:
            pad = rng.integers(0, 4800, 2)
            x = np.concatenate([np.zeros(pad[0]), x, np.zeros(pad[1])])
            noise_rms = max(noise_rms, rms * 10 ** (-rng.uniform(15, 45) / 20))
    if noise_rms:
        n = rng.normal(0, 1, x.size)
        if rng.random() < 0.5:  # pink-ish: integrated white noise, high-passed
            n = np.cumsum(n)
            n -= np.convolve(n, np.ones(64) / 64, mode="same")
        n *= noise_rms / (float(np.sqrt(np.mean(n * n))) + 1e-9)
        x = x + n
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def voice_probe(wav, variant, rng):
    return np.asarray(wav, np.int16) if variant == 0 else augment_audio(wav, rng)


def voice_ok(wav):
    """The board's voice check (pipeline.voice_check): speech present, at most 5 % clipped."""
    x = np.asarray(wav, np.int16)
    clipped = float(np.mean((x >= 32767) | (x <= -32768))) if x.size else 1.0
    return x.size > 0 and clipped <= CLIPPED_MAX and vad.has_speech(x)
