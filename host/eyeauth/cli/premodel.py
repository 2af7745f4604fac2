"""`eyeauth premodel train|eval`: the premodel that picks which zoo model runs on each input."""
from eyeauth.cli.main import Result, add_json_flag, help_when_bare, pct


def register(subparsers):
    p = subparsers.add_parser("premodel", help="train and evaluate the per-input model chooser",
                              description="Adaptive model selection: cheap integer features of "
                              "each input (computed on the board in MicroPython) and a tiny "
                              "integer classifier pick which face or voice model of the zoo runs. "
                              "Exported to models/premodel_<modality>.json for `eyeauth deploy`.")
    sub = p.add_subparsers(dest="premodel_command", metavar="ACTION")

    t = sub.add_parser("train", help="train, select and export the premodel(s)",
                       description="Label every training input (the zoo's training identities, "
                       "with augmented copies) with the cheapest model that decides most of its "
                       "trials right; select features; compare constant choices, decision trees "
                       "and KNNs by identity-grouped cross-validation on accuracy - latency / "
                       "(100 x ms-per-point); export the winner as integers.")
    t.add_argument("--modality", choices=("face", "voice"), help="one modality (default: both)")
    t.add_argument("--data", help="data root holding faces/orl and voices/fsdd "
                   "(default: ../shared/data)")
    t.add_argument("--identities", help="comma-separated identities to train on (default: the "
                   "zoo's training identities; give unseen ones to avoid the zoo's overfit)")
    t.add_argument("--variants", type=int, help="versions of each probe file (face 6, voice 3)")
    t.add_argument("--max-files", type=int, help="at most this many files per identity")
    t.add_argument("--ms-per-point", type=float, default=25.0,
                   help="mean latency (ms) one point of accuracy is worth (25)")
    t.add_argument("--board", default="esp-eye", help="board config for latency (esp-eye)")
    t.add_argument("--out", help="output file (with --modality; default "
                   "models/premodel_<modality>.json)")
    t.add_argument("--seed", type=int, default=0, help="augmentation seed (0)")
    t.add_argument("--no-cache", action="store_true", help="recompute every embedding")
    add_json_flag(t)
    t.set_defaults(func=_train)

    e = sub.add_parser("eval", help="single models vs premodel vs oracle on held-out identities",
                       description="On the identities of --data that no zoo model (nor the "
                       "premodel) trained on: accuracy (trials decided right at each model's "
                       "operating threshold), FAR, FRR and modeled ESP-EYE mean latency of every "
                       "single model, of the premodel (its own cost included) and of the oracle.")
    e.add_argument("--modality", required=True, choices=("face", "voice"))
    e.add_argument("--data", help="data root or an <identity>/<files> folder "
                   "(default: ../shared/data)")
    e.add_argument("--premodel", help="premodel file (default: models/premodel_<modality>.json)")
    e.add_argument("--variants", type=int, help="versions of each probe file (face 6, voice 3)")
    e.add_argument("--max-files", type=int, help="at most this many files per identity")
    e.add_argument("--max-identities", type=int, help="at most this many held-out identities")
    e.add_argument("--seed", type=int, default=1, help="augmentation seed (1)")
    e.add_argument("--board", default="esp-eye", help="board config for latency (esp-eye)")
    e.add_argument("--no-cache", action="store_true", help="recompute every embedding")
    add_json_flag(e)
    e.set_defaults(func=_eval)
    help_when_bare(p)


def _train(args):
    from eyeauth.errors import UsageError
    from eyeauth.premodel import train

    mods = [args.modality] if args.modality else list(train.MODALITIES)
    if args.out and len(mods) > 1:
        raise UsageError("--out needs --modality (one file per modality)")
    ids = [i.strip() for i in args.identities.split(",") if i.strip()] if args.identities else None
    out, lines = {}, []
    for mod in mods:
        r = train.train(mod, data_dir=args.data, variants=args.variants, seed=args.seed,
                        max_files=args.max_files, ms_per_point=args.ms_per_point,
                        board=args.board, out=args.out, cache=not args.no_cache, identities=ids)
        r.pop("document", None)
        out[mod] = r
        cv = r["chosen_cv"]
        lines.append(f"{mod}: {r['probes']} training probes ({len(r['identities'])} identities); "
                     "oracle labels " + ", ".join(f"{m} {n}" for m, n in r["labels"].items()))
        lines.append(f"  features kept: {', '.join(r['selection']['selected']) or 'none'} "
                     f"(searched with {', '.join(r['selection']['searched_with'])})")
        lines.append(f"  chosen: {r['spec']} -> {r['kind']} of {r['size_ints']} integers; "
                     f"CV accuracy {pct(cv['accuracy'])}, {cv['latency_ms']:.1f} ms")
        for m, s in r["cv_single"].items():
            lines.append(f"    single {m:10s} CV accuracy {pct(s['accuracy'])}, "
                         f"{s['latency_ms']:.1f} ms")
        o = r["cv_oracle"]
        lines.append(f"    oracle            CV accuracy {pct(o['accuracy'])}, "
                     f"{o['latency_ms']:.1f} ms")
        lines.append(f"  overhead on the board: {r['overhead']['overhead_ms']:.2f} ms per input; "
                     f"wrote {r['path']}")
        lines.extend(f"  warning: {w}" for w in r["warnings"])
    return Result(out, "\n".join(lines))


def _eval(args):
    from eyeauth.premodel import train

    r = train.evaluate(args.modality, data=args.data, premodel=args.premodel,
                       variants=args.variants, seed=args.seed, max_files=args.max_files,
                       board=args.board, max_identities=args.max_identities,
                       cache=not args.no_cache)
    n = len(r["identities"])
    head = (f"{args.modality}: {n} held-out identit{'y' if n == 1 else 'ies'} probing "
            f"({len(r['enrolled'])} enrolled), {r['probes']} probes x {r['trials_per_probe']} "
            "trials")
    if args.modality == "voice":
        head += f" ({r['rejected_probes']} more refused by the voice check)"
    lines = [head,
             f"{'':18s} {'accuracy':>8s} {'FAR':>7s} {'FRR':>7s} {'mean ms':>9s}"]
    rows = [(f"single {m}", s) for m, s in r["single"].items()]
    rows += [("premodel", r["premodel"]), ("oracle", r["oracle"])]
    for name, s in rows:
        lines.append(f"{name:18s} {pct(s['accuracy'])} {pct(s['far'])} {pct(s['frr'])} "
                     f"{s['mean_latency_ms']:9.1f}")
    t = r["targets"]
    pm = r["premodel"]
    lines.append(f"premodel overhead {pm['overhead_ms']:.2f} ms ({pct(t['overhead_fraction'])} "
                 f"of its mean latency); choices " + ", ".join(
                     f"{m} {100 * f:.0f}%" for m, f in pm["choices"].items()))
    for key in ("most_capable", "largest"):
        v = t[key]
        lines.append(f"vs {key.replace('_', ' ')} single model ({v['model']}): "
                     f"{v['speedup']:.2f}x faster, accuracy {100 * v['accuracy_delta']:+.2f} "
                     f"points")
    lines.append(f"vs oracle: latency {100 * t['latency_vs_oracle']:+.1f}%, accuracy "
                 f"{100 * t['accuracy_vs_oracle']:+.2f} points")
    lines.extend(f"warning: {w}" for w in r["warnings"])
    return Result(r, "\n".join(lines))
