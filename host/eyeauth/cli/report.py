"""`eyeauth report`: latency/memory tables and plots (library: eyeauth.telemetry.report)."""
from __future__ import annotations

from eyeauth.cli.main import Result, add_json_flag


def register(sub) -> None:
    p = sub.add_parser(
        "report", help="latency/memory tables and plots from a telemetry database",
        description="Write report.md, CSV tables, PNG plots and an OpenMetrics export of a "
        "database recorded by `eyeauth monitor`: latency (mean, p50, p90, p99, max; measured "
        "vs modeled) and memory (heap high-water mark, arena) per stage and per model.")
    p.add_argument("--db", required=True, help="SQLite file written by `eyeauth monitor`")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the report (created)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> Result:
    from eyeauth.telemetry.report import report

    data = report(args.db, args.out)
    return Result(data, summary_text(data))


def summary_text(data: dict) -> str:
    t = data["totals"]
    lines = [f"report of {data['db']}: {t['records']} records, {t['boots']} boots, "
             f"{t['gaps']} gaps ({t['missing']} missing)",
             f"{'stage':<16}{'count':>7}{'p50 ms':>11}{'p90 ms':>11}{'p99 ms':>11}"
             f"{'heap min KiB':>14}"]
    for s in data["stages"]:
        lines.append(f"{s['stage'][:15]:<16}{s['count']:>7}{s['p50_ms']:>11.3f}"
                     f"{s['p90_ms']:>11.3f}{s['p99_ms']:>11.3f}{s['heap_free_min'] / 1024:>14.1f}")
    lines.append(f"wrote {data['files']['report']} and {len(data['files']) - 1} more files "
                 f"in {data['out_dir']}")
    return "\n".join(lines)
