"""Findings about components and implementation choices: PSRAM, bit width, premodel, chip,
Python stages, exclusions (same conventions as eyeauth.explore.findings)."""
from __future__ import annotations

import re
import statistics

from eyeauth.explore.findings import (IDENTITY, best_row, choice, say, feasible_rows, label,
                                      noise, pct)


def psram(data):
    """Variants that differ only in the PSRAM option: what PSRAM buys and what it costs."""
    rows = data["configurations"]
    variants = {b["variant"]: b for b in data["boards"]}
    out = []
    for name, b in sorted(variants.items()):
        if "no-psram" not in b["options"]:
            continue
        base_opts = [o for o in b["options"] if o != "no-psram"]
        with_name = "+".join([b["board"]] + base_opts)
        if with_name not in variants:
            continue
        w = [r for r in rows if r["variant"] == with_name]
        wo = [r for r in rows if r["variant"] == name]
        bw, bwo = best_row([r for r in w if r["feasible"]]), best_row([r for r in wo if r["feasible"]])
        aw = best_row([r for r in w if r["feasible"]], "frr")
        awo = best_row([r for r in wo if r["feasible"]], "frr")
        delta = round(variants[with_name]["bom_usd"] - b["bom_usd"], 2)
        item = {"with": with_name, "without": name, "delta_usd": delta,
                "feasible_with": sum(r["feasible"] for r in w),
                "feasible_without": sum(r["feasible"] for r in wo),
                "best_with": bw, "best_without": bwo, "accurate_with": aw,
                "accurate_without": awo}
        only = sorted({choice(r) for r in w if r["feasible"] and r["bits"] == "int8"
                       and not r["premodel"]} - {choice(r) for r in wo if r["feasible"]})
        item["needs_psram"] = only
        if bw and bwo and aw and awo:
            gain, h = awo["frr"] - aw["frr"], noise(data, awo["frr"])
            faster = bwo["unlock_s"] - bw["unlock_s"]
            pays = gain > h or faster > 0.05
            if pays:
                verdict = (f"pays for itself: {100 * gain:.1f} FRR points and {faster:.2f} s "
                           f"faster for ${delta:.2f}")
            else:
                verdict = (f"does not pay for itself with this zoo: the fastest unlock is the same "
                           f"and its {100 * gain:.1f} FRR points are within the "
                           f"+-{100 * h:.1f}-point noise; it pays once a choice that needs it "
                           f"proves more accurate")
            item["pays"] = pays
            item["short"] = (f"{with_name} (+${delta:.2f}): {item['feasible_with']} vs "
                             f"{item['feasible_without']} configurations fit, best FRR "
                             f"{pct(aw['frr'])} vs {pct(awo['frr'])}, fastest unlock "
                             f"{bw['unlock_s']:.2f} vs {bwo['unlock_s']:.2f} s: "
                             + ("pays" if pays else "does not pay (gain within the noise)"))
            item["text"] = (f"{with_name} vs {name} (+${delta:.2f}): {item['feasible_with']} vs "
                            f"{item['feasible_without']} configurations fit; best FRR "
                            f"{pct(aw['frr'])} vs {pct(awo['frr'])}; fastest unlock "
                            f"{bw['unlock_s']:.2f} s vs {bwo['unlock_s']:.2f} s; PSRAM {verdict}; "
                            f"int8 choices that need it: {len(only)}"
                            + (f" (e.g. {', '.join(only[:4])})" if only else ""))
        elif bw:
            item["text"] = item["short"] = (
                f"{with_name} vs {name} (+${delta:.2f}): without PSRAM nothing fits; with it "
                f"{item['feasible_with']} configurations do")
        else:
            continue
        out.append(item)
    return out


def _pairs(data, field, a, b):
    """Feasible rows equal in every identity field but ``field`` (a vs b)."""
    idx = {}
    for r in feasible_rows(data):
        key = tuple(r[k] for k in IDENTITY if k != field)
        idx.setdefault(key, {})[r[field]] = r
    return [(d[a], d[b]) for d in idx.values() if a in d and b in d]


def bit_width(data):
    pairs = _pairs(data, "bits", "int8", "int16x8")
    if not pairs:
        return {"pairs": 0, "text": "no configuration fits in both int8 and 16x8"}
    dfrr = [p[1]["frr"] - p[0]["frr"] for p in pairs]
    slow = [p[1]["attempt_s"] / p[0]["attempt_s"] for p in pairs]
    dt = [p[1]["unlock_s"] - p[0]["unlock_s"] for p in pairs]
    wins = sum(d < 0 for d in dt)
    return {"pairs": len(pairs), "median_frr_change": statistics.median(dfrr),
            "median_attempt_ratio": statistics.median(slow), "unlock_wins_16x8": wins,
            "text": (f"16x8 vs int8 over {len(pairs)} matched configurations: median FRR change "
                     f"{100 * statistics.median(dfrr):+.1f} points, median attempt time x"
                     f"{statistics.median(slow):.2f} (no ESP-NN int16 kernels); 16x8 unlocks "
                     f"faster in {wins} of {len(pairs)}")}


def premodel(data):
    pairs = _pairs(data, "premodel", False, True)
    if not pairs:
        return {"pairs": 0, "text": "no configuration where the premodel changes anything fits"}
    by_chip = {}
    for off, on in pairs:
        by_chip.setdefault(off["chip"], []).append(1 - on["attempt_s"] / off["attempt_s"])
    parts = [f"{chip}: median {100 * statistics.median(v):.1f} % shorter attempts "
             f"({len(v)} pairs)" for chip, v in sorted(by_chip.items())]
    routers = data.get("routers") or {}
    what = "; ".join(f"{m}: {r['router']} " + " -> ".join(r["chain"]) + " (runs " +
                     ", ".join(f"{pct(x)}" for x in r["runs"]) + f"; FRR {100 * r['frr_delta']:+.1f}, "
                     f"FAR {100 * r['far_delta']:+.1f} points vs {r['final']}, measured on "
                     f"{r['fitted_on']})" for m, r in sorted(routers.items()))
    return {"pairs": len(pairs), "by_chip": {c: statistics.median(v) for c, v in by_chip.items()},
            "text": f"the measured router ({what}) instead of its final model: " + "; ".join(parts)}


def chips(data):
    out = {}
    for r in feasible_rows(data):
        best = out.get(r["chip"])
        if best is None or (r["unlock_s"], r["bom_usd"]) < (best["unlock_s"], best["bom_usd"]):
            out[r["chip"]] = r
    return {"best": out, "text": "; ".join(
        f"fastest on {c}: {label(r)} at ${r['bom_usd']:.2f}: {r['unlock_s']:.2f} s, FRR "
        f"{pct(r['frr'])}" for c, r in sorted(out.items()))}


def python_stages(data):
    """Where a voice attempt's time goes: Python stages vs the voice model, per board."""
    from eyeauth.models.preprocess import RATE, voice_window_samples

    out = []
    margin = data["assumptions"]["voice_margin_s"]
    py = data.get("python_stage_ms") or {}
    for m in data["models"]:
        if m["modality"] != "voice":
            continue
        frames, mels = m["input_shape"][1:3]
        for board, stages in sorted(py.items()):
            logmel = stages.get(f"logmel:{frames}x{mels}")
            chip = next((b["chip"] for b in data["boards"] if b["board"] == board), None)
            if logmel is None or chip is None:
                continue
            model = m["latency_ms"][f"{chip}_espnn"]
            listen = 1e3 * (voice_window_samples(frames) / RATE + margin)
            other = stages.get("vad", 0.0) + stages.get(f"match:{m['emb_dim']}x5", 0.0)
            total = listen + logmel + model + other
            out.append(say({"variant": board, "board": board, "model": m["name"],
                             "logmel_ms": logmel, "model_ms": model, "listen_ms": listen,
                             "attempt_ms": total, "logmel_share": logmel / total},
                            f"voice attempt with {m['name']}: listening {listen:.0f} ms, "
                            f"log-mel {frames}x{mels} in MicroPython {logmel:.0f} ms, network "
                            f"{model:.0f} ms, VAD and matching {other:.0f} ms"))
    return out


def exclusions(data):
    counts = {}
    for r in data["configurations"]:
        if not r["feasible"]:
            kind = re.sub(r"[\d.]+ ?(KB|MB)?", "N", r["reason"] or "?")
            kind = re.sub(r"on \S+$", "on the variant", kind)
            counts[kind] = counts.get(kind, 0) + 1
    return [{"reason": k, "count": v} for k, v in sorted(counts.items(), key=lambda kv: -kv[1])]
