"""Inputs for the board: images to 8-bit grey frames, audio to 8 kHz int16, with clear errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from eyeauth.errors import DataError

MAX_W, MAX_H = 640, 480


def load_frame(path) -> np.ndarray:
    from eyeauth.datasets import load_image

    path = Path(path)
    if not path.is_file():
        raise DataError(f"image {path} not found")
    try:
        img = np.asarray(load_image(path))
    except Exception as exc:
        raise DataError(f"{path} is not an image this tool reads (pgm, png, jpg): {str(exc)[:80]}") from None
    if img.ndim == 3:
        img = (img[..., :3].astype(np.int32) @ np.array([77, 150, 29]) >> 8).astype(np.uint8)
    if img.ndim != 2:
        raise DataError(f"{path} has shape {img.shape}; give a grey or colour photo")
    return fit_frame(img.astype(np.uint8), str(path))


def fit_frame(img: np.ndarray, what: str = "image") -> np.ndarray:
    """The camera frame the board's QVGA camera would give for a photo (320x240 grey:
    ``face_data.camera_frame``, letterboxed to 4:3 with grey 128)."""
    from eyeauth.models.face_data import camera_frame

    h, w = img.shape
    if w < 32 or h < 32:
        raise DataError(f"{what} is {w}x{h}: the board needs at least 32x32 pixels")
    return camera_frame(img)


def load_clip(path) -> np.ndarray:
    from eyeauth.datasets import load_audio

    path = Path(path)
    if not path.is_file():
        raise DataError(f"audio file {path} not found")
    try:
        x = load_audio(path, 8000)
    except Exception as exc:
        raise DataError(f"{path} is not a WAV file this tool reads: {str(exc)[:80]}") from None
    x = np.asarray(x)
    if x.dtype != np.int16:
        x = np.clip(np.round(np.asarray(x, np.float64) * 32767), -32768, 32767).astype(np.int16)
    if x.size < 800:
        raise DataError(f"{path} is shorter than 0.1 s")
    return x[: 8000 * 4]
