"""`eyeauth monitor` and `eyeauth report`: what a person sees (output, errors, Ctrl-C)."""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading

from eyeauth.cli.main import main
from eyeauth.cli.monitor import StatusLine

from .helpers import wait_for


def test_report_json(sample_db, tmp_path, capsys):
    assert main(["report", "--db", str(sample_db), "--out", str(tmp_path / "r"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["records"] > 0 and (tmp_path / "r" / "report.md").is_file()
    assert {s["stage"] for s in data["stages"]} >= {"capture", "embed", "decide"}


def test_report_text(sample_db, tmp_path, capsys):
    assert main(["report", "--db", str(sample_db), "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"report of {sample_db}: ") and out[0].endswith("1 gaps (5 missing)")
    assert out[1].split() == ["stage", "count", "p50", "ms", "p90", "ms", "p99", "ms", "heap",
                              "min", "KiB"]
    assert out[-1] == f"wrote {tmp_path / 'r' / 'report.md'} and 9 more files in {tmp_path / 'r'}"


def test_report_missing_db_is_one_line_with_the_fix(tmp_path, capsys):
    db = tmp_path / "none.db"
    assert main(["report", "--db", str(db), "--out", str(tmp_path / "r")]) == 6
    assert capsys.readouterr().err == (
        f"eyeauth: no telemetry database at {db}; record one with "
        f"`eyeauth monitor --port PORT --db {db}`\n")


def test_monitor_bad_duration_is_a_usage_error(pty_board, tmp_path, capsys):
    assert main(["monitor", "--port", str(pty_board.link), "--db", str(tmp_path / "t.db"),
                 "--duration", "0"]) == 2
    assert "--duration must be a positive number" in capsys.readouterr().err


def test_monitor_json_summary(pty_board, tmp_path, capsys):
    def board():
        wait_for(lambda: pty_board.commands, 5.0, "the monitor's hello")
        pty_board.hello()
        pty_board.records(range(6))

    feeder = threading.Thread(target=board)
    feeder.start()
    rc = main(["monitor", "--port", str(pty_board.link), "--db", str(tmp_path / "t.db"),
               "--duration", "1.0", "--json"])
    feeder.join()
    captured = capsys.readouterr()
    assert rc == 0
    summary = json.loads(captured.out)
    assert (summary["records"], summary["gaps"], summary["reconnects"]) == (6, 0, 0)
    assert f"monitor: connected to {pty_board.link}" in captured.err
    assert "boot 0badcafe started" in captured.err


# What the `eyeauth` console script runs (`python -m eyeauth.cli.main` would load main.py twice,
# as __main__ and as eyeauth.cli.main, and print nothing: see the note to the lead).
_ENTRY = "import sys; from eyeauth.cli.main import main; sys.exit(main())"


def test_ctrl_c_stops_cleanly_and_prints_the_summary(pty_board, tmp_path):
    db = tmp_path / "t.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _ENTRY, "monitor", "--port", str(pty_board.link), "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: pty_board.commands, 10.0, "the monitor's hello")
        pty_board.records(range(5))
        wait_for(lambda: _count(db) == 5, 10.0, "5 committed records")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert "records stored   5" in out and "reconnects       0" in out
    assert "Traceback" not in err
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT ended IS NOT NULL, records FROM sessions").fetchone() == (1, 5)


def _count(db) -> int:
    try:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            return conn.execute("SELECT count(*) FROM records").fetchone()[0]
    except sqlite3.Error:
        return -1


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_status_line_updates_in_place_on_a_terminal():
    tty = FakeTTY()
    line = StatusLine(tty, "/dev/ttyUSB0")
    status = {"event": "status", "port": "/dev/ttyUSB0", "records": 12, "rate_per_s": 4.0,
              "gaps": 1, "missing": 2, "reconnects": 1, "dropped": 0, "connected": False}
    line.on_event(status)
    line.on_event({"event": "log", "boot": "0badcafe", "level": "warn", "msg": "heap low"})
    line.clear()
    assert tty.getvalue() == (
        "\r\x1b[Kmonitor /dev/ttyUSB0: 12 records (4.0/s), 1 gaps (2 missing), 1 reconnects, "
        "0 dropped  [waiting for /dev/ttyUSB0 to come back]"
        "\r\x1b[Kboard [warn] heap low\n")


def test_status_line_is_silent_when_not_a_terminal():
    stream = io.StringIO()
    line = StatusLine(stream, "p")
    line.on_event({"event": "status", "port": "p", "records": 1, "rate_per_s": 1.0, "gaps": 0,
                   "missing": 0, "reconnects": 0, "dropped": 0, "connected": True})
    line.on_event({"event": "disconnected", "port": "p", "reason": "gone"})
    assert stream.getvalue() == "monitor: lost p; waiting for it to come back (Ctrl-C to stop)\n"
