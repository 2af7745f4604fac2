"""The audio front end (models/frontend.py, models/audio_fe.tflite): the signal ops run in the
tflite-micro interpreter with the options this module writes, the features match a float
reference of the same arithmetic, rows do not depend on the chunk they were computed in, and the
committed model is exactly what the builder makes from the zoo spec."""
import math

import numpy as np
import pytest

from eyeauth import timing
from eyeauth.errors import DataError, ModelError
from eyeauth.models import frontend as F, tflm, zoo
from eyeauth.training import frontend as R  # the recipe: the graph writer


def _one_op(name, x, out_shape, out_type, consts=(), **flex):
    """A model of one signal op: input x (int16 or uint32/uint64), constant inputs, -> output."""
    g = R.Graph()
    S = g.S
    types = {np.int16: S.TensorType.INT16, np.uint32: S.TensorType.UINT32,
             np.uint64: S.TensorType.UINT64, np.int32: S.TensorType.INT32}
    inp = g.tensor(x.shape, types[x.dtype.type])
    ins = [inp] + [g.tensor(c.shape, types[c.dtype.type], c) for c in consts]
    out = g.tensor(out_shape, types[out_type])
    g.custom(name, ins, [out], **flex)
    return tflm.run(g.finish([inp], [out], "test"), x)


def test_window_option_is_the_shift(rng):
    x = rng.integers(-32768, 32767, 256).astype(np.int16)
    w = R.hann_q()
    for shift in (12, 14):
        got = _one_op("SignalWindow", x, [256], np.int16, [w], shift=shift)
        ref = np.clip((x.astype(np.int64) * w) >> shift, -32768, 32767)
        assert np.array_equal(got, ref)


def test_energy_options_are_the_bin_range(rng):
    x = rng.integers(-20000, 20000, 2 * 16).astype(np.int16)
    got = _one_op("SignalEnergy", x, [16], np.uint32, start_index=0, end_index=16)
    c = x.astype(np.int64).reshape(-1, 2)
    assert np.array_equal(got, (c ** 2).sum(1))


def test_filter_bank_sqrt_log_options(rng):
    # three ranges over 8 bins: weights go to the range's channel, unweights to the next one
    e = rng.integers(0, 2 ** 30, 8).astype(np.uint32)
    starts = np.array([0, 2, 5], np.int16)
    widths = np.array([2, 3, 3], np.int16)
    wts = rng.integers(0, 8192, 8).astype(np.int16)
    unw = rng.integers(0, 8192, 8).astype(np.int16)
    wst = np.array([0, 2, 5], np.int16)
    got = _one_op("SignalFilterBank", e, [2], np.uint64, [wts, unw, starts, wst, widths],
                  num_channels=2)
    acc = [0, 0, 0]
    for i in range(3):
        for j in range(int(widths[i])):
            b = int(starts[i]) + j
            acc[i] += int(wts[int(wst[i]) + j]) * int(e[b])
            if i + 1 < 3:
                acc[i + 1] += int(unw[int(wst[i]) + j]) * int(e[b])
    assert got.tolist() == acc[1:]
    # square root (rounded) and log: round(739 ln(x))
    v = np.array([5, 1000, 123456789, 2 ** 40 + 12345], np.uint64)
    g = R.Graph()
    S = g.S
    inp = g.tensor([4], S.TensorType.UINT64)
    zero = g.tensor([], S.TensorType.INT32, np.zeros((), np.int32))
    lg = R._log(g, inp, 4, zero)
    out = tflm.run(g.finish([inp], [lg], "test"), v)
    ref = [F.LOG_SCALE * math.log(round(math.sqrt(float(a)))) for a in v]
    assert np.abs(out - np.array(ref)).max() <= 2


def _float_rows(x, r0, n, mels):
    """The front end's arithmetic in float64: Hann, |FFT|^2, mel weights x pre-emphasis gain,
    log power in L units (absolute, as ``FrontEnd.mel``)."""
    fb = R.mel_matrix(mels) * R.preemphasis_gain()[None, :]
    hann = R.hann_q() / float(1 << R.HANN_BITS)
    out = []
    for r in range(r0, r0 + n):
        seg = np.zeros(F.FRAME)
        a, b = max(r * F.HOP, 0), min(r * F.HOP + F.FRAME, x.size)
        if b > a:
            seg[a - r * F.HOP:b - r * F.HOP] = x[a:b]
        p = np.abs(np.fft.rfft(seg * hann)) ** 2
        out.append(F.LOG_SCALE / 2 * np.log(fb @ p + 1e-9))
    return np.array(out)


def test_features_match_a_float_reference(shared_data):
    # rows whose frame lies inside the clip (a frame that is mostly zero padding differs: its few
    # samples sit where the Q14 Hann weight rounds them to 0; such a row is the floor either way).
    # Tolerance: the int16 FFT keeps ~70 dB under a frame's strongest bin, and pre-emphasis is a
    # weight after it, so in frames dominated by low frequencies the high bands 60-80 dB down
    # lose precision (0_jackson_3: 92 % of values within 1 LSB, the rest up to 28 LSB in 2 rows)
    from eyeauth.datasets import load_audio
    fe = F.default()
    for name in ("3_theo_5.wav", "7_george_12.wav", "0_jackson_3.wav"):
        x = load_audio(shared_data / "voices/fsdd/recordings" / name)
        n = (x.size - F.FRAME) // F.HOP + 1
        for m in fe.mels:
            got = F.quantize(fe.mel(fe.rows(x, 0, n), m)).astype(int)
            ref = _float_rows(x, 0, n, m)
            q = np.minimum(ref.max() - ref, F.RANGE_L)
            ref_q = 127 - np.round(q * 255 / F.RANGE_L)
            d = np.abs(got - ref_q)
            assert d.mean() <= 0.5 and np.mean(d <= 1) >= 0.9, (name, m, d.mean())


def test_vad_column_is_the_frames_sum_of_squares(rng):
    fe = F.default()
    x = (rng.normal(0, 2000, 9000)).astype(np.int16)
    rows = fe.rows(x, 0, 70)
    v = fe.vad_l(rows)
    assert (v[1::2] == 0).all()
    for t in range(0, 70, 2):
        seg = np.zeros(256, np.int64)
        part = x[128 * t:128 * t + 256].astype(np.int64)
        seg[:part.size] = part
        s = int((seg ** 2).sum())
        ref = F.LOG_SCALE * math.log(math.isqrt(s)) if s > 1 else 0
        assert abs(v[t] - ref) <= 2, t


def test_rows_do_not_depend_on_their_chunk(rng):
    fe = F.default()
    x = (rng.normal(0, 3000, 12000)).astype(np.int16)
    a = fe.rows(x, 0, 90)
    b = fe.rows(x[5 * F.HOP:], 0, 80)  # the same audio, 5 rows earlier in its chunks
    lay = fe.lay
    cols = [c for c in range(lay["width"]) if c != lay["vad"]]  # odd/even VAD rows swap
    assert np.array_equal(a[5:85][:, cols], b[:80][:, cols])
    assert np.array_equal(fe.rows(x, -40, 10), fe.rows(x, -40, 80)[:10])  # before the clip


def test_committed_model_is_the_zoo_spec_built(cards):
    entry = zoo.spec_entry(zoo.FRONTEND)
    data = zoo.model_bytes(zoo.FRONTEND)
    assert data == R.build(entry), "models/audio_fe.tflite is stale: run `eyeauth models build audio_fe`"
    card = zoo.load_card(zoo.FRONTEND)
    assert card["output"]["layout"] == R.card_layout(entry)
    assert F.spec_of(data) == {"rows": entry["rows"], "mels": entry["mels"]}
    # every voice and keyword model reads a band set the front end computes
    for c in cards:
        if c["modality"] in ("voice", "keyword"):
            assert c["input"]["shape"][2] in entry["mels"], c["name"]


def test_spec_and_band_errors():
    with pytest.raises(ModelError, match="rows"):
        R.build({"rows": 0})
    with pytest.raises(ModelError, match="distinct"):
        R.build({"mels": [32, 32]})
    with pytest.raises(DataError, match="add 24"):
        F.default().mel(np.zeros((1, F.default().lay["width"]), np.int16), 24)
    with pytest.raises(ModelError, match="not an eyeauth audio front end"):
        F.spec_of(zoo.model_bytes(zoo.DETECTOR))


def test_timing_costs_the_signal_ops():
    data = R.build()
    lat = timing.model_latency(data, "esp32", True)
    per = {}
    for p in lat["per_op"]:
        assert p["ms"] > 0
        per[p["op"]] = per.get(p["op"], 0.0) + p["ms"]
    assert {"SignalRfft", "SignalFilterBank", "SignalWindow", "SignalFilterBankLog"} <= set(per)
    # one 256-point real FFT = the published 128-point complex figure x 8/7, plus the op overhead
    fft = (33121 * 8 / 7 * 32 + timing.OP_OVERHEAD[True]) / 240e6 * 1e3
    assert per["SignalRfft"] == pytest.approx(fft, rel=1e-6)
    assert timing.model_latency(data, "esp32s3", True)["total_ms"] < lat["total_ms"]


def test_state_experiment_stateless_vs_noise_reduction():
    """Why no noise reduction / PCAN: with spectral subtraction a word's window depends on what
    came before it; this front end's does not (python3 -m eyeauth.models.frontend --state-experiment)."""
    r = F.state_experiment()
    assert all(v["max_abs_lsb"] == 0 for v in r["stateless"].values())
    assert r["spectral_subtraction"]["loud"]["mean_abs_lsb"] > 5
    assert r["invokes_per_3s"]["stateless_chunks"] < r["invokes_per_3s"]["one_frame_per_invoke"] / 10
