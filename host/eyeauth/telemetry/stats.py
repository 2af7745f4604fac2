"""Summary statistics of a telemetry database, shared by the report and the exports.

Definitions (the report states them too):

- percentiles are **nearest-rank**: the p-th percentile of n sorted values is the value at rank
  ceil(p/100 * n), so it is always a latency that was actually measured;
- ``modeled_ms`` is the mean of ``modeled_us`` over the records that have one (>= 0);
- ``ratio`` is measured / modeled over those same records: sum(latency_us) / sum(modeled_us)
  (1.0 means the timing model is right on average; 2.0 means the board is twice as slow);
- ``heap_free_min`` is the lowest ``heap_free`` seen (the memory high-water mark);
  ``arena_max`` the largest ``arena_used``.
"""
from __future__ import annotations

import math
import sqlite3
from itertools import groupby
from typing import Sequence

PERCENTILES = (50, 90, 99)
GROUP_COLUMNS = ("count", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms", "modeled_ms",
                 "ratio", "heap_free_min", "arena_max")


def nearest_rank(sorted_values: Sequence[float], p: float) -> float:
    """The p-th percentile (0 < p <= 100) of already sorted values, nearest-rank method."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def group_stats(conn: sqlite3.Connection, by: str) -> list[dict]:
    """Latency and memory per ``stage``, per ``model`` (records with a model only) or per
    ``stage_model`` (both); one dict per group with the key column(s) and GROUP_COLUMNS."""
    keys = {"stage": ("stage",), "model": ("model",), "stage_model": ("stage", "model"),
            "model_stage": ("model", "stage")}[by]
    where = "WHERE model != ''" if by in ("model", "model_stage") else ""
    cols = ", ".join(keys)
    rows = conn.execute(
        f"SELECT {cols}, latency_us, modeled_us, heap_free, arena_used FROM records {where}"
        f" ORDER BY {cols}, latency_us").fetchall()
    n = len(keys)
    out = []
    for key, group in groupby(rows, key=lambda r: r[:n]):
        stats = summarize([r[n:] for r in group])
        out.append({**dict(zip(keys, key)), **stats})
    return out


def summarize(rows: list[tuple[int, int, int, int]]) -> dict:
    """(latency_us, modeled_us, heap_free, arena_used) rows sorted by latency -> the stats."""
    lat = [r[0] for r in rows]
    paired = [(r[0], r[1]) for r in rows if r[1] >= 0]
    measured_sum = sum(measured for measured, _ in paired)
    modeled_sum = sum(modeled for _, modeled in paired)
    stats = {"count": len(lat), "mean_ms": round(sum(lat) / len(lat) / 1000.0, 3)}
    for p in PERCENTILES:
        stats[f"p{p}_ms"] = nearest_rank(lat, p) / 1000.0
    stats["max_ms"] = lat[-1] / 1000.0
    stats["modeled_ms"] = round(modeled_sum / len(paired) / 1000.0, 3) if paired else None
    stats["ratio"] = (round(measured_sum / modeled_sum, 3)
                      if paired and modeled_sum > 0 else None)
    stats["heap_free_min"] = min(r[2] for r in rows)
    stats["arena_max"] = max(r[3] for r in rows)
    return stats


def boot_stats(conn: sqlite3.Connection) -> list[dict]:
    """One dict per boot: board, fw, records, seq range, gaps, missing, heap free min."""
    from eyeauth.telemetry.schema import columns

    virtual = "b.virtual" if "virtual" in columns(conn, "boots") else "NULL"  # schema 1: unsaid
    rows = conn.execute(
        f"SELECT b.boot, b.board, b.fw, b.hello_seen, b.first_seen, b.last_seen, {virtual},"
        " count(r.seq), min(r.seq), max(r.seq), min(r.heap_free),"
        " (SELECT count(*) FROM gaps g WHERE g.boot = b.boot),"
        " (SELECT coalesce(sum(missing), 0) FROM gaps g WHERE g.boot = b.boot)"
        " FROM boots b LEFT JOIN records r ON r.boot = b.boot"
        " GROUP BY b.boot ORDER BY b.first_seen, b.boot").fetchall()
    names = ("boot", "board", "fw", "hello_seen", "first_seen", "last_seen", "virtual", "records",
             "first_seq", "last_seq", "heap_free_min", "gaps", "missing")
    return [dict(zip(names, r)) for r in rows]


def session_stats(conn: sqlite3.Connection) -> list[dict]:
    """The link statistics of every monitor session, oldest first."""
    cur = conn.execute("SELECT * FROM sessions ORDER BY id")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def totals(conn: sqlite3.Connection) -> dict:
    """Whole-database counts: records, boots, sessions, gaps, missing, duplicates, time span."""
    one = lambda sql: conn.execute(sql).fetchone()  # noqa: E731
    records, t0, t1 = one("SELECT count(*), min(host_time), max(host_time) FROM records")
    gaps, missing = one("SELECT count(*), coalesce(sum(missing), 0) FROM gaps")
    sessions, dup, dropped, reconnects = one(
        "SELECT count(*), coalesce(sum(duplicates), 0), coalesce(sum(dropped), 0),"
        " coalesce(sum(reconnects), 0) FROM sessions")
    return {"records": records, "boots": one("SELECT count(*) FROM boots")[0],
            "sessions": sessions, "gaps": gaps, "missing": missing, "duplicates": dup,
            "dropped": dropped, "reconnects": reconnects,
            "logs": one("SELECT count(*) FROM logs")[0], "first_time": t0, "last_time": t1}


def source(conn: sqlite3.Connection) -> str:
    """Where the records came from, by the boots' hellos: "virtual" (every board said it is a
    virtual one), "board" (none did; a board that said nothing counts as real), "mixed"."""
    from eyeauth.telemetry.schema import columns

    if "virtual" not in columns(conn, "boots"):
        return "board"
    kinds = {bool(v) for (v,) in conn.execute(
        "SELECT virtual FROM boots WHERE boot IN (SELECT DISTINCT boot FROM records)")}
    return "mixed" if len(kinds) > 1 else ("virtual" if kinds == {True} else "board")


SOURCE_WORDS = {"virtual": "virtual board: host VM times; modeled = for the board",
                "board": "on target", "mixed": "real and virtual boards together"}


def gap_spans(conn: sqlite3.Connection, boot: str) -> list[tuple]:
    """Per gap of ``boot``: (host time of the record before it, of the record after it,
    records missing); None where that record is not stored."""
    out = []
    for lo, hi, missing in conn.execute(
            "SELECT from_seq, to_seq, missing FROM gaps WHERE boot = ? ORDER BY from_seq", (boot,)):
        before = conn.execute("SELECT max(host_time) FROM records WHERE boot = ? AND seq < ?",
                              (boot, lo)).fetchone()[0]
        after = conn.execute("SELECT min(host_time) FROM records WHERE boot = ? AND seq > ?",
                             (boot, hi)).fetchone()[0]
        out.append((before, after, missing))
    return out


def heap_series(conn: sqlite3.Connection, max_boots: int = 10) -> dict[str, list[tuple]]:
    """boot -> [(seconds since its first record, heap_free)] for the latest max_boots boots."""
    boots = [r[0] for r in conn.execute(
        "SELECT boot FROM records GROUP BY boot ORDER BY min(host_time) DESC LIMIT ?",
        (max_boots,))]
    series = {}
    for boot in reversed(boots):
        rows = conn.execute("SELECT host_time, heap_free FROM records WHERE boot = ? ORDER BY seq",
                            (boot,)).fetchall()
        t0 = rows[0][0]
        series[boot] = [(t - t0, h) for t, h in rows]
    return series
