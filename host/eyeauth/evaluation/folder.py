"""``eyeauth models eval --data DIR``: every zoo model of a modality on one ``<identity>/<files>``
folder, scored as the board scores (the cross-dataset protocol, :func:`eyeauth.evaluation.crosseval.evaluate_files`):
the first E files of each identity (natural order; E = 3 images, 5 clips) enrol as int8
samples, template = normalised sum; every other file probes every template; faces through the
detector and its presence gate (a refused frame is a reject), voices through the utterance
path (a clip without speech is a reject). Per model: EER int8 and float, FRR at FAR 1 %, and
FAR / FRR at the shipped threshold (models/thresholds.json).
"""
from __future__ import annotations

from eyeauth import datasets
from eyeauth.errors import DataError
from eyeauth.evaluation import crosseval
from eyeauth.models import zoo


def evaluate(data_dir, modality, names=None, enrol=None, detect=True, identities=None,
             heldout=False, teacher=False, thresholds=None):
    """One row per built model of ``modality`` (or ``names``) on ``data_dir``: the model's
    entry of :func:`crosseval.evaluate_files` plus the trial counts.

    ``identities``: only these identities; ``heldout``: for each model, only the identities its
    card lists as held out from its training; ``detect=False``: the images are face crops."""
    if modality not in ("face", "voice"):
        raise DataError(f"modality must be face or voice, not {modality!r}")
    ds = datasets.scan(data_dir, modality)
    if identities:
        ds = ds.subset(identities)
    cards = [c for c in zoo.list_models(modality=modality) if not names or c["name"] in names]
    if not cards:
        raise DataError(f"no built {modality} models{' named ' + ', '.join(names) if names else ''}; "
                        "run `eyeauth models build` (`eyeauth models list` shows what is built)")
    groups = {}
    for c in cards:
        ids = tuple(c.get("training", {}).get("heldout_identities", ())) if heldout else ()
        groups.setdefault(ids, []).append(c)
    rows = {}
    for ids, group in groups.items():
        sub = ds
        if ids:
            missing = [i for i in ids if i not in ds.files]
            if missing:
                raise DataError(f"{data_dir} lacks the held-out identities {', '.join(missing)} "
                                "of the zoo; drop --heldout")
            sub = ds.subset(list(ids))
        res = crosseval.evaluate_files(str(data_dir), modality, dict(sub.files), str(data_dir),
                                       group, teacher, thresholds, enrol, detect=detect)
        for m in res["models"]:
            rows[m["name"]] = {**m, "modality": modality, "identities": res["identities"],
                               "skipped_identities": res["skipped_identities"],
                               "files": res["files"], "enrol_per_identity": res["enrol"],
                               "refused_probes": res["refused_probes"],
                               "genuine_trials": res["genuine_trials"],
                               "impostor_trials": res["impostor_trials"],
                               "teacher": res["teacher"]}
    return [rows[c["name"]] for c in cards]
