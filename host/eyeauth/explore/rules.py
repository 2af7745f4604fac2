"""The guidelines: short rules, each derived from the numbers of a sweep (conditions in code)."""
from __future__ import annotations

from eyeauth.explore.findings import feasible_rows, versus, label, noise, pct


def rules(data, f):
    """The guidelines: short rules, each derived from the numbers above (conditions in code)."""
    rows = feasible_rows(data)
    if not rows:
        return []
    out = []
    fast = min(r["unlock_s"] for r in rows)
    cheap_fast = min((r for r in rows if r["unlock_s"] <= 1.05 * fast),
                     key=lambda r: (r["bom_usd"], r["unlock_s"]))
    out.append(f"Buy speed up to ${cheap_fast['bom_usd']:.2f}: {label(cheap_fast)} unlocks in "
               f"{cheap_fast['unlock_s']:.2f} s, within 5 % of the fastest configuration "
               f"({fast:.2f} s); no dearer board does better.")
    top = min(rows, key=lambda r: (r["frr"], r["bom_usd"], r["unlock_s"]))
    h = noise(data, top["frr"])
    cheap_acc = min((r for r in rows if r["frr"] <= top["frr"] + h),
                    key=lambda r: (r["bom_usd"], r["unlock_s"]))
    if cheap_acc["bom_usd"] < top["bom_usd"]:
        out.append(f"Do not pay for accuracy yet: the lowest FRR, {pct(top['frr'])} "
                   f"({label(top)}, ${top['bom_usd']:.2f}), cannot be told apart from "
                   f"{pct(cheap_acc['frr'])} ({label(cheap_acc)}, ${cheap_acc['bom_usd']:.2f}) "
                   f"with this data (+-{100 * h:.1f} points); more held-out identities first.")
    else:
        out.append(f"Accuracy costs ${top['bom_usd']:.2f}: {label(top)} reaches FRR "
                   f"{pct(top['frr'])}, beyond the +-{100 * h:.1f}-point noise of cheaper ones.")
    bw = f["bit_width"]
    if bw.get("pairs") and abs(bw["median_frr_change"]) < h and bw["median_attempt_ratio"] > 1.2:
        out.append(f"Keep int8: 16x8 makes attempts x{bw['median_attempt_ratio']:.2f} slower "
                   f"for a median FRR change of {100 * bw['median_frr_change']:+.1f} points, "
                   "inside the noise.")
    stages = f["python_stages"]
    if stages:
        worst = max(stages, key=lambda p: p["logmel_share"])
        if worst["logmel_share"] > 0.25:
            out.append(f"Before choosing a voice model, make the log-mel fast: on "
                       f"{worst['board']} the MicroPython log-mel takes {worst['logmel_ms']:.0f} "
                       f"ms, {100 * worst['logmel_share']:.0f} % of a voice attempt with "
                       f"{worst['model']} (the network: {worst['model_ms']:.0f} ms).")
        else:
            out.append(f"Voice attempts are spent listening, not computing: at most "
                       f"{100 * worst['logmel_share']:.0f} % goes to the log-mel "
                       f"({worst['board']}, {worst['model']}: {worst['listen_ms']:.0f} ms "
                       f"listening of {worst['attempt_ms']:.0f} ms); a shorter voice window "
                       "saves more than a smaller voice network.")
    for c in f["cascade"][:1]:
        a, b = c["cascade"], c["always_both"]
        if a["unlock_s"] < b["unlock_s"]:
            out.append(f"Fuse by cascade (voice only when the face is unsure), not by always asking for both: on {c['variant']} "
                       f"{a['unlock_s']:.2f} s vs {b['unlock_s']:.2f} s at FRR {pct(a['frr'])} "
                       f"vs {pct(b['frr'])}" + versus(data, a["frr"], b["frr"]) + ".")
    pm = f["premodel"].get("by_chip") or {}
    if pm:
        out.append("The measured router (models/premodel_*.json) shortens attempts by " + ", ".join(
            f"{100 * v:.0f} % on {c}" for c, v in sorted(pm.items())) +
            ": worth most where the networks, not Python stages, dominate.")
    a = data["assumptions"]
    out.append(f"Security is set per attempt: at FAR {pct(a['far_target'])} an impostor with "
               f"{a['attempts']} tries before the lock-out gets in with probability "
               f"{pct(1 - (1 - a['far_target']) ** a['attempts'])}.")
    return out
