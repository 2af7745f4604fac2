"""Hostile serial input against the app (docs/SECURITY.md): random bytes, printable junk,
overlong lines and valid-CRC frames of hostile JSON (deep, huge, wrong types, unknown and
forged signed commands, broken feeds), with a ping after every chunk. The board must answer
every ping, keep every user and leave the template store byte-identical.

Bytes excluded from the random streams by default: 0x03 (Ctrl-C, which interrupts the app of
an unpaired board on purpose: mpremote needs it) and, on the virtual board, 0x1a/0x1c (with
Ctrl-C on, its pseudo-terminal turns them into SIGTSTP/SIGQUIT for the VM, which a real UART
does not do). A paired board's app owns the line and takes all three as data: the bench's
``--all-bytes`` runs that way.

Valid `bench_link` commands stay short (a few records, pads up to 4 KB): a long one is
legitimate work that only slows the run. (The virtual board's relay used to block until the VM
had read all host input, so a flood of input while the app wrote a burst stopped both for good;
it buffers both directions now, see ``eyeauth.sim.board``.)

:func:`flood` is the other test: bursts of bad-CRC frames written as fast as the line takes
them (every one costs the board a `bad_frame` reply), a ping after each burst, its answer time.
"""
from __future__ import annotations

import hashlib
import json
import random
import time
import zlib
from collections import Counter
from pathlib import Path

from eyeauth.errors import EyeauthError

EXCLUDED = frozenset(b"\x03\x1a\x1c")
CMDS = ("hello", "status", "ping", "telemetry", "bench_link", "feed", "flush", "challenge", "enroll",
        "auth", "users", "delete", "unlock", "config", "debug", "reset", "nope", "", "HELLO")
SIGNED = ("enroll", "delete", "unlock", "config", "debug")


def _frame(seq, text: str) -> bytes:
    body = f"C1 {seq} {text}".encode("ascii", "backslashreplace")
    return body + b" %08x\n" % (zlib.crc32(body) & 0xFFFFFFFF)


class Fuzzer:
    def __init__(self, seed: int = 0, excluded=EXCLUDED):
        self.rng = random.Random(seed)
        self.allowed = bytes(b for b in range(256) if b not in excluded)
        self.chals: list[str] = []

    # -- hostile JSON values, as text (so depth, floats and escapes are ours to choose)
    def value(self, depth=0) -> str:
        r = self.rng
        k = r.randrange(16)
        if k == 0:
            d = r.choice((9, 50, 1200, 3000))
            return "[" * d + "]" * d
        if k == 1:
            return str(r.choice((10**30, -(10**30), 2**31, -1, 0, 1, 2**63, 7)))
        if k == 2:
            return r.choice(("1e400", "-1e400", "1.5", "NaN", "0.0", "1e-999"))
        if k == 3:
            return json.dumps("x" * r.choice((0, 1, 33, 200, 3000)))
        if k == 4:
            return r.choice(('"\\ud800"', '"jos\\u00e9"', '"\\u0000\\n\\r"', '"\\ud83d\\ude00"', '"\\\\"'))
        if k == 5:
            return r.choice(("true", "false", "null"))
        if k == 6 and depth < 3:
            return "{" + ", ".join(f'{json.dumps(self.key())}: {self.value(depth + 1)}' for _ in range(r.randrange(4))) + "}"
        if k == 7 and depth < 3:
            return "[" + ", ".join(self.value(depth + 1) for _ in range(r.randrange(5))) + "]"
        if k == 8:
            return json.dumps(r.choice(("camera", "mic", "face", "cascade", "face_s48", "ann", "")))
        if k == 9 and self.chals:
            return json.dumps(r.choice(self.chals))
        return str(r.randrange(-3, 70000))

    def key(self) -> str:
        return self.rng.choice(("n", "pad", "interval_ms", "data", "on", "sensor", "part", "parts", "size",
                                "w", "h", "rate", "input", "user", "face", "voice", "policy", "face_model",
                                "voice_model", "chal", "mac", "set", "seconds", "nonce", "lockout_n", "x"))

    def command(self, seq) -> bytes:
        r = self.rng
        cmd = r.choice(CMDS)
        if cmd == "reset" and r.random() < 0.9:
            cmd = "status"
        if cmd == "bench_link":
            # A valid large n is legitimate work (n telemetry frames): valid values stay short,
            # with pads up to the 4 KB maximum (a burst of output while the host floods input)
            n = r.choice((str(r.randrange(1, 20)), "1e400", "-5", "10000000000", '"many"', "[1]", "true", "1.5"))
            gap = r.choice(("0", "1", "1000000000", "-1", "null"))
            pad = r.choice(("0", "9999999", "-1", "64", "4096", "4097"))
            return _frame(seq, '{"cmd": "bench_link", "n": %s, "interval_ms": %s, "pad": %s}' % (n, gap, pad))
        parts = [f'"cmd": {json.dumps(cmd)}']
        if cmd in SIGNED and r.random() < 0.7:
            chal = r.choice(self.chals) if self.chals and r.random() < 0.5 else "%024x" % r.getrandbits(96)
            parts += [f'"chal": {json.dumps(chal)}', f'"mac": {json.dumps("%064x" % r.getrandbits(256))}']
            if cmd == "delete":
                parts.append('"user": "ann"')
        for _ in range(r.randrange(5)):
            parts.append(f"{json.dumps(self.key())}: {self.value()}")
        text = "{" + ", ".join(parts) + "}"
        if r.random() < 0.05:
            text = self.value()  # not even an object
        line = _frame(seq, text)
        if len(line) > 8192 and r.random() < 0.8:
            line = _frame(seq, '{"cmd": "ping", "data": ' + "[" * 20 + "]" * 20 + "}")
        return line

    SHARES = {"random": 0.3, "printable": 0.15, "overlong": 0.15, "frames": 0.4}

    def chunk(self, seq0, target: int) -> tuple[bytes, int]:
        """About `target` bytes of hostile input, each kind near its share of the bytes;
        -> (bytes, frames of valid CRC in it)."""
        r = self.rng
        out = bytearray()
        frames = 0
        if not hasattr(self, "by_kind"):
            self.by_kind = Counter()
        while len(out) < target:
            total = sum(self.by_kind.values()) or 1
            kind = min(self.SHARES, key=lambda k: self.by_kind[k] / total - self.SHARES[k] + r.random() * 0.01)
            if kind == "random":
                piece = bytes(r.choice(self.allowed) for _ in range(r.randrange(1, 2000)))
            elif kind == "printable":
                piece = bytes(r.randrange(32, 127) for _ in range(r.randrange(1, 300))) + b"\n"
            elif kind == "overlong":
                piece = b"C1 %d " % r.randrange(10**6) + b"x" * r.randrange(8200, 20000) + b"\n"
            else:
                piece = self.command(seq0 + frames)
                frames += 1
            self.by_kind[kind] += len(piece)
            out += piece
        return bytes(out) + b"\n", frames


def _digest(path: Path) -> str:
    """sha256 over a file, or over the names and bytes of every file in a folder (the board's
    template shards)."""
    path = Path(path)
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if f.is_file():
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def run(app, nbytes: int = 10**6, seed: int = 0, chunk: int = 16384, store_path: Path | None = None,
        excluded=EXCLUDED, progress=None) -> dict:
    """Send nbytes of hostile input to the app behind `app` (an AppClient); ping after each chunk."""
    codes: Counter = Counter()
    resets = [0]

    def count(f):
        if f.kind == "R" and isinstance(f.payload, dict) and f.seq >= 5_000_000:
            codes[f.payload.get("err", "ok")] += 1
        elif f.kind == "H":
            resets[0] += 1

    chained, app.on_frame = app.on_frame, count
    before_users = app.command("users")["users"]
    before_hash = _digest(store_path) if store_path else None
    fz = Fuzzer(seed, excluded)
    sent = frames = pings = 0
    worst_ping = 0.0
    t0 = time.monotonic()
    seq = 5_000_000
    while sent < nbytes:
        if fz.rng.random() < 0.3:
            fz.chals = (fz.chals + [app.command("challenge")["chal"]])[-4:]
        data, n = fz.chunk(seq, min(chunk, nbytes - sent))
        seq += n + 1
        frames += n
        tp = time.monotonic()
        try:
            for i in range(0, len(data), 4096):
                app.t.write(data[i:i + 4096])
                app.pump(0.0)
            sent += len(data)
            tp = time.monotonic()
            app.command("ping", data="alive", timeout=60)
        except EyeauthError as exc:
            last = [ln[:300] for ln in data.split(b"\n") if ln.startswith(b"C1 ") and len(ln) < 8192][-8:]
            raise EyeauthError(f"the app stopped answering after {sent} hostile bytes (seed {seed}), "
                               f"{time.monotonic() - tp:.1f} s into the chunk: {exc}; "
                               f"board printed {app.decoder.noise[-5:]!r}, pending {bytes(app.decoder._buf[-200:])!r}; "
                               f"last frames {last!r}") from None
        worst_ping = max(worst_ping, time.monotonic() - tp)
        pings += 1
        if progress:
            progress(sent, nbytes)
    app.pump(0.5)
    app.on_frame = chained
    elapsed = time.monotonic() - t0
    after_users = app.command("users")["users"]
    after_hash = _digest(store_path) if store_path else None
    status = app.command("status")
    repl = [n for n in app.decoder.noise if b">>>" in n or b"Traceback" in n]
    return {"bytes": sent, "frames_valid_crc": frames, "pings_answered": pings, "seconds": round(elapsed, 1),
            "bytes_per_s": round(sent / elapsed), "worst_ping_s": round(worst_ping, 3),
            "replies": dict(codes.most_common()), "app_restarts": resets[0],
            "bytes_by_kind": dict(fz.by_kind), "users_kept": after_users == before_users,
            "users": after_users, "store_unchanged": before_hash == after_hash if store_path else None,
            "heap_free": status["heap_free"], "heap_min": status["heap_min"],
            "decoder": {"dropped": app.decoder.stats.dropped, "noise_lines": app.decoder.stats.noise_lines},
            "repl_or_traceback_seen": len(repl), "excluded_bytes": sorted(excluded)}


def bad_crc_burst(rng: random.Random, seq0: int, target: int) -> bytes:
    """About `target` bytes of command frames whose CRC is wrong (valid header, seq and JSON):
    each one makes the board answer `bad_frame`."""
    out = bytearray()
    seq = seq0
    while len(out) < target:
        body = f'C1 {seq} {{"cmd": "ping", "data": "{"x" * rng.randrange(0, 40)}"}}'.encode()
        crc = (zlib.crc32(body) ^ (1 + rng.getrandbits(31))) & 0xFFFFFFFF  # never the right one
        out += body + b" %08x\n" % crc
        seq += 1
    return bytes(out)


def flood(app, nbytes: int = 10**6, burst: int = 200_000, seed: int = 0, limit_s: float = 2.0,
          hang_s: float = 10.0, progress=None) -> dict:
    """Bursts of bad-CRC frames (`burst` bytes each, written 64 KB at a time as fast as the line
    takes them, the replies read in between) until `nbytes`; after each burst one ping. A ping answered later than `limit_s` is
    late; one not answered within `hang_s` is a hang (the run goes on after it)."""
    rng = random.Random(seed)
    sent = bursts = late = hangs = 0
    worst = 0.0
    codes: Counter = Counter()
    chained = app.on_frame

    def count(f):
        if f.kind == "R" and isinstance(f.payload, dict) and f.seq >= 7_000_000:
            codes[f.payload.get("err", "ok")] += 1

    app.on_frame = count
    t0 = time.monotonic()
    try:
        while sent < nbytes:
            data = bad_crc_burst(rng, 7_000_000 + sent, min(burst, nbytes - sent))
            for i in range(0, len(data), 65536):  # as fast as the line takes it, replies read
                app.t.write(data[i:i + 65536])
                app.pump(0.0)
            sent += len(data)
            bursts += 1
            tp = time.monotonic()
            try:
                app.command("ping", data="after burst", timeout=hang_s)
            except EyeauthError:
                hangs += 1
                continue
            dt = time.monotonic() - tp
            worst = max(worst, dt)
            late += dt > limit_s
            if progress:
                progress(sent, nbytes)
        app.pump(0.5)
    finally:
        app.on_frame = chained
    elapsed = time.monotonic() - t0
    return {"bytes": sent, "bursts": bursts, "burst_bytes": burst, "seconds": round(elapsed, 1),
            "bytes_per_s": round(sent / elapsed), "worst_ping_s": round(worst, 3),
            "pings_over_limit": late, "limit_s": limit_s, "hangs": hangs, "hang_s": hang_s,
            "replies": dict(codes.most_common())}
