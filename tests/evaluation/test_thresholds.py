"""models/thresholds.json agrees with the zoo, and `build` writes what the board reads."""
import json

import pytest

from eyeauth import MODELS_DIR
from eyeauth.models import zoo

KEYS = ("thresholds", "models", "default", "eer", "command", "data")


def _check(th, cards_by_modality):
    for k in KEYS:
        assert k in th, k
    assert th["command"] == "eyeauth eval thresholds"
    for mod, cards in cards_by_modality.items():
        by_macs = [c["name"] for c in sorted(cards, key=lambda c: (c.get("macs") or 0, c["name"]))]
        assert th["models"][mod] == by_macs, (
            f"{mod} models in thresholds.json {th['models'][mod]} != zoo {by_macs}: "
            "rerun `eyeauth eval thresholds`")
        for name in by_macs:
            assert -1.0 <= th["thresholds"][name] <= 1.0
            assert 0.0 <= th["eer"][name] <= 1.0
        if by_macs:
            best = min(by_macs, key=lambda n: (th["eer"][n], by_macs.index(n)))
            assert th["eer"][th["default"][mod]] == th["eer"][best]
        else:
            assert th["default"][mod] is None


def test_checked_in_file_is_consistent_with_the_zoo():
    cards = {m: zoo.list_models(MODELS_DIR, modality=m) for m in ("face", "voice")}
    if not any(cards.values()):
        pytest.skip("no built models")
    path = MODELS_DIR / "thresholds.json"
    assert path.exists(), "models/thresholds.json is missing: run `eyeauth eval thresholds`"
    th = json.loads(path.read_text())
    _check(th, cards)
    for name in th["thresholds"]:
        card = zoo.load_card(name, MODELS_DIR)
        assert th["data"]["per_model"][name]["build_hash"] == card.get("build_hash"), (
            f"{name} was rebuilt since thresholds.json: rerun `eyeauth eval thresholds`")


def test_build_on_a_small_zoo(mini_thresholds, mini_models):
    th = json.loads((mini_models["dir"] / "thresholds.json").read_text())
    assert th == {k: v for k, v in mini_thresholds.items() if k != "path"}
    cards = {m: zoo.list_models(mini_models["dir"], modality=m) for m in ("face", "voice")}
    _check(th, cards)
    assert th["default"] == {"face": mini_models["face"], "voice": mini_models["voice"]}
    # fitted on the calibration part of each model's split (data/splits.json), never on the
    # identities the cards report: faces with more than 3 photos (max 8 files each here),
    # voices on 3-word phrases of the calibration speakers
    from eyeauth import datasets, splits

    face = th["data"]["per_model"][mini_models["face"]]
    lfw = datasets.scan(splits.folder("lfw"), "face").files
    calib = [i for i in splits.identities("lfw", "calib") if len(lfw[i]) > 3]
    assert face["identities"] == calib and face["skipped_identities"] > 0
    g = sum(min(len(lfw[i]), 8) - 3 for i in calib)
    assert face["genuine_trials"] == g and face["impostor_trials"] == g * (len(calib) - 1)
    voice = th["data"]["per_model"][mini_models["voice"]]
    spk = splits.identities("speech_commands", "calib")
    assert voice["identities"] == spk and "phrases" in voice["data"]
    assert voice["genuine_trials"] == len(spk) * 3
    assert voice["impostor_trials"] == len(spk) * 3 * (len(spk) - 1)
