"""The pairing secret shared by the host and the board, and command signatures.

The secret lives in ``~/.config/eyeauth/pairing.key`` (or the file ``EYEAUTH_PAIRING_KEY``
names), 32 random bytes in hex, created on first use with mode 0600. `eyeauth deploy --pair`
puts it on the board; enroll, delete, config and unlock are then signed with HMAC-SHA256 over
``cmd|user|nonce`` and a nonce that only grows (milliseconds since the epoch).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from eyeauth.errors import UsageError

_last_nonce = 0


def key_path() -> Path:
    env = os.environ.get("EYEAUTH_PAIRING_KEY")
    return Path(env) if env else Path.home() / ".config" / "eyeauth" / "pairing.key"


def load_key(path: Path | None = None, create: bool = True) -> bytes:
    path = Path(path) if path else key_path()
    if not path.exists():
        if not create:
            raise UsageError(f"no pairing secret at {path}; run `eyeauth deploy --pair` to make one")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        raise UsageError(f"pairing secret {path} is not hex; delete it and run `eyeauth deploy --pair`") from None
    if len(key) < 16:
        raise UsageError(f"pairing secret {path} is too short; delete it and run `eyeauth deploy --pair`")
    return key


def next_nonce() -> int:
    global _last_nonce
    _last_nonce = max(_last_nonce + 1, int(time.time() * 1000))
    return _last_nonce


def sign(key: bytes, cmd: str, user: str = "", nonce: int | None = None) -> dict:
    """The fields to add to a command: nonce and mac."""
    nonce = next_nonce() if nonce is None else nonce
    mac = hmac.new(key, f"{cmd}|{user}|{nonce}".encode(), hashlib.sha256).hexdigest()
    return {"nonce": nonce, "mac": mac}
