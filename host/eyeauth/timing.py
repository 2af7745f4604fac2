"""The latency model: modeled TFLM inference time of an int8 .tflite on ESP32 and ESP32-S3.

Every modeled latency in eyeauth comes from this one file. It walks the operator list of a
.tflite flatbuffer (tensor shapes, kernel sizes), counts the work of each operator and charges
it a per-operator-kind cycle cost for the chosen chip, with or without ESP-NN.

How an operator is charged
--------------------------
``cycles = OP_OVERHEAD + macs * cycles_per_mac[kind] + elems * cycles_per_elem[kind]``
``ms = cycles * scale / clock``

* ``macs``: multiply-accumulates (CONV_2D: oh*ow*oc*kh*kw*ic; DEPTHWISE_CONV_2D: oh*ow*oc*kh*kw;
  FULLY_CONNECTED: batch*units*in).
* ``elems``: output elements for element-wise operators, output elements times window for pools,
  input elements for reductions (MEAN, SOFTMAX, L2_NORMALIZATION ...).
* ``kind``: ``conv1x1`` (pointwise), ``conv`` (spatial kernel, >= 8 input channels),
  ``conv_shallow`` (spatial kernel, < 8 input channels: the first layer of an image net, which
  ESP-NN vectorises badly), ``dw``, ``fc``, ``pool``, ``add`` (requantising element-wise
  arithmetic), ``act`` (cheap element-wise: RELU, QUANTIZE ...), ``reduce``, ``copy`` (RESHAPE).

Where the relative costs come from
----------------------------------
The *relative* cost of the kinds is taken from ESP-NN's published kernel table (ESP-NN
README, "Kernelwise performance for s8 versions", ESP32-S3 at 240 MHz, ticks per kernel):

=================  ==============================  ========  ========  =========================
kernel             shape                           ANSI C    S3 opt    per unit (ANSI / opt)
=================  ==============================  ========  ========  =========================
convolution 1x1    10x10, 64->64 (409,600 MAC)     4663012   428675    11.4 / 1.05 cycles/MAC
convolution 1x1    8x8, 16->16 (16,384 MAC)        301014    32433     18.4 / 1.98 cycles/MAC
convolution 3x3    10x10, 3->64 (110,592 MAC)      2115418   1020923   19.1 / 9.2 cycles/MAC
depthwise 3x3      18x18x16, valid (36,864 MAC)    1190062   203278    32.3 / 5.5 cycles/MAC
depthwise 5x5 m8   12x12x4 pad 1 (115,200 MAC)     837072    182335    7.3 / 1.6 cycles/MAC
avg pool 3x3       16x16x16 (36,864 win-elems)     541462    160580    14.7 / 4.4 cycles/elem
elementwise add    1615 elems                      320397    87119     198 / 54 cycles/elem
relu6              1615 elems                      19472     2734      12 / 1.7 cycles/elem
=================  ==============================  ========  ========  =========================

The "S3 opt" column shapes the ESP32-S3 + ESP-NN table. The "ANSI C" column (plain C, which is
also roughly what ESP-NN's generic ESP32 path and TFLM's reference kernels do per MAC) shapes
the other three tables.

Anchors and calibration
-----------------------
The absolute level of each configuration is set by one published end-to-end figure: TFLM
person detection (MobileNetV1-0.25, 96x96x1, the MLPerf Tiny visual-wake-words network,
7.49 M MACs by this module's count) from Espressif's esp-tflite-micro README:

==========  ========  ==========  ===================  ================  ===================
chip        ESP-NN    published   table alone (scale   fitted scale      error after fit
                                  1.0) predicts
==========  ========  ==========  ===================  ================  ===================
ESP32-S3    yes       54 ms       53.6 ms (-0.7 %)     1.007             < 0.1 %
ESP32-S3    no        2300 ms     416 ms (-82 %)       5.527             < 0.1 %
ESP32       yes       380 ms      416 ms (+9.4 %)      0.914             < 0.1 %
ESP32       no        4084 ms     416 ms (-90 %)       9.814             < 0.1 %
==========  ========  ==========  ===================  ================  ===================

(7.16 M MACs by this module's count; the often-quoted "~7.5 M" counts a few extra operations.)
:func:`calibration_report` recomputes the table; tests/models/test_timing.py checks that every
anchor is met within 1 %. With one anchor per configuration the fit is exact by
construction, so the anchor error only shows rounding of the constants; the honest measure of
the model is how far the kernel table alone (scale 1.0) lands from the anchor: -0.7 % for the
S3 with ESP-NN and +9.4 % for the ESP32 with ESP-NN, which says the per-kind costs are in the
right range (the table's own spread, 1.05 to 1.98 cycles/MAC for two 1x1 convolutions, is
larger than that). For the other configurations the scale absorbs what the table does not
know (reference-kernel requantisation per output, PSRAM traffic, the LX6 core) and the op-mix
is only as good as the ANSI-C ratios. Expect +-30 % on networks whose op mix differs much from
MobileNetV1 (e.g. mostly depthwise or mostly first-layer convolution) until field telemetry
recalibrates it (:func:`model_latency` takes an optional ``table`` for that).
"""
from __future__ import annotations

import os
import struct
from functools import lru_cache

from eyeauth.board.chips import CHIPS as _CHIPS  # chips as data

CLOCK_HZ = {name: c.clock_hz for name, c in _CHIPS.items()}
CHIPS = tuple(CLOCK_HZ)

#: Fixed per-operator cost (TFLM invoke loop, kernel prologue, requant setup), cycles.
OP_OVERHEAD = {True: 3000, False: 6000}

# cycles per MAC (conv-like kinds) or per element (others), before the per-config scale.
_S3_OPT = {
    "conv1x1": 1.3, "conv": 2.0, "conv_shallow": 9.2, "dw": 4.0, "fc": 2.0,
    "pool": 4.4, "add": 54.0, "act": 1.7, "reduce": 6.0, "copy": 0.5,
}
_ANSI = {
    "conv1x1": 13.0, "conv": 16.0, "conv_shallow": 19.1, "dw": 20.0, "fc": 10.0,
    "pool": 14.7, "add": 198.0, "act": 12.0, "reduce": 20.0, "copy": 1.0,
}
_TABLES = {
    ("esp32s3", True): _S3_OPT,
    ("esp32s3", False): _ANSI,
    ("esp32", True): _ANSI,
    ("esp32", False): _ANSI,
}
#: Per-configuration scale fitted to the person-detection anchor (see calibration_report()).
SCALE = {
    ("esp32s3", True): 1.007,
    ("esp32s3", False): 5.527,
    ("esp32", True): 0.914,
    ("esp32", False): 9.814,
}
#: Published person-detection latencies, ms (esp-tflite-micro README).
ANCHORS_MS = {
    ("esp32s3", True): 54.0,
    ("esp32s3", False): 2300.0,
    ("esp32", True): 380.0,
    ("esp32", False): 4084.0,
}

_CONV_KINDS = ("conv1x1", "conv", "conv_shallow", "dw", "fc")
_KIND_BY_OP = {
    "AVERAGE_POOL_2D": "pool", "MAX_POOL_2D": "pool",
    "ADD": "add", "SUB": "add", "MUL": "add", "SQUARED_DIFFERENCE": "add",
    "RELU": "act", "RELU6": "act", "LOGISTIC": "act", "TANH": "act", "QUANTIZE": "act",
    "DEQUANTIZE": "act", "LEAKY_RELU": "act", "HARD_SWISH": "act", "PRELU": "act",
    "MEAN": "reduce", "SUM": "reduce", "SOFTMAX": "reduce", "L2_NORMALIZATION": "reduce",
    "RSQRT": "act", "SQRT": "act",
    "RESHAPE": "copy", "SQUEEZE": "copy", "EXPAND_DIMS": "copy", "PAD": "copy",
    "CONCATENATION": "copy", "STRIDED_SLICE": "copy", "TRANSPOSE": "copy",
}


# ---------------------------------------------------------------- the signal library's ops
#
# The audio front end (models/frontend.py) is TFLM's signal library: plain C kernels (no ESP-NN
# variant), charged here in absolute cycles (OP_OVERHEAD included, no per-configuration scale:
# that scale fits the NN kernel tables to person detection). Cycle figures, per chip:
#
# * published: esp-dsp's benchmark table (espressif/esp-dsp docs/esp_bm_results.csv, the
#   numbers of docs.espressif.com/projects/esp-dsp "Benchmarks", -O2, the "ANSI" C column):
#   int16 radix-2 complex FFT of 128 points dsps_fft2r_sc16 33,121 cycles on the ESP32, 19,822
#   on the ESP32-S3; int16 dot product of 256 points dsps_dotprod_s16 3,647 / 3,397 cycles, i.e.
#   14.2 / 13.3 cycles per int16 multiply-accumulate in plain C.
# * derived from those and the kernels' sources (tflite-micro signal/src): SignalRfft of 256
#   real points = kiss_fftr = a 128-point complex FFT + 64 split butterflies (one more radix-2
#   stage's worth: the FFT figure x 8 / 7); SignalWindow, SignalFftAutoScale (max-abs pass +
#   scaling pass) and SignalEnergy (two products per bin) cost one, one and two MACs per
#   element; SignalFilterBank two 16x32->64-bit MACs per weight (weight and unweight), each two
#   32-bit MACs on these 32-bit cores; SignalFilterBankSquareRoot a bit-serial 64-bit square
#   root (Sqrt64: up to 32 iterations of ~12 instructions, Sqrt32 when the value fits 32 bits:
#   300 cycles per channel as a mix); SignalFilterBankLog a normalise + table + two multiplies
#   (40 cycles per channel).
_SIGNAL_MAC = {"esp32": 3647 / 256, "esp32s3": 3397 / 256}
_SIGNAL_FFT128 = {"esp32": 33121, "esp32s3": 19822}
SIGNAL_SOURCES = ("esp-dsp docs/esp_bm_results.csv (dsps_fft2r_sc16 128 points, dsps_dotprod_s16 "
                  "256 points, ANSI C, -O2) and tflite-micro signal/src kernel operation counts")


def signal_cycles(op, chip):
    """Cycles of one signal-library operator descriptor on ``chip`` (OP_OVERHEAD not included)."""
    mac = _SIGNAL_MAC[chip]
    name, ins, outs = op["op"], op["inputs"], op["outputs"]
    n_in = _prod(ins[0]) if ins and ins[0] is not None else 0
    n_out = _prod(outs[0]) if outs else 0
    if name == "SignalRfft":
        frames = n_in // max(int(ins[0][-1]), 1)
        return frames * _SIGNAL_FFT128[chip] * 8 / 7 * (int(ins[0][-1]) / 256)
    if name in ("SignalWindow", "SignalFftAutoScale"):
        return n_in * mac
    if name == "SignalEnergy":
        return n_out * 2 * mac
    if name == "SignalFilterBank":
        return op.get("fb_weights", _prod(ins[1]) if len(ins) > 1 else 0) * 4 * mac
    if name == "SignalFilterBankSquareRoot":
        return n_out * 300
    if name == "SignalFilterBankLog":
        return n_out * 40
    return n_in * mac  # another signal op: one MAC per input element (a floor, not a figure)


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


@lru_cache(maxsize=1)
def _op_names():
    schema = _schema()
    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def _read(tflite):
    if isinstance(tflite, (bytes, bytearray, memoryview)):
        return bytes(tflite)
    with open(os.fspath(tflite), "rb") as f:
        return f.read()


def read_ops(tflite):
    """Parse a .tflite (path or bytes) into a list of operator descriptors (subgraph 0).

    Each descriptor is a dict: index, op (builtin name), kind, macs, elems, inputs (shapes),
    outputs (shapes). Raises ValueError when the bytes are not a TFLite flatbuffer.
    """
    data = _read(tflite)
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ValueError("not a TFLite flatbuffer (no TFL3 identifier)")
    schema = _schema()
    try:
        model = schema.Model.GetRootAsModel(data, 0)
        codes = []
        for i in range(model.OperatorCodesLength()):
            oc = model.OperatorCodes(i)
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
            custom = oc.CustomCode()
            codes.append(custom.decode() if code == schema.BuiltinOperator.CUSTOM and custom
                         else _op_names().get(code, "CUSTOM"))
        sg = model.Subgraphs(0)
        shapes = [tuple(int(d) for d in sg.Tensors(t).ShapeAsNumpy()) if sg.Tensors(t).ShapeLength()
                  else () for t in range(sg.TensorsLength())]
        ops = []
        for i in range(sg.OperatorsLength()):
            o = sg.Operators(i)
            name = codes[o.OpcodeIndex()]
            ins = [shapes[t] if t >= 0 else None for t in o.InputsAsNumpy()] if o.InputsLength() else []
            outs = [shapes[t] for t in o.OutputsAsNumpy()] if o.OutputsLength() else []
            window = _pool_window(schema, o) if name in ("AVERAGE_POOL_2D", "MAX_POOL_2D") else 1
            d = describe_op(i, name, ins, outs, window)
            if name == "SignalFilterBank" and o.InputsLength() == 6:  # weights read per invoke
                d["fb_weights"] = _int16_sum(model, sg, int(o.Inputs(5)))
            ops.append(d)
    except (IndexError, TypeError, AttributeError, ValueError, struct.error) as exc:
        raise ValueError(f"malformed TFLite flatbuffer: {exc}") from None
    return ops


def _int16_sum(model, sg, tensor):
    import numpy as np

    buf = model.Buffers(sg.Tensors(tensor).Buffer())
    return int(np.frombuffer(buf.DataAsNumpy().tobytes(), np.int16).sum()) if buf.DataLength() else 0


def _pool_window(schema, op):
    table = op.BuiltinOptions()
    if table is None:
        return 1
    opts = schema.Pool2DOptions()
    opts.Init(table.Bytes, table.Pos)
    return max(1, opts.FilterWidth() * opts.FilterHeight())


def _prod(shape):
    n = 1
    for d in shape or ():
        n *= max(int(d), 1)
    return n


def describe_op(index, name, ins, outs, window=1):
    """Work of one operator from its name and tensor shapes (NHWC, TFLite filter layouts)."""
    out = outs[0] if outs else ()
    macs, elems, kind = 0, _prod(out), _KIND_BY_OP.get(name, "act")
    if name.startswith("Signal"):
        kind = "signal"
    if name == "CONV_2D":
        oc, kh, kw, ic = ins[1]
        macs = _prod(out[:-1]) * oc * kh * kw * ic
        kind = "conv1x1" if kh * kw == 1 else ("conv" if ic >= 8 else "conv_shallow")
    elif name == "DEPTHWISE_CONV_2D":
        _, kh, kw, oc = ins[1]
        macs = _prod(out[:-1]) * oc * kh * kw
        kind = "dw"
    elif name == "FULLY_CONNECTED":
        units, n_in = ins[1]
        macs = (_prod(out) // max(units, 1)) * units * n_in
        kind = "fc"
    elif name == "TRANSPOSE_CONV":
        oc, kh, kw, ic = ins[1]
        macs = _prod(ins[2][:-1]) * oc * kh * kw * ic
        kind = "conv"
    elif kind == "pool":
        elems = _prod(out) * window
    elif kind == "reduce":
        elems = max(_prod(ins[0]) if ins and ins[0] is not None else 0, elems)
    if kind in _CONV_KINDS:
        elems = 0
    return {"index": index, "op": name, "kind": kind, "macs": int(macs), "elems": int(elems),
            "inputs": [list(s) if s is not None else None for s in ins],
            "outputs": [list(s) for s in outs]}


def count_macs(tflite) -> int:
    """Multiply-accumulates of one inference of a .tflite (path or bytes)."""
    return sum(op["macs"] for op in read_ops(tflite))


def _check(chip, esp_nn):
    chip = chip.lower().replace("-", "")
    if chip not in CLOCK_HZ:
        raise ValueError(f"unknown chip {chip!r}; choose one of {', '.join(CHIPS)}")
    return chip, bool(esp_nn)


def op_cycles(op, chip="esp32", esp_nn=True, table=None):
    """Modeled cycles of one operator descriptor (scale included)."""
    chip, esp_nn = _check(chip, esp_nn)
    if op["kind"] == "signal":  # plain C with or without ESP-NN: absolute cycles, no scale
        return OP_OVERHEAD[esp_nn] + signal_cycles(op, chip)
    costs = table or _TABLES[(chip, esp_nn)]
    unit = costs.get(op["kind"], costs["act"])
    raw = OP_OVERHEAD[esp_nn] + op["macs"] * unit + op["elems"] * (0 if op["macs"] else unit)
    return raw * SCALE[(chip, esp_nn)]


def ops_latency(ops, chip="esp32", esp_nn=True, table=None):
    """Modeled latency of a list of operator descriptors: dict(total_ms, macs, per_op)."""
    chip, esp_nn = _check(chip, esp_nn)
    per_op = []
    for op in ops:
        ms = op_cycles(op, chip, esp_nn, table) / CLOCK_HZ[chip] * 1e3
        per_op.append({"index": op["index"], "op": op["op"], "kind": op["kind"],
                       "macs": op["macs"], "ms": ms})
    return {"chip": chip, "esp_nn": esp_nn, "total_ms": sum(p["ms"] for p in per_op),
            "macs": sum(p["macs"] for p in per_op), "per_op": per_op}


def model_latency(tflite, chip="esp32", esp_nn=True, table=None):
    """Modeled TFLM latency of a .tflite (path or bytes) on ``chip`` ("esp32" or "esp32s3").

    Returns dict(chip, esp_nn, total_ms, macs, per_op=[{index, op, kind, macs, ms}]).
    """
    return ops_latency(read_ops(tflite), chip, esp_nn, table)


def latency_summary(tflite):
    """Modeled total ms for every chip x ESP-NN configuration, keyed like ``esp32_espnn``."""
    ops = read_ops(tflite)
    out = {}
    for chip in CHIPS:
        for esp_nn in (True, False):
            key = f"{chip}_{'espnn' if esp_nn else 'ref'}"
            out[key] = round(ops_latency(ops, chip, esp_nn)["total_ms"], 2)
    return out


# ---------------------------------------------------------------- the anchor workload

def card_latency_ms(card, chip="esp32", esp_nn=True):
    """A model card's modeled latency (ms) on ``chip`` (a board config's "chip"): the card's
    ``latency_ms`` entry for that chip, written by ``models build`` with :func:`latency_summary`.
    Every latency assembly takes network times from here, so each board gets its own chip's."""
    chip, esp_nn = _check(chip, esp_nn)
    ms = (card.get("latency_ms") or {}).get(f"{chip}_{'espnn' if esp_nn else 'ref'}")
    if ms is None and chip == "esp32" and esp_nn:
        ms = card.get("latency_esp32_ms")  # cards older than latency_ms
    if ms is None:
        raise ValueError(f"card {card.get('name')} has no modeled latency for {chip}; rebuild it "
                         "(`eyeauth models build`)")
    return float(ms)


def person_detection_ops(alpha=0.25, res=96, channels=1, classes=2):
    """Operator descriptors of TFLM's person-detection network (MobileNetV1, VWW).

    conv 3x3/2 -> 13 x (depthwise 3x3, pointwise 1x1) -> avg pool -> 1x1 conv -> reshape ->
    softmax, the layout of person_detect.tflite. tests check it against a Keras-built model.
    """
    widths = [64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
    strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
    ops, size, ch = [], -(-res // 2), int(32 * alpha)
    ops.append(describe_op(0, "CONV_2D", [[1, res, res, channels], [ch, 3, 3, channels]],
                           [[1, size, size, ch]]))
    for w, s in zip(widths, strides):
        size = -(-size // s)
        out_ch = int(w * alpha)
        ops.append(describe_op(len(ops), "DEPTHWISE_CONV_2D", [None, [1, 3, 3, ch]],
                               [[1, size, size, ch]]))
        ops.append(describe_op(len(ops), "CONV_2D", [None, [out_ch, 1, 1, ch]],
                               [[1, size, size, out_ch]]))
        ch = out_ch
    ops.append(describe_op(len(ops), "AVERAGE_POOL_2D", [[1, size, size, ch]], [[1, 1, 1, ch]],
                           window=size * size))
    ops.append(describe_op(len(ops), "CONV_2D", [None, [classes, 1, 1, ch]], [[1, 1, 1, classes]]))
    ops.append(describe_op(len(ops), "RESHAPE", [[1, 1, 1, classes]], [[1, classes]]))
    ops.append(describe_op(len(ops), "SOFTMAX", [[1, classes]], [[1, classes]]))
    return ops


def calibration_report():
    """For each configuration: anchor, table-only prediction, fitted scale, error after fit."""
    ops = person_detection_ops()
    rows = []
    for (chip, esp_nn), anchor in ANCHORS_MS.items():
        table = _TABLES[(chip, esp_nn)]
        raw = sum(OP_OVERHEAD[esp_nn] + op["macs"] * table[op["kind"]]
                  + (0 if op["macs"] else op["elems"] * table[op["kind"]]) for op in ops)
        raw_ms = raw / CLOCK_HZ[chip] * 1e3
        model_ms = ops_latency(ops, chip, esp_nn)["total_ms"]
        rows.append({"chip": chip, "esp_nn": esp_nn, "anchor_ms": anchor,
                     "table_only_ms": round(raw_ms, 1), "fitted_scale": round(anchor / raw_ms, 3),
                     "scale": SCALE[(chip, esp_nn)], "model_ms": round(model_ms, 1),
                     "error_pct": round(100 * (model_ms - anchor) / anchor, 2)})
    return rows
