"""`monitor` on the virtual board: a pulled cable and a board restart, no duplicates, gaps counted."""
import sqlite3
import threading
import time

from eyeauth import sim
from eyeauth.link import protocol
from eyeauth.telemetry.monitor import monitor


def _send(port, seq, **cmd):
    # A second writer on the line (the monitor owns the reading side), like a terminal would be.
    with open(port, "wb", buffering=0) as f:
        f.write(protocol.encode("C", seq, cmd))


def _wait_rows(db, boot_count, n, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(db) as con:
                rows = con.execute("SELECT boot, COUNT(*) FROM records GROUP BY boot").fetchall()
        except sqlite3.Error:
            rows = []
        if len(rows) >= boot_count and rows[-1][1] >= n:
            return rows
        time.sleep(0.1)
    return rows


def test_monitor_survives_unplug_and_restart_without_duplicates(fresh_sim, tmp_path):
    db = tmp_path / "t.db"
    stop = threading.Event()
    result = {}
    th = threading.Thread(target=lambda: result.update(monitor(fresh_sim.port, db, stop_event=stop)))
    th.start()
    time.sleep(1.0)
    _send(fresh_sim.port, 1, cmd="bench_link", n=300, interval_ms=10)  # ~3 s of records
    time.sleep(1.0)
    sim.unplug(fresh_sim.state)
    time.sleep(0.6)
    sim.replug(fresh_sim.state)
    time.sleep(3.0)
    sim.reset(fresh_sim.state)  # a new boot: seq restarts at 0, not a gap
    time.sleep(2.0)
    _send(fresh_sim.port, 2, cmd="bench_link", n=50)
    time.sleep(2.0)
    stop.set()
    th.join(20)
    assert result, "monitor returned a summary"
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        per_boot = con.execute("SELECT boot, COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq) "
                               "FROM records WHERE stage='bench' GROUP BY boot ORDER BY MIN(id)").fetchall()
    assert len(per_boot) == 2, per_boot
    (b1, n1, d1, lo1, hi1), (b2, n2, d2, lo2, hi2) = per_boot
    assert n1 == d1 and n2 == d2, "no duplicate rows"
    assert 0 < n1 < 300, "records sent while unplugged are lost"
    assert (n2, lo2, hi2) == (50, 0, 49)
    assert result["reconnects"] >= 1
    assert result["gaps"] >= 1 and result["missing"] >= 300 - n1 - 1 - (299 - hi1)
