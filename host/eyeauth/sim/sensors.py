"""The virtual board's camera and microphone: the physical sensors' stand-in. A person in front of
the board is a folder of real photos and recordings (or one file); each capture takes the next
file, as the board's camera or microphone would give it: a frame of the board's camera size
(``hal.camera`` width x height, the photo scaled to fit and centred on its mean grey), a clip of
8 kHz int16 (the microphone after the HAL's decimation). Files are checked when the folder is
set (the host's input checks: :mod:`eyeauth.auth.inputs`), so a bad one is refused in one line
then, not mid-enrolment. Frames and clips pushed with the control socket's ``sensor`` op come
first (tests, a scripted person).
"""
from __future__ import annotations

import base64
import threading
from pathlib import Path

import numpy as np



def camera_frame(path, width: int, height: int) -> np.ndarray:
    """What the board's camera gives of a photo: ``height`` x ``width`` 8-bit grey, the photo
    scaled to fit and centred on its own mean grey."""
    from PIL import Image

    from eyeauth.auth.inputs import read_frame

    img, _ = read_frame(path)
    h, w = img.shape
    s = min(width / w, height / h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    scaled = np.asarray(Image.fromarray(img).resize(size, Image.BILINEAR))
    out = np.full((height, width), int(img.mean()), np.uint8)
    y0, x0 = (height - size[1]) // 2, (width - size[0]) // 2
    out[y0:y0 + size[1], x0:x0 + size[0]] = scaled
    return out


class Source:
    """The next capture of one sensor from a folder (cycling)."""

    def __init__(self, sensor: str, path, width: int = 320, height: int = 240):
        from eyeauth.auth.inputs import files, read_clip, read_frame

        self.sensor, self.path, self.size = sensor, str(path), (width, height)
        self.files = files(path, "face" if sensor == "camera" else "voice")
        check = read_frame if sensor == "camera" else read_clip
        for f in self.files:  # refuse a bad file now, in one line
            check(f)
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> dict:
        from eyeauth.auth.inputs import read_clip

        with self._lock:
            f = self.files[self._next % len(self.files)]
            self._next += 1
        if self.sensor == "camera":
            img = camera_frame(f, *self.size)
            return {"data": base64.b64encode(img.tobytes()).decode(), "w": int(img.shape[1]),
                    "h": int(img.shape[0]), "file": f.name}
        clip, _ = read_clip(f)
        return {"data": base64.b64encode(clip.astype("<i2").tobytes()).decode(), "rate": 8000,
                "file": f.name}

    def describe(self) -> dict:
        return {"path": self.path, "files": len(self.files), "next": self._next % len(self.files)}
