# Command authentication and the attempt counter (firmware/PROTOCOL.md, docs/SECURITY.md).
# - Pairing: /board.id (this board's id, drawn by the host at pairing) and /pairing.key (this
#   board's own key: HMAC(host secret, "eyeauth-board|" + board id); the host secret never
#   reaches the board, so one board's flash opens no other board).
# - Signed commands carry `chal` (a challenge this board issued: random, used once, 60 s) and
#   `mac` = HMAC-SHA256(board key, "eyeauth-cmd|" + board id + "|" + canon(all args but mac)
#   [+ "|" + sha256 of each input the command names]). No clocks: skew cannot lock anyone out.
# - Attempts: every attempt counts as failed when it starts (persisted), an accepted one clears
#   the count. From lockout_n failures on, attempts wait lockout_s * 2**(failed - lockout_n)
#   (capped); a reset restarts the wait. A signed unlock clears it.
import hashlib
import json
import time
from binascii import hexlify, unhexlify

from micropython import const

from eyeauth_fw import fsutil

STATE = "/state.json"
KEY = "/pairing.key"
BOARD_ID = "/board.id"
_CHAL_MS = const(60000)
_CHALS = const(4)
_MAX_WAIT_S = const(3600)


def hmac_sha256(key, msg):
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key + bytes(64 - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    inner.update(msg)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return outer.digest()


def _canon_str(s, out):
    out.append('"')
    for c in s:
        o = ord(c)
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif 0x20 <= o < 0x7F:
            out.append(c)
        else:
            out.append("\\u%04x" % (o & 0xFFFF) if o < 0x10000 else "\\U%08x" % o)
    out.append('"')


def canon(v, out):
    # Canonical text of a JSON value (host: eyeauth.auth.pairing.canon, the same rules):
    # sorted keys, no spaces, ASCII; floats are refused (no two printers agree on them).
    t = type(v)
    if t is dict:
        out.append("{")
        first = True
        for k in sorted(v):
            if type(k) is not str:
                raise ValueError("keys must be strings")
            if not first:
                out.append(",")
            first = False
            _canon_str(k, out)
            out.append(":")
            canon(v[k], out)
        out.append("}")
    elif t is list or t is tuple:
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            canon(x, out)
        out.append("]")
    elif t is str:
        _canon_str(v, out)
    elif t is bool:
        out.append("true" if v else "false")
    elif t is int:
        out.append("%d" % v)
    elif v is None:
        out.append("null")
    else:
        raise ValueError("a signed command holds only strings, integers, booleans, lists, objects")
    return out


def message(board_id, args, digests=()):
    body = dict(args)
    body.pop("mac", None)
    out = ["eyeauth-cmd|", board_id, "|"]
    canon(body, out)
    for d in digests:
        out.append("|")
        out.append(d)
    return "".join(out).encode()


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


class Security:
    def __init__(self, urandom):
        self._rand = urandom
        self.key = None
        self.board_id = _read(BOARD_ID)
        try:
            k = _read(KEY)
            self.key = unhexlify(k) if k and self.board_id else None
        except ValueError:
            self.key = None
        self.state = {"failed": 0, "lockout_n": 5, "lockout_s": 30}
        for path in (STATE, STATE + ".tmp"):
            try:
                with open(path) as f:
                    st = json.load(f)
                for k in self.state:
                    if type(st.get(k)) is int:
                        self.state[k] = st[k]
                break
            except (OSError, ValueError, AttributeError):
                pass
        self._chals = []  # [(challenge, ticks_ms)]
        self._until = None  # ticks_ms when the current lockout ends
        self._debug_until = None
        if self.state["failed"] >= self.state["lockout_n"]:
            self._lock()  # a reset restarts the wait, never shortens it

    def save(self):
        fsutil.write_atomic(STATE, json.dumps(self.state).encode())

    # -- challenges and signatures

    def challenge(self):
        now = time.ticks_ms()
        self._chals = [c for c in self._chals if time.ticks_diff(now, c[1]) < _CHAL_MS][-(_CHALS - 1):]
        c = hexlify(self._rand(12)).decode()
        self._chals.append((c, now))
        return c

    def check(self, args, digests=()):
        # -> None when the command is authentic and fresh, else an error code. The challenge
        # is spent by this check whatever its outcome.
        if self.key is None:
            return "not_paired"
        chal, mac = args.get("chal"), args.get("mac")
        if type(chal) is not str or type(mac) is not str or len(mac) != 64:
            return "bad_mac"
        now = time.ticks_ms()
        live = [c for c in self._chals if c[0] == chal and time.ticks_diff(now, c[1]) < _CHAL_MS]
        self._chals = [c for c in self._chals if c[0] != chal]
        if not live:
            return "replay"
        want = hexlify(hmac_sha256(self.key, message(self.board_id, args, digests))).decode()
        diff = 0
        for a, b in zip(want, mac):
            diff |= ord(a) ^ ord(b)
        return "bad_mac" if diff else None

    # -- debug mode (scores and model choice in auth replies), RAM only

    def set_debug(self, seconds):
        self._debug_until = time.ticks_add(time.ticks_ms(), seconds * 1000) if seconds else None

    def debug(self):
        if self._debug_until is None:
            return False
        if time.ticks_diff(self._debug_until, time.ticks_ms()) <= 0:
            self._debug_until = None
            return False
        return True

    # -- attempts and lockout

    def _lock(self):
        st = self.state
        wait = min(_MAX_WAIT_S, st["lockout_s"] << min(st["failed"] - st["lockout_n"], 7))
        self._until = time.ticks_add(time.ticks_ms(), wait * 1000)

    def wait_s(self):
        # Seconds until the next attempt is allowed; 0 when not locked.
        if self._until is None:
            return 0
        left = time.ticks_diff(self._until, time.ticks_ms())
        if left <= 0:
            self._until = None
            return 0
        return (left + 999) // 1000

    def begin_attempt(self):
        self.state["failed"] += 1  # counted before anything runs: an aborted attempt is a failure
        self.save()

    def end_attempt(self, accepted):
        if accepted:
            self.state["failed"] = 0
            self._until = None
            self.save()
        elif self.state["failed"] >= self.state["lockout_n"]:
            self._lock()

    def unlock(self):
        self.state["failed"] = 0
        self._until = None
        self.save()


class Spoken:
    # Spoken challenges (liveness): words drawn with the board's random source (os.urandom on
    # the ESP32: its hardware RNG), each challenge valid once and for ttl_ms after it is drawn;
    # at most _CHALS pending (the oldest is dropped).
    def __init__(self, urandom):
        self._rand = urandom
        self._open = []  # [(id, words, ticks_ms)]

    def _index(self, n):
        # uniform in 0..n-1 (n <= 256): rejection sampling of random bytes, no modulo bias
        top = 256 - 256 % n
        while True:
            for b in self._rand(8):
                if b < top:
                    return b % n

    def draw(self, vocab, n):
        pool = list(vocab)
        words = []
        for _ in range(n):
            words.append(pool.pop(self._index(len(pool))))  # distinct words
        cid = hexlify(self._rand(8)).decode()
        self._open = self._open[-(_CHALS - 1):]
        self._open.append((cid, tuple(words), time.ticks_ms()))
        return cid, words

    def take(self, cid, ttl_ms):
        # -> the words of challenge cid, or None when unknown, used or older than ttl_ms; the
        # challenge is spent whatever the outcome
        now = time.ticks_ms()
        hit = [c for c in self._open if c[0] == cid]
        self._open = [c for c in self._open if c[0] != cid]
        if not hit or time.ticks_diff(now, hit[0][2]) > ttl_ms:
            return None
        return hit[0][1]
