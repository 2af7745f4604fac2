"""The telemetry store: a SQLite database (WAL mode) that monitor writes and report reads.

Schema version 2. The file is an ordinary SQLite database marked with
``PRAGMA application_id = 0x45594541`` ("EYEA") and ``PRAGMA user_version = 2``; a database
without that mark is refused, never written into; a schema 1 file is upgraded in place by a
writer (``boots.virtual`` added). SCHEMA.md next to this file is the same text.

``boots`` - one row per app start of a board (the ``boot`` id of the hello frame)
    boot TEXT PK (8 hex digits), first_seen / last_seen REAL (host Unix time),
    board, fw TEXT, proto INTEGER (from an ``H`` hello frame or a ``hello`` reply; NULL until
    known), port TEXT (where it was first seen), hello_seen INTEGER (1 once the start-up ``H``
    frame was received: the host was listening from seq 0, so records before the first one
    received are missing, not merely unobserved), virtual INTEGER (1: the hello said the board
    is a virtual one, 0: said it is not, NULL: said nothing).

``records`` - one row per telemetry frame ``T1 <seq> [boot, stage, model, ...]``
    id INTEGER PK, boot TEXT, seq INTEGER, stage TEXT, model TEXT ("" when none),
    latency_us INTEGER (measured on the target), modeled_us INTEGER (-1 when none),
    heap_free INTEGER (bytes), arena_used INTEGER (bytes), extra TEXT (JSON object, "{}" when
    none), host_time REAL (host Unix time at receipt), session INTEGER (the monitor session).
    UNIQUE(boot, seq): a replayed record is ignored (INSERT OR IGNORE) and counted as a duplicate.

``gaps`` - per boot, the seq numbers missing between records (seq is +1 per record)
    boot TEXT, from_seq, to_seq INTEGER (first and last missing seq, inclusive), missing INTEGER
    (to_seq - from_seq + 1), detected REAL (host time), session INTEGER; PK(boot, from_seq).
    Invariant: the gaps of a boot are exactly the holes in its stored seq numbers between its
    lowest covered seq (0 when the hello was seen, else the lowest stored) and its highest stored
    seq. A new boot starting again at seq 0 is a new boot, not a gap. A late record that fills a
    hole shrinks or splits its gap.

``logs`` - ``L`` frames: id PK, boot TEXT ("" when not known yet), seq INTEGER, level TEXT,
    msg TEXT, host_time REAL, session INTEGER. Not deduplicated (the firmware repeats seq 0).

``sessions`` - link statistics, one row per monitor session
    id INTEGER PK, port TEXT, started / ended REAL (host time; ended NULL while running or after
    a kill), bytes_in, frames, dropped (damaged frames), noise_lines (non-frame lines),
    overlong (lines over MAX_LINE), truncated (partial frame lost at a disconnect), invalid
    (checksummed T frames whose payload is not schema 1), reconnects, records (stored),
    duplicates (ignored replays), logs: all INTEGER, updated with every commit.

Writers commit in small transactions (every N records or 0.5 s) with ``synchronous=NORMAL``
in WAL mode, so a killed writer leaves a consistent database holding every record up to its
last commit (a power cut may lose the last transactions, never corrupt the file).
"""
from __future__ import annotations

import functools
import json
import sqlite3
import time
from pathlib import Path
from typing import Callable, Iterable

from eyeauth.errors import DataError
from eyeauth.link.protocol import TelemetryRecord
from eyeauth.telemetry.schema import SESSION_COUNTERS, open_for_writing

_INSERT_RECORD = (
    "INSERT OR IGNORE INTO records (boot, seq, stage, model, latency_us, modeled_us, heap_free,"
    " arena_used, extra, host_time, session) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_UPSERT_BOOT = (
    "INSERT INTO boots (boot, first_seen, last_seen, board, fw, proto, port, hello_seen, virtual)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (boot) DO UPDATE SET"
    " last_seen = max(last_seen, excluded.last_seen), board = coalesce(excluded.board, board),"
    " fw = coalesce(excluded.fw, fw), proto = coalesce(excluded.proto, proto),"
    " virtual = coalesce(excluded.virtual, virtual),"
    " hello_seen = max(hello_seen, excluded.hello_seen)")


def _db_errors(method: Callable) -> Callable:
    """Translate SQLite failures while writing into one-line DataErrors."""

    @functools.wraps(method)
    def wrapper(self: "TelemetryStore", *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise DataError(f"cannot write telemetry to {self.path} ({exc}); check free disk "
                            "space and that no other program holds the file") from None

    return wrapper


class TelemetryStore:
    """The writer of a telemetry database: one per monitor, used from one thread.

    Nothing is visible to readers until :meth:`commit`; :meth:`maybe_commit` commits every
    ``commit_every`` records or ``commit_interval`` seconds, whichever comes first. ``counts``
    holds this session's counters (``SESSION_COUNTERS``); the link ones are set by the caller
    with :meth:`set_link`.
    """

    def __init__(self, path: str | Path, commit_every: int = 200, commit_interval: float = 0.5,
                 clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.conn = open_for_writing(self.path)
        self.commit_every = commit_every
        self.commit_interval = commit_interval
        self._clock = clock
        self._pending = 0
        self._dirty = False
        self._last_commit = time.monotonic()
        self._cover: dict[str, list[int] | None] = {}   # boot -> [lowest, highest] covered seq
        self._last_seen: dict[str, float] = {}
        self.session: int | None = None
        self.counts = dict.fromkeys(SESSION_COUNTERS, 0)
        self.boots: set[str] = set()                    # boots seen in this session

    # -- writing -------------------------------------------------------------------------------
    @_db_errors
    def begin_session(self, port: str) -> int:
        cur = self.conn.execute("INSERT INTO sessions (port, started) VALUES (?, ?)",
                                (port, self._clock()))
        self.session = cur.lastrowid
        return self.session

    @_db_errors
    def note_boot(self, boot: str, *, board: str | None = None, fw: str | None = None,
                  proto: int | None = None, port: str | None = None, hello: bool = False,
                  host_time: float | None = None, virtual: bool | None = None) -> None:
        """Record what is known of a boot; ``hello=True`` for the start-up ``H`` frame."""
        self._begin()
        cover = self._coverage(boot)
        now = self._clock() if host_time is None else host_time
        self.conn.execute(_UPSERT_BOOT, (boot, now, now, board, fw, proto, port, int(hello),
                                         None if virtual is None else int(virtual)))
        self.boots.add(boot)
        if hello:
            if cover is None:
                self._cover[boot] = [0, -1]
            elif cover[0] > 0:
                self._add_gap(boot, 0, cover[0] - 1, now)
                cover[0] = 0
        self._dirty = True

    @_db_errors
    def add_record(self, rec: TelemetryRecord, host_time: float | None = None,
                   port: str | None = None) -> bool:
        """Store one record; False (and counted) when (boot, seq) is already stored."""
        self._begin()
        now = self._clock() if host_time is None else host_time
        if rec.boot not in self.boots:
            self.note_boot(rec.boot, port=port, host_time=now)
        cover = self._coverage(rec.boot)
        extra = json.dumps(rec.extra, sort_keys=True, separators=(",", ":"))
        cur = self.conn.execute(_INSERT_RECORD, (
            rec.boot, rec.seq, rec.stage, rec.model, rec.latency_us, rec.modeled_us,
            rec.heap_free, rec.arena_used, extra, now, self.session))
        if cur.rowcount == 0:
            self.counts["duplicates"] += 1
            return False
        self._cover_seq(rec.boot, rec.seq, cover, now)
        self._last_seen[rec.boot] = now
        self.counts["records"] += 1
        self._pending += 1
        return True

    @_db_errors
    def add_log(self, boot: str | None, seq: int, level: str, msg: str,
                host_time: float | None = None) -> None:
        self._begin()
        now = self._clock() if host_time is None else host_time
        self.conn.execute(
            "INSERT INTO logs (boot, seq, level, msg, host_time, session) VALUES (?,?,?,?,?,?)",
            (boot or "", seq, level, msg, now, self.session))
        self.counts["logs"] += 1
        self._pending += 1

    def set_link(self, **counters: int) -> None:
        """Set this session's link counters (frames, dropped, noise_lines, reconnects, ...)."""
        for key, value in counters.items():
            if key not in self.counts:
                raise ValueError(f"unknown session counter {key!r}")
            if self.counts[key] != value:
                self.counts[key] = value
                self._dirty = True

    def maybe_commit(self) -> bool:
        due = self._pending >= self.commit_every or (
            time.monotonic() - self._last_commit >= self.commit_interval)
        if due and (self._pending or self._dirty or self.conn.in_transaction):
            self.commit()
            return True
        return False

    @_db_errors
    def commit(self, ended: bool = False) -> None:
        self._begin()
        self.conn.executemany("UPDATE boots SET last_seen = max(last_seen, ?) WHERE boot = ?",
                              [(t, b) for b, t in self._last_seen.items()])
        self._last_seen.clear()
        if self.session is not None:
            sets = ", ".join(f"{k} = ?" for k in SESSION_COUNTERS)
            values = [self.counts[k] for k in SESSION_COUNTERS]
            if ended:
                sets += ", ended = ?"
                values.append(self._clock())
            self.conn.execute(f"UPDATE sessions SET {sets} WHERE id = ?", values + [self.session])
        self.conn.execute("COMMIT")
        self._pending = 0
        self._dirty = False
        self._last_commit = time.monotonic()

    def close(self) -> None:
        """Commit what is pending, mark the session ended, close the file."""
        try:
            if self.session is not None or self.conn.in_transaction:
                self.commit(ended=True)
        finally:
            self.conn.close()

    def __enter__(self) -> "TelemetryStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading back --------------------------------------------------------------------------
    @_db_errors
    def gap_totals(self, boots: Iterable[str] | None = None) -> tuple[int, int]:
        """(gaps, missing records) over ``boots`` (default: the boots of this session)."""
        boots = sorted(self.boots if boots is None else boots)
        if not boots:
            return 0, 0
        marks = ",".join("?" * len(boots))
        n, missing = self.conn.execute(
            f"SELECT count(*), coalesce(sum(missing), 0) FROM gaps WHERE boot IN ({marks})",
            boots).fetchone()
        return n, missing

    # -- gaps ----------------------------------------------------------------------------------
    def _begin(self) -> None:
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")

    def _coverage(self, boot: str) -> list[int] | None:
        """[lowest, highest] seq covered for boot (lowest is 0 once the hello was seen)."""
        if boot not in self._cover:
            lo, hi = self.conn.execute(
                "SELECT min(seq), max(seq) FROM records WHERE boot = ?", (boot,)).fetchone()
            row = self.conn.execute("SELECT hello_seen FROM boots WHERE boot = ?",
                                    (boot,)).fetchone()
            if row and row[0]:
                lo, hi = 0, (-1 if hi is None else hi)
            self._cover[boot] = None if lo is None else [lo, hi]
        return self._cover[boot]

    def _cover_seq(self, boot: str, seq: int, cover: list[int] | None, now: float) -> None:
        if cover is None:
            self._cover[boot] = [seq, seq]
        elif seq > cover[1]:
            if seq > cover[1] + 1:
                self._add_gap(boot, cover[1] + 1, seq - 1, now)
            cover[1] = seq
        elif seq < cover[0]:
            if seq < cover[0] - 1:
                self._add_gap(boot, seq + 1, cover[0] - 1, now)
            cover[0] = seq
        else:
            self._fill(boot, seq, now)

    def _add_gap(self, boot: str, first: int, last: int, now: float) -> None:
        self.conn.execute(
            "INSERT INTO gaps (boot, from_seq, to_seq, missing, detected, session)"
            " VALUES (?, ?, ?, ?, ?, ?)", (boot, first, last, last - first + 1, now, self.session))

    def _fill(self, boot: str, seq: int, now: float) -> None:
        """A late record inside a gap: shrink or split that gap."""
        row = self.conn.execute(
            "SELECT from_seq, to_seq, detected FROM gaps WHERE boot = ? AND from_seq <= ?"
            " AND to_seq >= ?", (boot, seq, seq)).fetchone()
        if row is None:
            return
        first, last, detected = row
        self.conn.execute("DELETE FROM gaps WHERE boot = ? AND from_seq = ?", (boot, first))
        if first <= seq - 1:
            self._add_gap(boot, first, seq - 1, detected)
        if seq + 1 <= last:
            self._add_gap(boot, seq + 1, last, detected)
