# Pairing secret, HMAC-SHA256 command authentication with replay protection, and the lockout
# counter; state persisted in /state.json (atomic write), the secret in /pairing.key.
import hashlib
import json

from eyeauth_fw import fsutil
from binascii import hexlify, unhexlify

STATE = "/state.json"
KEY = "/pairing.key"


def hmac_sha256(key, msg):
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key + bytes(64 - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    inner.update(msg)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return outer.digest()


def message(cmd, user, nonce):
    return ("%s|%s|%d" % (cmd, user or "", nonce)).encode()


class Security:
    def __init__(self):
        self.key = None
        self.state = {"last_nonce": 0, "failed": 0, "locked": False, "lockout_n": 5}
        try:
            with open(KEY) as f:
                self.key = unhexlify(f.read().strip())
        except (OSError, ValueError):
            self.key = None
        for path in (STATE, STATE + ".tmp"):
            try:
                with open(path) as f:
                    self.state.update(json.load(f))
                break
            except (OSError, ValueError):
                pass

    def save(self):
        fsutil.write_atomic(STATE, json.dumps(self.state).encode())

    def check(self, cmd, user, nonce, mac):
        # -> None when the command is authentic and fresh, else an error code.
        if self.key is None:
            return "not_paired"
        if not isinstance(nonce, int) or not isinstance(mac, str):
            return "bad_mac"
        want = hexlify(hmac_sha256(self.key, message(cmd, user, nonce))).decode()
        diff = len(want) ^ len(mac)
        for a, b in zip(want, mac):
            diff |= ord(a) ^ ord(b)
        if diff:
            return "bad_mac"
        if nonce <= self.state["last_nonce"]:
            return "replay"
        self.state["last_nonce"] = nonce
        self.save()
        return None

    def attempt(self, accepted):
        if accepted:
            self.state["failed"] = 0
        else:
            self.state["failed"] += 1
            if self.state["failed"] >= self.state["lockout_n"]:
                self.state["locked"] = True
        self.save()
