"""The exported integer premodel runs on the device (firmware/eyeauth_fw/premodel.py in the
MicroPython VM) and picks exactly what the host picks, for trees, KNNs, the constant choice and
the premodels shipped in models/."""
import json

import numpy as np
import pytest

from eyeauth import MODELS_DIR
from eyeauth.premodel import classify as C, export
from eyeauth.premodel.features import NAMES

MODELS = ["m_small", "m_mid", "m_big"]


def _data(modality, rng, n=400):
    d = len(NAMES[modality])
    X = rng.integers(0, 300, (n, d)) * rng.integers(1, 40, d)
    y = ((X[:, 1] > X[:, 1].mean()).astype(int) + (X[:, 3] % 7 == 0)) % 3
    return X, y


def _device_choices(vm, tmp_path, modality, doc, X):
    (tmp_path / f"premodel_{modality}.json").write_text(json.dumps(doc))
    return vm(f"""
from eyeauth_fw import premodel
use_routers({str(tmp_path)!r})
X = json.loads({json.dumps(json.dumps(X.tolist()))})
out([premodel.choose({modality!r}, x) for x in X])
""")


@pytest.mark.parametrize("modality", ["face", "voice"])
@pytest.mark.parametrize("spec", [{"kind": "tree", "depth": 4, "min_leaf": 5},
                                  {"kind": "knn", "k": 5, "points": 64},
                                  {"kind": "knn", "k": 1, "points": 256},
                                  {"kind": "constant", "model": 2}])
def test_device_choices_equal_host(tmp_path, vm, modality, spec):
    rng = np.random.default_rng(3)
    X, y = _data(modality, rng)
    cols = [1, 3, 4] if spec["kind"] != "constant" else []
    fitted = C.fit(spec, X[:, cols] if cols else X[:, :1], y, 3)
    doc = export.document(modality, MODELS, cols, fitted, {"test": True})
    test = np.concatenate([X[:50], rng.integers(-500, 20000, (50, X.shape[1]))])
    host = [MODELS[c] for c in export.choose(doc, test)]
    assert _device_choices(vm, tmp_path, modality, doc, test) == host
    if spec["kind"] == "knn":
        assert len(set(host)) > 1  # a real routing, not a constant by accident


def test_constant_premodel_computes_no_features(tmp_path, vm):
    doc = export.document("face", MODELS, [], C.fit({"kind": "constant", "model": 1}, None, None,
                                                     3), {})
    (tmp_path / "premodel_face.json").write_text(json.dumps(doc))
    got = vm(f"""
from eyeauth_fw import premodel
use_routers({str(tmp_path)!r})
out([premodel.choose_face(None, 0, 0, None), premodel.choose_voice(None)])
""")
    assert got == ["m_mid", None]  # no voice premodel file: None, the caller keeps its default


@pytest.mark.parametrize("modality", ["face", "voice"])
def test_shipped_premodel_runs_on_device(tmp_path, vm, modality):
    path = MODELS_DIR / f"premodel_{modality}.json"
    if not path.exists():
        pytest.skip(f"{path.name} not trained yet (eyeauth premodel train)")
    doc = export.load(modality, path)
    rng = np.random.default_rng(5)
    X = rng.integers(0, 2000, (64, len(NAMES[modality])))
    host = [doc["models"][c] for c in export.choose(doc, X)]
    assert _device_choices(vm, tmp_path, modality, doc, X) == host


def test_device_pipeline_choice_from_a_frame(tmp_path, vm, shared_data):
    """choose_face on a real frame == host features + host choice (the path auth.py takes)."""
    from eyeauth.datasets import load_image
    from eyeauth.premodel import features as PF

    rng = np.random.default_rng(11)
    X, y = _data("face", rng)
    cols = [0, 3, 6]
    doc = export.document("face", MODELS, cols, C.fit({"kind": "tree", "depth": 3,
                                                       "min_leaf": 5}, X[:, cols], y, 3), {})
    (tmp_path / "premodel_face.json").write_text(json.dumps(doc))
    img = load_image(shared_data / "faces/orl/s3/2.pgm")
    img.tofile(tmp_path / "f.bin")
    box = (-1, 7, 96, 96)
    got = vm(f"""
from eyeauth_fw import premodel
use_routers({str(tmp_path)!r})
f = open("{tmp_path}/f.bin", "rb").read()
out(premodel.choose_face(f, {img.shape[1]}, {img.shape[0]}, {box}))
""")
    assert got == MODELS[int(export.choose(doc, [PF.face_features(img, box)])[0])]
