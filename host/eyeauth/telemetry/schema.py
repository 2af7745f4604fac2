"""Opening a telemetry database safely, and its DDL (the schema is documented in
:mod:`eyeauth.telemetry.store` and SCHEMA.md).

A database is an ordinary SQLite file marked with ``PRAGMA application_id = 0x45594541``
("EYEA") and ``PRAGMA user_version`` = the schema version; one without that mark is refused,
never written into. Every failure is a one-line :class:`~eyeauth.errors.DataError` that says
what to do.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from eyeauth.errors import DataError

APPLICATION_ID = 0x45594541  # "EYEA"
SCHEMA_VERSION = 2  # 2: boots.virtual

DDL = """
CREATE TABLE IF NOT EXISTS boots (
    boot TEXT PRIMARY KEY, first_seen REAL NOT NULL, last_seen REAL NOT NULL,
    board TEXT, fw TEXT, proto INTEGER, port TEXT, hello_seen INTEGER NOT NULL DEFAULT 0,
    virtual INTEGER);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY, boot TEXT NOT NULL, seq INTEGER NOT NULL, stage TEXT NOT NULL,
    model TEXT NOT NULL, latency_us INTEGER NOT NULL, modeled_us INTEGER NOT NULL,
    heap_free INTEGER NOT NULL, arena_used INTEGER NOT NULL, extra TEXT NOT NULL DEFAULT '{}',
    host_time REAL NOT NULL, session INTEGER, UNIQUE (boot, seq));
CREATE INDEX IF NOT EXISTS records_stage ON records (stage);
CREATE INDEX IF NOT EXISTS records_model ON records (model);
CREATE TABLE IF NOT EXISTS gaps (
    boot TEXT NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL,
    missing INTEGER NOT NULL, detected REAL NOT NULL, session INTEGER,
    PRIMARY KEY (boot, from_seq));
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY, boot TEXT NOT NULL, seq INTEGER NOT NULL, level TEXT NOT NULL,
    msg TEXT NOT NULL, host_time REAL NOT NULL, session INTEGER);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY, port TEXT NOT NULL, started REAL NOT NULL, ended REAL,
    bytes_in INTEGER NOT NULL DEFAULT 0, frames INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0, noise_lines INTEGER NOT NULL DEFAULT 0,
    overlong INTEGER NOT NULL DEFAULT 0, truncated INTEGER NOT NULL DEFAULT 0,
    invalid INTEGER NOT NULL DEFAULT 0, reconnects INTEGER NOT NULL DEFAULT 0,
    records INTEGER NOT NULL DEFAULT 0, duplicates INTEGER NOT NULL DEFAULT 0,
    logs INTEGER NOT NULL DEFAULT 0);
"""

SESSION_COUNTERS = ("bytes_in", "frames", "dropped", "noise_lines", "overlong", "truncated",
                    "invalid", "reconnects", "records", "duplicates", "logs")

_RECORD_HINT = "record one with `eyeauth monitor --port PORT --db {path}`"


def open_for_writing(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) a telemetry database for a writer; DataError if it is not one."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder; give --db a file name such as "
                        f"{path / 'telemetry.db'}")
    if not path.parent.exists():
        raise DataError(f"folder {path.parent} does not exist; create it or choose another "
                        "--db path")
    conn = _connect(str(path), path, readonly=False)
    try:
        if _is_blank(conn, path):
            _create(conn)
        _check_mark(conn, path, writing=True)
        _upgrade(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def open_readonly(path: str | Path) -> sqlite3.Connection:
    """Open an existing telemetry database for reading (works while a monitor writes it)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no telemetry database at {path}; " + _RECORD_HINT.format(path=path))
    conn = _connect(f"file:{quote(str(path.resolve()))}?mode=ro", path, readonly=True)
    try:
        if _is_blank(conn, path):
            raise DataError(f"{path} is empty, not an eyeauth telemetry database; "
                            + _RECORD_HINT.format(path=path))
        _check_mark(conn, path, writing=False)
    except BaseException:
        conn.close()
        raise
    return conn


def _connect(target: str, path: Path, readonly: bool) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(target, uri=readonly, isolation_level=None, timeout=10.0)
    except sqlite3.Error as exc:
        raise DataError(f"cannot open telemetry database {path} ({exc}); check the path and "
                        "its permissions") from None
    return conn


def _is_blank(conn: sqlite3.Connection, path: Path) -> bool:
    try:
        n = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        app = conn.execute("PRAGMA application_id").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise DataError(_corrupt_msg(path, exc)) from None
    return n == 0 and app == 0


def _corrupt_msg(path: Path, exc: Exception) -> str:
    return (f"{path} is not a readable SQLite database ({exc}); it is corrupt or another kind "
            "of file: point --db at a file written by `eyeauth monitor`, or move it away and "
            "record again")


def _create(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")  # not allowed inside a transaction
    conn.execute("BEGIN IMMEDIATE")
    for stmt in DDL.split(";"):
        if stmt.strip():
            conn.execute(stmt)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute("COMMIT")


def _upgrade(conn: sqlite3.Connection) -> None:
    """Schema 1 -> 2: boots.virtual (NULL: not said, as schema 1's boots)."""
    if conn.execute("PRAGMA user_version").fetchone()[0] < 2:
        if "virtual" not in columns(conn, "boots"):
            conn.execute("ALTER TABLE boots ADD COLUMN virtual INTEGER")
        conn.execute("PRAGMA user_version = 2")


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def _check_mark(conn: sqlite3.Connection, path: Path, writing: bool) -> None:
    try:
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise DataError(_corrupt_msg(path, exc)) from None
    if app != APPLICATION_ID:
        action = "monitor will not write into it: choose a new --db file" if writing else \
            "point --db at a file written by `eyeauth monitor`"
        raise DataError(f"{path} is a SQLite database but not an eyeauth telemetry database "
                        f"(application_id {app:#x}); {action}")
    if version > SCHEMA_VERSION:
        raise DataError(f"{path} was written by a newer eyeauth (telemetry schema {version}, this "
                        f"version knows {SCHEMA_VERSION}); upgrade eyeauth")
