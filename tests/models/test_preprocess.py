import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from eyeauth.models import preprocess as P


def _ref_area(img, box, oh, ow):
    x, y, w, h = box
    out = np.zeros((oh, ow), np.int64)
    for i in range(oh):
        r0 = y + i * h // oh
        r1 = max(y + (i + 1) * h // oh, r0 + 1)
        for j in range(ow):
            c0 = x + j * w // ow
            c1 = max(x + (j + 1) * w // ow, c0 + 1)
            rows = np.clip(np.arange(r0, r1), 0, img.shape[0] - 1)
            cols = np.clip(np.arange(c0, c1), 0, img.shape[1] - 1)
            s = int(img[np.ix_(rows, cols)].astype(np.int64).sum())
            n = rows.size * cols.size
            out[i, j] = (s + n // 2) // n
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(5, 40), st.integers(5, 40), st.integers(-10, 30), st.integers(-10, 30),
       st.integers(1, 50), st.integers(1, 50), st.integers(1, 12), st.integers(1, 12),
       st.integers(0, 2 ** 31))
def test_area_resize_matches_loop_reference(h, w, x, y, bw, bh, oh, ow, seed):
    img = np.random.default_rng(seed).integers(0, 256, (h, w)).astype(np.uint8)
    got = P.area_resize(img, (x, y, bw, bh), oh, ow)
    assert np.array_equal(got, _ref_area(img, (x, y, bw, bh), oh, ow))


def test_constant_image_stays_constant():
    img = np.full((112, 92), 77, np.uint8)
    assert (P.area_resize(img, (-20, -20, 200, 200), 48, 48) == 77).all()
    assert (P.face_input(img, (0, 0, 92, 92), 48) == 77 - 128).all()  # no stretch when flat


def test_face_input_range_and_dtype(rng):
    img = rng.integers(30, 200, (112, 92)).astype(np.uint8)
    q = P.face_input(img, P.default_face_box(img.shape), 64)
    assert q.dtype == np.int8 and q.shape == (64, 64)
    assert q.min() == -128 and q.max() == 127


def test_rgb_is_converted():
    from eyeauth.models import face_data

    rgb = np.zeros((60, 80, 3), np.uint8)
    rgb[..., 1] = 200
    assert face_data.camera_frame(rgb).shape == (240, 320)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.05, 0.95), st.floats(0.05, 0.95), st.floats(0.1, 0.9))
def test_detector_box_inverts_target(cx, cy, side):
    from eyeauth.models import face_path

    q = [int(round(v * 256)) - 128 for v in (cx, cy, side)]
    q = [max(-128, min(127, v)) for v in q]
    box = face_path.box_from_q(q, (240, 320))
    back = P.box_to_target(box, (240, 320))
    want = [(v + 128) / 256 for v in q]
    assert abs(back[0] - want[0]) * 320 <= 1.01 and abs(back[1] - want[1]) * 240 <= 1.01
    assert abs(back[2] - want[2]) * 240 <= 1.01 or want[2] * 240 < 4


def test_letterbox_is_4_3():
    for shape in [(240, 320), (112, 92), (100, 400), (1, 1)]:
        px, py, pw, ph = P.letterbox_geometry(shape)
        assert pw * 3 >= ph * 4 - 3 and ph * 4 >= pw * 3 - 4
        assert pw >= shape[1] and ph >= shape[0]


def test_voice_input_shape_and_range(rng):
    t = np.arange(8000) / 8000
    wav = (8000 * np.sin(2 * np.pi * 220 * t) * (t > 0.3) * (t < 0.7)).astype(np.int16)
    q = P.voice_input(wav, 32, 20)
    assert q.shape == (32, 20) and q.dtype == np.int8
    assert q.max() == 127


def test_voice_input_gain_invariant(rng):
    wav = (rng.normal(0, 1000, 6000) * np.hanning(6000)).astype(np.int16)
    a = P.voice_input(wav, 32, 32).astype(int)
    b = P.voice_input((wav // 4).astype(np.int16), 32, 32).astype(int)
    assert np.abs(a - b).mean() < 2.0


def test_voice_input_pads_short_clip():
    # a clip shorter than the window: rows outside it are the floor, the speech row the top
    wav = np.zeros(400, np.int16)
    wav[100:300] = (3000 * np.sin(np.arange(200) * 0.7)).astype(np.int16)
    q = P.voice_input(wav, 32, 20)
    assert q.max() == 127 and (q == -128).sum() > q.size // 2


def test_to_float_matches_input_quantization():
    q = np.array([-128, 0, 127], np.int8)
    assert P.to_float(q).tolist() == [-1.0, 0.0, 127 / 128]
    assert P.INPUT_SCALE == pytest.approx(1 / 128) and P.INPUT_ZERO_POINT == 0
