"""Helpers of the telemetry tests: a pseudo-terminal that stands for the board's serial port,
and a recorded database.

:class:`PtyBoard` owns the master side of a pty pair and writes frames into it, as the board
does; ``monitor`` reads the slave side through a symlink (``link``), so an unplug/replug is:
close the pty (the slave vanishes, reads fail), open a new pty and repoint the symlink.
It answers ``hello`` commands like the firmware does.
"""
from __future__ import annotations

import os
import select
import threading
import time
import tty
from pathlib import Path

import pytest

from eyeauth.link import protocol


def wait_for(predicate, timeout: float = 5.0, what: str = "condition"):
    """Poll predicate until it is true; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def telemetry_frame(seq: int, boot: str = "0badcafe", stage: str = "embed", model: str = "face_s",
                    latency_us: int = 40000, modeled_us: int = 38000, heap_free: int = 1800000,
                    arena_used: int = 61440, extra: dict | None = None) -> bytes:
    rec = [boot, stage, model, latency_us, modeled_us, heap_free, arena_used]
    if extra is not None:
        rec.append(extra)
    return protocol.encode("T", seq, rec)


class PtyBoard:
    """The board end of a pseudo-terminal serial line, reachable at the symlink ``link``."""

    def __init__(self, link: Path, boot: str = "0badcafe", board: str = "esp-eye-pty"):
        self.link = Path(link)
        self.boot = boot
        self.board = board
        self.master: int | None = None
        self._slave: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.commands: list[protocol.Frame] = []
        self.plug()

    @property
    def slave_name(self) -> str:
        return os.ttyname(self._slave)

    def plug(self) -> None:
        """A new pty (a replugged board gets a new device), the symlink pointed at it."""
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tmp = self.link.with_name(self.link.name + ".new")
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(self.slave_name, tmp)
        os.replace(tmp, self.link)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        """Close the pty: the host's reads fail and the device node goes away."""
        self._stop.set()
        self._thread.join(2)
        with self._lock:
            os.close(self.master)
            os.close(self._slave)
            self.master = self._slave = None

    def write(self, data: bytes) -> None:
        with self._lock:
            view = memoryview(data)
            while view:
                n = os.write(self.master, view)
                view = view[n:]

    def hello(self) -> None:
        """The start-up hello frame the app prints on every boot."""
        self.write(protocol.encode("H", 0, self._info()))

    def records(self, seqs, **fields) -> None:
        self.write(b"".join(telemetry_frame(s, boot=self.boot, **fields) for s in seqs))

    def _info(self) -> dict:
        return {"fw": "0.1.0-pty", "proto": 1, "board": self.board, "boot": self.boot}

    def _serve(self) -> None:
        decoder = protocol.FrameDecoder()
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            for frame in decoder.feed(data):
                self.commands.append(frame)
                if frame.kind == "C" and frame.payload.get("cmd") == "hello":
                    reply = {"ok": True, **self._info(), "uptime_ms": 1}
                    self.write(protocol.encode("R", frame.seq, reply))

    def close(self) -> None:
        if self.master is not None:
            self.unplug()
        if self.link.is_symlink():
            self.link.unlink()




# -- a recorded database of a plausible field session ---------------------------------------
PIPELINE = (  # stage, model, mean latency us, modeled us (-1: none), arena bytes
    ("capture", "", 52000, -1, 0),
    ("preprocess", "", 9000, 7000, 0),
    ("premodel", "premodel_knn", 6000, 4500, 0),
    ("embed", "face_s", 410000, 380000, 61440),
    ("embed", "face_m", 930000, 800000, 148000),
    ("voice_embed", "voice_s", 260000, 300000, 90112),
    ("match", "", 1500, -1, 0),
    ("decide", "", 300, -1, 0),
)


def fill_store(path: Path, boots: int = 3, auths: int = 40, seed: int = 7) -> None:
    """A database of ``boots`` boots with ``auths`` authentications each (one record per
    stage), a lost stretch of records in the second boot, and a replayed duplicate."""
    import random

    from eyeauth.link.protocol import TelemetryRecord
    from eyeauth.telemetry.store import TelemetryStore

    rng = random.Random(seed)
    t = 1_760_000_000.0
    with TelemetryStore(path) as store:
        store.begin_session("/dev/ttyUSB0")
        for b in range(boots):
            boot = f"{0xb0070000 + b:08x}"
            store.note_boot(boot, board="esp-eye", fw="0.1.0", proto=1, hello=True)
            seq, heap = 0, 2_400_000
            for _ in range(auths):
                for stage, model, lat, modeled, arena in PIPELINE:
                    if model == "face_m" and rng.random() < 0.7:
                        continue  # the premodel picked the small face model
                    heap = max(900_000, heap - rng.randint(-3000, 4000))
                    t += lat / 1e6 + 0.01
                    rec = TelemetryRecord(boot, seq, stage, model,
                                          max(1, int(rng.lognormvariate(0, 0.15) * lat)),
                                          modeled, heap, arena, {"auth": seq // 8})
                    if not (b == 1 and 30 <= seq < 35):  # five records lost on the link
                        store.add_record(rec, host_time=t)
                    seq += 1
            store.add_record(rec, host_time=t)  # a replay: ignored
        store.add_log(boot, 0, "warn", "low heap | test")
        store.set_link(frames=1234, dropped=2, noise_lines=3, reconnects=1)
