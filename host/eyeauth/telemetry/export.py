"""Exports of a telemetry database: OpenMetrics text (for Prometheus-style tooling, the
pytest-embedded ``log_metric`` habit) and CSV (for spreadsheets and pandas).

``db`` arguments take a path to a database or an open :class:`sqlite3.Connection`.
"""
from __future__ import annotations

import contextlib
import csv
import sqlite3
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from eyeauth.telemetry import stats
from eyeauth.telemetry.schema import open_readonly

RECORD_COLUMNS = ("boot", "seq", "stage", "model", "latency_us", "modeled_us", "heap_free",
                  "arena_used", "extra", "host_time", "session", "board", "fw")


@contextlib.contextmanager
def connection(db: str | Path | sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """The connection itself, or a read-only one opened (and closed) for a path."""
    if isinstance(db, sqlite3.Connection):
        yield db
        return
    conn = open_readonly(db)
    try:
        yield conn
    finally:
        conn.close()


def openmetrics(db: str | Path | sqlite3.Connection) -> str:
    """The database as OpenMetrics text exposition, ending with ``# EOF``."""
    with connection(db) as conn:
        groups = stats.group_stats(conn, "stage_model")
        sums = {(s, m): total for s, m, total in conn.execute(
            "SELECT stage, model, sum(latency_us) FROM records GROUP BY stage, model")}
        boots = stats.boot_stats(conn)
        sessions = stats.session_stats(conn)
    out: list[str] = []
    _family(out, "eyeauth_stage_latency_seconds", "summary", "seconds",
            "Latency of a pipeline stage measured on the target (nearest-rank quantiles).")
    for g in groups:
        labels = {"stage": g["stage"], "model": g["model"]}
        for p in stats.PERCENTILES:
            out.append(_sample("eyeauth_stage_latency_seconds", {**labels, "quantile": p / 100},
                               _seconds(g[f"p{p}_ms"])))
        out.append(_sample("eyeauth_stage_latency_seconds_sum", labels,
                           sums[(g["stage"], g["model"])] / 1e6))
        out.append(_sample("eyeauth_stage_latency_seconds_count", labels, g["count"]))
    _gauge(out, "eyeauth_stage_modeled_latency_seconds", "seconds",
           "Mean latency the timing model gives for the stage on the board.",
           [({"stage": g["stage"], "model": g["model"]}, _seconds(g["modeled_ms"]))
            for g in groups if g["modeled_ms"] is not None])
    _gauge(out, "eyeauth_stage_arena_used_max_bytes", "bytes",
           "Largest TFLM arena used by the model of the stage.",
           [({"stage": g["stage"], "model": g["model"]}, g["arena_max"]) for g in groups])
    _gauge(out, "eyeauth_boot_heap_free_min_bytes", "bytes",
           "Lowest free heap seen during a boot (memory high-water mark).",
           [(_boot_labels(b), b["heap_free_min"]) for b in boots if b["records"]])
    _counter(out, "eyeauth_boot_records", "Telemetry records stored for a boot.",
             [(_boot_labels(b), b["records"]) for b in boots])
    _gauge(out, "eyeauth_boot_missing_records", "",
           "Telemetry records lost in sequence gaps during a boot.",
           [(_boot_labels(b), b["missing"]) for b in boots])
    for key, help_text in (("frames", "Frames decoded"), ("dropped", "Damaged frames dropped"),
                           ("noise_lines", "Non-frame lines skipped"),
                           ("reconnects", "Reconnects after the port went away"),
                           ("duplicates", "Replayed records ignored")):
        _counter(out, f"eyeauth_link_{key}", f"{help_text}, per monitor session.",
                 [({"session": str(s["id"]), "port": s["port"]}, s[key]) for s in sessions])
    out.append("# EOF")
    return "\n".join(out) + "\n"


def _seconds(ms: float) -> float:
    return round(ms / 1000.0, 9)


def _boot_labels(boot: dict) -> dict:
    return {"boot": boot["boot"], "board": boot["board"] or ""}


def _family(out: list[str], name: str, kind: str, unit: str, help_text: str) -> None:
    out.append(f"# TYPE {name} {kind}")
    if unit:
        out.append(f"# UNIT {name} {unit}")
    out.append(f"# HELP {name} {_escape(help_text)}")


def _gauge(out: list[str], name: str, unit: str, help_text: str,
           samples: Iterable[tuple[dict, float]]) -> None:
    _family(out, name, "gauge", unit, help_text)
    out.extend(_sample(name, labels, value) for labels, value in samples)


def _counter(out: list[str], name: str, help_text: str,
             samples: Iterable[tuple[dict, float]]) -> None:
    _family(out, name, "counter", "", help_text)
    out.extend(_sample(name + "_total", labels, value) for labels, value in samples)


def _sample(name: str, labels: dict, value: float) -> str:
    text = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
    return f"{name}{{{text}}} {_number(value)}" if text else f"{name} {_number(value)}"


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# -- CSV ------------------------------------------------------------------------------------
def records_csv(db: str | Path | sqlite3.Connection, path: str | Path) -> int:
    """Every telemetry record (with its boot's board and fw) as CSV; returns the row count."""
    with connection(db) as conn:
        cur = conn.execute(
            "SELECT r.boot, r.seq, r.stage, r.model, r.latency_us, r.modeled_us, r.heap_free,"
            " r.arena_used, r.extra, r.host_time, r.session, b.board, b.fw FROM records r"
            " LEFT JOIN boots b ON b.boot = r.boot ORDER BY r.host_time, r.boot, r.seq")
        return write_csv(path, RECORD_COLUMNS, cur)


def write_csv(path: str | Path, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Rows (sequences or dicts keyed by column) to a CSV file with a header; the row count."""
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            if isinstance(row, dict):
                row = [row.get(c) for c in columns]
            writer.writerow(["" if v is None else v for v in row])
            n += 1
    return n
