"""`eyeauth models build|list|eval`: the model zoo."""
from eyeauth.cli.main import Result, add_json_flag, add_models_arg, help_when_bare

_LIST_KEYS = ("name", "modality", "path", "params", "macs", "flash_bytes", "arena_bytes")


def register(subparsers):
    p = subparsers.add_parser("models", help="build, list and evaluate the model zoo",
                              description="The int8 face/voice embedders and the face detector "
                              "in models/ (spec: models/zoo.json).")
    sub = p.add_subparsers(dest="models_command", metavar="ACTION")

    b = sub.add_parser("build", help="train, convert and card the zoo (cached)",
                       description="Train every model of models/zoo.json whose spec, training "
                       "code or data changed, convert it to full int8, check it in TFLite Micro "
                       "and write models/<name>.tflite and its card. Needs TensorFlow.")
    b.add_argument("names", nargs="*", help="only these models (default: all)")
    b.add_argument("--force", action="store_true", help="rebuild even when the cache is current")
    b.add_argument("--cards", action="store_true", help="never train: re-run the evaluation "
                   "figures on the built models' cards (held-out EER, voice sets, detection, "
                   "the keyword threshold)")
    add_models_arg(b, help="the release folder to build into (default: $EYEAUTH_MODELS_DIR, else "
                   "models in [tool.eyeauth], else the checkout's models/)")
    b.add_argument("--data", help="data root holding faces/orl and voices/fsdd "
                   "(default: ../shared/data)")
    add_json_flag(b)
    b.set_defaults(func=_build)

    ls = sub.add_parser("list", help="the built models and their costs")
    ls.add_argument("--modality", choices=("face", "voice", "detector", "keyword"),
                    help="only this modality")
    add_models_arg(ls)
    add_json_flag(ls)
    ls.set_defaults(func=_list)

    ev = sub.add_parser("eval", help="cross-dataset table of the zoo (or EER on one folder)",
                        description="Without --data: every zoo model on every evaluation set it "
                        "never trained on (ORL, ORL in scenes, LFW evaluation identities, the "
                        "voice sets): EER int8 and float, FRR at FAR 1 %%, FAR and FRR at the "
                        "shipped threshold (models/thresholds.json); --teacher adds the teacher's "
                        "EER on the same trials. With --data: one folder, the same figures per "
                        "model (--json: far_at_threshold, frr_at_threshold). Either way the first "
                        "files of each identity are enrolled as the board enrols them (int8, "
                        "template = normalised sum) and the rest are scored as the board scores "
                        "them (a frame without a face or a clip without speech is a reject); "
                        "identities with too few files are skipped and counted.")
    ev.add_argument("--modality", choices=("face", "voice"),
                    help="only this modality (required with --data)")
    ev.add_argument("--data", help="one folder laid out as <identity>/<files> "
                    "(FSDD's flat recordings/ folder works too) instead of the evaluation sets")
    ev.add_argument("--set", action="append", dest="sets", metavar="NAME",
                    help="only this evaluation set (repeatable; not with --data): orl, "
                    "orl_scenes, lfw, and the voice sets")
    ev.add_argument("--teacher", action="store_true",
                    help="also score the teacher (dlib ResNet / Resemblyzer) on the same trials "
                    "(not with --data)")
    ev.add_argument("--max-identities", type=int, help="only the first N identities of a set "
                    "(not with --data)")
    ev.add_argument("--enroll", type=int, help="with --data: files enrolled per identity (face 3, "
                    "voice 5)")
    ev.add_argument("--model", action="append", help="only this model (repeatable)")
    ev.add_argument("--heldout", action="store_true",
                    help="with --data: score each model only on the identities held out from its "
                    "training")
    ev.add_argument("--no-detect", action="store_true",
                    help="with --data: images are already face crops: skip the detector")
    add_models_arg(ev)
    add_json_flag(ev)
    ev.set_defaults(func=_eval)
    sp = sub.add_parser("splits", help="the identity splits of the shared data sets",
                        description="Counts of the committed identity splits (data/splits.json): "
                        "train (models learn from these), calib (thresholds), premodel (the "
                        "per-input chooser), eval (reported figures). --check compares the file "
                        "with the data on disk; --write regenerates it.")
    sp.add_argument("--data", help="data root (default: ../shared/data)")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--check", action="store_true", help="fail if the file is stale")
    g.add_argument("--write", action="store_true", help="regenerate data/splits.json")
    add_json_flag(sp)
    sp.set_defaults(func=_splits)
    help_when_bare(p)


def _splits(args):
    from eyeauth import splits
    from eyeauth.errors import DataError

    if args.write:
        splits.write(splits.generate(args.data))
    doc = splits.load()
    if args.check and doc != splits.generate(args.data):
        raise DataError(f"{splits.SPLITS_FILE} does not match the data on disk; "
                        "run `eyeauth models splits --write` (and retrain)")
    counts = splits.summary(doc)
    lines = [f"{'set':16s} " + " ".join(f"{p:>8s}" for p in splits.PARTS)]
    lines += [f"{n:16s} " + " ".join(f"{c[p]:8d}" for p in splits.PARTS) for n, c in counts.items()]
    return Result(counts, "\n".join(lines))


def _build(args):
    from eyeauth.errors import UsageError
    from eyeauth.release_build import build_models, finish_cards

    if args.cards:
        if args.force:
            raise UsageError("--cards never trains; drop --force")
        rows = finish_cards(args.names or None, out_dir=args.models)
        return Result(rows, "\n".join(f"{r['name']:10s} {r['status']:6s} {r['build_hash']}" for r in rows))
    _import_tensorflow_quietly()

    rows = build_models(args.names or None, force=args.force, data_dir=args.data,
                        out_dir=args.models)
    text = "\n".join(f"{r['name']:10s} {r['status']:6s} {r['build_hash']}"
                     + (f"  {r['seconds']} s" if "seconds" in r else "") for r in rows)
    return Result(rows, text)


def _list(args):
    from eyeauth.models import zoo

    cards = zoo.list_models(modality=args.modality)
    rows = []
    for c in cards:
        row = {k: c.get(k) for k in _LIST_KEYS}
        row.update({"arena_bytes_target": c.get("arena_bytes_target"),
                    "input_shape": c["input"]["shape"],
                    "latency_esp32_ms": c.get("latency_esp32_ms"),
                    "latency_esp32s3_ms": c.get("latency_esp32s3_ms"),
                    "eer": c.get("eer"), "eer_float": c.get("eer_float")})
        rows.append(row)
    head = f"{'name':10s} {'modality':8s} {'input':>10s} {'params':>8s} {'MMAC':>6s} " \
           f"{'flash KB':>8s} {'arena KB':>8s} {'ESP32 ms':>8s} {'S3 ms':>6s} {'EER':>6s}"
    lines = [head]
    for r in rows:
        shape = "x".join(str(v) for v in r["input_shape"][1:3] or r["input_shape"])
        eer = f"{100 * r['eer']:.1f}%" if r["eer"] is not None else "-"
        lines.append(f"{r['name']:10s} {r['modality']:8s} {shape:>10s} {r['params']:8d} "
                     f"{r['macs'] / 1e6:6.2f} {r['flash_bytes'] / 1024:8.1f} "
                     f"{r['arena_bytes'] / 1024:8.1f} {r['latency_esp32_ms']:8.1f} "
                     f"{r['latency_esp32s3_ms']:6.1f} {eer:>6s}")
    if not rows:
        lines = ["no built models; run `eyeauth models build`"]
    return Result(rows, "\n".join(lines))


def _pct(v):
    return "-" if v is None else f"{100 * v:.1f}%"


def _check_eval_args(args):
    """Refuse what models eval would otherwise ignore or silently widen: an unknown model or set,
    a model or set of another modality than asked, options of the other mode."""
    from eyeauth.errors import UsageError
    from eyeauth.evaluation import crosseval
    from eyeauth.models import zoo

    other = (["--set"] if args.sets else []) + (["--teacher"] if args.teacher else []) + \
        (["--max-identities"] if args.max_identities else [])
    folder = (["--enroll"] if args.enroll else []) + (["--heldout"] if args.heldout else []) + \
        (["--no-detect"] if args.no_detect else [])
    if args.data and other:
        raise UsageError(f"{', '.join(other)}: only for the evaluation sets, not with --data "
                         "(one folder); drop one")
    if not args.data and folder:
        raise UsageError(f"{', '.join(folder)}: only with --data FOLDER (the evaluation sets "
                         "enrol as the board does: face 3, voice 5)")
    if args.data and not args.modality:
        raise UsageError("--data needs --modality face or voice")
    kinds = {c["name"]: c["modality"] for c in zoo.list_models()}
    mods = {args.modality} if args.modality else set()
    for name in args.sets or ():
        if name not in crosseval.set_names():
            raise UsageError(f"unknown evaluation set {name!r}; known: "
                             f"{', '.join(crosseval.set_names())}")
        mods.add(crosseval.SETS[name][0])
    for name in args.model or ():
        if kinds.get(name) not in ("face", "voice"):
            known = ", ".join(n for n, m in kinds.items() if m in ("face", "voice"))
            raise UsageError(f"--model {name}: no such face or voice model; built: {known}")
        mods.add(kinds[name])
    if len(mods) > 1:
        raise UsageError("--modality, --set and --model name different modalities "
                         f"({', '.join(sorted(mods))}); `eyeauth models eval --help` lists the "
                         "sets of each")


def _cross(args):
    from eyeauth.evaluation import crosseval

    if args.model and not args.sets and not args.modality:  # the sets of the models' modality
        from eyeauth.models import zoo

        kinds = {c["name"]: c["modality"] for c in zoo.list_models()}
        args.modality = kinds[args.model[0]]
    sets = crosseval.evaluate(sets=args.sets, modality=args.modality, names=args.model,
                              teacher=args.teacher, max_identities=args.max_identities)
    lines = []
    for s in sets:
        lines.append(f"{s['set']} ({s['modality']}): {s['what']}; {s['identities']} identities "
                     f"({s['skipped_identities']} skipped: too few files), "
                     f"{s['genuine_trials']}+{s['impostor_trials']} trials"
                     + (f", {s['refused_probes']} probes refused by the board (no "
                        f"{'face' if s['modality'] == 'face' else 'speech'})" if s["refused_probes"] else ""))
        lines.append(f"  {'model':10s} {'EER':>6s} {'float':>6s} {'FRR@1%':>7s} "
                     f"{'FAR@thr':>7s} {'FRR@thr':>7s} {'ESP32 ms':>8s}")
        for m in s["models"]:
            lines.append(f"  {m['name']:10s} {_pct(m['eer']):>6s} {_pct(m['eer_float']):>6s} "
                         f"{_pct(m['frr_at_far_1pct']):>7s} {_pct(m['far_at_threshold']):>7s} "
                         f"{_pct(m['frr_at_threshold']):>7s} {m['latency_esp32_ms'] or 0:8.0f}")
        if s["teacher"]:
            for t in s.get("teachers") or [s["teacher"]]:
                best = "; the best: target EER <= " + _pct(s["target_eer"]) if t is s["teacher"] or \
                    t["name"] == s["teacher"]["name"] else ""
                lines.append(f"  {'teacher':10s} {_pct(t['eer']):>6s} {'':>6s} {_pct(t['frr_at_far_1pct']):>7s}"
                             f"   ({t['name']}{best})")
    return Result(sets, "\n".join(lines))


def _eval(args):
    from eyeauth.evaluation import folder

    _check_eval_args(args)
    if not args.data:
        return _cross(args)
    rows = folder.evaluate(args.data, args.modality, names=args.model, enrol=args.enroll,
                           detect=not args.no_detect, heldout=args.heldout)
    lines = [f"{'name':10s} {'EER':>6s} {'float':>6s} {'FRR@1%':>7s} {'FAR@thr':>7s} "
             f"{'FRR@thr':>7s} trials"]
    for r in rows:
        lines.append(f"{r['name']:10s} {_pct(r['eer']):>6s} {_pct(r['eer_float']):>6s} "
                     f"{_pct(r['frr_at_far_1pct']):>7s} {_pct(r['far_at_threshold']):>7s} "
                     f"{_pct(r['frr_at_threshold']):>7s} {r['genuine_trials']}+"
                     f"{r['impostor_trials']}"
                     + (f" ({r['refused_probes']} probes refused)" if r["refused_probes"] else ""))
    return Result(rows, "\n".join(lines))


def _import_tensorflow_quietly():
    """TensorFlow prints absl/oneDNN banners on import; keep them off the user's terminal."""
    from eyeauth.models.convert import quiet

    try:
        with quiet():
            import tensorflow  # noqa: F401
    except ImportError:
        pass  # the library raises a ModelError that says what to install
