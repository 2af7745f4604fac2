"""The host's numpy scoring and fusion rules are the board's: checked against the firmware files,
run in the real MicroPython VM (pipeline.py) and as plain Python (fusion.py)."""
import json

import numpy as np
import pytest

from eyeauth import mpvm
from eyeauth.evaluation import fusion as fusion_eval, scoring as T
from eyeauth.evaluation import scoring as metrics

VM_SCRIPT = """
import json
from eyeauth_fw import pipeline
cases = json.loads(%r)
out = []
for c in cases:
    samples = [pipeline.quantize_unit(s) for s in c["enrol"]]
    out.append({"q": [list(s) for s in samples], "score": pipeline.score(c["probe"], samples)})
print("OUT " + json.dumps(out))
"""


def _unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


def _cases():
    rng = np.random.default_rng(7)
    cases = []
    for dim, n in ((8, 3), (64, 5), (128, 1)):
        enrol = [_unit(rng.normal(size=dim)) for _ in range(n)]
        cases.append({"enrol": [e.tolist() for e in enrol],
                      "probe": _unit(rng.normal(size=dim) + enrol[0]).tolist()})
    # rounding ties (x*127 = k + 0.5, exactly representable), values past +-1 (clipped), and a
    # pair of samples summing to zero (the board then divides by 1)
    ties = [0.5 / 127, 1.5 / 127, -2.5 / 127, 1.2, -1.3, 0.0]
    cases.append({"enrol": [ties], "probe": _unit([1, 2, 3, 4, 5, 6]).tolist()})
    cases.append({"enrol": [[0.5, -0.5, 0.25], [-0.5, 0.5, -0.25]],
                  "probe": _unit([1, 0, 0]).tolist()})
    return cases


def test_numpy_scoring_equals_firmware_under_micropython(tmp_path):
    cases = _cases()
    got = mpvm.run_json(mpvm.firmware_prelude() + VM_SCRIPT % json.dumps(cases), "OUT", timeout=60,
                        what="scoring")
    for case, fw in zip(cases, got):
        q = T.quantize_unit(np.array(case["enrol"]))
        assert (q.view(np.uint8) == np.array(fw["q"], np.uint8)).all()
        assert T.score(case["probe"], q) == pytest.approx(fw["score"], abs=1e-12)
        tpl = T.template(q)
        assert T.score_matrix([case["probe"]], [tpl])[0, 0] == pytest.approx(fw["score"],
                                                                            abs=1e-12)
    assert got[-1]["score"] == 0.0  # zero-sum template


def test_score_matrix_matches_per_pair_scoring():
    rng = np.random.default_rng(3)
    probes = np.array([_unit(v) for v in rng.normal(size=(6, 16))])
    enrols = [T.quantize_unit(np.array([_unit(v) for v in rng.normal(size=(3, 16))]))
              for _ in range(4)]
    m = T.score_matrix(probes, np.stack([T.template(e) for e in enrols]))
    for i, p in enumerate(probes):
        for j, e in enumerate(enrols):
            assert m[i, j] == pytest.approx(T.score(p, e), abs=1e-12)


def test_fused_scores_give_the_firmware_decisions():
    from eyeauth.fw import fusion as fus

    assert set(fus.POLICIES) == {"face", "voice", "sum", "both", "cascade"}
    mg = fus.CASCADE_MARGIN
    rng = np.random.default_rng(5)
    f = np.concatenate([rng.normal(0, 0.15, 400), [0.0, mg, -mg, mg / 2, -mg / 2, 0.3, -0.3]])
    v = np.concatenate([rng.normal(0, 0.15, 400), [0.0, -0.01, 0.5, -mg / 2, mg / 2, -1, 1]])
    for policy in fus.POLICIES:
        acc, used = fusion_eval.device_decisions(policy, f, v)
        assert (acc == (fusion_eval.fused_score(policy, f, v) >= 0)).all(), policy
        if policy == "cascade":
            assert (used == (np.abs(f) < mg)).all()


def test_eer_threshold_sits_where_far_meets_frr():
    rng = np.random.default_rng(11)
    g, i = rng.normal(0.7, 0.1, 300), rng.normal(0.3, 0.1, 2000)
    e, thr = T.eer_threshold(g, i)
    assert e == metrics.eer(g, i)
    far, frr = np.mean(i >= thr), np.mean(g < thr)
    assert abs(far - e) < 0.01 and abs(frr - e) < 0.01
    assert 0.4 < thr < 0.6
