"""`eyeauth explore`: build the space, evaluate it, write the fronts, plots and guidelines."""
from __future__ import annotations

import csv
import gzip
import io
import time
from contextlib import ExitStack
from pathlib import Path

from eyeauth.errors import DataError, UsageError
from eyeauth.explore import (assumptions as A, boards as B, calibrate, fusion, latency, pareto,
                             pystages, scores as S, space, sweep)

CSV_COLUMNS = ("id", "variant", "chip", "bom_usd", "policy", "face_model", "voice_model", "bits",
               "premodel", "feasible", "reason", "frr", "far", "eer", "p_second", "face_ms",
               "voice_ms", "attempt_s", "unlock_s", "lockout", "macs", "flash_used", "sram_used",
               "psram_arena_bytes", "arena_in")


def _models(scores_path, warnings):
    """(slim cards by name, face model names, voice model names, score cache, model table);
    models whose cached scores are missing or stale are left out with a warning."""
    from eyeauth.models import zoo

    cache = S.load(scores_path, missing_ok=True)
    det = S.detector_hash()
    cards, face, voice, table = {}, [], [], []
    for card in zoo.list_models():
        if card["modality"] in ("keyword", "frontend"):  # no speaker scores: the challenge's
            continue  # word model, the voice front end
        if card["modality"] in ("detector", "landmark"):  # the face path's own networks
            if card["name"] in (zoo.DETECTOR, zoo.LANDMARK):
                cards[card["name"]] = space.slim_card(card)
            continue
        why = S.stale_reason(cache, card, det)
        if why:
            warnings.append(f"{why}: {card['name']} left out; run `eyeauth explore scores`")
            continue
        cards[card["name"]] = space.slim_card(card)
        (face if card["modality"] == "face" else voice).append(card["name"])
        e = cache["models"][card["name"]]
        table.append({**cards[card["name"]], "eer_int8": e["int8"]["eer"],
                      "eer_float": e["float"]["eer"],
                      "genuine_trials": len(e["int8"]["genuine"]),
                      "impostor_trials": len(e["int8"]["impostor"]),
                      "identities": len(e["identities"])})
    if face and zoo.DETECTOR not in cards:
        warnings.append(f"detector {zoo.DETECTOR} is not built: face policies left out")
        face = []
    if not face and not voice:
        raise DataError("no built face or voice model with scores; run `eyeauth models build` "
                        "then `eyeauth explore scores`")
    return cards, face, voice, cache, table


def _points(cache, face, voice, policies, far):
    from eyeauth.progress import Steps

    todo = [(policy, fm, vm, bits) for policy in policies
            for fm in (face if space.uses(policy)[0] else [None])
            for vm in (voice if space.uses(policy)[1] else [None]) for bits in space.BITS]
    pts = {}
    with Steps("explore: operating points", len(todo), unit="set") as st:
        for policy, fm, vm, bits in todo:
            var = space.SCORE_VARIANT[bits]
            f = S.arrays(cache["models"][fm], var) if fm else None
            v = S.arrays(cache["models"][vm], var) if vm else None
            pts[space.point_key(policy, fm, vm, bits)] = fusion.operating_points(policy, f, v, far)
            st.tick()
    return pts


def _routers(variants, names, warnings):
    """{modality: measured router} (eyeauth.premodel.export.router_summary, with its own cost
    per board: VM time x the board's python_speed_factor) for the routers whose every model the
    explorer scores; a router file naming other models is left out with a warning."""
    from eyeauth.board.configs import load_board
    from eyeauth.premodel.export import router_summary

    out = {}
    for mod in ("face", "voice"):
        r = router_summary(mod)
        if r is None:
            continue
        missing = [n for n in r["chain"] if n not in names[mod]]
        if missing:
            warnings.append(f"the {mod} router runs {', '.join(missing)}, which the explorer "
                            "has no scores for: premodel configurations left out")
            continue
        r["overhead_ms"] = {v["board"]: r["overhead_vm_us"] * float(
            load_board(v["board"]).get("python_speed_factor") or 1.0) / 1000.0 for v in variants}
        out[mod] = r
    return out


def build(board_names=None, policies=None, assumptions=None, calibration=None,
          scores_path=None):
    """(configs, context, info) of the design space."""
    a = assumptions or A.Assumptions()
    policies = list(policies or fusion.POLICIES)
    bad = [p for p in policies if p not in fusion.POLICIES]
    if bad:
        raise UsageError(f"unknown policy {bad[0]!r}; choose from {', '.join(fusion.POLICIES)}")
    warnings = []
    variants = B.board_variants(board_names)
    cards, face, voice, cache, table = _models(scores_path, warnings)
    if not voice:
        policies = [p for p in policies if p == "face"]
        warnings.append("no voice model with scores: voice and fusion policies left out")
    if not face:
        policies = [p for p in policies if p == "voice"]
    cheapest = {m: min(names, key=lambda n: cards[n]["macs"])
                for m, names in (("face", face), ("voice", voice)) if names}
    routers = _routers(variants, {"face": face, "voice": voice}, warnings)
    from eyeauth.models import zoo

    py_ms, py_desc, py_warn = pystages.measure([v["board"] for v in variants], cards,
                                               a.python_stages)
    warnings += py_warn
    ctx = {"py_ms": py_ms, "boards": {v["variant"]: v for v in variants}, "cards": cards,
           "detector": zoo.DETECTOR,
           "landmark": zoo.LANDMARK if zoo.LANDMARK in cards else None, "cheapest": cheapest, "assumptions": a, "routers": routers,
           "calibration": calibration,
           "points": _points(cache, face, voice, policies, a.far_target)}
    configs = space.enumerate_configs(variants, face, voice, policies, routers=routers)
    info = {"variants": variants, "models": table, "warnings": warnings, "policies": policies,
            "cheapest": cheapest, "python_stages": py_desc, "py_ms": py_ms,
            "routers": routers}
    return configs, ctx, info


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float):
        return f"{v:.5g}"
    return v


def write_csv(rows, path, columns=CSV_COLUMNS):
    """CSV of result rows; gzip-compressed (reproducibly: no timestamp) when ``path`` ends
    in .gz."""
    path = Path(path)
    with ExitStack() as stack:
        if path.suffix == ".gz":
            raw = stack.enter_context(open(path, "wb"))
            gz = stack.enter_context(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0))
            f = stack.enter_context(io.TextIOWrapper(gz, encoding="utf-8", newline=""))
        else:
            f = stack.enter_context(open(path, "w", newline=""))
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: _cell(r.get(k)) for k in columns})
    return path


def explore(out_dir, board_names=None, policies=None, overrides=None, executor=None, workers=2,
            calibration_path=None, use_calibration=True, scores_path=None,
            command="eyeauth explore", plots=True):
    """Evaluate the space and write CSV, PNG and guidelines.md into ``out_dir``; returns the
    data (boards, models, anchors, configurations, pareto, ...)."""
    from eyeauth.explore import plots as P, report

    t0 = time.monotonic()
    a = A.with_overrides(overrides)
    cal, cal_desc = calibrate.resolve(calibration_path, use_calibration)
    configs, ctx, info = build(board_names, policies, a, cal, scores_path)
    rows = sweep.run(configs, ctx, executor=executor, workers=workers)
    feasible = [r for r in rows if r["feasible"]]
    front = pareto.front_rows(feasible)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {out} ({exc.strerror}); pick another --out") from None
    data = {"command": command, "boards": [B.summary(v) for v in info["variants"]],
            "models": info["models"], "anchors": latency.anchors(cal),
            "person_detection_macs": latency.person_detection_macs(),
            "calibration": cal_desc, "python_stages": info["python_stages"],
            "python_stage_ms": info["py_ms"], "assumptions": a.as_dict(),
            "policies": info["policies"],
            "cheapest": info["cheapest"], "routers": info["routers"], "warnings": info["warnings"],
            "counts": {"configurations": len(rows), "feasible": len(feasible),
                       "excluded": len(rows) - len(feasible), "pareto": len(front)},
            "configurations": rows, "pareto": front}
    data["findings"] = all_findings(data)
    files = {"configurations_csv": write_csv(rows, out / "configurations.csv.gz"),
             "pareto_csv": write_csv(front, out / "pareto.csv")}
    if plots:
        files.update(P.write_all(data, out))
    data["seconds"] = round(time.monotonic() - t0, 2)
    files["report"] = report.write(data, out / "guidelines.md", files)
    data["files"] = {k: str(v) for k, v in files.items()}
    return data


def all_findings(data):
    """Every finding of a sweep, by name (findings.py: prices, modalities, policies; tradeoffs.py:
    components and implementation choices)."""
    from eyeauth.explore.findings import (cascade, policies, price_points, second_modality,
                                          single_vs_multi)
    from eyeauth.explore.tradeoffs import (bit_width, chips, exclusions, premodel, psram,
                                           python_stages)

    return {"price_points": price_points(data),
            "second_modality": second_modality(data, data["models"]), "psram": psram(data),
            "bit_width": bit_width(data), "premodel": premodel(data), "chips": chips(data),
            "cascade": cascade(data), "exclusions": exclusions(data),
            "policies": policies(data), "single_vs_multi": single_vs_multi(data),
            "python_stages": python_stages(data)}
