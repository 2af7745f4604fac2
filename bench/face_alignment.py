"""The face EER with and without the board's alignment, on the cross-dataset face sets.

    python3 bench/face_alignment.py [--model face_s48 ...] [--json]

"with": the release as shipped (detector box -> landmark net -> similarity-aligned crop).
"without": the same release with the landmark net left out, which the board and the host handle
by placing the template's five points in the detector box (align.box_points): the crop then
carries the box's error and the head's roll, as the unaligned models' crops did. The embedders
are the same in both columns (trained on aligned crops), so the difference is what the landmark
net buys these models; the unaligned models of c076b0e (trained on box crops) are in
models/README.md for the other comparison. Scored as `eyeauth models eval` scores (the board's
rule, int8 through TFLM).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from eyeauth.models import zoo


def _eval(models_dir, names):
    cmd = [sys.executable, "-m", "eyeauth", "models", "eval", "--modality", "face", "--json",
           "--models", str(models_dir)] + [a for n in names for a in ("--model", n)]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ}, check=False)
    if out.returncode != 0:
        sys.exit(f"face_alignment: `{' '.join(cmd[1:])}` failed: {out.stderr.strip()[-300:]}")
    return json.loads(out.stdout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append", help="face model (repeatable; default: all)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    src = zoo.models_dir()
    names = args.model or [c["name"] for c in zoo.list_models(modality="face")]
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "models"
        shutil.copytree(src, bare)
        for p in [bare / f"{zoo.LANDMARK}.json", bare / f"{zoo.LANDMARK}.tflite",
                  bare / "float" / f"{zoo.LANDMARK}.tflite"]:
            p.unlink(missing_ok=True)
        rows = {"with": _eval(src, names), "without": _eval(bare, names)}
    table = {}
    for how, sets in rows.items():
        for s in sets:
            for m in s["models"]:
                table.setdefault(s["set"], {}).setdefault(m["name"], {})[how] = m["eer"]
    if args.json:
        print(json.dumps(table, indent=1))
        return 0
    print(f"{'set':12s} {'model':10s} {'aligned':>8s} {'box only':>9s}")
    for s, ms in table.items():
        for n, v in ms.items():
            print(f"{s:12s} {n:10s} {100 * v['with']:7.1f}% {100 * v['without']:8.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
