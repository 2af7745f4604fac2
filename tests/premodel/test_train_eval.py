"""`eyeauth premodel train|eval` end to end on a few files (real zoo models in TFLM, latency
modeled with the firmware timed in the VM): the train report and the exported file, and the
eval object's keys (single / premodel / oracle) and their consistency."""
import json

import numpy as np
import pytest

from eyeauth.cli.main import main
from eyeauth.models import zoo
from eyeauth.premodel import classify as C, export


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


@pytest.mark.parametrize("modality,folder,kw", [
    ("voice", "voices/fsdd/recordings", {"max_files": 8, "variants": 2, "max_identities": 3}),
    ("face", "faces/orl", {"max_files": 5, "variants": 2, "max_identities": 4}),
])
def test_eval_on_a_folder_scores_the_shipped_router_and_its_candidates(tmp_path, shared_data,
                                                                       capsys, modality, folder, kw):
    """`premodel eval --data DIR`: the one premodel evaluation on a user's folder: every single
    model, the routers the file carries and the oracle, scored as the board scores."""
    names = _zoo(modality)
    pm = _routing_premodel(tmp_path, modality, names)
    argv = ["premodel", "eval", "--modality", modality, "--data", str(shared_data / folder),
            "--premodel", str(pm), "--json"]
    for k, v in kw.items():
        argv += [f"--{k.replace('_', '-')}", str(v)]
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    (name, s), = r["sets"].items()
    assert name == (shared_data / folder).name and s["identities"] == kw["max_identities"]
    assert set(s["single"]) == set(names) and "shipped" in s["routers"]
    for row in list(s["single"].values()) + list(s["routers"].values()) + [s["oracle"]]:
        assert 0 <= row["far"] <= 1 and 0 <= row["frr"] <= 1 and row["mean_latency_ms"] > 0
    sh = s["routers"]["shipped"]
    assert 0 < sh["overhead_ms"] < 0.05 * sh["mean_latency_ms"]  # it computes features
    assert abs(sum(sh["share"].values()) - 1) < 1e-2
    lat = [x["mean_latency_ms"] for x in s["single"].values()]
    assert min(lat) - 0.01 <= sh["mean_latency_ms"] - sh["overhead_ms"] <= max(lat) + 0.01
    assert {"speedup", "far_delta", "frr_delta", "overhead_fraction"} <= set(s["targets"])


def test_eval_on_a_folder_refuses_set_names_and_thin_folders(tmp_path, shared_data):
    from eyeauth.evaluation import premodel
    from eyeauth.errors import DataError, UsageError

    _zoo("face")
    with pytest.raises(UsageError, match="with --data the folder is the set"):
        premodel.evaluate("face", data=shared_data / "faces/orl", sets=["orl"])
    one = tmp_path / "one"
    (one / "ann").mkdir(parents=True)
    for f in sorted((shared_data / "faces/orl/s1").iterdir())[:5]:
        (one / "ann" / f.name).write_bytes(f.read_bytes())
    with pytest.raises(DataError, match="needs 2 or more"):
        premodel.evaluate("face", data=one)


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
