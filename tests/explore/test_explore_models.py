"""Memory fit, UX arithmetic, Pareto fronts, fusion operating points, assumptions."""
import numpy as np
import pytest

from eyeauth.errors import UsageError
from eyeauth.explore import assumptions, fusion, memory, pareto, ux
from eyeauth.evaluation import scoring as metrics

A = assumptions.Assumptions()


def board(psram=4 * 2**20, mic=True, vfs=2 * 2**20, chip="esp32"):
    return {"name": "b", "variant": "b", "chip": chip, "psram_usable_bytes": psram,
            "sram_bytes": 532480,
            "micropython_heap_bytes": 2 * 2**20 if psram else 65536, "has_mic": mic,
            "microphone": "x" if mic else None, "flash_layout": {"vfs_size": vfs}}


def part(name, arena, flash=100_000, ms=100.0):
    return {"name": name, "arena_bytes": arena, "flash_bytes": flash, "ms": ms}


def test_fits_with_psram_and_places_slowest_arena_in_sram():
    m = memory.check(board(), [part("det", 40_000, ms=80), part("big", 200_000, ms=900),
                               part("mid", 100_000, ms=300)], A)
    assert m["fits"] and m["reason"] is None
    assert m["arena_in"]["big"] == "sram"  # slowest model gets SRAM first
    assert "psram" in m["arena_in"].values()


def test_no_psram_big_arena_is_excluded_with_reason():
    m = memory.check(board(psram=0), [part("det", 40_000), part("big", 200_000)], A)
    assert not m["fits"]
    assert m["reason"].startswith("no PSRAM: arenas need")


def test_no_mic_and_small_flash_are_excluded_with_reason():
    m = memory.check(board(mic=False), [part("v", 10_000)], A, needs_mic=True)
    assert not m["fits"] and m["reason"] == "no microphone on b"
    m = memory.check(board(vfs=300_000), [part("a", 10_000, flash=250_000)], A)
    assert not m["fits"] and "VFS is" in m["reason"]


def test_ux_hand_computed():
    # q = 0.5, N = 2, T = 1, R = 1, L = 10:
    # k=1: 0.5 * 1; k=2: 0.25 * (2 + 1); lock-out: 0.25 * (2 + 1 + 10)  -> 0.5 + 0.75 + 3.25
    u = ux.unlock(0.5, 1.0, 1.0, attempts=2, lockout_penalty_s=10.0, far=0.01)
    assert u["unlock_s"] == pytest.approx(4.5)
    assert u["lockout"] == pytest.approx(0.25)
    assert u["first_try"] == pytest.approx(0.5)
    assert u["mean_attempts"] == pytest.approx(0.5 + 0.25 * 2 + 0.25 * 2)
    assert u["unlock_given_success_s"] == pytest.approx((0.5 + 0.75) / 0.75)
    assert u["impostor_success"] == pytest.approx(1 - 0.99 ** 2)
    perfect = ux.unlock(0.0, 0.8, 1.5, attempts=5)
    assert perfect["unlock_s"] == pytest.approx(0.8) and perfect["lockout"] == 0.0
    with pytest.raises(UsageError):
        ux.unlock(1.5, 1.0, 1.0)


def test_pareto_front_on_a_tiny_set():
    rows = [{"bom_usd": 10, "unlock_s": 3.0, "frr": 0.3},   # 0: front (cheapest)
            {"bom_usd": 10, "unlock_s": 4.0, "frr": 0.3},   # 1: dominated by 0
            {"bom_usd": 20, "unlock_s": 2.0, "frr": 0.3},   # 2: front (faster)
            {"bom_usd": 20, "unlock_s": 2.0, "frr": 0.3},   # 3: tie with 2: kept
            {"bom_usd": 30, "unlock_s": 5.0, "frr": 0.1},   # 4: front (most accurate)
            {"bom_usd": 30, "unlock_s": 5.0, "frr": 0.4}]   # 5: dominated by 4
    assert pareto.front(rows) == [0, 2, 3, 4]
    assert pareto.front(rows, ("bom_usd", "unlock_s")) == [0, 2, 3]
    assert pareto.front([]) == []


def test_frr_at_far_matches_metrics():
    rng = np.random.default_rng(3)
    g, i = rng.normal(0.7, 0.15, 300), rng.normal(0.2, 0.15, 2000)
    # targets off the k/n grid: at exactly k/n, metrics' 1 - (n-k)/n can round above k/n
    for far in (0.0012, 0.0123, 0.101):
        frr, far_ = fusion.frr_at_far(g, i, far)
        assert frr == pytest.approx(metrics.frr_at_far(g, i, far))
        assert far_ <= far


def test_fusion_policies_on_hand_made_scores():
    face = (np.array([0.9, 0.8, 0.3]), np.array([0.1, 0.2, 0.5, 0.4]))
    voice = (np.array([0.9, 0.2, 0.8]), np.array([0.1, 0.2, 0.3, 0.6]))
    # FAR 0: face alone rejects the genuine 0.3 (an impostor scores 0.5): FRR 1/3
    assert fusion.single(*face, 0.0)["frr"] == pytest.approx(1 / 3)
    both = fusion.both(*face, *voice, 0.0)
    assert both["far"] == 0.0 and both["frr"] <= 2 / 3
    sep = (np.array([0.9, 0.8]), np.array([0.1, 0.2]))
    assert fusion.score_sum(*sep, *sep, 0.0)["frr"] == 0.0
    pts = fusion.cascade_points(*face, *voice, 0.25)
    assert pts and all(0 < p["p_second"] < 1 and p["far"] <= 0.25 + 1e-9 for p in pts)
    assert [p["frr"] for p in pts] == sorted((p["frr"] for p in pts), reverse=True)


def test_assumption_overrides():
    a = assumptions.with_overrides({"far_target": "0.001", "face_prep_ms.esp32": "20",
                                    "shared_arena": "true"})
    assert a.far_target == 0.001 and a.face_prep_ms["esp32"] == 20.0 and a.shared_arena
    assert a.face_prep_ms["esp32s3"] == A.face_prep_ms["esp32s3"]
    with pytest.raises(UsageError, match="unknown assumption"):
        assumptions.with_overrides({"nope": "1"})
    with pytest.raises(UsageError, match="per chip"):
        assumptions.with_overrides({"face_prep_ms": "3"})
    with pytest.raises(UsageError, match="KEY=VALUE"):
        assumptions.parse_sets(["far_target"])


def test_anchor_errors_are_reported():
    from eyeauth.explore import latency

    rows = latency.anchors()
    assert {(r["chip"], r["esp_nn"]) for r in rows} == {("esp32", True), ("esp32", False),
                                                          ("esp32s3", True), ("esp32s3", False)}
    published = {("esp32", True): 380, ("esp32s3", True): 54, ("esp32", False): 4084,
                 ("esp32s3", False): 2300}
    for r in rows:
        assert r["anchor_ms"] == published[(r["chip"], r["esp_nn"])]
        assert abs(r["error_pct"]) < 1.0 and r["calibrated_ms"] == pytest.approx(r["model_ms"],
                                                                                  abs=0.1)
        assert "table_only_error_pct" in r


def test_score_cache_staleness_and_errors(tmp_path):
    from eyeauth.errors import DataError
    from eyeauth.explore import scores

    cache = {"version": 1, "models": {"m": {"build_hash": "aaa"}}}
    assert scores.stale_reason(cache, {"name": "m", "build_hash": "aaa"}) is None
    assert "from build aaa" in scores.stale_reason(cache, {"name": "m", "build_hash": "bbb"})
    assert "no scores" in scores.stale_reason(cache, {"name": "x", "build_hash": "aaa"})
    face = {"version": 1, "models": {"f": {"build_hash": "h", "detector_hash": "d1"}}}
    card = {"name": "f", "modality": "face", "build_hash": "h"}
    assert scores.stale_reason(face, card, "d1") is None
    assert "detector build d1" in scores.stale_reason(face, card, "d2")
    with pytest.raises(DataError, match="eyeauth explore scores"):
        scores.load(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[1")
    with pytest.raises(DataError, match="corrupt"):
        scores.load(bad)


def test_score_cache_goes_to_the_cache_dir_not_the_package(tmp_path, monkeypatch):
    """Generated scores go where the user says or to $EYEAUTH_CACHE; the committed copy next to
    the module is only read, as the fallback when no cache exists yet."""
    from eyeauth.explore import scores

    monkeypatch.setenv("EYEAUTH_CACHE", str(tmp_path / "cache"))
    committed = scores.COMMITTED_PATH.stat().st_mtime_ns
    assert scores.default_path() == scores.COMMITTED_PATH
    cache = {"version": 1, "command": "eyeauth explore scores", "models": {}}
    written = scores.save(cache)
    assert written == tmp_path / "cache" / "explore_scores.json" and written.exists()
    assert scores.default_path() == written and scores.load() == cache
    assert scores.COMMITTED_PATH.stat().st_mtime_ns == committed
