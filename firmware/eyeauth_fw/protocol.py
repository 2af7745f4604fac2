# Frame codec of the app protocol (firmware/PROTOCOL.md). Device side: small, no classes.
from binascii import crc32
import json

from micropython import const

MAX_LINE = const(8192)
VERSION = "1"


def encode(kind, seq, obj):
    # -> bytes, one frame with its LF. json.dumps keeps ASCII only where the input is ASCII;
    # callers pass ASCII strings.
    body = "%s%s %d %s" % (kind, VERSION, seq, json.dumps(obj))
    b = body.encode()
    return b + (" %08x\n" % (crc32(b) & 0xFFFFFFFF)).encode()


def decode(line):
    # bytes (no LF) -> (kind, seq, obj); raises ValueError on any malformed frame.
    if line and line[-1] == 13:
        line = line[:-1]
    n = len(line)
    if n < 14 or line[n - 9] != 32:
        raise ValueError("short")
    body = line[: n - 9]
    if (crc32(body) & 0xFFFFFFFF) != int(line[n - 8 :], 16):
        raise ValueError("crc")
    sp = body.find(b" ", 3)
    if sp < 0 or body[1:2] != b"1":
        raise ValueError("head")
    kind = chr(body[0])
    seq = int(body[3:sp])
    return kind, seq, json.loads(body[sp + 1 :])


def peek_seq(line):
    # Best effort seq of a damaged command line, or -1.
    try:
        sp = line.find(b" ", 3)
        return int(line[3:sp])
    except Exception:
        return -1
