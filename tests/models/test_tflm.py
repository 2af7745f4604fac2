import numpy as np
import pytest

from eyeauth.errors import ModelError
from eyeauth.models import tflm


def _one_line(exc):
    text = str(exc)
    assert "\n" not in text and len(text) < 400
    return text


def test_runs_every_model(cards):
    for card in cards:
        inp, out = tflm.io_details(card["path"])
        # the front end: int16 samples -> int16 rows; the detector: the uint8 camera frame
        t = {"frontend": np.int16, "detector": np.uint8}.get(card["modality"], np.int8)
        assert inp["shape"] == card["input"]["shape"] and inp["dtype"] == np.dtype(t).name
        y = tflm.run(card["path"], np.zeros(inp["shape"], t))
        assert list(y.shape) == out["shape"] and y.dtype == (np.int16 if t is np.int16 else np.int8)


def test_wrong_input_shape(cards):
    with pytest.raises(ModelError, match="expects") as err:
        tflm.run(cards[0]["path"], np.zeros((3, 7), np.int8))
    _one_line(err.value)


def test_wrong_dtype(cards):
    inp, _ = tflm.io_details(cards[0]["path"])
    with pytest.raises(ModelError, match="dtype"):
        tflm.run(cards[0]["path"], np.zeros(inp["shape"], np.float32))


@pytest.mark.parametrize("mangle", ["garbage", "truncated", "flipped"])
def test_corrupt_model_is_one_line_model_error(cards, mangle, tmp_path):
    data = open(cards[0]["path"], "rb").read()
    if mangle == "garbage":
        bad = b"\x00" * 64
    elif mangle == "truncated":
        bad = data[: len(data) // 3]
    else:
        bad = bytearray(data)
        bad[8:40] = b"\xff" * 32
        bad = bytes(bad)
    with pytest.raises(ModelError) as err:
        tflm.run(bad, np.zeros((1,), np.int8))
    _one_line(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="cannot read model"):
        tflm.run(tmp_path / "nope.tflite", np.zeros(1, np.int8))


def test_arena_bytes_matches_card(cards):
    card = cards[-1]
    assert tflm.arena_bytes(card["path"]) == card["arena_bytes"]
