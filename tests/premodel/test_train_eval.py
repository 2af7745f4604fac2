"""`eyeauth premodel train|eval` end to end on a few files (real zoo models in TFLM, latency
modeled with the firmware timed in the VM): the train report and the exported file, and the
eval object's keys (single / premodel / oracle) and their consistency."""
import json

import numpy as np
import pytest

from eyeauth.cli.main import main
from eyeauth.models import zoo
from eyeauth.premodel import classify as C, export, train
from eyeauth.premodel.features import NAMES


def _zoo(modality):
    names = [c["name"] for c in zoo.list_models(modality=modality)]
    if len(names) < 2:
        pytest.skip(f"needs 2 or more built {modality} models (eyeauth models build)")
    return names


def _routing_premodel(tmp_path, modality, names):
    """A small tree over two features that routes to every model (a stand-in premodel)."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 300, (300, 2))
    y = (X[:, 0] // 100) % len(names)
    doc = export.document(modality, names, [1, 3],
                          C.fit({"kind": "tree", "depth": 3, "min_leaf": 5}, X, y, len(names)),
                          {"trained_on": {"identities": []}})
    return export.write(doc, tmp_path / f"premodel_{modality}.json")


@pytest.mark.parametrize("modality,kw", [
    ("voice", {"max_files": 8, "variants": 2, "max_identities": 2}),
    ("face", {"max_files": 4, "variants": 2, "max_identities": 3}),
])
def test_eval_returns_the_keys(tmp_path, shared_data, capsys, modality, kw):
    names = _zoo(modality)
    pm = _routing_premodel(tmp_path, modality, names)
    argv = ["premodel", "eval", "--modality", modality, "--data", str(shared_data),
            "--premodel", str(pm), "--json"]
    for k, v in kw.items():
        argv += [f"--{k.replace('_', '-')}", str(v)]
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r["single"]) == set(names)
    for s in r["single"].values():
        assert 0 <= s["accuracy"] <= 1 and s["mean_latency_ms"] > 0
    p, o = r["premodel"], r["oracle"]
    for k in ("accuracy", "mean_latency_ms", "overhead_ms"):
        assert k in p
    assert 0 < p["overhead_ms"] < 0.05 * p["mean_latency_ms"]  # it computes features
    assert abs(sum(p["choices"].values()) - 1) < 1e-3
    assert o["accuracy"] >= max(s["accuracy"] for s in r["single"].values())
    assert {"accuracy", "mean_latency_ms"} <= set(o)
    assert {"most_capable", "largest", "overhead_fraction", "latency_vs_oracle"} <= set(r["targets"])
    lat = [s["mean_latency_ms"] for s in r["single"].values()]
    # mean_latency_ms is rounded to 0.01 ms and overhead_ms to 0.001 ms: allow that rounding
    tol = 0.005 + 0.0005 + 1e-6
    assert min(lat) - tol <= p["mean_latency_ms"] - p["overhead_ms"] <= max(lat) + tol


def test_train_exports_a_premodel_the_eval_reads(tmp_path, shared_data):
    names = _zoo("voice")
    out = tmp_path / "premodel_voice.json"
    r = train.train("voice", data_dir=shared_data, variants=2, max_files=7,
                    identities=["george", "jackson"], out=out)
    assert r["path"] == str(out) and set(r["labels"]) == set(names)
    assert {c["spec"]["kind"] for c in r["candidates"]} >= {"constant", "tree", "knn"}
    doc = export.load("voice", out)
    assert doc["models"] == r["models"] and doc["meta"]["trained_on"]["identities"] == \
        ["george", "jackson"]
    assert set(doc["features"]) <= set(NAMES["voice"])
    assert r["overhead"]["overhead_ms"] < 1.0


def test_routers_train_on_reserved_identities_and_evaluate_on_unseen(tmp_path, capsys):
    """The default train (identities data/splits.json reserves for the premodel) and eval (sets
    no model trained on): every router scored the same way, the shipped file names its
    candidates, the JSON keeps single / premodel / oracle and adds cascade and routers."""
    from eyeauth import splits

    _zoo("face")
    out = tmp_path / "premodel_face.json"
    from eyeauth.premodel import route

    r = route.train("face", variants=2, max_identities=14, out=out)
    reserved = set(splits.identities("lfw", "premodel"))
    assert set(r["document"]["meta"]["trained_on"]["identities"]) <= reserved
    assert {"premodel", "cascade"} <= set(r["candidates"]) and r["router"] in r["candidates"]
    assert r["reference"] in r["models"] and r["document"]["meta"]["router"] == r["router"]
    argv = ["premodel", "eval", "--modality", "face", "--premodel", str(out), "--set", "orl",
            "--max-identities", "6", "--max-files", "6", "--variants", "2", "--json"]
    assert main(argv) == 0
    ev = json.loads(capsys.readouterr().out)
    s = ev["sets"]["orl"]
    assert {"single", "premodel", "oracle", "cascade", "routers", "targets"} <= set(s)
    assert {"premodel", "cascade", "shipped"} <= set(s["routers"])
    for row in list(s["single"].values()) + list(s["routers"].values()) + [s["oracle"]]:
        assert 0 <= row["far"] <= 1 and 0 <= row["frr"] <= 1
        assert row["balanced_accuracy"] == pytest.approx(1 - (row["far"] + row["frr"]) / 2, abs=1e-4)
        assert abs(sum(row["share"].values()) - 1) < 1e-2
        b = row["boards"]
        assert b["esp32-s3-eye"]["mean_latency_ms"] < b["esp-eye"]["mean_latency_ms"]
    cheap = min(x["mean_latency_ms"] for x in s["single"].values())
    dear = max(x["mean_latency_ms"] for x in s["single"].values())
    c = s["cascade"]
    assert cheap - 0.01 <= c["mean_latency_ms"] - c["overhead_ms"] <= cheap + dear
    assert {"speedup", "met_2x_faster", "met_far_frr_within_1pt", "met_not_worse_than_cascade",
            "met_overhead_le_2pct"} <= set(s["targets"])
