"""`eyeauth premodel train|eval`: the premodel that picks which zoo model runs on each input."""
from eyeauth.cli.main import Result, add_board_arg, add_json_flag, add_models_arg, help_when_bare


def register(subparsers):
    p = subparsers.add_parser("premodel", help="train and evaluate the per-input model chooser",
                              description="Adaptive model selection: cheap integer features of "
                              "each input (computed on the board in MicroPython) and a tiny "
                              "integer classifier pick which face or voice model of the zoo runs. "
                              "Exported to models/premodel_<modality>.json for `eyeauth deploy`.")
    sub = p.add_subparsers(dest="premodel_command", metavar="ACTION")

    t = sub.add_parser("train", help="fit the routers and export the shipped one",
                       description="By default on the identities data/splits.json reserves for "
                       "the premodel (LFW faces, Speech Commands speakers' 3-word phrases; never "
                       "used to train an embedder or fit a threshold), with augmented copies: "
                       "fits the feature premodel (cheap features -> tree / KNN -> one model; "
                       "labels by balanced correctness), the confidence cascade (cheap model, "
                       "the next one when its margin is in a band around the threshold), the "
                       "hybrid (band chosen by one feature) and, for faces, the modality choice "
                       "(a quality rule that sends poor frames to the voice factor). Ships the "
                       "cheapest within 0.5 point of the most capable model's FAR and FRR, with "
                       "the other candidates in its meta.")
    t.add_argument("--modality", choices=("face", "voice"), help="one modality (default: both)")
    t.add_argument("--data", help="data root holding faces/lfw and voices/speech_commands "
                   "(default: ../shared/data)")
    t.add_argument("--variants", type=int, help="versions of each probe file (face 4, voice 3)")
    t.add_argument("--max-files", type=int, help="at most this many files per identity")
    t.add_argument("--max-identities", type=int, help="at most this many identities (quick runs)")
    t.add_argument("--ms-per-point", type=float, default=25.0,
                   help="mean latency (ms) one point of accuracy is worth (25)")
    add_board_arg(t, help="board config for latency (default: $EYEAUTH_BOARD, else board in "
                  "[tool.eyeauth], else esp-eye)")
    add_models_arg(t)
    t.add_argument("--out", help="output file (with --modality; default "
                   "models/premodel_<modality>.json)")
    t.add_argument("--seed", type=int, default=0, help="augmentation seed (0)")
    t.add_argument("--no-cache", action="store_true", help="recompute every embedding")
    add_json_flag(t)
    t.set_defaults(func=_train)

    e = sub.add_parser("eval", help="every router vs every single model on unseen identities",
                       description="By default on the evaluation identities of every set of "
                       "the modality (faces: LFW eval, ORL; voices: Speech Commands eval and FSDD "
                       "3-word phrases): FAR, FRR, balanced accuracy, FRR at FAR 1 %, mean "
                       "modeled latency on the ESP-EYE and the ESP32-S3-EYE (the router's own "
                       "cost included) and the share of attempts each model decides, for every "
                       "single model, every router the premodel file carries (premodel, "
                       "cascade, hybrid, shipped) and the oracle; the issue's targets. With "
                       "--data DIR: the same on one <identity>/<files> folder (your own people).")
    e.add_argument("--modality", required=True, choices=("face", "voice"))
    e.add_argument("--data", metavar="DIR", help="one <identity>/<files> folder instead of the "
                   "evaluation sets (identities the premodel trained on are left out)")
    e.add_argument("--premodel", help="premodel file (default: models/premodel_<modality>.json)")
    e.add_argument("--variants", type=int, help="versions of each probe file (face 4, voice 3)")
    e.add_argument("--max-files", type=int, help="at most this many files per identity")
    e.add_argument("--max-identities", type=int, help="at most this many held-out identities")
    e.add_argument("--set", action="append", help="evaluation set (repeatable; default: every "
                   "set of the modality: lfw, orl / speech_commands_phrase, fsdd_phrase); "
                   "without --data only")
    e.add_argument("--seed", type=int, default=1, help="augmentation seed (1)")
    add_models_arg(e)
    e.add_argument("--no-cache", action="store_true", help="recompute every embedding")
    add_json_flag(e)
    e.set_defaults(func=_eval)
    help_when_bare(p)


def _train(args):
    from eyeauth.errors import UsageError
    from eyeauth.premodel import route

    mods = [args.modality] if args.modality else list(route.MODALITIES)
    if args.out and len(mods) > 1:
        raise UsageError("--out needs --modality (one file per modality)")
    return _train_routers(args, mods)


def _f(r, key):
    return f"{100 * r[key]:6.2f}%"


def _train_routers(args, mods):
    from eyeauth.premodel import route

    out, lines = {}, []
    for mod in mods:
        r = route.train(mod, data_dir=args.data, variants=args.variants, seed=args.seed,
                        max_files=args.max_files,
                        max_identities=args.max_identities, board=args.board, out=args.out,
                        cache=not args.no_cache, ms_per_point=args.ms_per_point)
        r.pop("document", None)
        out[mod] = r
        lines.append(f"{mod}: {r['probes']} probes of {r['identities']} identities reserved for "
                     f"the premodel ({r['set']}; {r['refused_probes']} refused by the board's "
                     f"gate); reference (most capable) {r['reference']}")
        lines.append(f"  {'':14s} {'FAR':>7s} {'FRR':>7s} {'bal.acc':>7s} {'mean ms':>8s}")
        for name, s in list(r["single"].items()) + list(r["candidates"].items()):
            lines.append(f"  {name:14s} {_f(s, 'far')} {_f(s, 'frr')} "
                         f"{_f(s, 'balanced_accuracy')} {s['mean_latency_ms']:8.1f}")
        q = r.get("quality")
        if q and q.get("rules"):
            lines.append(f"  modality choice: {q['feature']} < {q['min']} flags "
                         f"{100 * q['flagged']:.1f}% of frames (face balanced accuracy "
                         f"{100 * q['balanced_accuracy_flagged']:.1f}% vs "
                         f"{100 * q['balanced_accuracy_rest']:.1f}%): "
                         f"{'shipped' if q['shipped'] else 'not shipped (gap < 5 points)'}")
        lines.append(f"  shipped router: {r['router']}; overhead "
                     f"{r['overhead']['overhead_ms']:.2f} ms on {args.board}; wrote {r['path']}")
    return Result(out, "\n".join(lines))


def _eval(args):
    from eyeauth.evaluation import premodel

    r = premodel.evaluate(args.modality, premodel=args.premodel, variants=args.variants,
                          seed=args.seed, max_files=args.max_files,
                          max_identities=args.max_identities, cache=not args.no_cache,
                          sets=args.set, data=args.data)
    lines = [f"{args.modality}: shipped router {r['router']} ({r['premodel_file']}); "
             "identities no model trained on, at the shipped thresholds; mean ms = mean of the "
             "genuine- and impostor-attempt means, ESP-EYE / ESP32-S3-EYE, router cost included"]
    for set_name, s in r["sets"].items():
        lines.append(f"{set_name}: {s['identities']} identities, {s['probes']} probes, "
                     f"{s['genuine_trials']} genuine + {s['impostor_trials']} impostor trials "
                     f"({s['refused_probes']} probes refused by the board's gate)")
        lines.append(f"  {'':16s} {'FAR':>7s} {'FRR':>7s} {'bal.acc':>7s} {'FRR@1%':>7s} "
                     f"{'ESP-EYE':>8s} {'S3-EYE':>7s}  share")
        rows = [(f"single {m}", x) for m, x in s["single"].items()]
        rows += [(n, x) for n, x in s["routers"].items()] + [("oracle", s["oracle"])]
        for name, x in rows:
            ms = [x["boards"][b]["mean_latency_ms"] for b in x["boards"]]
            share = ", ".join(f"{m} {100 * v:.0f}%" for m, v in x["share"].items() if v >= 0.005)
            lines.append(f"  {name:16s} {_f(x, 'far')} {_f(x, 'frr')} "
                         f"{_f(x, 'balanced_accuracy')} {_f(x, 'frr_at_far_1pct')} "
                         + " ".join(f"{v:8.1f}" for v in ms) + f"  {share}")
        mc = s["routers"]["shipped"].get("modality_choice")
        if mc:
            fb, fk = mc["face_balanced_accuracy_sent_to_voice"], mc["face_balanced_accuracy_kept"]
            lines.append(f"  modality choice (cascade policy): {100 * mc['to_voice']:.1f}% of frames "
                         f"go to the voice factor ({100 * mc['no_face']:.1f}% without a face); face "
                         f"balanced accuracy on them {'-' if fb is None else f'{100 * fb:.1f}%'} vs "
                         f"{'-' if fk is None else f'{100 * fk:.1f}%'} on the frames kept")
        t = s["targets"]
        lines.append(f"  shipped vs {t['most_capable']}: {t['speedup']:.2f}x faster "
                     f"(target 2x: {'met' if t['met_2x_faster'] else 'missed'}), FAR "
                     f"{100 * t['far_delta']:+.2f}, FRR {100 * t['frr_delta']:+.2f} points "
                     f"(target +1: {'met' if t['met_far_frr_within_1pt'] else 'missed'}); "
                     f"not worse than the cascade: {'yes' if t['met_not_worse_than_cascade'] else 'no'}; "
                     "overhead " + ", ".join(f"{100 * v:.2f}%" for v in t["overhead_fraction"].values())
                     + f" (target 2 %: {'met' if t['met_overhead_le_2pct'] else 'missed'})")
    return Result(r, "\n".join(lines))
