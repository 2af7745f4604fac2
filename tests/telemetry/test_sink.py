"""FrameSink as AppClient's on_frame: telemetry of a command run goes into the store."""
from __future__ import annotations

import contextlib
import sqlite3

from eyeauth.link import protocol
from eyeauth.link.client import AppClient
from eyeauth.link.transport import Transport
from eyeauth.telemetry.sink import FrameSink
from eyeauth.telemetry.store import TelemetryStore

from .helpers import telemetry_frame


class BenchBoard(Transport):
    """In-memory board: answers ``bench_link`` with n telemetry frames, then the reply."""

    port = "mem://board"

    def __init__(self):
        self.out = bytearray(protocol.encode("H", 0, {"fw": "t", "proto": 1, "board": "mem",
                                                      "boot": "0badcafe"}))
        self.decoder = protocol.FrameDecoder()
        self.seq = 0

    def write(self, data: bytes) -> None:
        for cmd in self.decoder.feed(data):
            n = cmd.payload.get("n", 3)
            self.out += b"".join(telemetry_frame(s) for s in range(self.seq, self.seq + n))
            self.out += protocol.encode("L", 0, {"level": "info", "msg": f"bench {n}"})
            self.out += protocol.encode("R", cmd.seq, {"ok": True, "n": n})
            self.seq += n

    def read(self, max_bytes: int = 4096, timeout: float = 0.1) -> bytes:
        data, self.out = bytes(self.out[:max_bytes]), self.out[max_bytes:]
        return data

    def close(self) -> None:
        pass


def test_a_command_run_stores_its_telemetry(tmp_path):
    db = tmp_path / "t.db"
    with TelemetryStore(db) as store:
        store.begin_session("mem://board")
        sink = FrameSink(store, "mem://board")
        client = AppClient(BenchBoard(), timeout=2, on_frame=sink)
        assert client.command("bench_link", n=25)["n"] == 25
        assert client.command("bench_link", n=5)["n"] == 5
        assert sink.boot == "0badcafe" and sink.invalid == 0
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT count(*), max(seq) FROM records").fetchone() == (30, 29)
        assert conn.execute("SELECT board, hello_seen FROM boots").fetchone() == ("mem", 1)
        assert conn.execute("SELECT msg FROM logs ORDER BY id").fetchall() == \
            [("bench 25",), ("bench 5",)]
        assert conn.execute("SELECT count(*) FROM gaps").fetchone() == (0,)
