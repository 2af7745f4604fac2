"""Routers (issue 12): the host's arithmetic on hand-made trials, the document's escalate and
quality rules (host checks them; the device reads them and decides exactly as the host), and the
shipped routers' files."""
import json

import numpy as np
import pytest

from eyeauth import MODELS_DIR
from eyeauth.errors import ModelError
from eyeauth.premodel import classify as C, export, route, routers as R
from eyeauth.premodel.features import NAMES

MODELS = ["m_small", "m_big"]


def _split(margins, same, X=None, refused=None):
    margins = np.asarray(margins, np.float32)
    P = margins.shape[1]
    return {"models": MODELS, "margins": margins, "same": np.asarray(same, bool),
            "X": np.zeros((P, len(NAMES["face"])), np.int64) if X is None else np.asarray(X),
            "refused": np.zeros(P, bool) if refused is None else np.asarray(refused, bool),
            "cost_first": np.array([100.0, 400.0]), "cost_extra": np.array([90.0, 350.0]),
            "cost_refused": 10.0}


def test_cascade_escalates_only_inside_the_band_and_pays_for_it():
    # 3 probes x 2 claimed identities; small model margins: sure accept, unsure, sure reject
    small = [[0.5, -0.5], [-0.05, -0.6], [-0.4, 0.02]]
    big = [[0.3, -0.3], [0.2, -0.4], [-0.3, -0.2]]
    same = [[1, 0], [1, 0], [0, 1]]
    s = _split([small, big], same)
    marg, lat, cur = R.run(s, np.zeros(3, int), {0: (1, None, 0, [(-0.1, 0.05)])})
    # in the band: (1, 0) -0.05 and (2, 1) 0.02 -> the big model decides those two trials
    assert cur.tolist() == [[0, 0], [1, 0], [0, 1]]
    assert marg[1, 0] == pytest.approx(0.2) and marg[2, 1] == pytest.approx(-0.2)
    assert lat.tolist() == [[100, 100], [450, 100], [100, 450]]
    m = R.score(s, marg, lat, cur)
    # genuine: (0,0) 0.5 ok, (1,0) 0.2 ok, (2,1) -0.2 rejected -> FRR 1/3; impostors all rejected
    assert m["frr"] == pytest.approx(1 / 3, abs=1e-4) and m["far"] == 0.0
    assert m["balanced_accuracy"] == pytest.approx(1 - (1 / 3) / 2, abs=1e-4)
    # balanced mean: genuine mean (100 + 450 + 450) / 3, impostor mean 100
    assert m["mean_latency_ms"] == pytest.approx(0.5 * (1000 / 3 + 100), abs=0.01)
    assert sum(m["share"].values()) == pytest.approx(1.0, abs=1e-3)


def test_feature_band_and_refused_probes():
    small = [[-0.05, -0.5], [-0.05, -0.5]]
    big = [[0.2, -0.4], [0.2, -0.4]]
    X = np.zeros((2, len(NAMES["face"])), np.int64)
    X[:, 2] = [10, 90]
    s = _split([small, big], [[1, 0], [1, 0]], X=X, refused=[False, False])
    rule = {0: (1, 2, 50, [(-0.1, 0.1), (0.5, 0.6)])}  # wide band only when feature 2 <= 50
    _, _, cur = R.run(s, np.zeros(2, int), rule)
    assert cur[:, 0].tolist() == [1, 0]
    s = _split([small, big], [[1, 0], [1, 0]], X=X, refused=[True, False])
    s["margins"][:, 0] = R.REFUSED
    marg, lat, cur = R.run(s, np.zeros(2, int), rule)
    assert (marg[0] < 0).all() and (lat[0] == 10).all() and (cur[0] == 0).all()


def _doc(extra):
    fitted = C.fit({"kind": "constant", "model": 0}, None, None, 3)
    doc = {**export.document("face", ["a", "b", "c"], [], fitted, {}), **extra}
    return doc


@pytest.mark.parametrize("extra,why", [
    ({"escalate": [[0, 5, -1, 0, -0.1, 0.1, -0.1, 0.1]]}, "not there"),
    ({"escalate": [[0, 0, -1, 0, -0.1, 0.1, -0.1, 0.1]]}, "not there"),
    ({"escalate": [[0, 1, -1, 0, 0.1, -0.1, 0, 0]]}, "lo <= hi"),
    ({"escalate": [[0, 1, -1]]}, "escalate rule must be"),
    ({"escalate": {"a": 1}}, "list of rules"),
    ({"quality": [[999, 3]]}, "quality rule"),
    ({"quality": [[1, 2.5]]}, "quality rule"),
])
def test_host_refuses_malformed_rules(extra, why):
    with pytest.raises(ModelError, match=why) as e:
        export.validate(_doc(extra), "face", "premodel_face.json")
    assert "\n" not in str(e.value) and "premodel train" in str(e.value)


def test_device_refuses_malformed_rules(tmp_path, vm):
    (tmp_path / "premodel_face.json").write_text(json.dumps(
        _doc({"escalate": [[0, 1, -1, 0, 0.5, -0.5, 0, 0]]})))
    got = vm(f"""
from eyeauth_fw import premodel
from eyeauth_fw.pipeline import PipelineError
use_routers({str(tmp_path)!r})
try:
    premodel.load("face")
    out("loaded")
except PipelineError as e:
    out([e.code, e.msg])
""")
    assert got[0] == "bad_premodel" and "escalate" in got[1]


def _device_route(vm, tmp_path, modality, doc, X, margins):
    (tmp_path / f"premodel_{modality}.json").write_text(json.dumps(doc))
    return vm(f"""
from eyeauth_fw import premodel
use_routers({str(tmp_path)!r})
X = json.loads({json.dumps(json.dumps(np.asarray(X).tolist()))})
mg = json.loads({json.dumps(json.dumps(list(map(float, margins))))})
res = []
for x, m in zip(X, mg):
    first = premodel.choose({modality!r}, x)
    res.append([first, premodel.escalate({modality!r}, first, m, x), premodel.poor({modality!r}, x)])
out(res)
""")


def _host_route(doc, X, margins):
    first = export.choose(doc, X)
    esc = route.esc_map(doc.get("escalate"))
    out = []
    for x, f, m in zip(np.asarray(X), first, margins):
        nxt = None
        if int(f) in esc:
            b, col, at, bands = esc[int(f)]
            lo, hi = bands[0] if col is None or x[col] <= at else bands[1]
            nxt = doc["models"][b] if lo <= m < hi else None
        poor = any(x[c] < v for c, v in doc.get("quality") or [])
        out.append([doc["models"][int(f)], nxt, bool(poor)])
    return out


def test_device_escalates_exactly_as_the_host(tmp_path, vm):
    rng = np.random.default_rng(4)
    doc = _doc({"escalate": [[0, 2, 3, 100, -0.2, 0.05, -0.05, 0.0]], "quality": [[6, 40]]})
    X = rng.integers(0, 200, (80, len(NAMES["face"])))
    margins = rng.uniform(-0.4, 0.3, 80)
    host = _host_route(doc, X, margins)
    assert _device_route(vm, tmp_path, "face", doc, X, margins) == host
    assert {h[1] for h in host} == {None, "c"} and {h[2] for h in host} == {True, False}


@pytest.mark.parametrize("modality", ["face", "voice"])
def test_shipped_router_file(tmp_path, vm, modality):
    """The shipped file is valid, names the zoo's models, carries the candidates it was chosen
    from (the evaluation scores each), and the device routes as the host on it."""
    path = MODELS_DIR / f"premodel_{modality}.json"
    if not path.exists():
        pytest.skip(f"{path.name} not trained yet (eyeauth premodel train)")
    doc = export.load(modality, path)
    meta = doc["meta"]
    assert meta["router"] in meta["candidates"] and {"premodel", "cascade"} <= set(meta["candidates"])
    docs = route.candidate_docs(doc)
    assert set(docs) == set(meta["candidates"]) | {"shipped"}
    rng = np.random.default_rng(6)
    X = rng.integers(0, 2000, (48, len(NAMES[modality])))
    margins = rng.uniform(-0.5, 0.3, 48)
    assert _device_route(vm, tmp_path, modality, doc, X, margins) == _host_route(doc, X, margins)
