"""Latency and memory report of a telemetry database: markdown, CSV, PNG plots, OpenMetrics.

:func:`report` writes into ``out_dir``:

- ``report.md``: summary, link quality per monitor session, boots, latency/memory per stage and
  per model, the plots, and the definitions of every number;
- ``by_stage.csv``, ``by_model.csv``, ``boots.csv``, ``sessions.csv``, ``records.csv``;
- ``latency_by_stage.png`` (box plot), ``latency_by_model.png`` (measured vs modeled bars,
  when records name a model), ``heap_free.png`` (free heap over time per boot);
- ``metrics.txt``: the OpenMetrics export.

It returns the same numbers as a dict (what ``eyeauth report --json`` prints).
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from eyeauth.errors import DataError
from eyeauth.telemetry import export, plots, stats
from eyeauth.telemetry.schema import open_readonly

_TABLE_HEAD = ("count", "mean ms", "p50 ms", "p90 ms", "p99 ms", "max ms", "modeled ms",
               "measured/modeled", "heap free min KiB", "arena max KiB")
_SESSION_COLUMNS = ("id", "port", "started", "ended", "bytes_in", "frames", "dropped",
                    "noise_lines", "overlong", "truncated", "invalid", "reconnects", "records",
                    "duplicates", "logs")
_BOOT_COLUMNS = ("boot", "board", "fw", "hello_seen", "first_seen", "last_seen", "records",
                 "first_seq", "last_seq", "heap_free_min", "gaps", "missing")


def report(db_path: str | Path, out_dir: str | Path) -> dict:
    """Write the report of ``db_path`` into ``out_dir`` (created); returns its numbers."""
    db_path, out_dir = Path(db_path), Path(out_dir)
    conn = open_readonly(db_path)
    try:
        data = _collect(conn, db_path)
        out_dir = _prepare(out_dir)
        files = _write_tables(conn, data, out_dir)
        files.update({k: str(v) for k, v in plots.all_plots(conn, out_dir).items()})
        (out_dir / "metrics.txt").write_text(export.openmetrics(conn), encoding="utf-8")
        files["metrics"] = str(out_dir / "metrics.txt")
        (out_dir / "report.md").write_text(render_markdown(data, files), encoding="utf-8")
        files["report"] = str(out_dir / "report.md")
    except sqlite3.DatabaseError as exc:
        raise DataError(f"cannot read telemetry from {db_path} ({exc}); the file may be damaged: "
                        f"check it with `sqlite3 {db_path} 'PRAGMA integrity_check'`") from None
    finally:
        conn.close()
    data.update(out_dir=str(out_dir), files=files)
    return data


def _collect(conn: sqlite3.Connection, db_path: Path) -> dict:
    totals = stats.totals(conn)
    if not totals["records"]:
        raise DataError(f"{db_path} holds no telemetry records yet; run `eyeauth monitor --port "
                        f"PORT --db {db_path}` while the board works, then report again")
    return {"db": str(db_path), "generated": time.time(), "totals": totals,
            "source": stats.source(conn),
            "stages": stats.group_stats(conn, "stage"),
            "models": stats.group_stats(conn, "model_stage"),
            "boots": stats.boot_stats(conn), "sessions": stats.session_stats(conn)}


def _prepare(out_dir: Path) -> Path:
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"{out_dir} is a file; give --out a folder for the report")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create report folder {out_dir} ({exc.strerror}); choose "
                        "another --out") from None
    return out_dir


def _write_tables(conn: sqlite3.Connection, data: dict, out_dir: Path) -> dict:
    cols = stats.GROUP_COLUMNS
    export.write_csv(out_dir / "by_stage.csv", ("stage",) + cols, data["stages"])
    export.write_csv(out_dir / "by_model.csv", ("model", "stage") + cols, data["models"])
    export.write_csv(out_dir / "boots.csv", _BOOT_COLUMNS, data["boots"])
    export.write_csv(out_dir / "sessions.csv", _SESSION_COLUMNS, data["sessions"])
    export.records_csv(conn, out_dir / "records.csv")
    return {name: str(out_dir / f"{name}.csv")
            for name in ("by_stage", "by_model", "boots", "sessions", "records")}


# -- markdown ---------------------------------------------------------------------------------
def render_markdown(data: dict, files: dict) -> str:
    t = data["totals"]
    lines = [
        "# eyeauth telemetry report", "",
        f"Database `{data['db']}`, generated {_when(data['generated'])}.", "",
        f"Source: {_SOURCE_TEXT[data['source']]}", "",
        f"- records: {t['records']} from {t['boots']} boots over {t['sessions']} monitor "
        f"sessions, {_when(t['first_time'])} to {_when(t['last_time'])}",
        f"- sequence gaps: {t['gaps']} ({t['missing']} records missing); duplicates ignored: "
        f"{t['duplicates']}; damaged frames dropped: {t['dropped']}; reconnects: "
        f"{t['reconnects']}; log lines: {t['logs']}", "",
        "## Latency and memory per stage", "",
        *_group_table("stage", data["stages"]), "",
    ]
    if "latency_by_stage" in files:
        lines += ["![Measured latency per stage](latency_by_stage.png)", ""]
    lines += ["## Latency and memory per model, per stage", ""]
    lines += _group_table(("model", "stage"), data["models"]) if data["models"] else \
        ["No record names a model.", ""]
    if "latency_by_model" in files:
        lines += ["", "![Latency per model, measured vs modeled](latency_by_model.png)", ""]
    lines += ["", "## Boots", "", *_boots_table(data["boots"]), "",
              "![Free heap over time per boot](heap_free.png)", "",
              "## Link quality per monitor session", "", *_sessions_table(data["sessions"]), "",
              "## Definitions", "", *_DEFINITIONS]
    return "\n".join(lines) + "\n"


_SOURCE_TEXT = {
    "virtual": "a **virtual board** (`eyeauth sim`: the firmware in the MicroPython VM on the "
               "host). Measured latencies are the host VM's, not an ESP32's; the modeled column "
               "is the timing model's figure for the board it stands for.",
    "board": "a board (every boot's hello said so, or said nothing); measured = on target.",
    "mixed": "**real and virtual boards together**: the boots table says which is which; "
             "per-stage figures mix them.",
}

_DEFINITIONS = [
    "- Latencies are measured on the target (`ticks_us`), in milliseconds.",
    "- p50/p90/p99 are nearest-rank percentiles: the value at rank ceil(p/100 * count) of the "
    "sorted latencies, always a real measurement.",
    "- modeled ms: mean latency of the timing model for the board, over records that have one; "
    "measured/modeled: sum of measured over sum of modeled latency on those same records "
    "(above 1: the board is slower than modeled).",
    "- heap free min: the lowest `gc.mem_free()` seen after the stage (memory high-water mark); "
    "arena max: the largest TFLM arena used. 1 KiB = 1024 bytes.",
    "- A gap is a jump in a boot's telemetry sequence numbers (records lost on the link or while "
    "no monitor listened); a new boot restarting at seq 0 is not a gap.",
]


def _group_table(key, rows: list[dict]) -> list[str]:
    keys = (key,) if isinstance(key, str) else tuple(key)
    head = keys + _TABLE_HEAD
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"`{_md(r[k])}`" for k in keys] + [
                 str(r["count"]), f"{r['mean_ms']:.3f}", f"{r['p50_ms']:.3f}",
                 f"{r['p90_ms']:.3f}", f"{r['p99_ms']:.3f}", f"{r['max_ms']:.3f}",
                 _opt(r["modeled_ms"], "{:.3f}"), _opt(r["ratio"], "{:.3f}"),
                 f"{r['heap_free_min'] / 1024:.1f}", f"{r['arena_max'] / 1024:.1f}"]
        out.append("| " + " | ".join(cells) + " |")
    return out


def _boots_table(rows: list[dict]) -> list[str]:
    out = ["| boot | board | fw | first seen | records | seq range | gaps | missing | "
           "heap free min KiB |", "|---|---|---|---|---|---|---|---|---|"]
    for b in rows:
        seqs = f"{b['first_seq']}..{b['last_seq']}" if b["records"] else "-"
        heap = f"{b['heap_free_min'] / 1024:.1f}" if b["heap_free_min"] is not None else "-"
        board = (b["board"] or "?") + (" (virtual board)" if b.get("virtual") else "")
        out.append(f"| `{_md(b['boot'])}` | {_md(board)} | {_md(b['fw'] or '?')} | "
                   f"{_when(b['first_seen'])} | {b['records']} | {seqs} | {b['gaps']} | "
                   f"{b['missing']} | {heap} |")
    return out


def _sessions_table(rows: list[dict]) -> list[str]:
    out = ["| session | port | started | frames | dropped | noise lines | overlong | truncated |"
           " invalid | reconnects | records | duplicates |", "|" + "---|" * 12]
    for s in rows:
        cells = [s["id"], f"`{_md(s['port'])}`", _when(s["started"]), s["frames"], s["dropped"],
                 s["noise_lines"], s["overlong"], s["truncated"], s["invalid"], s["reconnects"],
                 s["records"], s["duplicates"]]
        out.append("| " + " | ".join(str(c) for c in cells) + " |")
    return out


def _md(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _opt(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def _when(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
