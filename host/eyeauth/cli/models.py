"""`eyeauth models build|list|eval`: the model zoo."""
from eyeauth.cli.main import Result, add_json_flag, help_when_bare

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
    b.add_argument("--data", help="data root holding faces/orl and voices/fsdd "
                   "(default: ../shared/data)")
    add_json_flag(b)
    b.set_defaults(func=_build)

    ls = sub.add_parser("list", help="the built models and their costs")
    ls.add_argument("--modality", choices=("face", "voice", "detector"))
    add_json_flag(ls)
    ls.set_defaults(func=_list)

    ev = sub.add_parser("eval", help="EER of every zoo model of a modality on a folder",
                        description="Enrol the first files of each identity, score the rest "
                        "(genuine and impostor trials) with the int8 model in TFLite Micro and "
                        "with its float reference. Faces go detector -> crop -> embedder.")
    ev.add_argument("--modality", required=True, choices=("face", "voice"))
    ev.add_argument("--data", required=True, help="folder laid out as <identity>/<files> "
                    "(FSDD's flat recordings/ folder works too)")
    ev.add_argument("--enrol", type=int, help="files enrolled per identity (face 3, voice 5)")
    ev.add_argument("--model", action="append", help="only this model (repeatable)")
    ev.add_argument("--heldout", action="store_true",
                    help="score each model only on the identities held out from its training")
    ev.add_argument("--no-detect", action="store_true",
                    help="images are already face crops: skip the detector")
    add_json_flag(ev)
    ev.set_defaults(func=_eval)
    help_when_bare(p)


def _build(args):
    from eyeauth.models import build

    _import_tensorflow_quietly()

    rows = build.build(names=args.names or None, force=args.force, data_dir=args.data)
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
        shape = "x".join(str(v) for v in r["input_shape"][1:3])
        eer = f"{100 * r['eer']:.1f}%" if r["eer"] is not None else "-"
        lines.append(f"{r['name']:10s} {r['modality']:8s} {shape:>10s} {r['params']:8d} "
                     f"{r['macs'] / 1e6:6.2f} {r['flash_bytes'] / 1024:8.1f} "
                     f"{r['arena_bytes'] / 1024:8.1f} {r['latency_esp32_ms']:8.1f} "
                     f"{r['latency_esp32s3_ms']:6.1f} {eer:>6s}")
    if not rows:
        lines = ["no built models; run `eyeauth models build`"]
    return Result(rows, "\n".join(lines))


def _eval(args):
    from eyeauth.models import evaluate

    rows = evaluate.evaluate(args.data, args.modality, names=args.model, enrol=args.enrol,
                             detect=not args.no_detect, heldout=args.heldout)
    lines = [f"{'name':10s} {'EER int8':>9s} {'EER float':>9s} {'FRR@FAR1%':>9s} trials"]
    for r in rows:
        lines.append(f"{r['name']:10s} {100 * r['eer']:8.2f}% {100 * r['eer_float']:8.2f}% "
                     f"{100 * r['frr_at_far_1pct']:8.2f}% {r['genuine_trials']}+"
                     f"{r['impostor_trials']}")
    return Result(rows, "\n".join(lines))


def _import_tensorflow_quietly():
    """TensorFlow prints absl/oneDNN banners on import; keep them off the user's terminal."""
    from eyeauth.models.convert import quiet

    try:
        with quiet():
            import tensorflow  # noqa: F401
    except ImportError:
        pass  # the library raises a ModelError that says what to install
