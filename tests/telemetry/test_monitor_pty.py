"""eyeauth.telemetry.monitor against a real pseudo-terminal: frames in, rows out; unplug/replug."""
from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from eyeauth.errors import LinkError
from eyeauth.link import protocol
from eyeauth.telemetry.monitor import monitor

from .helpers import telemetry_frame, wait_for
from .test_store import assert_consistent


class Running:
    """monitor() in a thread, with its events collected."""

    def __init__(self, port, db, **kwargs):
        self.events: list[dict] = []
        self.stop = threading.Event()
        self.result: dict | None = None
        self.error: BaseException | None = None
        kwargs.setdefault("status_interval", 0.05)
        self._thread = threading.Thread(target=self._run, args=(str(port), db), kwargs=kwargs)
        self._thread.start()

    def _run(self, port, db, **kwargs):
        try:
            self.result = monitor(port, db, stop_event=self.stop, on_event=self.events.append,
                                  **kwargs)
        except BaseException as exc:  # handed to the test thread
            self.error = exc

    def count(self, kind: str) -> int:
        return sum(e["event"] == kind for e in list(self.events))

    def last_status(self) -> dict:
        status = [e for e in list(self.events) if e["event"] == "status"]
        return status[-1] if status else {}

    def wait_records(self, n: int, timeout: float = 5.0) -> None:
        wait_for(lambda: self.last_status().get("records", 0) + self.last_status().get(
            "duplicates", 0) >= n, timeout, f"{n} records to be handled")

    def wait_connected(self, n: int = 1) -> None:
        wait_for(lambda: self.count("connected") >= n, 5.0, f"connection {n}")

    def finish(self) -> dict:
        self.stop.set()
        self._thread.join(10)
        assert not self._thread.is_alive(), "monitor did not stop"
        if self.error:
            raise self.error
        return self.result


def rows(db, sql, *args):
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql, args).fetchall()


def test_unplug_replug_replay_and_restart(pty_board, tmp_path):
    db = tmp_path / "t.db"
    run = Running(pty_board.link, db)
    run.wait_connected()
    pty_board.hello()
    pty_board.records(range(10))
    run.wait_records(10)

    pty_board.unplug()                       # cable out: the port vanishes for a while
    wait_for(lambda: run.count("disconnected") == 1, 5.0, "the disconnect")
    time.sleep(0.6)                          # a few failed attempts to reopen
    pty_board.plug()                         # cable back: a new pty behind the same path
    run.wait_connected(2)
    pty_board.records(range(8, 10))          # replayed: must not be stored twice
    pty_board.records(range(12, 16))         # 10..11 lost: one gap of 2
    pty_board.boot = "5ca1ab1e"              # the board resets: new boot, seq from 0
    pty_board.hello()
    pty_board.records(range(5))
    run.wait_records(21)
    result = run.finish()

    assert (result["records"], result["duplicates"]) == (19, 2)
    assert (result["gaps"], result["missing"], result["reconnects"]) == (1, 2, 1)
    assert result["boots"] == ["0badcafe", "5ca1ab1e"]
    assert rows(db, "SELECT boot, seq, count(*) FROM records GROUP BY boot, seq "
                    "HAVING count(*) > 1") == []
    assert rows(db, "SELECT boot, from_seq, to_seq, missing FROM gaps") == [("0badcafe", 10, 11, 2)]
    assert rows(db, "SELECT boot, board, hello_seen FROM boots ORDER BY first_seen") == [
        ("0badcafe", "esp-eye-pty", 1), ("5ca1ab1e", "esp-eye-pty", 1)]
    assert rows(db, "SELECT records, duplicates, reconnects, ended IS NOT NULL FROM sessions") == \
        [(19, 2, 1, 1)]
    assert [e["reconnects"] for e in run.events if e["event"] == "connected"] == [0, 1]
    hellos = [c for c in pty_board.commands if c.kind == "C"]
    assert len(hellos) == 2 and all(c.payload == {"cmd": "hello"} for c in hellos)


def test_the_hello_reply_names_the_board_without_a_restart(pty_board, tmp_path):
    db = tmp_path / "t.db"
    run = Running(pty_board.link, db)
    wait_for(lambda: run.count("hello") == 1, 5.0, "the hello reply")
    pty_board.records([40, 41])
    run.wait_records(2)
    result = run.finish()
    assert result["gaps"] == 0                # joined a running board: 0..39 not a gap
    assert rows(db, "SELECT board, fw, proto, hello_seen FROM boots") == \
        [("esp-eye-pty", "0.1.0-pty", 1, 0)]


def test_noise_damage_logs_and_invalid_payloads_are_counted(pty_board, tmp_path):
    db = tmp_path / "t.db"
    run = Running(pty_board.link, db, hello=False)
    run.wait_connected()
    good = telemetry_frame(0)
    damaged = bytearray(telemetry_frame(1))
    damaged[12] ^= 0x01
    pty_board.write(b"MicroPython v1.29 on 2025-01-01; ESP32 module with ESP32\r\n>>> \r\n"
                    + good + bytes(damaged) + telemetry_frame(2)
                    + protocol.encode("L", 0, {"level": "warn", "msg": "heap low"})
                    + protocol.encode("T", 3, ["0badcafe", "embed"])          # not schema 1
                    + b"x" * 9000 + b"\n" + telemetry_frame(4)[:20])        # overlong; cut
    wait_for(lambda: run.count("log") == 1, 5.0, "the log line")
    run.wait_records(2)
    time.sleep(0.1)
    result = run.finish()
    assert (result["records"], result["gaps"], result["missing"]) == (2, 1, 1)
    assert (result["noise_lines"], result["dropped"], result["invalid"]) == (2, 1, 1)
    assert (result["overlong"], result["truncated"], result["logs"]) == (1, 1, 1)
    assert rows(db, "SELECT boot, level, msg FROM logs") == [("0badcafe", "warn", "heap low")]
    assert rows(db, "SELECT frames, dropped, noise_lines, overlong, truncated, invalid, logs "
                    "FROM sessions") == [(4, 1, 2, 1, 1, 1, 1)]


def test_without_reconnect_it_ends_when_the_port_goes(pty_board, tmp_path):
    db = tmp_path / "t.db"
    run = Running(pty_board.link, db, reconnect=False)
    run.wait_connected()
    pty_board.records(range(3))
    run.wait_records(3)
    pty_board.unplug()
    run._thread.join(5)
    result = run.finish()
    assert result["connected"] is False and result["records"] == 3 and result["reconnects"] == 0


def test_a_missing_port_at_start_is_a_link_error(tmp_path):
    with pytest.raises(LinkError, match="cannot open serial port"):
        monitor(str(tmp_path / "ttyNONE"), tmp_path / "t.db", duration=1)


def test_duration_ends_the_session(pty_board, tmp_path):
    start = time.monotonic()
    result = monitor(str(pty_board.link), tmp_path / "t.db", duration=0.5)
    assert 0.4 < time.monotonic() - start < 3
    assert result["records"] == 0 and result["connected"] is True


_MONITOR = ("import sys; from eyeauth.telemetry.monitor import monitor; "
            "monitor(sys.argv[1], sys.argv[2], hello=True, commit_interval=0.05)")


def test_sigkill_of_a_live_monitor_leaves_a_consistent_database(pty_board, tmp_path):
    db = tmp_path / "t.db"
    proc = subprocess.Popen([sys.executable, "-c", _MONITOR, str(pty_board.link), str(db)])
    stop = threading.Event()
    try:
        wait_for(lambda: pty_board.commands, 10.0, "the monitor to open the port")
        pty_board.hello()
        feeder = threading.Thread(target=_stream, args=(pty_board, stop))
        feeder.start()
        wait_for(lambda: db.exists() and _committed(db) >= 2000, 20.0, "committed records")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        stop.set()
    feeder.join(5)
    assert_consistent(db, boot=pty_board.boot)


def _stream(board, stop: threading.Event) -> None:
    """Write telemetry as fast as the monitor takes it, until stop (never blocks for good:
    once the monitor is killed nobody reads the pty)."""
    os.set_blocking(board.master, False)
    seq, pending = 0, b""
    while not stop.is_set():
        if not pending:
            pending = b"".join(telemetry_frame(s, boot=board.boot) for s in range(seq, seq + 50))
            seq += 50
        try:
            pending = pending[os.write(board.master, pending):]
        except BlockingIOError:
            time.sleep(0.002)
        except OSError:
            return


def _committed(db) -> int:
    try:
        return rows(db, "SELECT count(*) FROM records")[0][0]
    except sqlite3.Error:
        return 0
