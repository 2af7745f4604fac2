"""Findings of a sweep: the comparisons the guidelines report states, as data with numbers.

Every function takes the explorer's data dict (``configurations`` rows) and returns plain
dicts; each carries ``text``, one sentence with the numbers, that the report prints as is.
"""
from __future__ import annotations

IDENTITY = ("variant", "policy", "face_model", "voice_model", "bits", "premodel")


def pct(x):
    return f"{100 * x:.1f} %"


def label(r, variant=True):
    models = "+".join(m for m in (r["face_model"], r["voice_model"]) if m)
    extra = " premodel" if r["premodel"] else ""
    head = f"{r['variant']} / " if variant else ""
    return f"{head}{r['policy']} / {models} / {r['bits']}{extra}"


def say(item, body):
    """Set ``body`` (no variant name: the report groups variants that read the same) and
    ``text`` (with it)."""
    item["body"] = body
    item["text"] = f"{item['variant']}: {body}"
    return item


def wilson_half(p, n, z=1.96):
    """Half-width of the 95 % Wilson interval of a proportion p from n trials."""
    if n <= 0:
        return 1.0
    denom = 1 + z * z / n
    return z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / denom


def noise(data, p):
    """FRR resolution of this data at FRR p: the Wilson half-width with the fewest genuine
    trials of any model (fused FRRs rest on those same trials)."""
    n = min((m["genuine_trials"] for m in data["models"]), default=0)
    return wilson_half(p, n)


def versus(data, a, b):
    """' (within the +-N-point noise)' when FRRs a and b are not resolved by the data."""
    h = noise(data, max(a, b))
    return f" (FRR gap within the +-{100 * h:.1f}-point noise)" if abs(a - b) < h else ""


def choice(r):
    return f"{r['policy']} {'+'.join(m for m in (r['face_model'], r['voice_model']) if m)}"


def best_row(rows, key="unlock_s"):
    return min(rows, key=lambda r: (r[key], r["unlock_s"], r["frr"], r["bom_usd"])) \
        if rows else None


def feasible_rows(data):
    return [r for r in data["configurations"] if r["feasible"]]


def price_points(data):
    """Per board variant (ascending price): the fastest and the most accurate configuration."""
    out = []
    by_variant = {}
    for r in data["configurations"]:
        by_variant.setdefault(r["variant"], []).append(r)
    for variant, rows in sorted(by_variant.items(), key=lambda kv: (kv[1][0]["bom_usd"], kv[0])):
        ok = [r for r in rows if r["feasible"]]
        fast, acc = best_row(ok), best_row(ok, "frr")
        item = {"variant": variant, "bom_usd": rows[0]["bom_usd"], "chip": rows[0]["chip"],
                "configurations": len(rows), "feasible": len(ok), "fastest": fast,
                "most_accurate": acc}
        if fast:
            item["text"] = (f"${rows[0]['bom_usd']:.2f} {variant}: fastest {label(fast)}: "
                            f"{fast['unlock_s']:.2f} s to unlock, FRR {pct(fast['frr'])}, "
                            f"lock-out {pct(fast['lockout'])}; most accurate {label(acc)}: FRR "
                            f"{pct(acc['frr'])}, {acc['unlock_s']:.2f} s")
        else:
            item["text"] = f"${rows[0]['bom_usd']:.2f} {variant}: nothing fits"
        out.append(item)
    return out


def second_modality(data, models):
    """Per variant with a microphone: the biggest face model alone vs the cheapest face and
    voice models fused (best policy), int8 and no premodel on both sides."""
    face = [m for m in models if m["modality"] == "face"]
    voice = [m for m in models if m["modality"] == "voice"]
    if not face or not voice:
        return []
    big = max(face, key=lambda m: m["macs"])["name"]
    small_f = min(face, key=lambda m: m["macs"])["name"]
    small_v = min(voice, key=lambda m: m["macs"])["name"]
    out = []
    rows = [r for r in feasible_rows(data) if r["bits"] == "int8" and not r["premodel"]]
    for variant in sorted({r["variant"] for r in rows}):
        alone = [r for r in rows if r["variant"] == variant and r["policy"] == "face"
                 and r["face_model"] == big]
        fused = [r for r in rows if r["variant"] == variant and r["policy"] in
                 ("sum", "both", "cascade") and r["face_model"] == small_f
                 and r["voice_model"] == small_v]
        if not alone or not fused:
            continue
        a, f = alone[0], best_row(fused)
        wins = f["frr"] < a["frr"] and f["unlock_s"] < a["unlock_s"]
        out.append(say(
            {"variant": variant, "bigger_model": a, "second_modality": f, "wins": wins},
            f"{big} alone: FRR {pct(a['frr'])}, {a['unlock_s']:.2f} s, {a['macs'] / 1e6:.1f} M "
            f"MAC per attempt; {small_f}+{small_v} with {f['policy']}: FRR {pct(f['frr'])}, "
            f"{f['unlock_s']:.2f} s, {f['macs'] / 1e6:.1f} M MAC -> the second modality "
            f"{'wins on both' if wins else 'does not win on both'}"
            + versus(data, a["frr"], f["frr"])))
    return out


def cascade(data):
    out = []
    rows = feasible_rows(data)
    for variant in sorted({r["variant"] for r in rows}):
        c = best_row([r for r in rows if r["variant"] == variant and r["policy"] == "cascade"])
        s = best_row([r for r in rows if r["variant"] == variant and r["policy"] in ("sum", "both")])
        if c and s:
            out.append(say(
                {"variant": variant, "cascade": c, "always_both": s},
                f"cascade ({label(c, False)}) asks for the voice in {pct(c['p_second'])} of "
                f"genuine attempts: {c['unlock_s']:.2f} s, FRR {pct(c['frr'])}; always both "
                f"({label(s, False)}): {s['unlock_s']:.2f} s, FRR {pct(s['frr'])}"))
    return out


def policies(data):
    """Accuracy of each policy whatever the board: best int8 FRR at the target FAR (FRR does
    not depend on the board, only which configurations fit does)."""
    out = []
    rows = [r for r in feasible_rows(data) if r["bits"] == "int8"]
    for policy in data["policies"]:
        mine = [r for r in rows if r["policy"] == policy]
        if not mine:
            continue
        b = min(mine, key=lambda r: (r["frr"], r["macs"]))
        models = "+".join(m for m in (b["face_model"], b["voice_model"]) if m)
        out.append({"policy": policy, "frr": b["frr"], "models": models,
                    "eer": b["eer"], "p_second": b["p_second"],
                    "text": f"{policy}: best FRR {pct(b['frr'])} with {models}"
                            + (f" (EER {pct(b['eer'])})" if b["eer"] is not None else "")})
    return out


def single_vs_multi(data):
    """Per variant with a microphone: the best single-modality configuration vs the best
    multi-modal one, by time to unlock (which already charges for false rejects)."""
    out = []
    rows = feasible_rows(data)
    for variant in sorted({r["variant"] for r in rows}):
        one = best_row([r for r in rows if r["variant"] == variant and r["policy"] in
                     ("face", "voice")])
        two = best_row([r for r in rows if r["variant"] == variant and r["policy"] in
                     ("sum", "both", "cascade")])
        if one and two:
            out.append(say(
                {"variant": variant, "single": one, "multi": two},
                f"best single modality {label(one, False)}: {one['unlock_s']:.2f} s, FRR "
                f"{pct(one['frr'])}; best multi-modal {label(two, False)}: "
                f"{two['unlock_s']:.2f} s, FRR {pct(two['frr'])}"))
    return out
