"""Verification evaluation of zoo models on any ``<identity>/<files>`` folder.

Protocol: for each identity, the first ``enrol`` files (natural order) are enrolled (template =
mean of unit embeddings); every other file is scored (cosine) against every template: genuine
trials against its own identity, impostor trials against all others. Faces go through the
device path: detector -> square box -> crop/resize -> embedder, unless ``detect=False`` (the
images are taken as already cropped faces: canonical box). Voices: the device's utterance
embedding (``voice_phrase.embed``: the model's windows over the VAD speech span, mean). Scores are computed with the int8 model in TFLM (``eer``) and the float reference
(``eer_float``).
"""
from __future__ import annotations


from eyeauth import datasets
from eyeauth.errors import DataError
from eyeauth.models import embed, metrics, preprocess as P, zoo
from eyeauth.models.progress import Steps


def _load_all(ds, progress=True):
    items = ds.items()
    out = []
    with Steps(f"loading {ds.modality} files", len(items), every=5 if progress else 1e9) as st:
        for ident, path in items:
            x = datasets.load_image(path) if ds.modality == "face" else datasets.load_audio(path)
            out.append((ident, x))
            st.tick()
    return out


def face_boxes(images, detect=True, progress=True):
    if not detect:
        return [P.default_face_box(img.shape) for img in images]
    boxes = []
    with Steps("detecting faces", len(images), every=5 if progress else 1e9) as st:
        for img in images:
            boxes.append(embed.detect_face(img))
            st.tick()
    return boxes


def evaluate_model(card, samples, boxes=None, enrol=3, progress=True):
    """Metrics of one model on loaded samples [(identity, array)]."""
    name = card["name"]
    labels = [s[0] for s in samples]
    emb_q, emb_f = [], []
    with Steps(f"embedding with {name}", len(samples), every=5 if progress else 1e9) as st:
        for i, (_, x) in enumerate(samples):
            if card["modality"] == "face":
                q = embed.face_tensor(name, x, boxes[i])
                emb_q.append(embed._unit(embed._infer(name, q)))
                emb_f.append(embed._unit(embed._infer(name, q, float_ref=True)))
            else:  # the device's utterance embedding (windows over the speech, mean)
                emb_q.append(embed.embed_voice(name, x))
                emb_f.append(embed.embed_voice(name, x, float_ref=True))
            st.tick()
    g, imp = metrics.verification_trials(emb_q, labels, enrol)
    gf, impf = metrics.verification_trials(emb_f, labels, enrol)
    s = metrics.summary(g, imp)
    return {"name": name, "modality": card["modality"], "eer": round(s["eer"], 4),
            "eer_float": round(metrics.eer(gf, impf), 4),
            "frr_at_far_1pct": round(s["frr_at_far_1pct"], 4),
            "frr_at_far_1pct_float": round(metrics.frr_at_far(gf, impf), 4),
            "identities": len(set(labels)), "files": len(samples), "enrol_per_identity": enrol,
            "genuine_trials": s["genuine_trials"], "impostor_trials": s["impostor_trials"]}


def evaluate(data_dir, modality, names=None, enrol=None, detect=True, identities=None,
             heldout=False, progress=True):
    """Evaluate every built zoo model of ``modality`` (or ``names``) on ``data_dir``.

    ``identities``: only these identities; ``heldout``: for each model, only the identities its
    card lists as held out from its training (the numbers of models/README.md).
    """
    if modality not in ("face", "voice"):
        raise DataError(f"modality must be face or voice, not {modality!r}")
    ds = datasets.scan(data_dir, modality)
    if identities:
        ds = ds.subset(identities)
    enrol = enrol or (3 if modality == "face" else 5)
    cards = [c for c in zoo.list_models(modality=modality) if not names or c["name"] in names]
    if not cards:
        raise DataError(f"no built {modality} models; run `eyeauth models build`")
    groups = {}
    for c in cards:
        ids = tuple(c.get("training", {}).get("heldout_identities", ())) if heldout else ()
        groups.setdefault(ids, []).append(c)
    results = {}
    for ids, group in groups.items():
        sub = ds
        if ids:
            missing = [i for i in ids if i not in ds.files]
            if missing:
                raise DataError(f"{data_dir} lacks the held-out identities {', '.join(missing)} "
                                "of the zoo; drop --heldout")
            sub = ds.subset(list(ids))
        _, short = metrics.enrol_split({i: sub.files[i] for i in sub.identities}, enrol)
        if short:  # too few files to enrol and probe: skipped and counted, not fatal
            sub = sub.subset([i for i in sub.identities if i not in short])
        if len(sub.identities) < 2:
            raise DataError(f"{data_dir} has {len(sub.identities)} identities with more than "
                            f"{enrol} files; need at least 2")
        samples = _load_all(sub, progress)
        boxes = (face_boxes([x for _, x in samples], detect, progress)
                 if modality == "face" else None)
        for c in group:
            results[c["name"]] = evaluate_model(c, samples, boxes, enrol, progress)
            results[c["name"]]["skipped_identities"] = len(short)
    return [results[c["name"]] for c in cards]
