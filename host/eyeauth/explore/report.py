"""The guidelines report (markdown): which choices win at each price point, and why, in numbers.

Every number in it comes from the data of one `eyeauth explore` run (the command is printed at
the top) and from the score cache written by `eyeauth explore scores`.
"""
from __future__ import annotations

from pathlib import Path

from eyeauth.explore.assumptions import DOCS
from eyeauth.explore.findings import label, pct, wilson_half
from eyeauth.explore.rules import rules


def _table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def _headlines(data, f):
    rows = [r for r in data["configurations"] if r["feasible"]]
    if not rows:
        return ["- Nothing fits any board; see the exclusions below."]
    cheap = min(rows, key=lambda r: (r["bom_usd"], r["unlock_s"]))
    fast = min(rows, key=lambda r: (r["unlock_s"], r["bom_usd"]))
    acc = min(rows, key=lambda r: (r["frr"], r["unlock_s"], r["bom_usd"]))
    out = [f"- Cheapest configuration that fits: {label(cheap)} at ${cheap['bom_usd']:.2f}: "
           f"{cheap['unlock_s']:.2f} s expected to unlock, FRR {pct(cheap['frr'])} per attempt, "
           f"lock-out {pct(cheap['lockout'])}.",
           f"- Fastest unlock: {label(fast)} at ${fast['bom_usd']:.2f}: {fast['unlock_s']:.2f} s, "
           f"FRR {pct(fast['frr'])}.",
           f"- Fewest false rejects: {label(acc)} at ${acc['bom_usd']:.2f}: FRR "
           f"{pct(acc['frr'])}, {acc['unlock_s']:.2f} s.",
           f"- Pareto front (cost, time to unlock, FRR): {len(data['pareto'])} of "
           f"{len(rows)} configurations that fit ({data['counts']['excluded']} excluded)."]
    sm = f["second_modality"]
    if sm:
        wins = [x for x in sm if x["wins"]]
        out.append(f"- A second modality beats a bigger model on {len(wins)} of {len(sm)} board "
                   f"variants with a microphone (cheapest face+voice models fused vs the biggest "
                   f"face model alone): e.g. {sm[0]['text']}.")
    if f["psram"]:
        out.append("- PSRAM vs none: " + "; ".join(p["short"] for p in f["psram"]) + ".")
    out.append(f"- {f['bit_width']['text']}.")
    out.append(f"- {f['premodel']['text']}.")
    return out


def _price_table(f):
    rows = []
    for p in f["price_points"]:
        fa, ac = p["fastest"], p["most_accurate"]
        if fa is None:
            rows.append([f"${p['bom_usd']:.2f}", p["variant"], p["chip"],
                         f"0/{p['configurations']}", "nothing fits", "", "", "", "", "", ""])
            continue
        rows.append([f"${p['bom_usd']:.2f}", p["variant"], p["chip"],
                     f"{p['feasible']}/{p['configurations']}", label(fa).split(" / ", 1)[1],
                     f"{fa['unlock_s']:.2f}", pct(fa["frr"]), pct(fa["lockout"]),
                     label(ac).split(" / ", 1)[1], pct(ac["frr"]), f"{ac['unlock_s']:.2f}"])
    return _table(["BOM", "variant", "chip", "fit", "fastest: policy / models / bits",
                   "unlock s", "FRR", "lock-out", "most accurate", "FRR", "unlock s"], rows)


def _front_table(data, limit=40):
    rows = [[f"${r['bom_usd']:.2f}", r["variant"], r["policy"],
             "+".join(m for m in (r["face_model"], r["voice_model"]) if m), r["bits"],
             "on" if r["premodel"] else "off", f"{r['attempt_s']:.2f}", f"{r['unlock_s']:.2f}",
             pct(r["frr"]), pct(r["lockout"]), pct(r["p_second"])]
            for r in data["pareto"][:limit]]
    out = _table(["BOM", "variant", "policy", "models", "bits", "premodel", "attempt s",
                  "unlock s", "FRR", "lock-out", "2nd modality used"], rows)
    if len(data["pareto"]) > limit:
        out.append(f"\n({len(data['pareto']) - limit} more rows in pareto.csv)")
    return out


def _inputs(data):
    out = ["### Boards", ""]
    out += _table(["variant", "chip", "MHz", "SRAM KB", "PSRAM MB", "flash MB", "microphone",
                   "BOM", "price source"],
                  [[b["variant"], b["chip"], b["cpu_mhz"], b["sram_bytes"] // 1024,
                    b["psram_usable_bytes"] / 2**20, b["flash_bytes"] / 2**20,
                    b["microphone"] or "none", f"${b['bom_usd']:.2f}", b["bom_source"]]
                   for b in data["boards"]])
    out += ["", "### Models (cards from `eyeauth models build`; EER from the score cache)", ""]
    out += _table(["model", "modality", "M MAC", "flash KB", "arena KB", "ESP32 ms",
                   "ESP32-S3 ms", "EER int8", "EER float (16x8 proxy)", "trials gen/imp",
                   "held-out ids"],
                  [[m["name"], m["modality"], f"{m['macs'] / 1e6:.2f}",
                    f"{m['flash_bytes'] / 1024:.0f}", f"{m['arena_bytes_target'] / 1024:.0f}",
                    m["latency_ms"]["esp32_espnn"], m["latency_ms"]["esp32s3_espnn"],
                    pct(m["eer_int8"]), pct(m["eer_float"]),
                    f"{m['genuine_trials']}/{m['impostor_trials']}", m["identities"]]
                   for m in data["models"]])
    out += ["", f"### Latency model vs its anchors (TFLM person detection, MobileNetV1-0.25 "
            f"96x96, {data['person_detection_macs'] / 1e6:.2f} M MAC by eyeauth.timing's "
            f"count); calibration: {data['calibration']}", ""]
    out += _table(["chip", "ESP-NN", "published ms", "kernel table alone ms", "error",
                   "model (fitted scale) ms", "error", "field factor", "calibrated ms", "error"],
                  [[a["chip"], "yes" if a["esp_nn"] else "no", a["anchor_ms"],
                    a["table_only_ms"], f"{a['table_only_error_pct']:+.1f} %", a["model_ms"],
                    f"{a['error_pct']:+.2f} %", a["calibration_factor"], a["calibrated_ms"],
                    f"{a['calibrated_error_pct']:+.1f} %"] for a in data["anchors"]])
    py = data.get("python_stage_ms") or {}
    if py:
        stages = sorted({k for v in py.values() for k in v})
        out += ["", f"### Python stages, ms on the board: {data['python_stages']}", ""]
        out += _table(["board"] + stages, [[b] + [v.get(k, "") for k in stages]
                                           for b, v in sorted(py.items())])
    else:
        out += ["", f"Python stages: {data['python_stages']}"]
    out += ["", "### Assumptions (change with `--assume KEY=VALUE`)", ""]
    out += _table(["key", "value", "why"], [[k, v, DOCS.get(k, "")]
                                            for k, v in data["assumptions"].items()])
    return out


def _grouped(items, empty):
    """Bullets, one per distinct ``body``, naming every variant that reads the same."""
    groups = {}
    for x in items:
        groups.setdefault(x.get("body", x["text"]), []).append(x.get("variant"))
    if not groups:
        return [f"- {empty}"]
    return [f"- {', '.join(v for v in names if v)}: {body}" if any(names) else f"- {body}"
            for body, names in groups.items()]


def _uncertainty(data):
    rows = [r for r in data["configurations"] if r["feasible"] and r["policy"] == "face"]
    face = [m for m in data["models"] if m["modality"] == "face"]
    if not rows or not face:
        return "- (no face-only configuration fits)"
    best = min(rows, key=lambda r: r["frr"])
    n = min(m["genuine_trials"] for m in data["models"])
    h = wilson_half(best["frr"], n)
    return (f"- FRR rests on as few as {n} genuine trials per model: at FRR "
            f"{pct(best['frr'])} the 95 % Wilson interval is about +-{100 * h:.1f} points, so "
            "FRR differences smaller than that (e.g. int8 vs 16x8, or between the face models) "
            "are not resolved by this data; fused figures combine such estimates and inherit "
            "their uncertainty. Latency, memory and cost figures are modeled, not sampled: "
            "they carry the model's error (anchors table), not this one.")


def render(data, files):
    f = data["findings"]
    out = ["# eyeauth design-space guidelines", "",
           f"Generated by `{data['command']}` ({data['counts']['configurations']} configurations "
           f"in {data.get('seconds', 0):.1f} s). Do not edit: re-run the command. Every number "
           "below comes from that run; model costs from the model cards "
           "(`eyeauth models build`), score distributions from the cache written by "
           f"`eyeauth explore scores`, latency calibration: {data['calibration']}. Boards, "
           "prices and assumptions are inputs (tables at the end).", ""]
    out += [f"> warning: {w}" for w in data["warnings"]] + [""] * bool(data["warnings"])
    out += ["## Headlines", ""] + _headlines(data, f) + [""]
    out += ["## Guidelines", ""] + [f"{k}. {t}" for k, t in enumerate(rules(data, f), 1)] + [""]
    out += ["## What wins at each price point", ""] + _price_table(f) + [""]
    for key, name in (("plot_cost_time", "cost vs time to unlock"),
                      ("plot_cost_frr", "cost vs false rejects"),
                      ("plot_time_frr", "time to unlock vs false rejects")):
        if key in files:
            out += [f"![{name}]({Path(files[key]).name})", ""]
    out += ["## Why", "", "### A second modality vs a bigger model", ""]
    out += _grouped(f["second_modality"], "(needs face and voice models)")
    out += ["", "### Best single modality vs best multi-modal, per board (by time to unlock)", ""]
    out += _grouped(f["single_vs_multi"], "(needs face and voice models)")
    out += ["", "### Policies, whatever the board (int8; FRR at the target FAR)", ""]
    out += [f"- {x['text']}" for x in f["policies"]]
    out += ["", "### Does PSRAM pay for itself?", ""]
    out += [f"- {x['text']}" for x in f["psram"]] or ["- (no board has a no-PSRAM option)"]
    out += ["", "### Handoff (voice only when the face is unsure) vs always both", ""]
    out += _grouped(f["cascade"], "(needs face and voice models)")
    out += ["", "### Bit width, premodel, processor, Python stages", "",
            f"- {f['bit_width']['text']}", f"- {f['premodel']['text']}",
            f"- {f['chips']['text']}"]
    out += _grouped(f["python_stages"], "(no Python stage costs)") + [""]
    out += ["### How sure are these FRR figures?", "", _uncertainty(data), ""]
    out += ["## Pareto front", ""] + _front_table(data) + [""]
    out += ["## Inputs", ""] + _inputs(data) + [""]
    out += ["### Excluded configurations, by reason", ""]
    out += _table(["reason (numbers replaced by N)", "configurations"],
                  [[e["reason"], e["count"]] for e in f["exclusions"]]) + [""]
    out += ["## Method and caveats", "", *_METHOD, ""]
    return "\n".join(out)


_METHOD = [
    "- Configuration = board variant x policy (face, voice, sum, both, cascade: the board's rules) x face model x "
    "voice model x bit width (int8; 16x8 = int16 activations, int8 weights) x premodel on/off.",
    "- Time of one attempt = sensing (camera frame; voice window + VAD margin) + modeled compute "
    "(detector, preprocessing, embedders; log-mel for voice). Compute is the model card's "
    "eyeauth.timing latency, scaled for clock, 16x8 (TFLM reference kernels: ESP-NN is int8 only), "
    "arena in PSRAM, and the field calibration.",
    "- Expected time to unlock: retries after false rejects (each costs the retry time), a "
    "lock-out after N fails costs the fallback time; attempts independent (eyeauth.explore.ux).",
    "- FRR at the target FAR from genuine/impostor cosine scores of held-out identities "
    "(`eyeauth explore scores`); thresholds are set on the same scores (optimistic for small "
    "sets). 16x8 accuracy uses the float reference model's scores (an upper bound).",
    "- Fusion: ORL faces and FSDD voices are different people, so fused users are chimeric and "
    "face and voice scores are taken as independent. The policies are the board's rules "
    "(firmware/eyeauth_fw/fusion.py): sum = face + voice margins >= 0; cascade = the face "
    "decides outside a margin band around its threshold, inside it the margins' sum does. The "
    "explorer chooses the thresholds (and the cascade's margin) per configuration to meet the "
    "FAR target, where the board takes them from models/thresholds.json (`eyeauth eval "
    "fusion` evaluates those).",
    "- The voice held-out set has few speakers (see the trials column): voice FRR figures are "
    "less certain than face ones.",
    "- premodel on = the router shipped in models/premodel_<modality>.json runs instead of its final "
    "model: each model of its chain weighted by the share of attempts that ran it, and FAR / FRR "
    "moved by the router's change against that model, both measured on the identities reserved "
    "for the router (on the evaluation sets the FRR cost is larger: models/premodel.md, "
    "`eyeauth premodel eval`); the router's own cost is its VM time x the board's speed factor.",
]


def write(data, path, files):
    path = Path(path)
    path.write_text(render(data, files) + "\n")
    return path
