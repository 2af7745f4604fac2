# Fed inputs (the frame a camera would see, the clip a mic would hear), each under an id the
# board issues at part 0. An input belongs to the one command that names it: enroll/auth drop
# every input they name when they end, success or error. Unnamed inputs expire _TTL_MS after
# their last part; all inputs together hold at most _BUDGET bytes and _MAX_ITEMS entries (the
# oldest is evicted first); `flush` drops them all.
import hashlib
import time
from binascii import hexlify

from micropython import const

_TTL_MS = const(30000)
_BUDGET = const(700000)
_MAX_ITEMS = const(12)
MAX_W = const(640)
MAX_H = const(480)
MAX_CLIP = const(64000)  # bytes: 4 s of 8 kHz int16


class InputError(Exception):
    def __init__(self, code, msg):
        super().__init__(code)
        self.code = code
        self.msg = msg


class Inputs:
    def __init__(self, urandom):
        self._rand = urandom
        self.items = {}  # id -> [sensor, buf, meta, have, next_part, parts, t_ms, sha256 hex or None, n]
        self._n = 0  # creation order: the oldest is evicted first

    def expire(self):
        now = time.ticks_ms()
        for k in [k for k, v in self.items.items() if time.ticks_diff(now, v[6]) > _TTL_MS]:
            del self.items[k]

    def used(self):
        return sum(len(v[1]) for v in self.items.values())

    def begin(self, sensor, size, meta, parts):
        # -> new id; buffer of `size` bytes allocated now, so limits hold before any data.
        self.expire()
        while self.items and (len(self.items) >= _MAX_ITEMS or self.used() + size > _BUDGET):
            oldest = min(self.items, key=lambda k: self.items[k][8])
            del self.items[oldest]
        iid = hexlify(self._rand(6)).decode()
        self._n += 1
        self.items[iid] = [sensor, bytearray(size), meta, 0, 0, parts, time.ticks_ms(), None, self._n]
        return iid

    def add(self, iid, part, data):
        # Part `part` of input iid; -> (have, done). Parts come in order, 0 first.
        v = self.items.get(iid)
        if v is None or v[7] is not None:
            raise InputError("no_input", "input %s unknown, complete or expired: start again at part 0" % iid)
        if part != v[4] or part >= v[5] or v[3] + len(data) > len(v[1]):
            del self.items[iid]
            raise InputError("bad_args", "input %s: part %d out of order or over its size; dropped" % (iid, part))
        v[1][v[3]:v[3] + len(data)] = data
        v[3] += len(data)
        v[4] += 1
        v[6] = time.ticks_ms()
        if v[4] < v[5]:
            return v[3], False
        if v[3] != len(v[1]):
            del self.items[iid]
            if v[0] == "camera":
                raise InputError("bad_image", "need 8-bit grey %dx%d = %d bytes, got %d bytes" % (v[2][0], v[2][1], len(v[1]), v[3]))
            raise InputError("bad_audio", "clip declared %d bytes, got %d" % (len(v[1]), v[3]))
        v[7] = hexlify(hashlib.sha256(v[1]).digest()).decode()
        return v[3], True

    def get(self, iid, sensor):
        # The complete input iid of this sensor -> [sensor, buf, meta, ...]; InputError if none.
        self.expire()
        v = self.items.get(iid) if type(iid) is str else None
        if v is None or v[7] is None or v[0] != sensor:
            raise InputError("no_input", "no complete %s input %s (unknown, expired or dropped): feed it again" % (sensor, str(iid)[:16]))
        return v

    def drop(self, iid):
        if type(iid) is str and iid in self.items:
            del self.items[iid]

    def flush(self):
        n = len(self.items)
        self.items = {}
        return n
