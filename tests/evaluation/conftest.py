"""Fixtures of the authentication-evaluation tests: a small zoo of real built models (linked
into a temporary models folder, so its thresholds.json is the test's own), small data subsets,
and a private cache for the VM stage timings."""
import shutil

import pytest

from eyeauth import MODELS_DIR


@pytest.fixture(scope="session", autouse=True)
def _private_costs_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EYEAUTH_COSTS_CACHE", str(tmp_path_factory.mktemp("costs") / "py_costs.json"))
        yield


def _cheapest(cards, modality):
    c = [x for x in cards if x["modality"] == modality]
    return min(c, key=lambda x: x.get("macs") or 0)["name"] if c else None


@pytest.fixture(scope="session")
def mini_models(tmp_path_factory):
    """A models folder with the detector, the audio front end and the cheapest built face and
    voice models."""
    from eyeauth.models import zoo

    cards = zoo.list_models(MODELS_DIR)
    face, voice = _cheapest(cards, "face"), _cheapest(cards, "voice")
    if not (face and voice and zoo.card_path(zoo.DETECTOR, MODELS_DIR).exists()):
        pytest.skip("needs the detector and a built face and voice model (eyeauth models build)")
    d = tmp_path_factory.mktemp("models")
    shutil.copy(MODELS_DIR / "zoo.json", d / "zoo.json")
    (d / "float").mkdir()
    for name in (zoo.DETECTOR, zoo.FRONTEND, face, voice):
        for rel in (f"{name}.json", f"{name}.tflite", f"float/{name}.tflite"):
            if (MODELS_DIR / rel).exists():
                (d / rel).symlink_to(MODELS_DIR / rel)
    return {"dir": d, "face": face, "voice": voice}


@pytest.fixture
def use_models(mini_models, monkeypatch):
    monkeypatch.setenv("EYEAUTH_MODELS_DIR", str(mini_models["dir"]))
    return mini_models


@pytest.fixture(scope="session")
def mini_thresholds(mini_models, shared_data):
    """thresholds.json of the mini zoo, built on 5 files per held-out identity (fast)."""
    from eyeauth.evaluation import thresholds

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EYEAUTH_MODELS_DIR", str(mini_models["dir"]))
        return thresholds.build(data_dir=shared_data, max_files=8)


@pytest.fixture(scope="session")
def four_persons(shared_data, tmp_path_factory):
    """faces/<id>/ (4 ORL identities, 10 images) and voices/<speaker>/ (4 FSDD speakers,
    12 clips over all digits), as links."""
    from eyeauth import datasets

    orl = shared_data / "faces" / "orl"
    fsdd = shared_data / "voices" / "fsdd" / "recordings"
    if not orl.is_dir() or not fsdd.is_dir():
        pytest.skip("../shared/data lacks faces/orl or voices/fsdd")
    root = tmp_path_factory.mktemp("persons")
    faces, voices = root / "faces", root / "voices"
    for ident in ("s31", "s32", "s33", "s34"):
        (faces / ident).mkdir(parents=True)
        for p in sorted((orl / ident).iterdir()):
            (faces / ident / p.name).symlink_to(p)
    ds = datasets.scan(fsdd, "voice")
    for spk in ds.identities[:4]:
        (voices / spk).mkdir(parents=True)
        files = ds.files[spk]
        for p in files[:: max(1, len(files) // 12)][:12]:
            (voices / spk / p.name).symlink_to(p)
    return {"faces": faces, "voices": voices}

