"""Identity splits of the shared data sets, in one committed file (``data/splits.json``).

Every data set is split by identity, never by file, into:

* ``train``     - the embedders and the detector learn from these identities only;
* ``calib``     - thresholds and score calibration are fitted on these (never trained on);
* ``premodel``  - reserved for the per-input chooser (premodel / routers): its labels and its
                  training come from these alone;
* ``eval``      - reported figures; nothing is fitted on them.

ORL and FSDD are evaluation-only sources (all their identities are ``eval``): they measure
transfer to a source the models never saw. LFW and Speech Commands are split 60/10/10/20,
stratified by the number of files per identity (2..6, then tens up to 50+) (so every part gets its share of identities
with enough files to enrol 3 images or 5 clips and score the rest). Within a stratum the order
is sha256(seed, identity name) and parts are dealt in a fixed cycle, so every part gets its
exact share of each stratum. The committed file is the truth: a build reads it, never
recomputes it. ``eyeauth models splits`` prints the counts; ``--write`` regenerates the file.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from eyeauth import REPO_ROOT, SHARED_DATA_DIR
from eyeauth.errors import DataError

SPLITS_FILE = REPO_ROOT / "data" / "splits.json"
PARTS = ("train", "calib", "premodel", "eval")
FRACTIONS = {"train": 0.6, "calib": 0.1, "premodel": 0.1, "eval": 0.2}
SEED = "eyeauth-splits-v1"

#: data set name -> (folder under ../shared/data, modality, split or evaluation-only)
SOURCES = {
    "lfw": ("faces/lfw", "face", True),
    "orl": ("faces/orl", "face", False),
    "speech_commands": ("voices/speech_commands", "voice", True),
    "fsdd": ("voices/fsdd/recordings", "voice", False),
}


def _rank(name):
    return hashlib.sha256(f"{SEED}/{name}".encode()).hexdigest()


def split_counts(counts, fractions=FRACTIONS):
    """{identity: part} for ``counts`` = {identity: number of files}: stratified by count,
    hash-ordered within a stratum, each part's share by cumulative rounding."""
    out, strata = {}, {}
    for ident, n in counts.items():
        strata.setdefault(n if n <= 6 else min(n // 10 * 10, 50), []).append(ident)
    # one running position over the concatenated strata keeps every part's total on target
    order = [i for k in sorted(strata) for i in sorted(strata[k], key=_rank)]
    cuts, acc = [], 0.0
    for p in PARTS:
        acc += fractions[p]
        cuts.append(acc)
    n = len(order)
    for pos, ident in enumerate(order):
        # position within a cycle of 10 so each stratum is spread over all parts
        frac = ((pos * 7) % 10 + 0.5) / 10 if n >= 10 else (pos + 0.5) / n
        out[ident] = next(p for p, c in zip(PARTS, cuts) if frac < c + 1e-9)
    return out


def generate(data_dir=None):
    """The splits of every source present under ``data_dir`` (default ../shared/data)."""
    from eyeauth import datasets

    root = Path(data_dir or SHARED_DATA_DIR)
    doc = {"about": __doc__.split("\n\n")[0].strip(), "seed": SEED, "fractions": FRACTIONS,
           "sets": {}}
    for name, (sub, modality, split) in SOURCES.items():
        folder = root / sub
        if not folder.is_dir():
            continue
        ds = datasets.scan(folder, modality)
        if split:
            parts = split_counts({i: len(f) for i, f in ds.files.items()})
        else:
            parts = {i: "eval" for i in ds.identities}
        doc["sets"][name] = {"folder": sub, "modality": modality,
                             **{p: [i for i in ds.identities if parts[i] == p] for p in PARTS}}
    return doc


def write(doc, path=SPLITS_FILE):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")


def load(path=SPLITS_FILE):
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path} is missing: run `eyeauth models splits --write`") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path} is not valid JSON ({e}); run `eyeauth models splits --write`") from None
    return doc


def identities(dataset, part, path=SPLITS_FILE):
    """The identities of ``dataset`` (e.g. "lfw") in ``part`` (train/calib/premodel/eval)."""
    if part not in PARTS:
        raise DataError(f"unknown split part {part!r}; use one of {', '.join(PARTS)}")
    sets = load(path)["sets"]
    if dataset not in sets:
        raise DataError(f"no split for data set {dataset!r} in {path}; known: {', '.join(sets)}")
    return list(sets[dataset][part])


def folder(dataset, data_dir=None):
    return Path(data_dir or SHARED_DATA_DIR) / SOURCES[dataset][0]


def summary(doc):
    """{set: {part: identity count}}."""
    return {name: {p: len(s[p]) for p in PARTS} for name, s in doc["sets"].items()}
