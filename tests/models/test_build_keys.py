"""Build keys come from declared inputs (eyeauth/training/__init__.py): moving or renaming
evaluation and glue code never changes them; editing training code, or a recipe's declared
RECIPE / TEACHER, does, and only for the recipes that use it."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from eyeauth import REPO_ROOT, training
from eyeauth.errors import ModelError

RECIPES = ("detector", "landmark", "face", "voice", "keyword")


def _keys_of(host_copy, shared_data):
    """{model: build key} computed by the eyeauth in ``host_copy`` (a copy of host/ next to a
    copy of data/), on the committed models folder and the shared data, in a fresh process."""
    script = ("import json; from eyeauth.models import build; "
              f"print(json.dumps({{e['name']: k for e, *_, k, _ in build.plan({str(shared_data)!r})}}))")
    env = {**os.environ, "PYTHONPATH": str(host_copy), "EYEAUTH_MODELS_DIR": str(REPO_ROOT / "models")}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def tree(tmp_path_factory, shared_data):
    """A copy of the checkout's host/ and data/ (what the build key can read)."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(REPO_ROOT / "host", root / "host",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "scores.json"))
    shutil.copytree(REPO_ROOT / "data", root / "data")
    return root


def test_the_committed_zoo_is_current_under_these_keys(tree, shared_data):
    from eyeauth.models import build

    stale = [e["name"] for e, *_, current in build.plan(str(shared_data)) if not current]
    assert not stale, f"{stale}: retrain, or restamp after reading the training diff (bench/restamp.py)"


def test_moving_evaluation_and_glue_code_keeps_every_key(tree, shared_data):
    from eyeauth.models import build

    before = {e["name"]: key for e, *_, key, _ in build.plan(str(shared_data))}
    pkg = tree / "host" / "eyeauth"
    # evaluation moved and renamed, glue edited: none of it is training code
    (pkg / "evaluation" / "cards.py").rename(pkg / "evaluation" / "card_figures.py")
    (pkg / "evaluation" / "folder.py").rename(pkg / "evaluation" / "folders.py")
    (pkg / "models" / "voice_phrase.py").write_text(
        (pkg / "models" / "voice_phrase.py").read_text() + "\n\ndef moved_here():\n    return 1\n")
    glue = pkg / "models" / "build.py"
    glue.write_text(glue.read_text().replace("def card_of(", "def assemble_card(")
                    .replace("card_of(entry,", "assemble_card(entry,") + "\n# glue edited\n")
    assert _keys_of(tree / "host", shared_data) == before


def test_editing_training_code_changes_the_keys_of_the_recipes_that_use_it(tmp_path):
    root = tmp_path / "training"
    shutil.copytree(training.HERE, root, ignore=shutil.ignore_patterns("__pycache__"))
    base = {r: training.code_key(r, root) for r in RECIPES}
    assert base == {r: training.code_key(r) for r in RECIPES}  # a copy keys the same

    def edit(name, old, new):
        f = root / name
        text = f.read_text()
        f.write_text(text.replace(old, new, 1) if old else text + new)

    def changed():
        return {r for r in RECIPES if training.code_key(r, root) != base[r]}

    edit("face.py", None, "\n# face training changed\n")
    assert changed() == {"face"}
    edit("voice.py", 'RECIPE = "voice/2"', 'RECIPE = "voice/3"')
    assert changed() == {"face", "voice"}
    edit("face_frames.py", None, "\n# the face path's camera framings\n")
    assert changed() == {"face", "voice", "detector", "landmark"}
    edit("nets.py", None, "\n# every recipe builds on the backbone\n")
    assert changed() == set(RECIPES)


def test_a_recipe_changes_the_build_key_through_its_code_key(monkeypatch, tmp_path, shared_data):
    from eyeauth.models import build

    before = {e["name"]: key for e, *_, key, _ in build.plan(str(shared_data))}
    root = tmp_path / "training"
    shutil.copytree(training.HERE, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "keyword.py").write_text((root / "keyword.py").read_text() + "\n# changed\n")
    monkeypatch.setattr(training, "HERE", root)
    after = {e["name"]: key for e, *_, key, _ in build.plan(str(shared_data))}
    assert {n for n in before if before[n] != after[n]} == {"kw10"}


def test_a_new_recipe_declares_its_version_and_teacher(tmp_path):
    root = tmp_path / "training"
    shutil.copytree(training.HERE, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "face_aligned.py").write_text(
        '"""A second face recipe."""\nfrom eyeauth.training import face, nets\n\n'
        'RECIPE = "face_aligned/1"\nTEACHER = "another teacher/v1"\n\n\n'
        'def train(entry, data, out_dir):\n    raise NotImplementedError\n')
    assert training.code_files("face_aligned", root) == [
        "face.py", "face_aligned.py", "face_frames.py", "nets.py", "synth.py"]
    key = training.code_key("face_aligned", root)
    (root / "face_aligned.py").write_text((root / "face_aligned.py").read_text().replace(
        "another teacher/v1", "another teacher/v2"))
    assert training.code_key("face_aligned", root) != key
    (root / "bad.py").write_text("RECIPE = 'bad/1'\n")
    with pytest.raises(ModelError, match="TEACHER"):
        training.code_key("bad", root)
    with pytest.raises(ModelError, match="no training recipe 'nope'"):
        training.code_key("nope", root)
    assert training.recipe_name({"modality": "face", "recipe": "face_aligned"}) == "face_aligned"


def test_the_face_path_keys_are_a_chain(tmp_path, shared_data):
    """The landmark net trains on the detector's boxes and the embedders on the crops both cut:
    a new detector entry changes the landmark net's key and every face model's, never a voice
    model's."""
    from eyeauth.models import build

    models = tmp_path / "models"
    shutil.copytree(REPO_ROOT / "models", models)
    before = {e["name"]: key for e, *_, key, _ in build.plan(str(shared_data), models)}
    spec = json.loads((models / "zoo.json").read_text())
    for e in spec["models"]:
        if e["modality"] == "detector":
            e["head"] = e.get("head", 32) + 8
    (models / "zoo.json").write_text(json.dumps(spec))
    after = {e["name"]: key for e, *_, key, _ in build.plan(str(shared_data), models)}
    moved = {n for n in before if before[n] != after[n]}
    kinds = {e["name"]: e["modality"] for e in spec["models"]}
    assert moved == {n for n, m in kinds.items() if m in ("detector", "landmark", "face")}
