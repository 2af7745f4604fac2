"""Enroll, authenticate and manage users on a board, through the app protocol.

Inputs go to the board over the serial line with the ``feed`` command (the frame its camera
would see, the clip its microphone would hear); the board gives each an input id, and
``enroll``/``auth`` name the ids they use (the board drops them when the command ends). Signed
commands ask the board for a challenge first (see :mod:`eyeauth.auth.pairing`). Without debug
mode the board answers an attempt with its decision only; ``debug=True`` turns on the signed
debug mode before attempts, so replies carry scores, models and stages and the attempt may
choose its policy. The same code drives a real board and the virtual one.
"""
from __future__ import annotations

import base64
import hashlib
import time

import numpy as np

from eyeauth.auth import inputs, pairing
from eyeauth.errors import DataError, DeviceError
from eyeauth.link.client import AppClient

CHUNK = 4096  # raw bytes per feed frame (5.5 KB of base64: under the 8 KB line limit)
DEBUG_S = 600  # how long one `debug` command keeps the board's debug mode on


class Held:
    """An input the board already holds (a live capture): its id and digest, named as is."""

    def __init__(self, reply: dict):
        self.id, self.sha256, self.reply = reply["input"], reply["sha256"], reply


class AuthClient:
    def __init__(self, app: AppClient, key: bytes | None = None, debug: bool = False):
        self.app = app
        self._key = key  # the host's pairing secret (per-board keys are derived from it)
        self.debug = debug
        self._debug_until = 0.0
        self._debug_boots = 0
        self._board: tuple[str, bytes] | None = None

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = pairing.load_key(create=False)
        return self._key

    def board_key(self) -> tuple[str, bytes]:
        """(board id, this board's key), from the board's hello."""
        if self._board is None:
            bid = self.app.command("hello").get("board_id") or ""
            if not bid:
                raise DeviceError("the board is not paired: run `eyeauth deploy --pair`", code="not_paired")
            self._board = (bid, pairing.board_key(self.key, bid))
        return self._board

    def signed_args(self, cmd: str, digests=(), **args) -> dict:
        """The full argument dict of a signed command: a fresh challenge and the mac."""
        bid, bkey = self.board_key()
        chal = self.app.command("challenge")["chal"]
        body = {"cmd": cmd, **args, "chal": chal}
        body["mac"] = pairing.sign(bkey, bid, body, digests)
        return body

    def _signed(self, cmd: str, digests=(), timeout=None, **args) -> dict:
        body = self.signed_args(cmd, digests, **args)
        body.pop("cmd")
        return self.app.command(cmd, timeout=timeout, **body)

    def _feed(self, sensor: str, raw: bytes, **meta) -> dict:
        """Send one input; -> {"input": id, "sha256": hex, ...} (the digest checked here)."""
        parts = max(1, -(-len(raw) // CHUNK))
        r: dict = {}
        for i in range(parts):
            chunk = base64.b64encode(raw[i * CHUNK:(i + 1) * CHUNK]).decode()
            extra = {"sensor": sensor, "parts": parts, "size": len(raw), **meta} if i == 0 else {"input": r["input"]}
            r = self.app.command("feed", part=i, data=chunk, **extra)
        want = hashlib.sha256(raw).hexdigest()
        if r.get("sha256") != want:
            raise DeviceError(f"the board holds a different {sensor} input than was sent (damaged on the line?)", code="bad_input")
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

    def capture(self, sensor: str) -> dict:
        """One live capture by the board's own camera or microphone, checked there (a face
        present; speech, not clipped) and kept under an input id; DeviceError when refused."""
        return self.app.command("capture", sensor=sensor, timeout=60)

    def _in(self, x, sensor):
        if isinstance(x, Held):
            return {"input": x.id, "sha256": x.sha256}
        return self.feed_frame(x) if sensor == "camera" else self.feed_clip(x)

    def enroll(self, user: str, faces=(), voices=()) -> dict:
        fed = {"face": [self._in(f, "camera") for f in faces], "voice": [self._in(v, "mic") for v in voices]}
        args = {k: [r["input"] for r in v] for k, v in fed.items() if v}
        digests = [r["sha256"] for r in fed["face"] + fed["voice"]]
        return self._signed("enroll", digests, timeout=120, user=user, **args)

    def set_debug(self, seconds: int = DEBUG_S) -> dict:
        """Signed: scores and per-attempt policy/model choice for `seconds` (0: off)."""
        r = self._signed("debug", seconds=seconds)
        self._debug_until = time.monotonic() + seconds - 30 if seconds else 0.0
        self._debug_boots = len(self.app.hellos)  # a reset turns debug mode off
        return r

    def end_debug(self) -> None:
        """Turn the board's debug mode off again if this client turned it on (it is board-wide:
        while on, anyone on the line gets scores and picks the policy)."""
        if self._debug_until:
            self.set_debug(0)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        """A tool that turned debug mode on turns it off when it is done, failed or interrupted
        (a board that vanished meanwhile has it off already: RAM only)."""
        from eyeauth.errors import EyeauthError

        try:
            self.end_debug()
        except EyeauthError:
            if exc_type is None:
                raise

    def _debug_on(self) -> bool:
        return time.monotonic() < self._debug_until and len(self.app.hellos) == self._debug_boots

    def say(self, n: int | None = None) -> dict:
        """A spoken challenge from the board: {"challenge": id, "words": [...], "ttl_s": s}."""
        return self.app.command("say", **({"n": n} if n else {}))

    def auth(self, face=None, voice=None, policy: str | None = None, user: str | None = None,
             spoken: str | None = None, **extra) -> dict:
        """One attempt; ``spoken``: the id of a challenge from :meth:`say` (the voice is then
        the clip of its words)."""
        want_debug = bool(self.debug or policy or extra)
        for attempt in range(2):
            if want_debug and not self._debug_on():
                self.set_debug()
            args = {k: v for k, v in (("policy", policy), ("user", user), ("spoken", spoken)) if v}
            if face is not None:
                args["face"] = self._in(face, "camera")["input"]
            if voice is not None:
                args["voice"] = self._in(voice, "mic")["input"]
            try:
                return self.app.command("auth", timeout=60, **args, **extra)
            except DeviceError as e:  # the board reset since debug mode went on: once more
                if e.code != "no_debug" or attempt:
                    raise
                self._debug_until = 0.0

    def users(self) -> dict:
        """The board's `users` reply, with every page of names merged (a page holds 100)."""
        r = self.app.command("users")
        while r.get("next"):
            more = self.app.command("users", offset=r["next"])
            r["users"].update(more["users"])
            r["next"] = more.get("next")
        return r

    def delete(self, user: str) -> dict:
        return self._signed("delete", user=user)

    def unlock(self) -> dict:
        return self._signed("unlock")

    def config(self, **settings) -> dict:
        return self._signed("config", set=settings)

    def flush(self) -> dict:
        return self.app.command("flush")
