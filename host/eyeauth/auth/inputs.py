"""Inputs for the board, checked on the host before a port opens: images to 8-bit grey frames,
audio to 8 kHz mono int16. A file the board could take after a lossless-enough conversion is
converted and the conversion named (``notes``: one line per file); anything else is refused with
one line that says what to record. Nothing is cut silently: a clip longer than the board takes
is refused, not trimmed."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from eyeauth.errors import DataError

MAX_W, MAX_H = 640, 480
IMAGE_EXT = {".pgm", ".png", ".jpg", ".jpeg", ".bmp"}
AUDIO_EXT = {".wav"}
RATE = 8000
MAX_CLIP_S = 4.0   # the board's limit: firmware inputs.MAX_CLIP, 64000 bytes of 8 kHz int16
MIN_CLIP_S = 0.1


def files(path, modality: str, n: int | None = None) -> list[Path]:
    """The face images or voice WAVs of a folder (sorted; the first ``n``), or the one file
    given; DataError (one line) when there is none."""
    ext, what = (IMAGE_EXT, "face image") if modality == "face" else (AUDIO_EXT, "voice clip")
    path = Path(path).expanduser()
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{what} {path} not found: give a folder of them or one file")
    found = sorted(p for p in path.iterdir() if p.suffix.lower() in ext)
    if not found:
        raise DataError(f"no {what} files ({', '.join(sorted(ext))}) in {path}")
    return found[:n] if n else found


def read_frame(path) -> tuple[np.ndarray, list[str]]:
    """(8-bit grey frame the board takes, conversion notes) of an image file."""
    from eyeauth.datasets import load_image

    path = Path(path)
    if not path.is_file():
        raise DataError(f"image {path} not found")
    try:
        from PIL import Image

        with Image.open(path) as im:
            mode = im.mode
        img = np.asarray(load_image(path))
    except Exception as exc:
        raise DataError(f"{path} is not an image this tool reads (pgm, png, jpg): "
                        f"{str(exc)[:80]}") from None
    notes = [] if mode in ("L", "1", "I;16", "I") else [f"{mode} converted to 8-bit grey"]
    img, scaled = _fit(img.astype(np.uint8), str(path))
    if scaled:
        notes.append(scaled)
    return img, [f"{path.name}: {', '.join(notes)}"] if notes else []


def load_frame(path) -> np.ndarray:
    return read_frame(path)[0]


def _fit(img, what):
    """The camera frame the board's QVGA camera would give for a photo (320x240 grey:
    ``camera.camera_frame``, letterboxed to 4:3 with grey 128), and a note when the photo
    was not already one."""
    from eyeauth.camera import QVGA, camera_frame

    h, w = img.shape
    if w < 32 or h < 32:
        raise DataError(f"{what} is {w}x{h}: the board needs at least 32x32 pixels")
    if (h, w) == QVGA:
        return img, None
    return camera_frame(img), (f"framed as the board's {QVGA[1]}x{QVGA[0]} camera would see it "
                               f"(from {w}x{h})")


def fit_frame(img: np.ndarray, what: str = "image") -> np.ndarray:
    return _fit(img, what)[0]


def read_clip(path) -> tuple[np.ndarray, list[str]]:
    """(8 kHz mono int16 clip the board takes, conversion notes) of a WAV file; DataError (one
    line, what to record) for anything else: not a WAV, under 8 kHz, under 0.1 s, over 4 s."""
    from scipy.io import wavfile

    from eyeauth.datasets import to_int16

    path = Path(path)
    if not path.is_file():
        raise DataError(f"audio file {path} not found")
    try:
        src, data = wavfile.read(str(path))
    except Exception as exc:
        raise DataError(f"{path} is not a WAV file this tool reads ({str(exc)[:60]}): record "
                        "a PCM .wav, mono, 8 kHz or more") from None
    x = np.asarray(data)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise DataError(f"{path} holds no audio samples: record again")
    seconds = x.shape[0] / float(src)
    if seconds > MAX_CLIP_S + 1e-9:
        raise DataError(f"{path} is {seconds:.1f} s long; the board takes at most "
                        f"{MAX_CLIP_S:.0f} s of audio: trim it (e.g. `sox {path} short.wav trim 0 "
                        f"{MAX_CLIP_S:.0f}`) or record a shorter phrase (3 words, about 2 s)")
    if seconds < MIN_CLIP_S:
        raise DataError(f"{path} is {seconds:.2f} s long; the board needs at least "
                        f"{MIN_CLIP_S} s: record a phrase of about 2 s")
    if src < RATE:
        raise DataError(f"{path} is sampled at {src} Hz; the voice path needs {RATE} Hz or more: "
                        "record again at 8, 16, 44.1 or 48 kHz")
    changes = []
    if x.ndim == 2 and x.shape[1] > 1:
        changes.append(f"{x.shape[1]} channels mixed to mono")
    if src != RATE:
        changes.append(f"{src} Hz resampled to {RATE} Hz")
    if x.dtype != np.int16:
        changes.append(f"{x.dtype} samples scaled to 16-bit")
    clip = to_int16(x, src, RATE)[:int(MAX_CLIP_S * RATE)]  # resampling rounds up by <1 sample
    return clip, [f"{path.name}: {', '.join(changes)}"] if changes else []


def load_clip(path) -> np.ndarray:
    return read_clip(path)[0]
