"""Face models on uncropped camera-like frames: the held-out identities pasted into scenes.

Each held-out image (per the face cards) is placed by ``synth.scene_frame`` (seed 77, face 40-95 %
of the frame height) into a cluttered 320x240 grey frame and saved as ``<identity>/<k>.png``;
then ``eyeauth.evaluation.folder`` runs detector -> crop -> embed on them and scores them as the board does.

    python3 bench/face_scenes.py [--data ../shared/data/faces/orl] [--keep DIR] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from eyeauth import SHARED_DATA_DIR, datasets
from eyeauth.evaluation import folder as evaluate
from eyeauth.models import zoo
from eyeauth.training import synth


def make_scenes(data, out, seed=77):
    cards = zoo.list_models(modality="face")
    if not cards:
        sys.exit("no built face models: run `eyeauth models build` first")
    ids = cards[0]["training"]["heldout_identities"]
    ds = datasets.scan(data, "face").subset(ids)
    rng = np.random.default_rng(seed)
    for ident in ids:
        d = Path(out) / ident
        d.mkdir(parents=True, exist_ok=True)
        for k, path in enumerate(ds.files[ident], 1):
            frame, _ = synth.scene_frame(datasets.load_image(path), rng, min_frac=0.4)
            Image.fromarray(frame).save(d / f"{k}.png")
    return ids


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(Path(SHARED_DATA_DIR) / "faces" / "orl"))
    ap.add_argument("--keep", help="write the frames here (kept); default: a temporary folder")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or tmp
        ids = make_scenes(args.data, out)
        rows = evaluate.evaluate(out, "face")
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"uncropped 320x240 scenes of {len(ids)} held-out identities "
          f"({rows[0]['genuine_trials']} genuine, {rows[0]['impostor_trials']} impostor trials)")
    for r in rows:
        print(f"  {r['name']:10s} EER int8 {r['eer'] * 100:5.1f} %   float {r['eer_float'] * 100:5.1f} %"
              f"   FRR@FAR1% {r['frr_at_far_1pct'] * 100:5.1f} %")


if __name__ == "__main__":
    main()
