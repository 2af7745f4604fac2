"""Enroll, authenticate and manage users on a board, through the app protocol.

Inputs go to the board over the serial line with the ``feed`` command (the frame its camera
would see, the clip its microphone would hear), then ``enroll``/``auth`` run the whole pipeline
on the board. The same code drives a real board and the virtual one.
"""
from __future__ import annotations

import base64

import numpy as np

from eyeauth.auth import inputs, pairing
from eyeauth.errors import DataError
from eyeauth.link.client import AppClient

CHUNK = 4096  # raw bytes per feed frame (5.5 KB of base64: under the 8 KB line limit)


class AuthClient:
    def __init__(self, app: AppClient, key: bytes | None = None):
        self.app = app
        self._key = key

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = pairing.load_key(create=False)
        return self._key

    def _signed(self, cmd: str, user: str = "", **args) -> dict:
        return self.app.command(cmd, user=user, **args, **pairing.sign(self.key, cmd, user))

    def _feed(self, sensor: str, raw: bytes, **meta) -> dict:
        parts = max(1, -(-len(raw) // CHUNK))
        r = {}
        for i in range(parts):
            chunk = base64.b64encode(raw[i * CHUNK:(i + 1) * CHUNK]).decode()
            extra = meta if i == parts - 1 else {}
            r = self.app.command("feed", sensor=sensor, part=i, parts=parts, data=chunk, **extra)
        return r

    def feed_frame(self, frame) -> dict:
        img = frame if isinstance(frame, np.ndarray) else inputs.load_frame(frame)
        img = np.ascontiguousarray(img, np.uint8)
        if img.ndim != 2:
            raise DataError(f"a frame must be 2-D grey, got shape {img.shape}")
        return self._feed("camera", img.tobytes(), w=int(img.shape[1]), h=int(img.shape[0]))

    def feed_clip(self, clip) -> dict:
        x = clip if isinstance(clip, np.ndarray) else inputs.load_clip(clip)
        return self._feed("mic", np.ascontiguousarray(x, "<i2").tobytes(), rate=8000)

    def enroll(self, user: str, faces=(), voices=()) -> dict:
        for f in faces:
            self.feed_frame(f)
        for v in voices:
            self.feed_clip(v)
        return self._signed("enroll", user, face=len(faces), voice=len(voices), timeout=120)

    def auth(self, face=None, voice=None, policy: str | None = None, user: str | None = None, **extra) -> dict:
        if face is not None:
            self.feed_frame(face)
        if voice is not None:
            self.feed_clip(voice)
        args = {k: v for k, v in (("policy", policy), ("user", user)) if v}
        return self.app.command("auth", timeout=60, **args, **extra)

    def users(self) -> dict:
        return self.app.command("users")

    def delete(self, user: str) -> dict:
        return self._signed("delete", user)

    def unlock(self) -> dict:
        return self._signed("unlock")

    def config(self, **settings) -> dict:
        return self._signed("config", set=settings)
