"""`eyeauth convert MODEL --repr DIR --out F.tflite`: any Keras/SavedModel to full int8."""
from eyeauth.cli.main import Result, add_json_flag


def register(subparsers):
    p = subparsers.add_parser(
        "convert", help="convert a Keras/SavedModel to a full-int8 .tflite for TFLite Micro",
        description="Convert a Keras (.keras, .h5) or SavedModel to a full-int8 .tflite "
        "(int8 input and output) with a representative dataset, run it in TFLite Micro, "
        "cross-check it against the float model and report missing ops and the arena size.")
    p.add_argument("model", help=".keras, .h5 or SavedModel folder")
    p.add_argument("--repr", required=True, dest="repr_dir",
                   help="folder of typical inputs: images, wavs or .npy arrays")
    p.add_argument("--out", required=True, help="the .tflite to write")
    p.add_argument("--norm", choices=("signed", "unit", "raw"), default="signed",
                   help="image scaling the model expects: (p-128)/128 (eyeauth, default), "
                   "p/255, or raw pixels")
    p.add_argument("--tolerance", type=float, default=0.10,
                   help="largest relative RMS difference int8 vs float (default 0.10)")
    add_json_flag(p)
    p.set_defaults(func=_convert)


def _convert(args):
    from eyeauth.models import convert

    _import_tensorflow_quietly()

    r = convert.convert_file(args.model, args.repr_dir, args.out, args.norm, args.tolerance)
    c = r["cross_check"]
    text = (f"wrote {r['out']} ({r['flash_bytes']} B, {r['macs'] / 1e6:.2f} M MACs)\n"
            f"int8 vs float: relative RMS {c['rel_rms']:.4f} <= {c['tolerance']} on "
            f"{c['samples']} inputs\n"
            f"TFLM arena: {r['arena_bytes']} B; ops: {', '.join(r['ops'])}\n"
            f"ops without ESP-NN kernels: {', '.join(r['reference_kernels']) or 'none'}\n"
            f"modeled latency: ESP32 {r['latency_ms']['esp32_espnn']:.1f} ms, "
            f"ESP32-S3 {r['latency_ms']['esp32s3_espnn']:.1f} ms (ESP-NN)")
    return Result(r, text)


def _import_tensorflow_quietly():
    """TensorFlow prints absl/oneDNN banners on import; keep them off the user's terminal."""
    from eyeauth.models.convert import quiet

    try:
        with quiet():
            import tensorflow  # noqa: F401
    except ImportError:
        pass  # the library raises a ModelError that says what to install
