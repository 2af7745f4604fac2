"""PNG plots of a sweep (matplotlib Figure + Agg; no pyplot state, no display)."""
from __future__ import annotations

from pathlib import Path

from eyeauth.explore import pareto

_DPI = 96
POLICY_COLORS = {"face": "tab:blue", "voice": "tab:orange", "sum": "tab:green",
                 "both": "tab:red", "cascade": "tab:purple"}
_OFFSET = {p: (k - 2) * 0.12 for k, p in enumerate(POLICY_COLORS)}


def _figure(width=11.5, height=5.6):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    return fig, fig.add_subplot()


def _variants(data):
    """Board variants ordered by price: [(variant, bom)]."""
    return sorted(((b["variant"], b["bom_usd"]) for b in data["boards"]),
                  key=lambda t: (t[1], t[0]))


def _cost_axis(ax, order):
    ax.set_xticks(range(len(order)), [f"{v}\n${p:.2f}" for v, p in order], rotation=25,
                  ha="right", rotation_mode="anchor", fontsize=7.5)
    ax.set_xlabel("board variant, ordered by bill-of-materials cost (USD); "
                  "points of one board are spread left to right by policy")
    ax.set_xlim(-0.6, len(order) - 0.4)


def _policy_legend(ax, extra):
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=p)
               for p, c in POLICY_COLORS.items()]
    handles.append(Line2D([], [], marker="o", linestyle="", markersize=8, markerfacecolor="white",
                          markeredgecolor="black", label="Pareto-optimal (cost, time, FRR)"))
    ax.legend(handles=handles + extra, fontsize="x-small", loc="upper left",
              bbox_to_anchor=(1.01, 1.0), title="policy", title_fontsize="x-small")


def _plain_log(ax, axis="y"):
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(fmt)
    target.set_minor_formatter(fmt)


def _cost_plot(data, path, key, ylabel, title, scale=1.0, log=False):
    rows = [r for r in data["configurations"] if r["feasible"]]
    order = _variants(data)
    pos = {v: i for i, (v, _) in enumerate(order)}
    fig, ax = _figure()
    front = {r["id"] for r in pareto.front_rows(rows)}
    for policy, color in POLICY_COLORS.items():
        pts = [r for r in rows if r["policy"] == policy]
        on = [r for r in pts if r["id"] in front]
        ax.scatter([pos[r["variant"]] + _OFFSET[policy] for r in pts],
                   [r[key] * scale for r in pts], s=10, color=color, alpha=0.35, zorder=1)
        ax.scatter([pos[r["variant"]] + _OFFSET[policy] for r in on],
                   [r[key] * scale for r in on], s=48, color=color, edgecolor="black",
                   linewidth=0.8, zorder=3)
    best, xs, ys = None, [], []
    for i, (v, _) in enumerate(order):  # best value available at or below each price
        here = [r[key] for r in rows if r["variant"] == v]
        if here:
            best = min(here) if best is None else min(best, min(here))
        if best is not None:
            xs.append(i - 0.4)
            ys.append(best * scale)
    extra = []
    if xs:
        xs.append(len(order) - 0.4)
        ys.append(ys[-1])
        (line,) = ax.step(xs, ys, where="post", color="black", linewidth=1.2, zorder=2,
                          label="best achievable at or below this cost")
        extra.append(line)
    _cost_axis(ax, order)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
        _plain_log(ax)
    ax.set_title(title, fontsize="medium")
    ax.grid(alpha=0.3)
    _policy_legend(ax, extra)
    fig.savefig(path)
    return path


def cost_vs_time(data, path):
    a = data["assumptions"]
    return _cost_plot(data, path, "unlock_s", "expected time to unlock (s, log scale)",
                      f"Cost vs expected time to unlock (retries after false rejects; lock-out "
                      f"after {a['attempts']} fails costs {a['lockout_penalty_s']:.0f} s)",
                      log=True)


def cost_vs_frr(data, path):
    far = data["assumptions"]["far_target"]
    return _cost_plot(data, path, "frr", f"FRR per attempt at FAR {100 * far:g} % (%)",
                      f"Cost vs false-reject rate at a {100 * far:g} % false-accept rate",
                      scale=100.0)


def time_vs_frr(data, path):
    rows = [r for r in data["configurations"] if r["feasible"]]
    fig, ax = _figure(9.0, 5.6)
    chips = {"esp32": "o", "esp32s3": "s"}
    for policy, color in POLICY_COLORS.items():
        for chip, marker in chips.items():
            pts = [r for r in rows if r["policy"] == policy and r["chip"] == chip]
            if pts:
                ax.scatter([r["unlock_s"] for r in pts], [100 * r["frr"] for r in pts], s=14,
                           color=color, marker=marker, alpha=0.6,
                           label=f"{policy} on {'ESP32' if chip == 'esp32' else 'ESP32-S3'}")
    front = sorted((rows[i] for i in pareto.front(rows, ("unlock_s", "frr"))),
                   key=lambda r: r["unlock_s"])
    if front:
        ax.step([r["unlock_s"] for r in front], [100 * r["frr"] for r in front], where="post",
                color="black", linewidth=1.2, label="Pareto front (time, FRR), any cost")
    ax.set_xscale("log")
    _plain_log(ax, "x")
    ax.set_xlabel("expected time to unlock (s, log scale)")
    far = data["assumptions"]["far_target"]
    ax.set_ylabel(f"FRR per attempt at FAR {100 * far:g} % (%)")
    ax.set_title("Time to unlock vs false rejects, every configuration that fits "
                 "(colour: policy, marker: chip)", fontsize="medium")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.savefig(path)
    return path


def write_all(data, out_dir):
    out = Path(out_dir)
    if not any(r["feasible"] for r in data["configurations"]):
        return {}
    return {"plot_cost_time": cost_vs_time(data, out / "pareto_cost_time.png"),
            "plot_cost_frr": cost_vs_frr(data, out / "pareto_cost_frr.png"),
            "plot_time_frr": time_vs_frr(data, out / "time_vs_frr.png")}
