"""`eyeauth convert`: a tiny Keras model round trip, and the errors users see."""
import numpy as np
import pytest

from eyeauth.cli.main import main
from eyeauth.errors import ModelError
from eyeauth.models import tflm

tf = pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((16, 16, 1))
    x = tf.keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    x = tf.keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    out = tf.keras.layers.Dense(4)(x)
    model = tf.keras.Model(inp, out)
    path = root / "tiny.keras"
    model.save(path)
    rep = root / "repr"
    rep.mkdir()
    rng = np.random.default_rng(0)
    for i in range(20):
        np.save(rep / f"{i}.npy", rng.uniform(-1, 1, (16, 16, 1)).astype(np.float32))
    return path, rep, model


def test_round_trip(tiny, tmp_path):
    from eyeauth.models import convert

    path, rep, model = tiny
    out = tmp_path / "tiny_int8.tflite"
    report = convert.convert_file(path, rep, out)
    assert out.exists() and report["cross_check"]["ok"]
    assert report["tflm_missing"] == [] and report["arena_bytes"] > 0
    x = np.load(rep / "3.npy")
    y = tflm.run_float(out.read_bytes(), x[None])
    assert np.allclose(y.ravel(), model(x[None]).numpy().ravel(), atol=0.1)


def test_cli_convert_json(tiny, tmp_path, capsys):
    path, rep, _ = tiny
    rc = main(["convert", str(path), "--repr", str(rep), "--out", str(tmp_path / "m.tflite"),
               "--json"])
    assert rc == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["cross_check"]["tolerance"] == 0.10 and data["flash_bytes"] > 0


def test_tolerance_is_enforced(tiny, tmp_path):
    from eyeauth.models import convert

    path, rep, _ = tiny
    with pytest.raises(ModelError, match="tolerance"):
        convert.convert_file(path, rep, tmp_path / "x.tflite", tolerance=1e-9)
    assert not (tmp_path / "x.tflite").exists()


@pytest.mark.parametrize("name,content,expect", [
    ("broken.keras", b"PK\x03\x04 not really a zip", "cannot load"),
    ("model.onnx", b"\x08\x01", "unsupported model format"),
])
def test_bad_model_is_one_line_error(tmp_path, capsys, name, content, expect, tiny):
    bad = tmp_path / name
    bad.write_bytes(content)
    rc = main(["convert", str(bad), "--repr", str(tiny[1]), "--out", str(tmp_path / "o.tflite")])
    err = capsys.readouterr().err.strip()
    assert rc == ModelError.exit_code
    assert err.startswith("eyeauth: ") and "\n" not in err and expect in err


def test_repr_shape_mismatch(tiny, tmp_path):
    from eyeauth.errors import DataError
    from eyeauth.models import convert

    rep = tmp_path / "r"
    rep.mkdir()
    np.save(rep / "a.npy", np.zeros((5, 5), np.float32))
    with pytest.raises(DataError, match="shape"):
        convert.convert_file(tiny[0], rep, tmp_path / "o.tflite")


def test_float_reference_input_is_preprocess_to_float(monkeypatch):
    # tflm.infer(float_ref=True) feeds q / 128 itself (it sits below preprocess)
    from eyeauth.models import preprocess as P
    seen = []
    monkeypatch.setattr(tflm, "run_float", lambda model, x: seen.append(x) or np.zeros(1))
    q = np.arange(-128, 128, dtype=np.int8).reshape(16, 16)
    tflm.infer(b"", q, float_ref=True)
    assert np.array_equal(seen[0][0, ..., 0], P.to_float(q))
