"""The host's pairing secret, per-board keys, and command signatures (docs/SECURITY.md).

The host secret lives in ``~/.config/eyeauth/pairing.key`` (or the file ``EYEAUTH_PAIRING_KEY``
names), 32 random bytes in hex, created on first use with mode 0600. It never goes to a board:
`eyeauth deploy --pair` draws a board id and writes that board's own key,
``HMAC(secret, "eyeauth-board|" + board_id)``, so a key read out of one board's flash opens no
other board. Signed commands (enroll, delete, config, unlock, debug) carry a challenge the board
issued (random, single use, 60 s: no clocks, so clock skew cannot lock anyone out) and
``mac = HMAC(board key, "eyeauth-cmd|" + board_id + "|" + canon(all arguments but mac)
[+ "|" + sha256 of each fed input the command names])``.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from eyeauth.errors import UsageError


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


def board_key(secret: bytes, board_id: str) -> bytes:
    """The key of one board, derived from the host secret and the board's id."""
    return hmac.new(secret, f"eyeauth-board|{board_id}".encode("ascii"), hashlib.sha256).digest()


def pairing_files(secret: bytes, board_id: str | None = None) -> dict[str, bytes]:
    """What `deploy --pair` writes onto a board: its id and its own key (never the secret)."""
    board_id = board_id or secrets.token_hex(8)
    return {"/board.id": board_id.encode("ascii"), "/pairing.key": board_key(secret, board_id).hex().encode()}


def _canon_str(s: str, out: list) -> None:
    out.append('"')
    for c in s:
        o = ord(c)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= o < 0x7F:
            out.append(c)
        else:
            out.append("\\u%04x" % o if o < 0x10000 else "\\U%08x" % o)
    out.append('"')


def canon(v, out: list | None = None) -> list:
    """Canonical text of a JSON value, exactly as the board builds it (security.canon)."""
    out = [] if out is None else out
    if isinstance(v, dict):
        out.append("{")
        for i, k in enumerate(sorted(v)):
            if not isinstance(k, str):
                raise TypeError("keys must be strings")
            if i:
                out.append(",")
            _canon_str(k, out)
            out.append(":")
            canon(v[k], out)
        out.append("}")
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            canon(x, out)
        out.append("]")
    elif isinstance(v, str):
        _canon_str(v, out)
    elif isinstance(v, bool):
        out.append("true" if v else "false")
    elif isinstance(v, int):
        out.append("%d" % v)
    elif v is None:
        out.append("null")
    else:
        raise TypeError(f"a signed command holds only str, int, bool, list, dict, None; not {type(v).__name__}")
    return out


def message(board_id: str, args: dict, digests=()) -> bytes:
    body = {k: v for k, v in args.items() if k != "mac"}
    text = "eyeauth-cmd|" + board_id + "|" + "".join(canon(body))
    for d in digests:
        text += "|" + d
    return text.encode("ascii")


def sign(key: bytes, board_id: str, args: dict, digests=()) -> str:
    """The mac of a command (args include cmd and chal) under a board key."""
    return hmac.new(key, message(board_id, args, digests), hashlib.sha256).hexdigest()
