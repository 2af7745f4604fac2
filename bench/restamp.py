"""Re-stamp the cards' build_hash after a change that provably does not alter what a model's
build does (code moved into or out of the training package unchanged, a recipe's declared
identity restated, a merge that touched only another recipe). It does not retrain: use it only
after reading `git diff` of the training code (eyeauth/training: the files
eyeauth.training.code_files lists for each recipe) since the models were built, and say why in
the commit. The records that name a build (thresholds.json's calibration, the premodels' zoo,
the committed explorer scores) move with the cards, so `eyeauth release check` stays clean.
A card without the sha256 of its file (built before the build recorded it) gets the hash of
the file beside it: run it on a checkout whose .tflite files are the built ones (the threshold
calibration in thresholds.json records the same hashes for the embedders: compare).
Prints old -> new per model."""
import json
import sys
from pathlib import Path

from eyeauth.models import build, zoo

names = sys.argv[1:] or None
moved = {}
for entry, ds, tr, te, key, current in build.plan(names=names):
    path = zoo.card_path(entry["name"])
    card = json.loads(path.read_text())
    print(f"{entry['name']}: {card['build_hash']} -> {key}{' (already current)' if current else ''}")
    if card["build_hash"] != key:
        moved[card["build_hash"]] = key
    card["build_hash"] = key
    if "sha256" not in card:  # cards built before the build recorded their file's hash
        import hashlib

        card["sha256"] = hashlib.sha256(zoo.tflite_path(entry["name"]).read_bytes()).hexdigest()
        print(f"{entry['name']}: sha256 of {entry['name']}.tflite recorded on the card")
    path.write_text(json.dumps(card, indent=1) + "\n")

# every other record of those builds: the exact 16-hex strings, nothing else is touched
from eyeauth import REPO_ROOT  # noqa: E402

records = [zoo.models_dir() / "thresholds.json", *sorted(zoo.models_dir().glob("premodel_*.json")),
           REPO_ROOT / "host" / "eyeauth" / "explore" / "scores.json"]
for f in records:
    if not f.exists():
        continue
    text = f.read_text()
    new = text
    for old, key in moved.items():
        new = new.replace(f'"{old}"', f'"{key}"')
    if new != text:
        f.write_text(new)
        print(f"{Path(f).name}: build hashes re-stamped")
