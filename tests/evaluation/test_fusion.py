"""`eyeauth eval fusion` on four virtual persons, its CLI, costs and errors."""
import json

import pytest

from eyeauth.evaluation import fusion as fusion_eval
from eyeauth.latency import stages as costs
from eyeauth.cli.main import main
from eyeauth.errors import DataError

POLICIES = ("face", "voice", "sum", "both", "cascade")
METRICS = ("eer", "far", "frr", "frr_at_far_1pct", "mean_latency_ms")


@pytest.fixture(scope="module")
def result(mini_models, mini_thresholds, four_persons):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EYEAUTH_MODELS_DIR", str(mini_models["dir"]))
        return fusion_eval.evaluate(four_persons["faces"], four_persons["voices"], seed=1)


def test_keys_and_ranges(result, mini_models):
    assert result["persons"] == 4
    assert result["models"] == {"face": mini_models["face"], "voice": mini_models["voice"]}
    t = result["trials"]
    assert t["per_person"] == 7  # 12 clips - 5 enrolled > 10 images - 3 enrolled
    assert t["genuine"] == 4 * 7 and t["impostor"] == 4 * 7 * 3
    assert set(result["policies"]) == set(POLICIES)
    for name, p in result["policies"].items():
        for k in METRICS:
            assert k in p, (name, k)
        for k in ("eer", "far", "frr", "frr_at_far_1pct", "voice_fraction"):
            assert 0.0 <= p[k] <= 1.0, (name, k, p[k])
        assert p["mean_latency_ms"] > 0
    pol = result["policies"]
    lat = result["latency"]
    assert pol["face"]["mean_latency_ms"] == pytest.approx(lat["face_ms"], abs=0.2)
    assert pol["voice"]["mean_latency_ms"] == pytest.approx(lat["voice_ms"], abs=0.2)
    assert pol["sum"]["mean_latency_ms"] == pytest.approx(lat["face_ms"] + lat["voice_ms"],
                                                          abs=0.2)
    assert pol["face"]["mean_latency_ms"] <= pol["cascade"]["mean_latency_ms"] \
        <= pol["sum"]["mean_latency_ms"]
    assert result["best_fused"]["policy"] in ("sum", "both", "cascade")


def test_same_seed_same_result(result, mini_models, four_persons, monkeypatch):
    monkeypatch.setenv("EYEAUTH_MODELS_DIR", str(mini_models["dir"]))
    again = fusion_eval.evaluate(four_persons["faces"], four_persons["voices"], seed=1)
    assert again["policies"] == result["policies"]


def test_cli_json_and_table(use_models, mini_thresholds, four_persons, capsys):
    argv = ["eval", "fusion", "--faces", str(four_persons["faces"]), "--voices",
            str(four_persons["voices"]), "--persons", "3", "--trials-per-person", "4"]
    assert main(argv + ["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["persons"] == 3 and data["trials"]["genuine"] == 12
    assert main(argv) == 0
    text = capsys.readouterr().out
    for name in POLICIES:
        assert f"\n{name} " in text
    assert "best fused policy" in text


def test_python_stage_costs_are_vm_times_the_board_factor():
    from eyeauth.board.configs import load_board

    c = costs.stage_costs([48], [(32, 20)], [(64, 3)])
    f = load_board("esp-eye")["python_speed_factor"]
    assert c["python_speed_factor"] == f
    assert set(c["vm_us"]) == {"lmk_pre", "face_pre:48", "vad", "logmel:32x20", "match:64x3",
                               "fusion"}
    for k, us in c["vm_us"].items():
        assert c["modeled_ms"][k] == pytest.approx(us * f / 1000, abs=1e-3)
    # logmel:TxM is the window read from the front end's rows (the front end itself is a
    # network, costed by the timing model: modeled_ms["frontend"])
    assert min(v for k, v in c["vm_us"].items() if k != "fusion") > 0  # fusion: a few comparisons
    assert c["modeled_ms"]["frontend"] > 0
    assert costs.stage_costs([48], [(32, 20)], [(64, 3)])["cached"]



def test_empty_folder_is_one_line_data_error(use_models, mini_thresholds, four_persons,
                                             tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError) as exc:
        fusion_eval.evaluate(empty, four_persons["voices"])
    assert "\n" not in str(exc.value)
    code = main(["eval", "fusion", "--faces", str(empty), "--voices",
                 str(four_persons["voices"])])
    err = capsys.readouterr().err
    assert code == DataError.exit_code
    assert err.startswith("eyeauth: ") and err.count("\n") == 1


def test_too_few_files_to_enrol(use_models, mini_thresholds, four_persons):
    with pytest.raises(DataError, match="need more than 10"):
        fusion_eval.evaluate(four_persons["faces"], four_persons["voices"], enrol_face=10)


def test_latency_model_takes_the_network_times_of_the_boards_chip():
    """Each board's own chip figures from the cards (an ESP32-S3 board is not timed with the
    ESP32's networks)."""
    from eyeauth.models import zoo

    face, voice = zoo.list_models(modality="face"), zoo.list_models(modality="voice")
    if not face or not voice:
        pytest.skip("no face and voice models built")
    f, v = face[0], voice[0]
    for board, chip in (("esp-eye", "esp32"), ("esp32-s3-eye", "esp32s3")):
        lat = fusion_eval.latency_model(f, v, 3, 5, board)
        assert lat["face_stages_ms"][f"nn:{f['name']}"] == f["latency_ms"][f"{chip}_espnn"]
        assert lat["voice_stages_ms"][f"nn:{v['name']}"] == v["latency_ms"][f"{chip}_espnn"]
