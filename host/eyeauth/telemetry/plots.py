"""PNG plots of a telemetry database (matplotlib, Agg: no display needed, no pyplot state)."""
from __future__ import annotations

import sqlite3
from itertools import groupby
from pathlib import Path

from eyeauth.telemetry import stats

_DPI = 110
HEAP_FLOOR_KIB = 256  # the free heap every stage must leave (README: >= 256 KB)


def _figure(width: float = 8.0, height: float = 4.8):
    # A bare Figure renders PNG through Agg by itself: no pyplot, no backend switch.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    return fig, fig.add_subplot()


def _where(conn) -> str:
    return stats.SOURCE_WORDS[stats.source(conn)]


def latency_by_stage(conn: sqlite3.Connection, path: Path) -> Path:
    """Box plot of measured latency (ms) per stage; mean marked, sample counts on the axis."""
    rows = conn.execute("SELECT stage, latency_us FROM records ORDER BY stage").fetchall()
    groups = [(stage, [r[1] / 1000.0 for r in g]) for stage, g in groupby(rows, key=lambda r: r[0])]
    fig, ax = _figure(max(7.5, 1.1 * len(groups) + 2), 4.8)
    labels = [f"{stage}\n(n={len(v)})" for stage, v in groups]
    box = ax.boxplot([v for _, v in groups], showmeans=True,
                     meanprops={"marker": "^", "markerfacecolor": "tab:green",
                                "markeredgecolor": "tab:green"},
                     medianprops={"color": "tab:orange"}, flierprops={"markersize": 3})
    ax.set_xticks(range(1, len(labels) + 1), labels)
    ax.set_title(f"Measured latency per pipeline stage ({_where(conn)})")
    ax.set_xlabel("stage")
    ax.set_ylabel("latency (ms)")
    lows = [min(v) for _, v in groups]
    if min(lows) > 0 and max(max(v) for _, v in groups) / min(lows) > 50:
        ax.set_yscale("log")
        ax.set_ylabel("latency (ms, log scale)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend([box["medians"][0], box["means"][0], box["fliers"][0]],
              ["median", "mean", "outlier (beyond 1.5 IQR)"], loc="best", fontsize="small")
    fig.savefig(path)
    return path


def latency_by_model(conn: sqlite3.Connection, path: Path) -> Path:
    """Bars per model and stage: measured mean (whisker to p90) next to the timing model's
    mean (a model's stages apart: its preprocessing is Python, its network is TFLM)."""
    groups = stats.group_stats(conn, "model_stage")
    fig, ax = _figure(max(7.5, 1.2 * len(groups) + 2), 4.8)
    x = list(range(len(groups)))
    width = 0.38
    measured = [g["mean_ms"] for g in groups]
    whisker = [max(0.0, g["p90_ms"] - g["mean_ms"]) for g in groups]
    ax.bar([i - width / 2 for i in x], measured, width, yerr=[[0] * len(x), whisker],
           capsize=3, color="tab:blue", label="measured mean (whisker: p90)")
    modeled = [g["modeled_ms"] if g["modeled_ms"] is not None else 0.0 for g in groups]
    ax.bar([i + width / 2 for i in x], modeled, width, color="tab:gray",
           label="modeled mean (timing model)")
    for i, g in enumerate(groups):
        if g["modeled_ms"] is None:
            ax.annotate("no model", (i + width / 2, 0.01), xycoords=("data", "axes fraction"),
                        ha="center", va="bottom", fontsize=7, rotation=90)
        elif g["ratio"] is not None:
            top = max(measured[i] + whisker[i], modeled[i])
            ax.annotate(f"x{g['ratio']:.2f}", (i, top), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [f"{g['model']}\n{g['stage']}\n(n={g['count']})" for g in groups],
                  fontsize="small")
    ax.set_title(f"Latency per model and stage: measured vs modeled ({_where(conn)})\n"
                 "(x: measured/modeled)", fontsize="medium")
    ax.set_xlabel("model, stage")
    ax.set_ylabel("latency (ms)")
    positive = [v for v in measured + modeled if v > 0]
    if positive and max(positive) / min(positive) > 50:
        ax.set_yscale("log")
        ax.set_ylabel("latency (ms, log scale)")
    ax.margins(y=0.12)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.savefig(path)
    return path


def heap_over_time(conn: sqlite3.Connection, path: Path, max_boots: int = 10) -> Path:
    """Free heap (KiB) over time since each boot's first record, one line per boot; the
    256 KiB floor as a line, the y axis from 0 so it shows; records lost on the link (gaps)
    as shaded spans, idle stretches as breaks in the line."""
    series = stats.heap_series(conn, max_boots)
    fig, ax = _figure(9.0, 5.0)
    gap_label = "records lost (sequence gap)"
    low = None
    for boot, points in series.items():
        xs, ys = _break_idle(points)
        line, = ax.plot(xs, [y / 1024.0 for y in ys], marker=".", markersize=4, linewidth=1,
                        label=f"boot {boot}")
        t0 = conn.execute("SELECT min(host_time) FROM records WHERE boot = ?", (boot,)).fetchone()[0]
        for before, after, missing in stats.gap_spans(conn, boot):
            a = (before if before is not None else t0) - t0
            b = (after if after is not None else (before or t0)) - t0
            ax.axvspan(a, max(b, a + 1e-3), color=line.get_color(), alpha=0.15, label=gap_label)
            ax.annotate(f"{missing} lost", ((a + b) / 2, 1.0), xycoords=("data", "axes fraction"),
                        ha="center", va="top", fontsize=7)
            gap_label = None
        m = min(p[1] for p in points) / 1024.0
        low = m if low is None else min(low, m)
    ax.axhline(HEAP_FLOOR_KIB, color="tab:red", linestyle="--", linewidth=1.2,
               label=f"{HEAP_FLOOR_KIB} KiB: the least free heap a stage may leave")
    ax.set_ylim(bottom=0)
    shown = f" (latest {len(series)} boots)" if len(series) == max_boots else ""
    ax.set_title(f"Free heap over time per boot{shown} ({_where(conn)})\nlowest "
                 f"{low if low is not None else 0:.0f} KiB; lines break where the board idled",
                 fontsize="medium")
    ax.set_xlabel("time since the boot's first record (s)")
    ax.set_ylabel("heap free (KiB)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fig.savefig(path)
    return path


def _break_idle(points: list[tuple], min_idle_s: float = 1.0) -> tuple[list, list]:
    """x and y with a NaN (a break in the line) across idle stretches between bursts, so a
    line does not suggest measurements where there were none."""
    steps = sorted(b[0] - a[0] for a, b in zip(points, points[1:]))
    idle = max(min_idle_s, 20 * steps[len(steps) // 2]) if steps else float("inf")
    xs, ys = [], []
    for i, (t, h) in enumerate(points):
        if i and t - points[i - 1][0] > idle:
            xs.append(float("nan"))
            ys.append(float("nan"))
        xs.append(t)
        ys.append(h)
    return xs, ys


def all_plots(conn: sqlite3.Connection, out_dir: Path) -> dict[str, Path]:
    files = {"latency_by_stage": latency_by_stage(conn, out_dir / "latency_by_stage.png"),
             "heap_free": heap_over_time(conn, out_dir / "heap_free.png")}
    if conn.execute("SELECT 1 FROM records WHERE model != '' LIMIT 1").fetchone():
        files["latency_by_model"] = latency_by_model(conn, out_dir / "latency_by_model.png")
    return files
