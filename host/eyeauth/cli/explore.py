"""`eyeauth explore`: cost-driven design-space exploration (library: eyeauth.explore)."""
from __future__ import annotations

import argparse

from eyeauth.cli.main import Result, add_json_flag, add_models_arg
from eyeauth.errors import UsageError

_HELP = ("Enumerate board variant x policy (face, voice, sum, both, cascade: the board's "
         "rules, thresholds chosen for the FAR target) x model x bit width "
         "(int8, 16x8) x premodel; model latency, memory fit and user experience (time to "
         "unlock with retries, FRR at the target FAR, lock-out chance); write Pareto fronts "
         "(cost, time to unlock, FRR) as CSV and PNG and a guidelines report (guidelines.md).")


def register(sub):
    p = sub.add_parser("explore", help="cost/latency/UX Pareto fronts and the guidelines report",
                       description=_HELP)
    p.add_argument("--out", dest="out_dir", metavar="DIR", help="folder for the report (created)")
    p.add_argument("--board", action="append", help="only this board config (repeatable)")
    p.add_argument("--policy", action="append", help="only this policy (repeatable)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2; 1: none)")
    p.add_argument("--executor", choices=("process", "thread", "dask", "ray"), default="process",
                   help="where the sweep runs (default: a local process pool of --workers); "
                   "dask/ray use $DASK_SCHEDULER_ADDRESS / $RAY_ADDRESS or a local cluster")
    p.add_argument("--far", type=float, help="target false-accept rate per attempt (0.01)")
    p.add_argument("--attempts", type=int, help="failed attempts before a lock-out (5)")
    p.add_argument("--assume", action="append", metavar="KEY=VALUE", default=[],
                   help="change a modeling assumption (see guidelines.md); per chip: KEY.esp32=V")
    p.add_argument("--set", dest="old_set", action="append", help=argparse.SUPPRESS)
    p.add_argument("--calibration", metavar="FILE", help="latency calibration JSON (default: "
                   "$EYEAUTH_CALIBRATION or ~/.cache/eyeauth/calibration.json if present)")
    p.add_argument("--no-calibration", action="store_true", help="ignore any calibration file")
    p.add_argument("--scores", metavar="FILE", help="score cache (default: "
                   "$EYEAUTH_CACHE/explore_scores.json, i.e. ~/.cache/eyeauth/, if `eyeauth "
                   "explore scores` wrote one, else the copy committed with the package)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    add_models_arg(p, help="the release folder whose model cards are explored (default: "
                   "$EYEAUTH_MODELS_DIR, else models in [tool.eyeauth], else the checkout's models/)")
    add_json_flag(p)
    p.set_defaults(func=_explore)
    acts = p.add_subparsers(dest="explore_command", metavar="ACTION")

    c = acts.add_parser("calibrate", help="fit latency scale factors from field telemetry",
                        description="Read a telemetry database (`eyeauth monitor --db`), fit "
                        "measured/modeled latency per chip and per model, write a calibration "
                        "JSON that `eyeauth explore` applies.")
    c.add_argument("--db", required=True, help="SQLite file written by `eyeauth monitor`")
    c.add_argument("--out", dest="cal_out", metavar="FILE",
                   help="where to write (default ~/.cache/eyeauth/calibration.json)")
    c.add_argument("--chip", choices=("esp32", "esp32s3"),
                   help="chip of records whose board has no config")
    c.add_argument("--min-records", type=int, default=3,
                   help="records a model needs for its own factor (default 3)")
    add_json_flag(c)
    c.set_defaults(func=_calibrate)

    s = acts.add_parser("scores", help="compute the score cache (genuine/impostor scores)",
                        description="Embed each built model's held-out identities (int8 and "
                        "float reference, in TFLM), score them as the board scores (int8 samples, "
                        "normalised-sum template) and cache the genuine/impostor scores "
                        "the explorer fuses. Only missing or stale models unless --model.")
    s.add_argument("--model", action="append", help="(re)compute this model (repeatable)")
    s.add_argument("--data", help="data root holding faces/orl and voices/fsdd")
    s.add_argument("--out", dest="scores_out", metavar="FILE", help="cache file to write (default: "
                   "~/.cache/eyeauth/explore_scores.json or $EYEAUTH_CACHE/...; give "
                   "host/eyeauth/explore/scores.json to update the committed copy)")
    add_json_flag(s)
    s.set_defaults(func=_scores)

    a = acts.add_parser("anchors", help="the latency model's error on its published anchors")
    a.add_argument("--calibration", metavar="FILE", help="apply this calibration")
    add_json_flag(a)
    a.set_defaults(func=_anchors)


def _explore(args):
    from eyeauth.explore import assumptions, sweep
    from eyeauth.explore.run import explore

    if not args.out_dir:
        raise UsageError("give --out DIR for the report (or an action: calibrate, scores, "
                         "anchors)")
    if args.old_set:
        raise UsageError("explore takes modeling assumptions as --assume KEY=VALUE (--set names "
                         f"an evaluation set in `models eval`): --assume {args.old_set[0]}")
    sets = assumptions.parse_sets(args.assume)
    if args.far is not None:
        sets["far_target"] = str(args.far)
    if args.attempts is not None:
        sets["attempts"] = str(args.attempts)
    command = "eyeauth explore " + " ".join(_argv_echo(args))
    executor = sweep.make_executor(args.executor, args.workers)
    try:
        data = explore(args.out_dir, board_names=args.board, policies=args.policy,
                       overrides=sets, executor=executor, workers=args.workers,
                       calibration_path=args.calibration,
                       use_calibration=not args.no_calibration,
                       scores_path=args.scores, command=command.strip(),
                       plots=not args.no_plots)
    finally:
        sweep.close(executor)
    return Result(data, _text(data))


def _argv_echo(args):
    out = ["--out", args.out_dir]
    for b in args.board or ():
        out += ["--board", b]
    for p in args.policy or ():
        out += ["--policy", p]
    for kv in args.assume:
        out += ["--assume", kv]
    if args.executor != "process":
        out += ["--executor", args.executor]
    if args.far is not None:
        out += ["--far", str(args.far)]
    if args.attempts is not None:
        out += ["--attempts", str(args.attempts)]
    if args.calibration:
        out += ["--calibration", args.calibration]
    if args.no_calibration:
        out.append("--no-calibration")
    if args.scores:
        out += ["--scores", args.scores]
    return out


def _text(data):
    c = data["counts"]
    lines = [f"{c['configurations']} configurations: {c['feasible']} fit, {c['excluded']} "
             f"excluded, {c['pareto']} on the Pareto front ({data['seconds']:.1f} s)"]
    lines += [f"warning: {w}" for w in data["warnings"]]
    lines += [p["text"] for p in data["findings"]["price_points"]]
    lines.append(f"wrote {data['files']['report']} and {len(data['files']) - 1} more files")
    return "\n".join(lines)


def _calibrate(args):
    from eyeauth.explore import calibrate

    cal = calibrate.fit(args.db, fallback_chip=args.chip, min_records=args.min_records)
    path = calibrate.save(cal, args.cal_out)
    cal["path"] = str(path)
    lines = [f"calibration from {args.db} -> {path}"]
    for key, f in cal["factors"].items():
        lines.append(f"{key:14s} x{f['scale']:.3f}  ({f['records']} records, boards "
                     f"{', '.join(f['boards'])})")
        for name, m in f["models"].items():
            lines.append(f"  {name:12s} x{m['scale']:.3f}  n={m['records']}"
                         + ("" if m["used"] else "  (too few records: chip factor used)"))
    return Result(cal, "\n".join(lines))


def _scores(args):
    from eyeauth.explore import scores

    path = args.scores_out or scores.cache_path()
    cache, skipped = scores.compute(args.model, args.data, path)
    rows = [{"name": n, "modality": e["modality"], "eer_int8": e["int8"]["eer"],
             "eer_float": e["float"]["eer"], "genuine": len(e["int8"]["genuine"]),
             "impostor": len(e["int8"]["impostor"]), "build_hash": e["build_hash"]}
            for n, e in cache["models"].items()]
    lines = [f"score cache {path}"] + [f"skipped {n}: its card has no held-out evaluation yet "
                                       "(still building?)" for n in skipped] + [
        f"{r['name']:10s} {r['modality']:6s} EER int8 {100 * r['eer_int8']:5.1f} %  float "
        f"{100 * r['eer_float']:5.1f} %  trials {r['genuine']}+{r['impostor']}" for r in rows]
    return Result({"path": str(path), "models": rows, "skipped": skipped}, "\n".join(lines))


def _anchors(args):
    from eyeauth.explore import calibrate, latency

    cal, desc = calibrate.resolve(args.calibration, use=bool(args.calibration))
    rows = latency.anchors(cal)
    lines = [f"{'chip':8s} {'ESP-NN':6s} {'anchor ms':>9s} {'table ms':>9s} {'err':>7s} "
             f"{'model ms':>9s} {'err':>7s} {'calib ms':>9s} {'err':>7s}"]
    for r in rows:
        lines.append(f"{r['chip']:8s} {'yes' if r['esp_nn'] else 'no':6s} {r['anchor_ms']:9.1f} "
                     f"{r['table_only_ms']:9.1f} {r['table_only_error_pct']:+6.1f}% "
                     f"{r['model_ms']:9.1f} {r['error_pct']:+6.2f}% {r['calibrated_ms']:9.1f} "
                     f"{r['calibrated_error_pct']:+6.1f}%")
    lines.append(f"calibration: {desc}")
    return Result({"anchors": rows, "calibration": desc}, "\n".join(lines))
