"""Re-stamp the cards' build_hash after a change that provably does not alter what a model's
build does (a merge that touched only another modality's code, comments, the hash's own
inputs). It does not retrain: use it only after reading `git diff` of the hashed code
(eyeauth.models.build.code_hash) since the models were built, and say why in the commit.
Prints old -> new per model."""
import json
import sys

from eyeauth.models import build, zoo

names = sys.argv[1:] or None
for entry, ds, tr, te, key, current in build.plan(names=names):
    path = zoo.card_path(entry["name"])
    card = json.loads(path.read_text())
    print(f"{entry['name']}: {card['build_hash']} -> {key}{' (already current)' if current else ''}")
    card["build_hash"] = key
    path.write_text(json.dumps(card, indent=1) + "\n")
