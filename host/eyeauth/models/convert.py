"""Full-int8 TFLite conversion with a representative dataset, checked in TFLite Micro.

``convert_keras`` is what the zoo build uses; ``convert_file`` is ``eyeauth convert``: any Keras
(.keras, .h5) or SavedModel, representative inputs from a folder of images, wavs or .npy arrays.
Every conversion is cross-checked: the int8 model, run in the real TFLM interpreter, against the
float model on the representative inputs, with an explicit tolerance on the relative RMS error
``||y_int8 - y_float|| / ||y_float||`` (default 0.10) and reports the ops TFLM lacks, the ops
that fall back to reference kernels (no ESP-NN), and the arena size.
"""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np

from eyeauth.errors import DataError, ModelError
from eyeauth.models import tflm

DEFAULT_TOLERANCE = 0.10

#: Ops registered by TFLM's op resolver (tflite-micro, 2025): builtins and the signal library.
TFLM_OPS = frozenset("""
ABS ADD ADD_N ARG_MAX ARG_MIN ASSIGN_VARIABLE AVERAGE_POOL_2D BATCH_MATMUL BATCH_TO_SPACE_ND
BROADCAST_ARGS BROADCAST_TO CALL_ONCE CAST CEIL CONCATENATION CONV_2D COS CUMSUM DEPTH_TO_SPACE
DEPTHWISE_CONV_2D DEQUANTIZE DIV ELU EMBEDDING_LOOKUP EQUAL EXP EXPAND_DIMS FILL FLOOR FLOOR_DIV
FLOOR_MOD FULLY_CONNECTED GATHER GATHER_ND GREATER GREATER_EQUAL HARD_SWISH IF L2_NORMALIZATION
L2_POOL_2D LEAKY_RELU LESS LESS_EQUAL LOG LOGICAL_AND LOGICAL_NOT LOGICAL_OR LOGISTIC
LOG_SOFTMAX MAX_POOL_2D MAXIMUM MEAN MINIMUM MIRROR_PAD MUL NEG NOT_EQUAL PACK PAD PADV2 PRELU
QUANTIZE READ_VARIABLE REDUCE_MAX RELU RELU6 RELU_N1_TO_1 RESHAPE RESIZE_BILINEAR
RESIZE_NEAREST_NEIGHBOR REVERSE_V2 ROUND RSQRT SELECT_V2 SHAPE SIN SLICE SOFTMAX
SPACE_TO_BATCH_ND SPACE_TO_DEPTH SPLIT SPLIT_V SQRT SQUARE SQUARED_DIFFERENCE SQUEEZE
STRIDED_SLICE SUB SUM SVDF TANH TRANSPOSE TRANSPOSE_CONV UNIDIRECTIONAL_SEQUENCE_LSTM UNPACK
VAR_HANDLE WHILE ZEROS_LIKE
""".split()) | frozenset(  # TFLM's signal library (signal/micro/kernels: custom ops, plain C)
    "SignalWindow SignalFftAutoScale SignalRfft SignalIrfft SignalEnergy SignalFilterBank "
    "SignalFilterBankSquareRoot SignalFilterBankSpectralSubtraction SignalFilterBankLog "
    "SignalPCAN SignalOverlapAdd SignalFramer SignalDelay SignalStacker".split())

#: Ops ESP-NN accelerates (esp-tflite-micro); the rest run TFLM reference kernels.
ESP_NN_OPS = frozenset("ADD MUL CONV_2D DEPTHWISE_CONV_2D FULLY_CONNECTED AVERAGE_POOL_2D "
                       "MAX_POOL_2D SOFTMAX RELU RELU6 QUANTIZE DEQUANTIZE".split())


def tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError:
        raise ModelError("TensorFlow is needed to convert models; pip install "
                         "'eyeauth[train]'") from None
    return tf


def representative(samples):
    def gen():
        for x in samples:
            yield [np.asarray(x, np.float32)[None]]

    return gen


@contextlib.contextmanager
def quiet():
    """Silence the converter's stdout/stderr chatter at the file-descriptor level; what it
    wrote is kept in the yielded list (one string) for error messages."""
    import sys
    import tempfile

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    log = []
    text = io.StringIO()
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        os.dup2(tmp.fileno(), 2)
        try:
            with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
                yield log
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            tmp.seek(0)
            log.append(text.getvalue() + tmp.read().decode("utf-8", "replace"))


def to_int8(converter, samples):
    """Run a configured TFLiteConverter as full int8 (int8 input and output)."""
    tf = tensorflow()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative(samples)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    try:
        with quiet():
            return bytes(converter.convert())
    except Exception as exc:  # the converter raises many kinds (ConverterError, ValueError...)
        msg = " ".join(str(exc).split())[:300]
        raise ModelError(f"int8 conversion failed: {msg}; keep to TFLite builtin ops "
                         "(conv, depthwise, dense, pooling, add, mul, relu)") from None


def keras_converter(model):
    """A TFLiteConverter for a Keras model with the batch fixed to 1: every shape is static, so
    a Flatten/Reshape becomes one RESHAPE (no SHAPE/STRIDED_SLICE/PACK ops on the device)."""
    tf = tensorflow()
    inp = tf.keras.Input(tuple(int(d) for d in model.inputs[0].shape[1:]), batch_size=1)
    return tf.lite.TFLiteConverter.from_keras_model(tf.keras.Model(inp, model(inp)))


def convert_keras(model, samples):
    """(int8 tflite bytes, float tflite bytes) of a Keras model."""
    int8 = to_int8(keras_converter(model), samples)
    with quiet():
        flt = bytes(keras_converter(model).convert())
    return int8, flt


def checked(name, model, rep, tolerance=DEFAULT_TOLERANCE, min_cosine=None):
    """(int8 bytes, float bytes, cross-check dict) of a zoo model: the int8 model must match the
    float one within the tolerance (a recipe may declare its own: ``INT8_CHECK``) and take the
    zoo's input quantization (scale 1/128, zero point 0); ModelError otherwise."""
    from eyeauth.models import preprocess as P

    int8, flt = convert_keras(model, rep)
    check = cross_check(int8, lambda x: model(x, training=False).numpy(), rep[:64], tolerance, min_cosine)
    if not check["ok"]:
        raise ModelError(f"{name}: int8 differs from float by {check['rel_rms']:.3f} "
                         f"(tolerance {check['tolerance']}), cosine down to {check['cosine_min']:.3f}"
                         + (f" (needs {min_cosine})" if min_cosine is not None else ""))
    inp, _ = tflm.io_details(int8)
    if abs(inp["scale"] - P.INPUT_SCALE) > 1e-9 or inp["zero_point"] != P.INPUT_ZERO_POINT:
        raise ModelError(f"{name}: input quantization {inp} is not scale 1/128, "
                         "zero point 0; the representative data must span [-1, 127/128]")
    return int8, flt, check


def op_report(model_bytes):
    """Ops of a model: all, the ones TFLM lacks, the ones without ESP-NN kernels."""
    ops = [o["op"] for o in tflm.validate(model_bytes)]
    uniq = sorted(set(ops))
    return {"ops": uniq, "tflm_missing": [o for o in uniq if o not in TFLM_OPS],
            "reference_kernels": [o for o in uniq if o in TFLM_OPS and o not in ESP_NN_OPS]}


def cross_check(int8_bytes, float_fn, samples, tolerance=DEFAULT_TOLERANCE, min_cosine=None):
    """Compare TFLM int8 outputs against float outputs on samples.

    ``float_fn(x_float_batch) -> y``. Returns dict(rel_rms, max_abs, cosine_min, tolerance, ok);
    with ``min_cosine`` (an embedder whose outputs the board compares by angle) also
    ``min_cosine``, and ok needs every sample's int8/float cosine at least that.
    """
    x = np.stack([np.asarray(s, np.float32) for s in samples])
    y_f = np.asarray(float_fn(x), np.float64).reshape(len(x), -1)
    y_q = np.stack([tflm.run_float(int8_bytes, s) for s in x]).astype(np.float64).reshape(len(x), -1)
    rel = float(np.linalg.norm(y_q - y_f) / max(np.linalg.norm(y_f), 1e-12))
    cos = (y_q * y_f).sum(1) / np.maximum(np.linalg.norm(y_q, axis=1) * np.linalg.norm(y_f, axis=1), 1e-12)
    out = {"rel_rms": rel, "max_abs": float(np.abs(y_q - y_f).max()),
           "cosine_min": float(cos.min()), "samples": int(len(x)), "tolerance": tolerance,
           "ok": bool(rel <= tolerance)}
    if min_cosine is not None:
        out["min_cosine"] = min_cosine
        out["ok"] = out["ok"] and bool(cos.min() >= min_cosine)
    return out


# ---------------------------------------------------------------- eyeauth convert

def load_user_model(path):
    """A Keras model from .keras/.h5 or a SavedModel folder; ModelError otherwise."""
    tf = tensorflow()
    p = Path(path)
    if not p.exists():
        raise ModelError(f"{p} does not exist; give a .keras, .h5 or SavedModel folder")
    try:
        if p.is_dir():
            if not (p / "saved_model.pb").exists():
                raise ModelError(f"{p} is a folder without saved_model.pb; give a SavedModel "
                                 "folder, a .keras or a .h5 file")
            return ("saved_model", str(p))
        if p.suffix.lower() not in (".keras", ".h5", ".hdf5"):
            raise ModelError(f"{p.name}: unsupported model format; give a .keras, .h5 or "
                             "SavedModel folder (export with model.save('m.keras'))")
        return ("keras", tf.keras.models.load_model(str(p), compile=False))
    except ModelError:
        raise
    except Exception as exc:
        msg = " ".join(str(exc).split())[:200]
        raise ModelError(f"cannot load {p.name} ({msg}); is it a complete Keras file? "
                         "re-save it with model.save('m.keras')") from None


def _input_shape(kind, model):
    tf = tensorflow()
    if kind == "keras":
        shape = model.inputs[0].shape
        if len(model.inputs) != 1:
            raise ModelError("the model has several inputs; eyeauth converts single-input models")
        return tuple(int(d) if d is not None else None for d in shape[1:])
    loaded = tf.saved_model.load(model)
    sig = loaded.signatures.get("serving_default")
    if sig is None:
        raise ModelError("the SavedModel has no serving_default signature; export one")
    specs = list(sig.structured_input_signature[1].values())
    if len(specs) != 1:
        raise ModelError("the SavedModel takes several inputs; eyeauth converts single-input models")
    return tuple(int(d) if d is not None else None for d in specs[0].shape[1:])


def representative_inputs(folder, shape, norm="signed", limit=200):
    """Float inputs of ``shape`` (no batch axis) from images, wavs or .npy files in ``folder``.

    norm: "signed" (pixel-128)/128 (eyeauth's convention), "unit" pixel/255, "raw" pixel.
    Images are resized to the model's H x W (grey, or RGB when it has 3 channels); wavs go
    through eyeauth's voice preprocessing when the input is (frames, mels[, 1]).
    """
    from eyeauth import datasets
    from eyeauth.models import preprocess as P

    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder of representative inputs")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    out = []
    for f in files:
        ext = f.suffix.lower()
        if ext == ".npy":
            x = np.load(f).astype(np.float32)
            if x.shape != shape and x.size == int(np.prod(shape)):
                x = x.reshape(shape)
            if x.shape != shape:
                raise DataError(f"{f.name} has shape {x.shape}; the model wants {shape}")
        elif ext in datasets.IMAGE_EXT:
            x = _image_input(f, shape, norm)
        elif ext in datasets.AUDIO_EXT:
            frames, mels = shape[0], shape[1]
            x = P.to_float(P.voice_input(datasets.load_audio(f), frames, mels)).reshape(shape)
        else:
            continue
        out.append(x)
        if len(out) >= limit:
            break
    if not out:
        raise DataError(f"no images, wavs or .npy arrays in {root}; give some typical inputs")
    return out


def _image_input(path, shape, norm):
    from PIL import Image

    if len(shape) != 3:
        raise DataError(f"images need an (H, W, C) model input; the model wants {shape}")
    h, w, c = shape
    with Image.open(path) as im:
        im = im.convert("RGB" if c == 3 else "L").resize((w, h), Image.BILINEAR)
        x = np.asarray(im, np.float32).reshape(h, w, c)
    if norm == "signed":
        return (x - 128.0) / 128.0
    if norm == "unit":
        return x / 255.0
    return x


def convert_file(model_path, repr_dir, out_path, norm="signed", tolerance=DEFAULT_TOLERANCE):
    """``eyeauth convert``: write a full-int8 .tflite and return its report."""
    tf = tensorflow()
    kind, model = load_user_model(model_path)
    shape = _input_shape(kind, model)
    if any(d is None for d in shape):
        raise ModelError(f"the model input has unknown dimensions {shape}; give it a fixed "
                         "input shape (keras.Input(shape=(H, W, C)))")
    samples = representative_inputs(repr_dir, shape, norm)
    if kind == "keras":
        conv = keras_converter(model)

        def float_fn(x):
            return model(x, training=False).numpy()
    else:
        conv = tf.lite.TFLiteConverter.from_saved_model(model)
        fn = tf.saved_model.load(model).signatures["serving_default"]

        def float_fn(x):
            res = fn(tf.constant(x))
            return list(res.values())[0].numpy()
    int8 = to_int8(conv, samples)
    ops = op_report(int8)
    report = {"model": str(model_path), "out": str(out_path), "input_shape": list(shape),
              "representative_samples": len(samples), "flash_bytes": len(int8), **ops}
    if ops["tflm_missing"]:
        raise ModelError(f"TFLite Micro lacks ops {', '.join(ops['tflm_missing'])}; replace "
                         "them in the model (see `eyeauth convert --help`)")
    check = cross_check(int8, float_fn, samples[:64], tolerance)
    report["cross_check"] = check
    report["arena_bytes"] = tflm.arena_bytes(int8)
    from eyeauth import timing

    report["macs"] = timing.count_macs(int8)
    report["latency_ms"] = timing.latency_summary(int8)
    if not check["ok"]:
        raise ModelError(f"int8 output differs from float by {check['rel_rms']:.3f} (relative "
                         f"RMS) > tolerance {tolerance}; give more typical --repr inputs, check "
                         "--norm, or raise --tolerance")
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_bytes(int8)
    return report
