"""`eyeauth release check|build`: is what deploy would ship one consistent release, and make it so."""
from eyeauth.cli.main import Result, add_board_arg, add_json_flag, add_models_arg, help_when_bare


def register(subparsers):
    p = subparsers.add_parser("release", help="check or build what deploy ships (models, thresholds, premodels)",
                              description="A release is the models folder deploy ships: int8 "
                              "models and cards, thresholds.json, premodel_*.json, read as one "
                              "typed manifest (eyeauth/release.py) that deploy writes to the "
                              "board as /models/release.json. `check` lists every mismatch (a "
                              "model rebuilt or changed after its threshold was fitted, a "
                              "threshold or premodel naming a model that is not there, an arena "
                              "larger than the board's room) with the command that fixes it; "
                              "deploy refuses a release with any. `build` runs those commands, "
                              "in order, for what is stale only.")
    sub = p.add_subparsers(dest="release_command", metavar="ACTION")
    c = sub.add_parser("check", help="list the release's problems (exit 0 when there are none)",
                       description="Checks the folder `eyeauth deploy` would ship, resolved as "
                       "deploy resolves it, and every file the board would run against the "
                       "sha256 its card recorded when it was built. "
                       "Exit 0 and print the release id when the release is "
                       "consistent; else one line with every problem and a non-zero exit. "
                       "--json prints the whole manifest (models, file hashes, build hashes, "
                       "thresholds and calibration, premodels, fusion policy, arenas).")
    add_models_arg(c)
    add_board_arg(c, help="check the arenas fit this board config, as deploy does (default: "
                  "$EYEAUTH_BOARD, else board in [tool.eyeauth], else esp-eye)")
    add_json_flag(c)
    c.set_defaults(func=_check)
    b = sub.add_parser("build", help="re-derive what is stale, in order, then check",
                       description="Plan from the zoo: `eyeauth models build` for stale models "
                       "only (spec, code or data changed), `eyeauth eval thresholds` if a model "
                       "changed or the thresholds do not match the files, `eyeauth premodel "
                       "train` for each modality whose models or thresholds changed; run the "
                       "plan with a progress line per step, then check the release. Nothing "
                       "runs when the release is current. Training needs TensorFlow and hours.")
    add_models_arg(b)
    b.add_argument("--data", help="data root for models build and thresholds (default: ../shared/data)")
    b.add_argument("--dry-run", action="store_true", help="list what would run, run nothing")
    add_board_arg(b, help="board whose arena room to check (default: $EYEAUTH_BOARD, else board "
                  "in [tool.eyeauth], else esp-eye)")
    b.add_argument("--manifest", metavar="FILE", help="also write the board manifest "
                   "(what deploy puts in /models/release.json) to FILE")
    add_json_flag(b)
    b.set_defaults(func=_build)
    help_when_bare(p)


def _check(args):
    from eyeauth import release
    from eyeauth.models import zoo

    d = zoo.models_dir(args.models)
    rel = release.load(d, args.board)
    probs = list(rel.problems)
    if probs:  # one line, every problem, non-zero exit
        raise release.ReleaseError(f"{d}: {len(probs)} problem(s): " + "; ".join(probs))
    res = {"models_dir": str(d), "release_id": rel.id, "problems": probs, "ok": True,
           "manifest": rel.as_dict()}
    return Result(res, f"{d}: release {rel.id} is consistent ({len(rel.models)} models, "
                  f"{len(rel.premodels)} premodels)")


def _build(args):
    import json
    from pathlib import Path

    from eyeauth import release, release_build
    from eyeauth.progress import note

    res = release_build.build(args.models, args.data, dry_run=args.dry_run, board=args.board,
                              progress=note)
    rel = res["release"]
    if args.manifest and not args.dry_run and rel["ok"]:
        m = release.load(res["models_dir"]).board_manifest(args.board)
        Path(args.manifest).write_text(json.dumps(m, separators=(",", ":")) + "\n")
        res["manifest"] = args.manifest
    steps = res["steps"]
    if args.dry_run:
        lines = ([f"would run {len(steps)} step(s):"] + [f"  {s['command']}  ({s['reason']})" for s in steps]
                 if steps else [f"{res['models_dir']}: release {rel['id']} is current; nothing to run"])
        return Result(res, "\n".join(lines))
    if not rel["ok"]:
        raise release.ReleaseError(f"{res['models_dir']}: still {len(rel['problems'])} problem(s) "
                                   "after the build: " + "; ".join(rel["problems"]))
    head = (f"ran {len(steps)} step(s); " if steps else "nothing was stale; ")
    tail = f"; board manifest in {args.manifest}" if res.get("manifest") else ""
    return Result(res, f"{head}release {rel['id']} is consistent{tail}")
