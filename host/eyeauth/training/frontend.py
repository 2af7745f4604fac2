"""Recipe of the audio front end (``audio_fe``): not trained but computed, a TFLM model of TFLM's
signal library ops written directly as a flatbuffer (the tflite-micro wheel carries the signal
ops' kernels but not TensorFlow's graph-side ops that upstream's generator script needs):
numpy constants, flexbuffer custom options, the schema's object API. The build writes the model
this module makes from the zoo entry ({"rows": frames per chunk, "mels": the band sets}); its
host runtime (chunks, rows, the board's arithmetic on them) is :mod:`eyeauth.models.frontend`.

Input: int16 [(ROWS + 1) * 128] samples at 8 kHz (a chunk; zero outside the clip). Output: int16
[ROWS, width], one row per 256-sample frame at hop 128 (frame t = chunk samples 128 t .. + 256).
Row layout (``layout``): for each mel band set M of the spec, M log band energies and a zero;
then the frame's log energy (the VAD's; even rows only, 0 on odd rows) and the FFT gain shift.
Graph (custom ops of ``signal/micro/kernels``, registered by the tflite-micro interpreter and by
esp-tflite-micro alike):

  VAD:    SignalEnergy over sample pairs (x0^2 + x1^2) -> SignalFilterBank (one channel per
          even row: sum of its frame's 256 squares, S) -> SignalFilterBankSquareRoot ->
          SignalFilterBankLog -> PAD (odd rows 0: the VAD's frames are the even rows)
  mel:    per frame STRIDED_SLICE (256 samples) -> SignalWindow (periodic Hann, Q14) ->
          SignalFftAutoScale (gain 2^g so the frame's peak reaches 2^14; one shift per frame);
          CONCATENATION -> SignalRfft (int16, 256 points, all frames in one op)
          -> SignalEnergy (|X|^2, 129 bins per frame) -> per band set SignalFilterBank (the
          triangular HTK mel bank of 20..4000 Hz with the pre-emphasis 0.97 gain
          |1 - 0.97 e^-jw|^2 folded into its Q13 weights; every frame's bands in one op) ->
          SignalFilterBankSquareRoot -> SignalFilterBankLog -> PAD -> RESHAPE
  shifts: PACK -> CAST int16;   CONCATENATION of all columns -> [ROWS, width]

Units: FilterBankLog gives round(739 ln(sqrt(x))) = 256.1 log2(x) (x: the filter-bank power,
Q8 log2; "L"); a mel value is relative to the frame's FFT gain (absolute: L - 512 x shift).
"""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from eyeauth.errors import ModelError
from eyeauth.training import Trained

RECIPE = "frontend/1"
TEACHER = None

RATE = 8000
FRAME = 256
HOP = 128
BINS = FRAME // 2 + 1
#: FilterBankLog output scale: L = round(739 ln sqrt(x)) = 256.1 log2(x)
LOG_SCALE = 739
#: L units per bit of FftAutoScale gain (power x 4 per bit: 2 x 256.1, rounded)
SHIFT_L = 512
HANN_BITS = 14
WEIGHT_BITS = 13
PREEMPHASIS = 0.97
FMIN = 20.0
DEFAULT_SPEC = {"name": "audio_fe", "modality": "frontend", "rows": 32, "mels": [20, 32, 40]}


# ---------------------------------------------------------------- layout

def layout(mels):
    """{"mels": {M: first column}, "vad": column, "shift": column, "width": columns}."""
    off, cols = 0, {}
    for m in mels:
        cols[int(m)] = off
        off += int(m) + 1
    return {"mels": cols, "vad": off, "shift": off + 1, "width": off + 2}


def card_layout(spec):
    """The layout as the board reads it from the front end's card (output.layout)."""
    lay = layout(spec["mels"])
    return {"rows": int(spec["rows"]), "width": lay["width"], "vad": lay["vad"],
            "shift": lay["shift"], "mels": [[m, o] for m, o in lay["mels"].items()]}


# ---------------------------------------------------------------- constants

def hann_q(bits=HANN_BITS):
    """Periodic Hann window of FRAME samples, Q``bits`` int16 (the old front end's window)."""
    n = np.arange(FRAME)
    return np.round((0.5 - 0.5 * np.cos(2 * np.pi * n / FRAME)) * (1 << bits)).astype(np.int16)


def _mel_points(n_mels):
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    mels = np.linspace(hz_to_mel(FMIN), hz_to_mel(RATE / 2), n_mels + 2)
    return 700.0 * (10 ** (mels / 2595.0) - 1.0)


@lru_cache(maxsize=8)
def mel_matrix(n_mels):
    """(n_mels, 129) triangular HTK-mel filterbank over the bins of a 256-point FFT at 8 kHz,
    20..4000 Hz: band m rises from point m to point m + 1 and falls to point m + 2 (linear in
    Hz), the points evenly spaced in mel."""
    hz = _mel_points(n_mels)
    bins = np.arange(BINS) * RATE / FRAME
    fb = np.zeros((n_mels, BINS), np.float64)
    for m in range(n_mels):
        lo, c, hi = hz[m], hz[m + 1], hz[m + 2]
        up = (bins - lo) / max(c - lo, 1e-9)
        down = (hi - bins) / max(hi - c, 1e-9)
        fb[m] = np.clip(np.minimum(up, down), 0, None)
    return fb


def preemphasis_gain(bins=BINS):
    """|1 - 0.97 e^-jw|^2 at the FFT bins: pre-emphasis as a weight of the power spectrum."""
    w = 2 * np.pi * np.arange(bins) / FRAME
    return 1.0 + PREEMPHASIS ** 2 - 2.0 * PREEMPHASIS * np.cos(w)


def mel_ranges(n_mels):
    """The HTK mel bank (``mel_matrix``: triangles in Hz between mel-spaced points,
    20..4000 Hz) as the signal FilterBank's ranges: range j (0..M) holds the bins between the
    peaks of bands j-1 and j; a bin's weight goes to band j-1 (falling side), its unweight to
    band j (rising side). -> (starts, widths, weights, unweights), weights Q13 with the
    pre-emphasis gain folded in."""
    fb = mel_matrix(n_mels)
    hz = _mel_points(n_mels)
    f = np.arange(BINS) * RATE / FRAME
    g = preemphasis_gain()
    starts, widths, w, u = [], [], [], []
    for j in range(n_mels + 1):
        idx = np.flatnonzero((f > hz[j]) & (f <= hz[j + 1]))
        starts.append(int(idx[0]) if idx.size else 0)
        widths.append(int(idx.size))
        for b in idx:
            w.append(fb[j - 1, b] * g[b] if j >= 1 else 0.0)
            u.append(fb[j, b] * g[b] if j < n_mels else 0.0)
    scale = 1 << WEIGHT_BITS
    wq = np.round(np.array(w) * scale).astype(np.int64)
    uq = np.round(np.array(u) * scale).astype(np.int64)
    if max(wq.max(initial=0), uq.max(initial=0)) > 32767:
        raise ModelError("mel weights overflow int16; lower WEIGHT_BITS")
    return starts, widths, wq.astype(np.int16), uq.astype(np.int16)


# ---------------------------------------------------------------- flatbuffer writer

def schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S

    return S


_MAX_CONCAT = 8  # TFLM concatenation.cc kMaxInputNum is 10


class Graph:
    """A one-subgraph TFLite model written with the schema's object API."""

    def __init__(self):
        S = schema()
        self.S = S
        self.tensors, self.ops, self.codes = [], [], []
        self.buffers = [S.BufferT()]

    def tensor(self, shape, dtype, data=None, name=None):
        S = self.S
        t = S.TensorT()
        t.shape = [int(d) for d in shape]
        t.type = dtype
        t.name = name or f"t{len(self.tensors)}"
        t.buffer = 0
        if data is not None:
            b = S.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def const_i32(self, values, shape=None):
        v = np.asarray(values, np.int32)
        return self.tensor(v.shape if shape is None else shape, self.S.TensorType.INT32, v)

    def _code(self, builtin, custom):
        key = (builtin, custom)
        if key not in self.codes:
            self.codes.append(key)
        return self.codes.index(key)

    def op(self, builtin, inputs, outputs, custom=None, options=None, opt_type=0, flex=None):
        S = self.S
        o = S.OperatorT()
        o.opcodeIndex = self._code(builtin, custom)
        o.inputs = [int(i) for i in inputs]
        o.outputs = [int(i) for i in outputs]
        if options is not None:
            o.builtinOptionsType = opt_type
            o.builtinOptions = options
        if flex is not None:
            from flatbuffers import flexbuffers

            o.customOptions = np.frombuffer(flexbuffers.Dumps(flex), np.uint8)
            o.customOptionsFormat = S.CustomOptionsFormat.FLEXBUFFERS
        self.ops.append(o)

    def custom(self, name, inputs, outputs, **flex):
        self.op(self.S.BuiltinOperator.CUSTOM, inputs, outputs, custom=name, flex=flex or None)

    def finish(self, inputs, outputs, description):
        import flatbuffers

        S = self.S
        sg = S.SubGraphT()
        sg.tensors, sg.inputs, sg.outputs, sg.operators = self.tensors, inputs, outputs, self.ops
        sg.name = "main"
        codes = []
        for builtin, custom in self.codes:
            c = S.OperatorCodeT()
            c.builtinCode = builtin
            c.deprecatedBuiltinCode = min(builtin, 127)
            c.customCode = custom
            c.version = 1
            codes.append(c)
        m = S.ModelT()
        m.version = 3
        m.operatorCodes = codes
        m.subgraphs = [sg]
        m.description = description
        m.buffers = self.buffers
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())

    # builtin helpers
    def reshape(self, x, shape, dtype):
        S = self.S
        out = self.tensor(shape, dtype)
        opt = S.ReshapeOptionsT()
        opt.newShape = list(shape)
        self.op(S.BuiltinOperator.RESHAPE, [x, self.const_i32(shape)], [out], options=opt,
                opt_type=S.BuiltinOptions.ReshapeOptions)
        return out

    def strided_slice(self, x, begin, end, out_shape, dtype, shrink=0):
        S = self.S
        out = self.tensor(out_shape, dtype)
        opt = S.StridedSliceOptionsT()
        opt.shrinkAxisMask = shrink
        self.op(S.BuiltinOperator.STRIDED_SLICE,
                [x, self.const_i32(begin), self.const_i32(end), self.const_i32([1] * len(begin))],
                [out], options=opt, opt_type=S.BuiltinOptions.StridedSliceOptions)
        return out

    def concat(self, xs, axis, out_shape, dtype):
        # TFLM's CONCATENATION takes at most 10 inputs: join larger lists in groups
        S = self.S
        if len(xs) > _MAX_CONCAT:
            groups = [xs[i:i + _MAX_CONCAT] for i in range(0, len(xs), _MAX_CONCAT)]
            part = out_shape[axis] // len(xs)
            xs = [self.concat(grp, axis, [*out_shape[:axis], part * len(grp), *out_shape[axis + 1:]],
                              dtype) for grp in groups]
        out = self.tensor(out_shape, dtype)
        opt = S.ConcatenationOptionsT()
        opt.axis = axis
        self.op(S.BuiltinOperator.CONCATENATION, xs, [out], options=opt,
                opt_type=S.BuiltinOptions.ConcatenationOptions)
        return out


def filter_bank(g, energy, starts, widths, weights, unweights, per_frame, frames):
    """One SignalFilterBank op over ``frames`` frames of ``per_frame`` energies each: the ranges
    of one frame repeated per frame (shared weight tensors). -> uint64 [frames * (R) - 1]."""
    S = g.S
    r = len(starts)
    fstarts = np.concatenate([np.asarray(starts) + t * per_frame for t in range(frames)])
    wstarts = np.tile(np.concatenate([[0], np.cumsum(widths)[:-1]]), frames)
    wid = np.tile(widths, frames)
    if fstarts.max() > 32767 or wstarts.max() > 32767:
        raise ModelError("filter bank indices overflow int16; use fewer rows per chunk")
    i16 = S.TensorType.INT16
    n = frames * r - 1
    out = g.tensor([n], S.TensorType.UINT64)
    ins = [energy, g.tensor([len(weights)], i16, np.asarray(weights, np.int16)),
           g.tensor([len(unweights)], i16, np.asarray(unweights, np.int16)),
           g.tensor([n + 1], i16, fstarts.astype(np.int16)),
           g.tensor([n + 1], i16, wstarts.astype(np.int16)),
           g.tensor([n + 1], i16, wid.astype(np.int16))]
    g.custom("SignalFilterBank", ins, [out], num_channels=n)
    return out, n


def _log(g, fb, n, zero):
    S = g.S
    amp = g.tensor([n], S.TensorType.UINT32)
    g.custom("SignalFilterBankSquareRoot", [fb, zero], [amp])
    lg = g.tensor([n], S.TensorType.INT16)
    g.custom("SignalFilterBankLog", [amp], [lg], input_correction_bits=0, output_scale=LOG_SCALE)
    return lg


def build(spec=None):
    """The front end's .tflite bytes for a spec ({"rows": chunk rows, "mels": [band counts]}).
    Deterministic: the same spec gives the same bytes."""
    spec = {**DEFAULT_SPEC, **(spec or {})}
    k, mels = int(spec["rows"]), [int(m) for m in spec["mels"]]
    if not 1 <= k <= 64 or not mels or len(set(mels)) != len(mels):
        raise ModelError(f"front end spec needs 1..64 rows and distinct band counts, got {spec}")
    g = Graph()
    S = g.S
    i16, i32, u32 = S.TensorType.INT16, S.TensorType.INT32, S.TensorType.UINT32
    lay = layout(mels)
    x = g.tensor([(k + 1) * HOP], i16, name="audio")
    zero = g.tensor([], i32, np.zeros((), np.int32), name="zero_shift")
    # VAD: sum of squares of the even rows' frames (the VAD reads rows 0, 2, 4 ...: 256-sample
    # frames at hop 256): squares of sample pairs, then channel t sums the 128 pairs of row 2t
    # (the unweights carry each sum); odd rows get 0 (PAD between the even rows' values)
    half, kv = FRAME // 2, -(-k // 2)
    pairs = g.tensor([(k + 1) * HOP // 2], u32)
    g.custom("SignalEnergy", [x], [pairs], end_index=(k + 1) * HOP // 2, start_index=0)
    vstarts = [t * FRAME // 2 for t in range(kv)] + [0]
    vfb = g.tensor([kv], S.TensorType.UINT64)
    ins = [pairs, g.tensor([half], i16, np.zeros(half, np.int16)),
           g.tensor([half], i16, np.ones(half, np.int16)),
           g.tensor([kv + 1], i16, np.array(vstarts, np.int16)),
           g.tensor([kv + 1], i16, np.zeros(kv + 1, np.int16)),
           g.tensor([kv + 1], i16, np.array([half] * kv + [1], np.int16))]
    g.custom("SignalFilterBank", ins, [vfb], num_channels=kv)
    vlog = g.reshape(_log(g, vfb, kv, zero), [kv, 1], i16)
    vpad = g.tensor([kv, 2], i16)
    g.op(S.BuiltinOperator.PAD, [vlog, g.const_i32([[0, 0], [0, 1]])], [vpad],
         options=S.PadOptionsT(), opt_type=S.BuiltinOptions.PadOptions)
    vad = g.reshape(vpad, [2 * kv, 1], i16)
    if 2 * kv != k:
        vad = g.strided_slice(vad, [0, 0], [k, 1], [k, 1], i16)
    # mel: per frame a slice of the chunk, the window and the gain; one FFT for all frames
    hann = g.tensor([FRAME], i16, hann_q())
    scaled, shifts = [], []
    for t in range(k):
        frame = g.strided_slice(x, [t * HOP], [t * HOP + FRAME], [FRAME], i16)
        win = g.tensor([FRAME], i16)
        g.custom("SignalWindow", [frame, hann], [win], shift=HANN_BITS)
        out, sh = g.tensor([FRAME], i16), g.tensor([], i32)
        g.custom("SignalFftAutoScale", [win], [out, sh])
        scaled.append(out)
        shifts.append(sh)
    sc = g.reshape(g.concat(scaled, 0, [k * FRAME], i16), [k, FRAME], i16)
    spec_c = g.tensor([k, 2 * BINS], i16)
    g.custom("SignalRfft", [sc], [spec_c], T=i16, fft_length=FRAME)
    power = g.tensor([k * BINS], u32)
    g.custom("SignalEnergy", [g.reshape(spec_c, [k * 2 * BINS], i16)], [power],
             end_index=k * BINS, start_index=0)
    cols = []
    for m in mels:
        starts, widths, w, u = mel_ranges(m)
        fb, n = filter_bank(g, power, starts, widths, w, u, BINS, k)
        lg = _log(g, fb, n, zero)
        padded = g.tensor([n + 1], i16)
        g.op(S.BuiltinOperator.PAD, [lg, g.const_i32([[0, 1]])], [padded],
             options=S.PadOptionsT(), opt_type=S.BuiltinOptions.PadOptions)
        cols.append(g.reshape(padded, [k, m + 1], i16))
    packed = g.tensor([k], i32)
    opt = S.PackOptionsT()
    opt.valuesCount, opt.axis = k, 0
    g.op(S.BuiltinOperator.PACK, shifts, [packed], options=opt, opt_type=S.BuiltinOptions.PackOptions)
    sh16 = g.tensor([k], i16)
    copt = S.CastOptionsT()
    copt.inDataType, copt.outDataType = i32, i16
    g.op(S.BuiltinOperator.CAST, [packed], [sh16], options=copt, opt_type=S.BuiltinOptions.CastOptions)
    cols += [vad, g.reshape(sh16, [k, 1], i16)]
    out = g.concat(cols, 1, [k, lay["width"]], i16)
    g.tensors[out].name = "rows"
    desc = ("eyeauth audio front end: " + json.dumps({"rows": k, "mels": mels, "rate": RATE,
                                                      "frame": FRAME, "hop": HOP}))
    return g.finish([x], [out], desc)




def train(entry, data, out_dir):
    """The build's recipe entry point: the model's bytes from the zoo entry (no training; the
    integer graph is its own float reference)."""
    model = build(entry)
    lay = card_layout(entry)
    check = {"ok": True, "note": "an integer signal-processing graph written directly: no float "
                                 "model exists; the float file is the same graph"}
    card = {"input": {"layout": f"{(int(entry['rows']) + 1) * HOP} int16 samples at 8 kHz: "
                                f"{lay['rows']} frames of 256 at hop 128"},
            "output": {"layout": lay,
                       "meaning": "per frame: log band power of each mel band set (L = 256.1 "
                                  "log2 of the filter-bank power, relative to the frame's FFT "
                                  "gain: absolute = L - 512 x shift), a zero column after each "
                                  "set, the frame's energy (256.1 log2 of its sum of squares: "
                                  "the VAD's; even rows) and the FFT gain shift"}}
    from eyeauth import timing

    card["latency_source"] = timing.SIGNAL_SOURCES
    training = {"method": "computed from the spec (models/frontend.py, training/frontend.py): "
                          "Hann Q14, int16 FFT 256 with a per-frame gain, HTK mel 20-4000 Hz "
                          "with pre-emphasis 0.97 in the Q13 weights, log; no data"}
    return Trained(None, [], training, card, files=(model, model, check))
