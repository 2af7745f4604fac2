# Template store on the board filesystem: several int8 samples per user and modality.
# File format (version 1), little endian:
#   b"EAT1" | u16 count | u32 body_len | u32 crc32(body) | body
#   body: count entries of  u8 len | user | u8 len | key ("face:<model>" or "voice:<model>") |
#                           u16 dim | u8 n | n * dim int8 (unit embedding * 127)
# Writes are atomic: the new store goes to /templates.tmp, is closed, then renamed over
# /templates.bin. Load checks the checksum; a damaged or missing main file falls back to a
# complete .tmp (a power cut between remove and rename on a filesystem without atomic rename).
import struct
import time
from binascii import crc32

from micropython import const

from eyeauth_fw import fsutil

PATH = "/templates.bin"
TMP = "/templates.tmp"
MAX_USERS = const(16)
MAX_SAMPLES = const(5)
_HEAD = "<4sHII"
_HEAD_LEN = const(14)


class StoreError(Exception):
    pass


def _parse(blob):
    if len(blob) < _HEAD_LEN:
        raise StoreError("short")
    magic, count, blen, crc = struct.unpack_from(_HEAD, blob, 0)
    body = memoryview(blob)[_HEAD_LEN:_HEAD_LEN + blen]
    if magic != b"EAT1" or len(body) != blen or (crc32(body) & 0xFFFFFFFF) != crc:
        raise StoreError("checksum")
    users = {}
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
        samples = [bytes(body[p + k * dim:p + (k + 1) * dim]) for k in range(ns)]
        p += ns * dim
        users.setdefault(user, {})[key] = samples
    return users


def _serialize(users):
    body = bytearray()
    count = 0
    for user in sorted(users):
        for key, samples in sorted(users[user].items()):
            u, k = user.encode(), key.encode()
            body += bytes((len(u),)) + u + bytes((len(k),)) + k
            body += struct.pack("<HB", len(samples[0]) if samples else 0, len(samples))
            for s in samples:
                body += s
            count += 1
    return struct.pack(_HEAD, b"EAT1", count, len(body), crc32(body) & 0xFFFFFFFF) + body


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


class Store:
    def __init__(self, write_delay_ms=0):
        self.users = {}
        self.recovered = False
        self.write_delay_ms = write_delay_ms

    def load(self):
        blob = _read(PATH)
        if blob is not None:
            try:
                self.users = _parse(blob)
                return self
            except StoreError:
                pass
        tmp = _read(TMP)
        if tmp is not None:
            try:
                self.users = _parse(tmp)
                self.recovered = True
                self._commit()
                return self
            except StoreError:
                pass
        if blob is not None:
            raise StoreError("template store is damaged and no complete copy exists")
        self.users = {}
        return self

    def save(self, users):
        blob = _serialize(users)
        with open(TMP, "wb") as f:
            step = 256 if self.write_delay_ms else len(blob)
            for i in range(0, len(blob), step):
                f.write(blob[i:i + step])
                if self.write_delay_ms:
                    time.sleep_ms(self.write_delay_ms)  # fault-injection knob for power-cut tests
        self._commit()
        self.users = users

    def _commit(self):
        fsutil.replace(TMP, PATH)

    def enroll(self, user, entries):
        # entries: {"face:<model>": [samples], ...}; replaces those keys of the user at once.
        users = {u: dict(m) for u, m in self.users.items()}
        if user not in users and len(users) >= MAX_USERS:
            raise StoreError("full")
        d = users.setdefault(user, {})
        for key, samples in entries.items():
            d[key] = samples[-MAX_SAMPLES:]
        self.save(users)

    def delete(self, user):
        users = {u: m for u, m in self.users.items() if u != user}
        self.save(users)

    def summary(self):
        out = {}
        for u, m in self.users.items():
            out[u] = {}
            for key, samples in m.items():
                mod = key.split(":")[0]
                out[u][mod] = max(out[u].get(mod, 0), len(samples))
        return out
