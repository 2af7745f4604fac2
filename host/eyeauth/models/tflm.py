"""Run .tflite models in the real TFLite Micro interpreter (the `tflite-micro` package).

``run`` and ``arena_bytes`` are what the rest of eyeauth uses: the virtual board's nn service,
evaluation, the model cards. Interpreters are cached per model bytes.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading

import numpy as np

from eyeauth.errors import ModelError

#: Arena given to the host interpreter; the figure on the card is what it actually used.
HOST_ARENA = 4 * 1024 * 1024
#: Host TFLM is 64-bit; pointers and structs shrink on the 32-bit ESP32. Cards report the host
#: figure and ``arena_bytes_target`` = host * TARGET_FACTOR + TARGET_MARGIN, rounded up to 16.
TARGET_FACTOR = 1.0
TARGET_MARGIN = 1024

_lock = threading.Lock()
_cache: dict = {}


def _bytes(model):
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    try:
        with open(os.fspath(model), "rb") as f:
            return f.read()
    except OSError as exc:
        raise ModelError(f"cannot read model {model}: {exc.strerror}; check the path") from None


def validate(model_bytes, what="model"):
    """Raise ModelError unless the bytes parse as a TFLite flatbuffer; returns the op list."""
    from eyeauth import timing

    try:
        return timing.read_ops(model_bytes)
    except ValueError as exc:
        raise ModelError(f"{what} is not a valid .tflite file ({exc}); rebuild or re-convert it "
                         "with `eyeauth convert`") from None


def interpreter(model):
    """A cached TFLM interpreter for a model (path or bytes)."""
    data = _bytes(model)
    key = hashlib.sha1(data).hexdigest()
    with _lock:
        if key not in _cache:
            validate(data)
            from tflite_micro.python.tflite_micro import runtime

            try:
                _cache[key] = runtime.Interpreter.from_bytes(data, arena_size=HOST_ARENA)
            except Exception as exc:  # the C++ side reports many failure kinds
                raise ModelError(f"TFLite Micro cannot load the model ({_one_line(exc)}); "
                                 "it may use ops TFLM lacks: re-convert it with "
                                 "`eyeauth convert`") from None
        return _cache[key]


def _one_line(exc):
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def io_details(model):
    it = interpreter(model)
    inp, out = it.get_input_details(0), it.get_output_details(0)

    def pack(d):
        q = d["quantization_parameters"]
        return {"shape": [int(v) for v in d["shape"]], "dtype": np.dtype(d["dtype"]).name,
                "scale": float(q["scales"][0]) if len(q["scales"]) else 0.0,
                "zero_point": int(q["zero_points"][0]) if len(q["zero_points"]) else 0}

    return pack(inp), pack(out)


def quantize(x, detail):
    x = np.asarray(x, np.float32)
    q = np.round(x / detail["scale"]) + detail["zero_point"]
    return np.clip(q, -128, 127).astype(np.int8)


def dequantize(q, detail):
    if detail["dtype"] != "int8":
        return np.asarray(q, np.float32)
    return (np.asarray(q, np.float32) - detail["zero_point"]) * detail["scale"]


def run(model, input_array):
    """One inference through TFLM. ``input_array`` must have the input tensor's shape (a
    missing batch axis is added) and dtype; returns the raw output tensor (a copy)."""
    it = interpreter(model)
    inp, _ = io_details(model)
    x = np.asarray(input_array)
    shape = tuple(inp["shape"])
    if x.shape != shape and (1,) + x.shape == shape:
        x = x[None]
    if x.shape != shape:
        raise ModelError(f"input has shape {x.shape} but the model expects {shape}; "
                         "preprocess it with eyeauth.models.preprocess")
    if x.dtype != np.dtype(inp["dtype"]):
        raise ModelError(f"input has dtype {x.dtype} but the model expects {inp['dtype']}")
    with _lock:
        it.set_input(x, 0)
        it.invoke()
        return np.array(it.get_output(0))


def run_float(model, x_float):
    """Quantize a float input as the model's input tensor wants, run, dequantize the output."""
    inp, out = io_details(model)
    x = np.asarray(x_float, np.float32)
    q = quantize(x, inp) if inp["dtype"] == "int8" else x
    return dequantize(run(model, q), out)


def infer(model, q, float_ref=False):
    """The dequantized output (1-D) of one zoo model on one int8 input tensor ``q`` (H, W): the
    int8 model in TFLM, or with ``float_ref`` the float reference on the same input (q / 128)."""
    if float_ref:  # q / 128: preprocess.to_float (tflm sits below preprocess, which runs the
        # audio front end through it; tests/models/test_convert.py checks the two agree)
        return run_float(model, (np.asarray(q, np.float32) / 128.0)[None, ..., None]).reshape(-1)
    _, out = io_details(model)
    return dequantize(run(model, np.asarray(q)[None, ..., None]), out).reshape(-1)


def unit(v, dtype=np.float32):
    """An embedding output made a unit vector (L2), as the board does before it scores."""
    v = np.asarray(v, dtype).reshape(-1)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def arena_bytes(model):
    """Arena bytes TFLM actually allocated for the model on the host (RecordingMicroAllocator)."""
    from tflite_micro.python.tflite_micro import runtime

    data = _bytes(model)
    validate(data)
    it = runtime.Interpreter.from_bytes(data, arena_size=HOST_ARENA)
    d = it.get_input_details(0)
    it.set_input(np.zeros([int(v) for v in d["shape"]], d["dtype"]), 0)
    it.invoke()
    text = _capture_fd2(it.print_allocations)
    m = re.search(r"Arena allocation total (\d+) bytes", text)
    if not m:
        raise ModelError("TFLite Micro did not report its arena use; is tflite-micro installed?")
    return int(m.group(1))


def arena_bytes_target(host_bytes):
    n = int(host_bytes * TARGET_FACTOR) + TARGET_MARGIN
    return -(-n // 16) * 16


def _capture_fd2(fn):
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode("utf-8", "replace")
