# Template store on the board filesystem, sharded for hundreds of users, with a vectorised
# matcher. One template per user and key ("face:<model>" / "voice:<model>"): the normalised
# sum of the user's int8 samples (unit embedding * 127, as enrolled) as int16 Q14, which is what
# pipeline.score compares with (cosine with the normalised sum), to within 1e-4.
# Layout (version 2): SHARDS files DIR/NN.bin; a user lives in shard crc32(name) % SHARDS, so an
# enroll or delete rewrites one small file. Each shard, little endian:
#   b"EAT2" | u16 count | u32 body_len | u32 crc32(body) | body
#   body: count entries of  u8 len | user | u8 len | key | u16 dim | u8 n (samples) |
#                           dim * int16 (Q14 unit template)
# Writes are atomic per shard: DIR/NN.tmp is written and closed, then renamed over DIR/NN.bin;
# load checks every checksum and falls back to a complete .tmp (a power cut between remove and
# rename on a filesystem whose rename does not replace). The old single file /templates.bin
# (version 1: int8 samples) is converted on load, shards first, then it is removed.
# In RAM, per key: the user names and one bytearray of rows (N * dim int16), updated in place;
# match() runs one viper loop over the rows (int16 x int16 dot products, 32-bit accumulators).
import math
import os
import struct
import time
from array import array
from binascii import crc32

import micropython
from micropython import const

from eyeauth_fw import fsutil

DIR = "/tpl"
OLD = "/templates.bin"
OLD_TMP = "/templates.tmp"
SHARDS = const(32)
MAX_USERS = const(500)
MAX_SAMPLES = const(5)
_HEAD = "<4sHII"
_HEAD_LEN = const(14)
_Q = const(14)  # templates: unit vector * 2**14
_QP = const(12)  # probes: unit vector * 2**12 (a dot product stays under 2**26)


class StoreError(Exception):
    pass


def shard_of(user):
    return (crc32(user.encode()) & 0xFFFFFFFF) % SHARDS


def _path(i, ext="bin"):
    return "%s/%02d.%s" % (DIR, i, ext)


def unit_q14(acc):
    # int list/array (a sum of int8 samples) -> bytes of int16 Q14 of acc / |acc| (0 for 0)
    n = math.sqrt(sum(x * x for x in acc)) or 1.0
    k = (1 << _Q) / n
    return struct.pack("<%dh" % len(acc), *[int(round(x * k)) for x in acc])


def template(samples):
    # int8 samples (bytes) -> Q14 unit template of their sum
    dim = len(samples[0])
    acc = [0] * dim
    for s in samples:
        for i in range(dim):
            b = s[i]
            acc[i] += b - 256 if b > 127 else b
    return unit_q14(acc)


@micropython.viper
def _best(rows: ptr16, n: int, dim: int, q: ptr16, out: ptr32) -> int:
    # Index of the row with the largest dot product with q (both signed int16, sign-extended
    # by hand: viper loads are unsigned); out[0] = that dot product.
    best = -0x10000000  # below any dot product (|dot| <= 2**26)
    bi = 0
    p = 0
    for r in range(n):
        acc = 0
        for i in range(dim):
            acc += ((rows[p + i] ^ 0x8000) - 0x8000) * ((q[i] ^ 0x8000) - 0x8000)
        if acc > best:
            best = acc
            bi = r
        p += dim
    out[0] = best
    return bi


@micropython.viper
def _q12(src: ptr32, dst: ptr16, n: int):
    # float32 (IEEE-754 bits) in [-1, 1] -> int16 x * 2**12, truncated, in integers only (a
    # float loop in Python costs more than the whole 1:1 match)
    for i in range(n):
        b = src[i]
        sh = 11 - (((b >> 23) & 0xFF) - 127)  # x * 2**12 = mantissa (24 bits) >> sh
        x = 0
        if 11 <= sh < 24:  # |x| <= 1; anything else (NaN, inf) counts as 0
            x = ((b & 0x7FFFFF) | 0x800000) >> sh
        if (b >> 31) & 1:
            x = 0 - x
        dst[i] = x


def _walk(blob, magic, size):
    # -> (body, [(user, key, dim, n, data offset)]) of a checked template file of one format;
    # size(dim, n): bytes of an entry's data
    if len(blob) < _HEAD_LEN:
        raise StoreError("short")
    m, count, blen, crc = struct.unpack_from(_HEAD, blob, 0)
    body = memoryview(blob)[_HEAD_LEN:_HEAD_LEN + blen]
    if m != magic or len(body) != blen or (crc32(body) & 0xFFFFFFFF) != crc:
        raise StoreError("checksum")
    out = []
    p = 0
    for _ in range(count):
        n = body[p]
        user = bytes(body[p + 1:p + 1 + n]).decode()
        p += 1 + n
        n = body[p]
        key = bytes(body[p + 1:p + 1 + n]).decode()
        p += 1 + n
        dim, ns = struct.unpack_from("<HB", body, p)
        p += 3
        out.append((user, key, dim, ns, p))
        p += size(dim, ns)
    return body, out


def _parse(blob):
    body, ents = _walk(blob, b"EAT2", lambda dim, ns: 2 * dim)
    return [(user, key, ns, bytes(body[p:p + 2 * dim])) for user, key, dim, ns, p in ents]


def _serialize(entries):
    # entries: [(user, key, n, template bytes)]
    body = bytearray()
    for user, key, ns, t in entries:
        u, k = user.encode(), key.encode()
        body += bytes((len(u),)) + u + bytes((len(k),)) + k + struct.pack("<HB", len(t) // 2, ns) + t
    return struct.pack(_HEAD, b"EAT2", len(entries), len(body), crc32(body) & 0xFFFFFFFF) + body


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _old_users(blob):
    # version 1 (/templates.bin, int8 samples) -> [(user, key, n, template)]
    body, ents = _walk(blob, b"EAT1", lambda dim, ns: ns * dim)
    out = []
    for user, key, dim, ns, p in ents:
        samples = [bytes(body[p + k * dim:p + (k + 1) * dim]) for k in range(ns)]
        if samples:
            out.append((user, key, ns, template(samples)))
    return out


class Store:
    def __init__(self, write_delay_ms=0):
        self.users = {}  # user -> {key: n samples}
        self.recovered = False
        self.write_delay_ms = write_delay_ms
        self.nbytes = 0  # bytes of the shard files
        self._sizes = [0] * SHARDS
        self._rows = {}  # key -> [names, bytearray of rows, dim]
        self._out = array("i", [0])

    # -- loading

    def load(self):
        self.users, self._rows = {}, {}
        try:
            os.mkdir(DIR)
        except OSError:
            pass
        damaged = []
        for i in range(SHARDS):
            ents = self._load_shard(i)
            if ents is None:
                damaged.append(i)
                continue
            for user, key, ns, t in ents:
                self._put(user, key, ns, t)
        if damaged:
            raise StoreError("template shard %s damaged and no complete copy exists" % ",".join("%d" % i for i in damaged))
        self._migrate()
        return self

    def _load_shard(self, i):
        # -> entries of shard i ([] when absent), or None when damaged without a complete copy
        blob = _read(_path(i))
        if blob is not None:
            try:
                ents = _parse(blob)
                self._sizes[i] = len(blob)
                self.nbytes = sum(self._sizes)
                return ents
            except StoreError:
                pass
        tmp = _read(_path(i, "tmp"))
        if tmp is not None:
            try:
                ents = _parse(tmp)
                self.recovered = True
                fsutil.replace(_path(i, "tmp"), _path(i))
                self._sizes[i] = len(tmp)
                self.nbytes = sum(self._sizes)
                return ents
            except StoreError:
                pass
        return None if blob is not None else []

    def _migrate(self):
        blob = _read(OLD) or _read(OLD_TMP)
        if blob is None:
            return
        try:
            old = _old_users(blob)
        except (StoreError, ValueError, IndexError):
            raise StoreError("template store (version 1) is damaged")
        for user, key, ns, t in old:
            self._put(user, key, ns, t)
        for i in sorted(set(shard_of(e[0]) for e in old)):
            self._write(i)
        for p in (OLD, OLD_TMP):
            try:
                os.remove(p)
            except OSError:
                pass

    # -- RAM index

    def _put(self, user, key, ns, t):
        self.users.setdefault(user, {})[key] = ns
        r = self._rows.get(key)
        if r is None:  # room for every user at once: rows never move, the heap never fragments
            r = self._rows[key] = [[], bytearray(MAX_USERS * len(t)), len(t) // 2, {}]
        if len(t) != 2 * r[2]:
            raise StoreError("template of %s has %d dims, the others %d" % (key, len(t) // 2, r[2]))
        names, rows, at = r[0], r[1], r[3]
        k = at.get(user)
        if k is None:
            k = at[user] = len(names)
            names.append(user)
        memoryview(rows)[k * len(t):(k + 1) * len(t)] = t

    def _forget(self, user, key):
        # the last row moves into the freed one (order is no meaning)
        names, rows, dim, at = self._rows[key]
        k, last, rb = at.pop(user), len(names) - 1, 2 * dim
        if k != last:
            mv = memoryview(rows)
            mv[k * rb:(k + 1) * rb] = mv[last * rb:(last + 1) * rb]
            names[k] = names[last]
            at[names[k]] = k
        names.pop()
        del self.users[user][key]

    def _drop(self, user):
        for key in list(self.users.get(user, ())):
            self._forget(user, key)
        self.users.pop(user, None)

    def _entries(self, i):
        out = []
        for user in sorted(self.users):
            if shard_of(user) == i:
                for key in sorted(self.users[user]):
                    names, rows, dim, at = self._rows[key]
                    k = at[user] * 2 * dim
                    out.append((user, key, self.users[user][key], bytes(rows[k:k + 2 * dim])))
        return out

    # -- writing

    def _write(self, i):
        blob = _serialize(self._entries(i))
        tmp = _path(i, "tmp")
        with open(tmp, "wb") as f:
            step = 256 if self.write_delay_ms else len(blob)
            for k in range(0, len(blob), step):
                f.write(blob[k:k + step])
                if self.write_delay_ms:
                    time.sleep_ms(self.write_delay_ms)  # fault-injection knob for power-cut tests
        fsutil.replace(tmp, _path(i))
        self._sizes[i] = len(blob)
        self.nbytes = sum(self._sizes)

    def enroll(self, user, entries):
        # entries: {"face:<model>": [int8 samples], ...}; replaces those keys of the user at once.
        if user not in self.users and len(self.users) >= MAX_USERS:
            raise StoreError("full")
        temps = {k: (len(s[-MAX_SAMPLES:]), template(s[-MAX_SAMPLES:])) for k, s in entries.items() if s}
        before = {k: self._row(user, k) for k in temps}
        new_user = user not in self.users
        for k, (ns, t) in temps.items():
            self._put(user, k, ns, t)
        try:
            self._write(shard_of(user))
        except OSError:  # flash full, or a failed write: the file on flash is the old one
            if new_user:
                self._drop(user)
            else:
                for k, old in before.items():
                    if old is None:
                        self._forget(user, k)
                    else:
                        self._put(user, k, old[0], old[1])
            raise StoreError("flash")

    def _row(self, user, key):
        ns = self.users.get(user, {}).get(key)
        if ns is None:
            return None
        names, rows, dim, at = self._rows[key]
        k = at[user] * 2 * dim
        return ns, bytes(rows[k:k + 2 * dim])

    def delete(self, user):
        if user not in self.users:
            return
        saved = {k: self._row(user, k) for k in self.users[user]}
        self._drop(user)
        try:
            self._write(shard_of(user))
        except OSError:
            for k, (ns, t) in saved.items():
                self._put(user, k, ns, t)
            raise StoreError("flash")

    # -- matching

    def match(self, key, v, user=None):
        # -> (user, score) of the best template of `key` for unit vector v (only `user`'s when
        # given); (None, -2.0) when nobody has one. score = cosine with the normalised sum of the
        # user's samples (pipeline.score) to within 1e-4.
        r = self._rows.get(key)
        if r is None or not r[0]:
            return None, -2.0
        names, rows, dim, at = r
        if len(v) != dim:
            raise StoreError("probe has %d dims, templates of %s %d" % (len(v), key, dim))
        q = array("h", bytes(2 * dim))
        _q12(array("f", v), q, dim)  # |x| <= 1: no clamp; truncation error <= 2**-12
        if user is not None:
            k = at.get(user)
            if k is None:
                return None, -2.0
            _best(memoryview(rows)[k * 2 * dim:], 1, dim, q, self._out)
            return user, self._out[0] / (1 << (_Q + _QP))
        k = _best(rows, len(names), dim, q, self._out)
        return names[k], self._out[0] / (1 << (_Q + _QP))

    def count(self, key):
        r = self._rows.get(key)
        return len(r[0]) if r else 0

    def summary(self):
        out = {}
        for u, m in self.users.items():
            out[u] = {}
            for key, ns in m.items():
                mod = key.split(":")[0]
                out[u][mod] = max(out[u].get(mod, 0), ns)
        return out
