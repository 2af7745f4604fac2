"""The audio front end on the host: the model ``audio_fe`` (built by its recipe,
:mod:`eyeauth.training.frontend`: TFLM's signal ops written as one .tflite) run the way the board
runs it, per chunk of audio, and the board's arithmetic on its rows. The board
(``firmware/eyeauth_fw/audio.py``) and the host's training and evaluation run the same model file,
so they share one implementation of the voice features.

Rows: row r of a clip = its samples 128 r .. 128 r + 255 (zero outside the clip), computed in
chunks of ``rows`` rows aligned on multiples of ``rows`` (a row does not depend on its chunk).
Units: a mel value in L = 256.1 log2 of the band power, relative to the frame's FFT gain: the
absolute log power is ``L - 512 * shift`` (``FrontEnd.mel``); 1 L = 0.01175 dB. The VAD column
(even rows) is 256.1 log2(S), S = the frame's sum of squared int16 samples: 10 log10(S / 256)
dB = L * 0.01175 - 24.08 (the old VAD's frame energy in dB, without its +1).

Stateless: a row depends on its 256 samples only (no noise reduction, no PCAN: both carry state
from one frame to the next, so a window's features would depend on what came before it; see
``python3 -m eyeauth.models.frontend --state-experiment``).
"""
from __future__ import annotations

import argparse
import json
import sys
from functools import lru_cache

import numpy as np

from eyeauth.errors import DataError, ModelError
from eyeauth.training.frontend import (BINS, DEFAULT_SPEC, FRAME, HANN_BITS, HOP, LOG_SCALE,  # noqa: F401
                                       SHIFT_L, build, layout)

#: dB per L unit (10 log10(2) / 256.1) and the VAD column's offset: 10 log10(S / 256)
DB_PER_L = 20.0 / np.log(10.0) / LOG_SCALE
VAD_DB_OFFSET = 10.0 * np.log10(256.0)
#: 80 dB in L units (the window's clip range) and the int8 step: q = 127 - rel * 255 / 80 dB
RANGE_L = 6806
QUANT_MUL = 39288  # round(255 / 6806 * 2^20)

# ---------------------------------------------------------------- running it (host)

@lru_cache(maxsize=4)
def _built(rows, mels):
    return build({"rows": rows, "mels": list(mels)})


def spec_of(model_bytes):
    """The {"rows", "mels"} a front-end .tflite was built for (from its description)."""
    from eyeauth.training.frontend import schema

    S = schema()
    m = S.Model.GetRootAsModel(model_bytes, 0)
    desc = (m.Description() or b"").decode()
    if not desc.startswith("eyeauth audio front end: "):
        raise ModelError("not an eyeauth audio front end (its description says otherwise); "
                         "rebuild it with `eyeauth models build audio_fe`")
    d = json.loads(desc.split(": ", 1)[1])
    return {"rows": int(d["rows"]), "mels": [int(v) for v in d["mels"]]}


class FrontEnd:
    """The front-end model and what the host needs to run it like the board does."""

    def __init__(self, model_bytes):
        self.bytes = bytes(model_bytes)
        s = spec_of(self.bytes)
        self.k, self.mels = s["rows"], s["mels"]
        self.lay = layout(self.mels)

    def rows(self, wav, r0, n):
        """int16 [n, width]: rows r0 .. r0 + n - 1 of a clip (row r = samples 128 r .. + 256,
        zero outside the clip), computed in chunks of ``k`` rows aligned on multiples of k as
        the board computes them."""
        from eyeauth.models import tflm

        x = np.asarray(wav, np.int16).reshape(-1)
        k = self.k
        c0, c1 = r0 // k, -(-(r0 + n) // k)
        span = (k + 1) * HOP
        out = []
        for c in range(c0, c1):
            s = c * k * HOP
            seg = np.zeros(span, np.int16)
            a, b = max(s, 0), min(s + span, x.size)
            if b > a:
                seg[a - s:b - s] = x[a:b]
            out.append(tflm.run(self.bytes, seg))
        allr = np.concatenate(out).reshape(-1, self.lay["width"])
        return allr[r0 - c0 * k:r0 - c0 * k + n]

    def mel(self, rows, n_mels):
        """Absolute log band power (int32, L units) of rows: band L minus 512 x the FFT shift."""
        if n_mels not in self.lay["mels"]:
            raise DataError(f"the front end computes {self.mels} mel bands, not {n_mels}; add "
                            f"{n_mels} to audio_fe's mels in models/zoo.json and rebuild")
        o = self.lay["mels"][n_mels]
        r = np.asarray(rows, np.int32)
        return r[:, o:o + n_mels] - SHIFT_L * r[:, self.lay["shift"]:self.lay["shift"] + 1]

    def vad_l(self, rows):
        return np.asarray(rows, np.int32)[:, self.lay["vad"]]


def quantize(mel_rows):
    """int8 window from T rows of absolute log band power (L units): relative to the window's
    maximum, clipped at 80 dB, q = 127 - round(rel * 255 / 80 dB) (integers, as the board)."""
    v = np.asarray(mel_rows, np.int64)
    rel = np.minimum(v.max() - v, RANGE_L)
    return (127 - ((rel * QUANT_MUL + (1 << 19)) >> 20)).astype(np.int8)


_default: dict = {}


def default(models_dir=None):
    """The front end of the zoo (models/audio_fe.tflite, else built from its zoo spec)."""
    from eyeauth.models import zoo

    path = zoo.models_dir(models_dir) / "audio_fe.tflite"
    key = (str(path), path.stat().st_mtime_ns if path.exists() else 0)
    if key not in _default:
        if path.exists():
            data = path.read_bytes()
        else:
            spec = next((e for e in zoo.load_spec(models_dir)
                         if e.get("modality") == "frontend"), DEFAULT_SPEC)
            data = _built(int(spec["rows"]), tuple(spec["mels"]))
        _default.clear()
        _default[key] = FrontEnd(data)
    return _default[key]


# ---------------------------------------------------------------- why no noise reduction / PCAN

def _stateful_frame_model(n_mels=32):
    """One frame per invoke (as TFLM's micro_speech preprocessor), with SignalFilterBank-
    SpectralSubtraction (upstream's defaults) after the filter bank: its noise estimate is the
    op's persistent state (PCAN consumes that estimate, so it carries the same state)."""
    from eyeauth.training.frontend import filter_bank, Graph, hann_q, mel_ranges

    g = Graph()
    S = g.S
    i16, i32, u32 = S.TensorType.INT16, S.TensorType.INT32, S.TensorType.UINT32
    x = g.tensor([FRAME], i16)
    win = g.tensor([FRAME], i16)
    g.custom("SignalWindow", [x, g.tensor([FRAME], i16, hann_q())], [win], shift=HANN_BITS)
    sc, sh = g.tensor([FRAME], i16), g.tensor([], i32)
    g.custom("SignalFftAutoScale", [win], [sc, sh])
    spec = g.tensor([1, 2 * BINS], i16)
    g.custom("SignalRfft", [g.reshape(sc, [1, FRAME], i16)], [spec], T=i16, fft_length=FRAME)
    power = g.tensor([BINS], u32)
    g.custom("SignalEnergy", [g.reshape(spec, [2 * BINS], i16)], [power], end_index=BINS,
             start_index=0)
    starts, widths, w, u = mel_ranges(n_mels)
    fb, n = filter_bank(g, power, starts, widths, w, u, BINS, 1)
    amp = g.tensor([n], u32)
    g.custom("SignalFilterBankSquareRoot", [fb, sh], [amp])
    clean, noise = g.tensor([n], u32), g.tensor([n], u32)
    g.custom("SignalFilterBankSpectralSubtraction", [amp], [clean, noise],
             alternate_one_minus_smoothing=16384 - 983, alternate_smoothing=983, clamping=False,
             min_signal_remaining=819, num_channels=n, one_minus_smoothing=16384 - 409,
             smoothing=409, smoothing_bits=10, spectral_subtraction_bits=14)
    lg = g.tensor([n], i16)
    g.custom("SignalFilterBankLog", [clean], [lg], input_correction_bits=0, output_scale=LOG_SCALE)
    return g.finish([x], [lg], "stateful front end experiment")


def state_experiment(seed=0):
    """The same word after different lead-ins (0.5 s of quiet noise, of loud noise, of another
    word): how far its int8 window (its rows after the lead-in, relative to their maximum) moves
    from the first lead-in's, stateless (this front end) and with spectral subtraction (one frame
    per invoke, state from the clip's start). -> dict of mean / max |dq| in LSB."""
    from eyeauth import datasets, splits
    from eyeauth.models import tflm
    from tflite_micro.python.tflite_micro import runtime

    ds = datasets.scan(splits.folder("speech_commands", None), "voice")
    spk = splits.identities("speech_commands", "eval")[0]
    files = ds.files[spk]
    word, other = datasets.load_audio(files[0]), datasets.load_audio(files[1])
    rng = np.random.default_rng(seed)
    leads = {"quiet": rng.normal(0, 30, 4000), "loud": rng.normal(0, 3000, 4000),
             "word": other[:4000].astype(np.float64)}
    data = _stateful_frame_model(32)
    fe = default()
    out = {"stateless": {}, "spectral_subtraction": {}}
    ref = {}
    for name, lead in leads.items():
        x = np.concatenate([lead, word.astype(np.float64)]).astype(np.int16)
        r0 = -(-lead.size // HOP)  # the first row wholly inside the word
        n = (x.size - r0 * HOP - FRAME) // HOP + 1
        a = quantize(fe.mel(fe.rows(x, r0, n), 32))
        it = runtime.Interpreter.from_bytes(data, arena_size=tflm.HOST_ARENA)
        rows = []
        for r in range(r0 + n):
            it.set_input(x[r * HOP:r * HOP + FRAME], 0)
            it.invoke()
            rows.append(np.array(it.get_output(0))[:32].astype(np.int32))
        b = quantize(np.array(rows[r0:]))
        ref.setdefault("a", a)
        ref.setdefault("b", b)
        for key, q, base in (("stateless", a, ref["a"]), ("spectral_subtraction", b, ref["b"])):
            d = np.abs(q.astype(int) - base.astype(int))
            out[key][name] = {"mean_abs_lsb": round(float(d.mean()), 2), "max_abs_lsb": int(d.max())}
    out["invokes_per_3s"] = {"stateless_chunks": -(-(2 * (24000 // FRAME) - 1) // fe.k),
                             "one_frame_per_invoke": 24000 // HOP}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m eyeauth.models.frontend",
                                 description="the audio front end (TFLM signal ops)")
    ap.add_argument("--write", help="write the default front end's .tflite to this path")
    ap.add_argument("--state-experiment", action="store_true",
                    help="a word's features after different lead-ins, stateless vs with "
                         "spectral subtraction (why this front end has no noise reduction)")
    a = ap.parse_args(argv)
    if a.state_experiment:
        print(json.dumps(state_experiment(), indent=1))
    if a.write:
        data = build()
        with open(a.write, "wb") as f:
            f.write(data)
        print(f"{a.write}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
