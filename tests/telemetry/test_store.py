"""eyeauth.telemetry.store: duplicates, gaps across restarts, transactions, a killed writer."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eyeauth.errors import DataError
from eyeauth.link.protocol import TelemetryRecord
from eyeauth.telemetry import schema
from eyeauth.telemetry.store import TelemetryStore

from .helpers import wait_for


def rec(seq: int, boot: str = "0badcafe", latency_us: int = 1000, **kw) -> TelemetryRecord:
    fields = dict(stage="embed", model="face_s", latency_us=latency_us, modeled_us=900,
                  heap_free=100000, arena_used=4096)
    fields.update(kw)
    return TelemetryRecord(boot=boot, seq=seq, **fields)


def gaps(path: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT boot, from_seq, to_seq, missing FROM gaps "
                            "ORDER BY boot, from_seq").fetchall()


def test_duplicates_are_ignored_and_counted(tmp_path):
    db = tmp_path / "t.db"
    with TelemetryStore(db) as store:
        store.begin_session("pty")
        assert store.add_record(rec(0)) and store.add_record(rec(1))
        assert not store.add_record(rec(1))                      # replayed
        assert not store.add_record(rec(0, latency_us=5))        # same identity, other content
        assert store.counts["records"] == 2 and store.counts["duplicates"] == 2
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT seq, latency_us FROM records ORDER BY seq").fetchall() == \
            [(0, 1000), (1, 1000)]
        assert conn.execute("SELECT records, duplicates FROM sessions").fetchone() == (2, 2)


def test_gaps_per_boot_and_a_restart_at_seq_0_is_not_a_gap(tmp_path):
    db = tmp_path / "t.db"
    with TelemetryStore(db) as store:
        store.begin_session("pty")
        store.note_boot("aaaaaaaa", hello=True)
        for s in [0, 1, 2, 5, 6, 9]:                 # 3..4 and 7..8 lost
            store.add_record(rec(s, "aaaaaaaa"))
        store.note_boot("bbbbbbbb", hello=True)      # the board restarted: seq from 0 again
        for s in [0, 1, 2]:
            store.add_record(rec(s, "bbbbbbbb"))
        assert store.gap_totals() == (2, 4)
    assert gaps(db) == [("aaaaaaaa", 3, 4, 2), ("aaaaaaaa", 7, 8, 2)]


def test_records_before_the_first_one_are_missing_only_if_the_hello_was_seen(tmp_path):
    db = tmp_path / "t.db"
    with TelemetryStore(db) as store:
        store.begin_session("pty")
        store.note_boot("aaaaaaaa", hello=True)
        store.add_record(rec(3, "aaaaaaaa"))         # 0..2 were sent while we listened
        store.add_record(rec(100, "cccccccc"))       # joined a running board: not a gap
        store.add_record(rec(101, "cccccccc"))
        store.add_record(rec(7, "dddddddd"))
        store.note_boot("dddddddd", hello=True)      # its hello arrives late (replay)
    assert gaps(db) == [("aaaaaaaa", 0, 2, 3), ("dddddddd", 0, 6, 7)]


def test_a_late_record_splits_its_gap_and_a_new_writer_picks_up_the_state(tmp_path):
    db = tmp_path / "t.db"
    with TelemetryStore(db) as store:
        store.begin_session("pty")
        store.add_record(rec(0))
        store.add_record(rec(10))
    assert gaps(db) == [("0badcafe", 1, 9, 9)]
    with TelemetryStore(db) as store:                # a second monitor session, same db
        store.begin_session("pty")
        store.add_record(rec(4))
        store.add_record(rec(1))
        store.add_record(rec(12))
        assert not store.add_record(rec(10))
    assert gaps(db) == [("0badcafe", 2, 3, 2), ("0badcafe", 5, 9, 5), ("0badcafe", 11, 11, 1)]


_ops = st.lists(st.tuples(st.sampled_from(["rec", "rec", "rec", "hello", "reopen"]),
                          st.sampled_from(["b0", "b1"]), st.integers(0, 30)), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_ops)
def test_gaps_are_always_exactly_the_holes(ops):
    """Whatever the order of records, hellos and writer restarts, the gaps table equals the
    holes computed from the stored records (the invariant in the schema docs)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "t.db"
        store = TelemetryStore(db, commit_every=3)
        stored: dict[str, set] = {"b0": set(), "b1": set()}
        hello: set[str] = set()
        try:
            for op, boot, seq in ops:
                if op == "rec":
                    assert store.add_record(rec(seq, boot)) == (seq not in stored[boot])
                    stored[boot].add(seq)
                elif op == "hello":
                    store.note_boot(boot, hello=True)
                    hello.add(boot)
                else:
                    store.close()
                    store = TelemetryStore(db, commit_every=3)
        finally:
            store.close()
        expected = []
        for boot in sorted(stored):
            seqs = stored[boot]
            if not seqs:
                continue
            lo = 0 if boot in hello else min(seqs)
            holes = [s for s in range(lo, max(seqs) + 1) if s not in seqs]
            expected += _runs(boot, holes)
        assert gaps(db) == expected


def _runs(boot: str, holes: list[int]) -> list[tuple]:
    runs: list[tuple] = []
    for s in holes:
        if runs and runs[-1][2] == s - 1:
            first = runs[-1][1]
            runs[-1] = (boot, first, s, s - first + 1)
        else:
            runs.append((boot, s, s, 1))
    return runs


def test_nothing_is_visible_before_a_commit_and_everything_after_close(tmp_path):
    db = tmp_path / "t.db"
    store = TelemetryStore(db, commit_every=5, commit_interval=3600)
    store.begin_session("pty")
    reader = schema.open_readonly(db)
    count = lambda: reader.execute("SELECT count(*) FROM records").fetchone()[0]  # noqa: E731
    for s in range(4):
        store.add_record(rec(s))
        store.maybe_commit()
    assert count() == 0
    store.add_record(rec(4))
    assert store.maybe_commit() and count() == 5
    store.add_record(rec(5))
    store.close()
    assert count() == 6
    assert reader.execute("SELECT ended IS NOT NULL FROM sessions").fetchone() == (1,)
    reader.close()


def test_extra_fields_are_stored_as_json(tmp_path):
    db = tmp_path / "t.db"
    with TelemetryStore(db) as store:
        store.add_record(rec(0, extra={"choice": "face_s", "conf": 0.75}))
        store.add_record(rec(1))
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = [json.loads(e) for (e,) in conn.execute("SELECT extra FROM records ORDER BY seq")]
    assert rows == [{"choice": "face_s", "conf": 0.75}, {}]


@pytest.mark.parametrize("content, words", [
    (b"this is not a database, it is a text file\n" * 40, "not a readable SQLite database"),
    (None, "not an eyeauth telemetry database"),
])
def test_a_foreign_file_is_refused_not_overwritten(tmp_path, content, words):
    db = tmp_path / "other.db"
    if content is None:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            conn.execute("CREATE TABLE notes (x)")
    else:
        db.write_bytes(content)
    before = db.read_bytes()
    with pytest.raises(DataError, match=words):
        TelemetryStore(db)
    with pytest.raises(DataError, match=words):
        schema.open_readonly(db)
    assert db.read_bytes() == before


def test_a_newer_schema_is_refused(tmp_path):
    db = tmp_path / "t.db"
    TelemetryStore(db).close()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version = 99")
        conn.commit()
    with pytest.raises(DataError, match="newer eyeauth"):
        schema.open_readonly(db)


def test_missing_database_and_folder_errors_say_what_to_do(tmp_path):
    with pytest.raises(DataError, match=r"no telemetry database at .*eyeauth monitor --port"):
        schema.open_readonly(tmp_path / "none.db")
    with pytest.raises(DataError, match="is a folder"):
        TelemetryStore(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        TelemetryStore(tmp_path / "no" / "such" / "t.db")


_WRITER = textwrap.dedent("""
    import sys
    from eyeauth.link.protocol import TelemetryRecord
    from eyeauth.telemetry.store import TelemetryStore
    store = TelemetryStore(sys.argv[1], commit_every=37, commit_interval=0.02)
    store.begin_session("writer")
    store.note_boot("0badcafe", board="esp-eye", fw="t", hello=True)
    seq = 0
    while True:
        store.add_record(TelemetryRecord("0badcafe", seq, "embed", "face_s", 1000 + seq, 900,
                                         200000 - seq, 4096, {"i": seq}))
        if seq % 50 == 0:
            store.add_log("0badcafe", 0, "info", f"at {seq}")
        store.set_link(frames=seq + 1)
        store.maybe_commit()
        seq += 1
""")


def test_sigkill_mid_write_leaves_a_consistent_database(tmp_path):
    db = tmp_path / "t.db"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(db)])
    try:
        def committed():
            if not db.exists():
                return 0
            try:
                with contextlib.closing(schema.open_readonly(db)) as conn:
                    return conn.execute("SELECT count(*) FROM records").fetchone()[0]
            except (DataError, sqlite3.Error):
                return 0
        wait_for(lambda: committed() >= 3000, timeout=20, what="the writer to commit records")
        time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
    assert proc.returncode == -signal.SIGKILL
    assert_consistent(db, boot="0badcafe")
    with TelemetryStore(db) as store:    # a new writer recovers the WAL and goes on
        store.begin_session("again")
        n = store.conn.execute("SELECT max(seq) FROM records").fetchone()[0]
        assert store.add_record(rec(n + 1))
        assert not store.add_record(rec(n))
    assert gaps(db) == []


def assert_consistent(db: Path, boot: str) -> None:
    """integrity_check ok; records of the boot are 0..n-1 with every field; the session
    counters were committed with the rows they count."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        seqs = [s for (s,) in conn.execute("SELECT seq FROM records WHERE boot = ? ORDER BY seq",
                                           (boot,))]
        assert seqs == list(range(len(seqs))) and len(seqs) > 0
        bad = conn.execute(
            "SELECT count(*) FROM records WHERE stage IS NULL OR model IS NULL OR host_time IS NULL"
            " OR latency_us IS NULL OR heap_free IS NULL OR json_valid(extra) = 0").fetchone()[0]
        assert bad == 0
        assert conn.execute("SELECT count(*) FROM gaps").fetchone()[0] == 0
        session = conn.execute("SELECT records, ended FROM sessions ORDER BY id LIMIT 1").fetchone()
        assert session == (len(seqs), None)
