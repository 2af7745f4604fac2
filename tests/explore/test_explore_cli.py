"""`eyeauth explore` end to end on the fake zoo; the executor is swappable."""
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from eyeauth.cli.main import main
from eyeauth.errors import UsageError
from eyeauth.explore import run, space, sweep

FAST = ["--assume", "python_stages=assumed"]


def test_explore_json_has_the_keys(fake_zoo, tmp_path, capsys):
    _, scores = fake_zoo
    out = tmp_path / "out"
    rc = main(["explore", "--out", str(out), "--json", "--scores", str(scores), "--workers", "2",
               *FAST])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("boards", "configurations", "pareto", "anchors", "findings", "files"):
        assert key in data
    assert isinstance(data["pareto"], list) and data["pareto"]
    assert {b["variant"] for b in data["boards"]} >= {"esp-eye", "esp32-cam+no-mic"}
    rows = data["configurations"]
    assert any(not r["feasible"] and r["reason"] == "no microphone on esp32-cam+no-mic"
               for r in rows)
    assert all(r["feasible"] or r["reason"] for r in rows)
    text = (out / "guidelines.md").read_text()
    assert "eyeauth explore --out" in text and "## What wins at each price point" in text
    for name in ("pareto_cost_time.png", "pareto_cost_frr.png", "time_vs_frr.png",
                 "configurations.csv.gz", "pareto.csv"):
        assert (out / name).stat().st_size > 0


class MapOnly:
    """An executor-like object with nothing but map (like a Ray Pool)."""

    def __init__(self):
        self.calls = 0

    def map(self, fn, items):
        self.calls += 1
        return [fn(x) for x in items]


class Future:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


class FuturesMap:
    """map returning futures, like a dask distributed Client."""

    def map(self, fn, items):
        return [Future(fn(x)) for x in items]


class SubmitOnly:
    def submit(self, fn, x):
        return Future(fn(x))


def test_executor_is_swappable(fake_zoo, tmp_path):
    _, scores = fake_zoo
    a = run.A.with_overrides({"python_stages": "assumed"})
    configs, ctx, _ = run.build(assumptions=a, scores_path=scores, board_names=["esp-eye"])
    ref = sweep.run(configs, ctx, workers=1)
    fake = MapOnly()
    assert sweep.run(configs, ctx, executor=fake) == ref and fake.calls == 1
    assert sweep.run(configs, ctx, executor=FuturesMap()) == ref
    assert sweep.run(configs, ctx, executor=SubmitOnly()) == ref
    with ThreadPoolExecutor(2) as pool:
        assert sweep.run(configs, ctx, executor=pool) == ref
    with pytest.raises(UsageError, match="neither map nor submit"):
        sweep.run(configs, ctx, executor=object())
    data = run.explore(tmp_path / "o", board_names=["esp-eye"], executor=MapOnly(),
                       overrides={"python_stages": "assumed"}, scores_path=scores, plots=False)
    assert len(data["configurations"]) == len(ref)


def test_unfit_configuration_is_excluded_with_reason(fake_zoo):
    _, scores = fake_zoo
    a = run.A.with_overrides({"python_stages": "assumed"})
    configs, ctx, _ = run.build(assumptions=a, scores_path=scores,
                                board_names=["esp32-cam"], policies=["face"])
    rows = {(r["variant"], r["face_model"], r["bits"], r["premodel"]): r
            for r in sweep.run(configs, ctx, workers=1)}
    small = rows[("esp32-cam+no-psram", "face_a", "int8", False)]
    big = rows[("esp32-cam+no-psram", "face_b", "int8", False)]
    assert small["feasible"] and small["unlock_s"] > 0
    assert not big["feasible"] and big["reason"].startswith("no PSRAM: arenas need")
    assert rows[("esp32-cam", "face_b", "int8", False)]["feasible"]
    # 16x8 needs a TFLM int16 kernel for every op of the model
    assert rows[("esp32-cam", "face_b", "int16x8", False)]["reason"] == \
        "TFLM has no 16x8 kernel for L2_NORMALIZATION"
    assert rows[("esp32-cam", "face_a", "int16x8", False)]["feasible"]


def test_bad_arguments_are_one_line_errors(fake_zoo, tmp_path, capsys):
    _, scores = fake_zoo
    for argv in (["explore"], ["explore", "--out", str(tmp_path), "--assume", "bogus=1"],
                 ["explore", "--out", str(tmp_path), "--policy", "telepathy",
                  "--scores", str(scores)],
                 ["explore", "--out", str(tmp_path), "--scores", str(tmp_path / "none.json")]):
        assert main(argv) != 0
        err = capsys.readouterr().err
        assert err.startswith("eyeauth: ") and err.count("\n") == 1, argv


def test_space_enumeration_offers_the_router_only_with_its_final_model():
    variants = [{"variant": "v"}]
    routers = {"face": {"chain": ["f1", "f2"], "final": "f2", "runs": [1.0, 0.3]}}
    cfgs = space.enumerate_configs(variants, ["f1", "f2"], ["v1"], policies=["face", "sum"],
                                   routers=routers)
    face = [c for c in cfgs if c["policy"] == "face"]
    assert len(face) == 2 * 2 + 1 * 2  # f1: premodel off only; f2: on and off; x 2 bit widths
    assert not any(c["premodel"] and c["face_model"] == "f1" for c in cfgs)
    assert not any(c["premodel"] for c in space.enumerate_configs(variants, ["f1", "f2"], ["v1"],
                                                                  policies=["face"]))


def test_router_configuration_uses_the_measured_chain(fake_zoo):
    """premodel on: each model of the router's chain weighted by the share of attempts that run
    it, plus the router's cost; FRR / FAR moved by its measured deltas."""
    _, scores = fake_zoo
    a = run.A.with_overrides({"python_stages": "assumed"})
    _, ctx, _ = run.build(assumptions=a, scores_path=scores, board_names=["esp-eye"],
                          policies=["face"])

    def rows(runs_b):
        ctx["routers"] = {"face": {"chain": ["face_a", "face_b"], "final": "face_b",
                                   "runs": [1.0, runs_b], "overhead_ms": {"esp-eye": 2.0},
                                   "frr_delta": 0.01, "far_delta": 0.0}}
        cfgs = space.enumerate_configs([{"variant": v} for v in ctx["boards"]],
                                       ["face_a", "face_b"], [], policies=["face"],
                                       bits=["int8"], routers=ctx["routers"])
        return {(r["variant"], r["face_model"], r["premodel"]): r
                for r in sweep.run(cfgs, ctx, workers=1)}

    r0, r25, r1 = rows(0.0), rows(0.25), rows(1.0)
    v = "esp-eye"
    small, off = r0[(v, "face_a", False)], r0[(v, "face_b", False)]
    on0, on25, on1 = (r[(v, "face_b", True)] for r in (r0, r25, r1))
    assert on0["feasible"] and small["feasible"] and off["feasible"]
    # nothing escalates: the small model's attempt plus the router's cost (more when the
    # chain's arenas no longer all fit in SRAM)
    assert on0["face_ms"] >= small["face_ms"] + 2.0 - 0.02 and on0["face_ms"] < off["face_ms"]
    # every attempt escalates: more than the big model alone; linear in between
    assert on1["face_ms"] > off["face_ms"]
    assert on25["face_ms"] == pytest.approx(on0["face_ms"] + 0.25 * (on1["face_ms"] - on0["face_ms"]),
                                            abs=0.02)
    assert on25["frr"] >= off["frr"]  # +1 point of FRR (its best operating point may move)
