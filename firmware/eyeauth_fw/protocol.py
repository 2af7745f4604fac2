# Frame codec of the app protocol (firmware/PROTOCOL.md). Device side: small, no classes.
# Hostile input is bounded here, before json.loads: line length (MAX_LINE, in hal), nesting
# depth (MAX_DEPTH); after it, no object may repeat a key; every frame written is ASCII
# (non-ASCII characters escaped).
from binascii import crc32
import json

from micropython import const

MAX_LINE = const(8192)
MAX_DEPTH = const(8)
VERSION = "1"


def ascii_json(s):
    # str of JSON text -> the same JSON with every non-ASCII character as \uXXXX (surrogate
    # pairs above U+FFFF). Non-ASCII only occurs inside JSON strings, so this stays valid JSON.
    out = []
    for c in s:
        o = ord(c)
        if o < 0x80:
            out.append(c)
        elif o < 0x10000:
            out.append("\\u%04x" % o)
        else:
            o -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 + (o >> 10), 0xDC00 + (o & 0x3FF)))
    return "".join(out)


def encode(kind, seq, obj):
    # -> bytes, one frame with its LF; ASCII whatever the strings in obj hold.
    text = json.dumps(obj)
    b = text.encode()
    if len(b) != len(text):  # some character took more than one byte: escape it
        try:
            text = ascii_json(text)
        except Exception:  # a string the VM cannot iterate (bad surrogates): drop its bytes
            text = "".join(chr(x) if x < 0x80 else "?" for x in b)
    b = ("%s%s %d %s" % (kind, VERSION, seq, text)).encode()
    return b + (" %08x\n" % (crc32(b) & 0xFFFFFFFF)).encode()


def _scan(body):
    # One pass over JSON text, skipping strings: -> (deepest nesting, ':' outside strings)
    d = top = c = 0
    in_str = esc = False
    for ch in body:
        if in_str:
            if esc:
                esc = False
            elif ch == 92:  # backslash
                esc = True
            elif ch == 34:
                in_str = False
        elif ch == 34:
            in_str = True
        elif ch == 91 or ch == 123:
            d += 1
            if d > top:
                top = d
        elif ch == 93 or ch == 125:
            d -= 1
        elif ch == 58:
            c += 1
    return top, c


def depth_ok(body):
    # True when the JSON text nests at most MAX_DEPTH deep. Counting brackets is C-speed and
    # bounds the depth from above (brackets inside strings count too); only a frame with many
    # brackets is scanned byte by byte, skipping strings.
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return True
    return _scan(body)[0] <= MAX_DEPTH


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
    if sp < 0 or body[1:2] != b"1" or body[2:3] != b" ":
        raise ValueError("head")
    kind = chr(body[0])
    seq = int(body[3:sp])
    if seq < 0 or seq > 0x7FFFFFFF:
        raise ValueError("seq")
    payload = body[sp + 1 :]
    if not depth_ok(payload):
        raise ValueError("nested over %d deep" % MAX_DEPTH)
    obj = json.loads(payload)
    if not keys_unique(payload, obj):
        raise ValueError("duplicate key")
    return kind, seq, obj


def _nkeys(v):
    # object keys in a parsed JSON value (nested at most MAX_DEPTH deep: checked before parsing)
    n = 0
    if type(v) is dict:
        n = len(v)
        v = v.values()
    elif type(v) is not list:
        return 0
    for x in v:
        if type(x) is dict or type(x) is list:
            n += _nkeys(x)
    return n


def keys_unique(body, obj):
    # True when no object in the JSON text repeats a key. json.loads keeps the last of two equal
    # keys, so a frame could say one thing to a reader of the first ({"cmd":"ping","cmd":"reset"}):
    # such frames are refused. Every key/value pair has one ':' outside strings, so the text's
    # pairs equal the parsed keys exactly when nothing was dropped. C-speed count first; ':'
    # inside strings (rare: base64 has none) make it scan byte by byte, skipping strings.
    n = _nkeys(obj)
    return body.count(b":") == n or _scan(body)[1] == n


def peek_seq(line):
    # Best effort seq of a damaged command line, or -1.
    try:
        sp = line.find(b" ", 3)
        seq = int(line[3:sp])
        return seq if 0 <= seq <= 0x7FFFFFFF else -1
    except Exception:
        return -1
