"""Inputs, embeddings and per-input correctness of every zoo model (what the premodel learns).

Protocol (training and evaluation alike, on disjoint identities):

* enrolment: the first E files of each identity (E = 3 images / 5 clips, as
  ``eyeauth eval thresholds``), clean, stored as the board stores them (int8 ``quantize_unit``);
* probes: every other file, in ``variants`` versions: variant 0 is the file itself, the others
  are seeded augmentations (images: brightness, contrast, gamma, blur, noise, and the face placed
  small or large into a QVGA scene, as the camera sees it; audio: gain, white/pink noise at
  -5..40 dB SNR, noise-only padding, a muffled microphone), so easy and hard inputs both exist;
* a face probe is the frame the camera would give: the detector (int8, TFLM) finds the box, the
  features and every face model use that box (as the board does); a voice probe that the
  board's voice check rejects (no speech, > 5 % clipped) runs no model and is left out (counted);
* trials: every probe against every enrolled identity (genuine: its own; impostor: the others);
  decision = the board's: accept iff score - threshold[model] >= 0 (models/thresholds.json);
* ``correct[p, m]`` = trials of probe p that model m decides right.

Embeddings are cached on disk per model file (sha1 of the .tflite) and input (sha1 of its
bytes): ``$EYEAUTH_PREMODEL_CACHE``, else premodel/ in ``$EYEAUTH_CACHE`` or ~/.cache/eyeauth.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from eyeauth import datasets
from eyeauth.evaluation import scoring, thresholds as T
from eyeauth.errors import DataError, ModelError
from eyeauth.models import preprocess as P, tflm, zoo
from eyeauth.models.progress import Steps
from eyeauth.premodel import features as F
from eyeauth.premodel.augment import face_probe, voice_ok, voice_probe

ENROL = {"face": 3, "voice": 5}


# ------------------------------------------------------------------ the zoo of a modality

class Zoo:
    """The built models of a modality, snapshotted (bytes read once), with thresholds."""

    def __init__(self, modality, thresholds_path=None):
        self.modality = modality
        cards = zoo.list_models(modality=modality)
        if len(cards) < 2:
            raise ModelError(f"the premodel needs at least 2 built {modality} models, found "
                             f"{len(cards)}; run `eyeauth models build`")
        th = T.load(thresholds_path)
        missing = [c["name"] for c in cards if c["name"] not in th.get("thresholds", {})]
        if missing:
            raise ModelError(f"no operating threshold for {', '.join(missing)} in "
                             "thresholds.json; run `eyeauth eval thresholds`")
        self.cards = {c["name"]: c for c in cards}
        self.names = [c["name"] for c in cards]
        self.threshold = {n: float(th["thresholds"][n]) for n in self.names}
        per = (th.get("data") or {}).get("per_model") or {}
        self.stale = [n for n in self.names if per.get(n, {}).get("build_hash") not in
                      (None, self.cards[n].get("build_hash"))]
        self.bytes = {n: zoo.model_bytes(n) for n in self.names}
        self.sha = {n: hashlib.sha1(b).hexdigest()[:16] for n, b in self.bytes.items()}
        self.det_card = zoo.load_card(zoo.DETECTOR) if modality == "face" else None
        self.det_bytes = zoo.model_bytes(zoo.DETECTOR) if modality == "face" else None
        self.det_sha = hashlib.sha1(self.det_bytes).hexdigest()[:16] if self.det_bytes else None

    def split(self):
        """The data set (data/splits.json) the zoo's models of this modality were trained on,
        or None for models trained on a folder."""
        got = {(c.get("spec") or {}).get("split") for c in self.cards.values()}
        return got.pop() if len(got) == 1 else None

# ------------------------------------------------------------------ embedding cache

def cache_dir():
    env = os.environ.get("EYEAUTH_PREMODEL_CACHE")
    from eyeauth import cache_dir as root

    return Path(env) if env else root() / "premodel"


class Cache:
    """{input sha1: vector} per model file, in one .npz each; saved by :meth:`save`."""

    def __init__(self, enabled=True):
        self.enabled = enabled
        self.tables, self.dirty = {}, set()

    def _table(self, key):
        if key not in self.tables:
            t = {}
            f = cache_dir() / f"{key}.npz"
            if self.enabled and f.exists():
                try:
                    with np.load(f) as z:
                        t = dict(zip(z["keys"].tolist(), z["vecs"]))
                except (OSError, ValueError, KeyError):
                    t = {}
            self.tables[key] = t
        return self.tables[key]

    def get(self, key, item):
        return self._table(key).get(item)

    def put(self, key, item, vec):
        self._table(key)[item] = np.asarray(vec, np.float32)
        self.dirty.add(key)

    def save(self):
        if not self.enabled:
            return
        d = cache_dir()
        try:
            d.mkdir(parents=True, exist_ok=True)
            for key in self.dirty:
                t = self.tables[key]
                tmp = d / f"{key}.{os.getpid()}.tmp.npz"
                np.savez(tmp, keys=np.array(list(t)), vecs=np.stack(list(t.values())))
                tmp.replace(d / f"{key}.npz")
        except OSError:
            pass  # a read-only home only costs recomputing next time
        self.dirty.clear()


def _digest(arr, extra=""):
    a = np.ascontiguousarray(arr)
    return hashlib.sha1(a.tobytes() + str(a.shape).encode() + extra.encode()).hexdigest()[:20]


# ------------------------------------------------------------------ embedding

class Embedder:
    def __init__(self, zoo_, cache=None):
        self.zoo, self.cache = zoo_, cache or Cache()

    def box(self, frame):
        return self.detect(frame)[0]

    def detect(self, frame):
        """(box, face presence) of a frame from the int8 detector, as the board's gate reads it."""
        z = self.zoo
        key, item = f"det-{z.det_sha}", _digest(frame)
        got = self.cache.get(key, item)
        if got is None:
            probs = tflm.infer(z.det_bytes, P.detector_input(frame))
            pres = float(probs[3]) if probs.size > 3 else 1.0
            got = np.array(list(P.detector_box(probs[:3], frame.shape)) + [pres], np.float32)
            self.cache.put(key, item, got)
        return tuple(int(v) for v in got[:4]), float(got[4])

    def embed(self, name, x, box=None, utterance=False):
        """Unit embedding of a face (crop at ``box``) or a voice clip: one window, or with
        ``utterance`` the board's utterance embedding (windows over the speech, mean of their
        unit embeddings: voice_phrase.embed)."""
        z = self.zoo
        card = z.cards[name]
        if utterance:
            from eyeauth.models import voice_phrase

            u = voice_phrase.utterance_settings(card)
            key = f"{name}-{z.sha[name]}-utt{u['hop_frames']}x{u['max_windows']}"
        else:
            key = f"{name}-{z.sha[name]}"
        item = _digest(x, str(box))
        got = self.cache.get(key, item)
        if got is None:
            shape = card["input"]["shape"]
            if z.modality == "face":
                got = tflm.unit(tflm.infer(z.bytes[name], P.face_input(x, box, shape[1])))
            elif utterance:
                outs = [tflm.unit(tflm.infer(z.bytes[name], q)) for q in voice_phrase.tensors(card, x)]
                got = tflm.unit(np.mean(outs, axis=0))
            else:
                got = tflm.unit(tflm.infer(z.bytes[name], P.voice_input(x, shape[1], shape[2])))
            self.cache.put(key, item, got)
        return got


# ------------------------------------------------------------------ a split, end to end

def _load(modality, path):
    return datasets.load_image(path) if modality == "face" else datasets.load_audio(path, 8000)


def collect(zoo_, files, variants, seed, label, costs_, cache=None, enrol=None):
    """Everything a router is scored on, for ``files`` ({identity: [paths]}; the first ``enrol``
    of each enrol, as the board stores them; the others probe, in ``variants`` versions: variant
    0 the file itself, the others :mod:`augment`'s seeded camera / microphone degradations).

    Faces: the int8 detector's box and presence on every probe frame; a frame below the
    detector card's presence threshold is refused by the board before any face model (no_face).
    Voices: the board's voice check (speech, clipping) and the utterance embedding (the
    windows over the speech, voice_phrase). A refused probe stays in, as a reject of every
    model (margin :data:`routers.REFUSED`), costing only the stages before the refusal.

    Returns a dict: ``models`` (cheapest first), ``X`` (P, F) integer features, ``margins``
    (M, P, T) score - threshold of every model against every enrolled identity, ``same`` (P, T)
    genuine trials, ``refused`` (P,), ``groups`` (identity of each probe), ``variant``,
    ``cost_first`` / ``cost_extra`` (M,) modeled ms of a model's whole path / of running it after
    another (the shared stages not repeated), ``cost_refused``, ``costs`` (stage breakdown),
    ``identities``, ``skipped_identities``. ``costs_``: :func:`cost.routing_costs` of the
    board the latencies are for."""
    from eyeauth.premodel import routers

    modality = zoo_.modality
    enrol = enrol or ENROL[modality]
    short = [i for i, v in files.items() if len(v) <= enrol]
    files = {i: list(v) for i, v in files.items() if i not in short}
    if len(files) < 2:
        raise DataError(f"{label}: need at least 2 identities with more than {enrol} files, "
                        f"have {len(files)}")
    emb = Embedder(zoo_, cache or Cache())
    names = costs_["order"]
    utt = modality == "voice"
    pres_thr = float((zoo_.det_card or {}).get("output", {}).get("presence_threshold", 0.0)) \
        if modality == "face" else None
    idents = list(files)
    n_probe = sum((len(v) - enrol) * variants for v in files.values())
    templates = {m: [] for m in names}
    X, probe_emb, groups, var, refused = [], {m: [] for m in names}, [], [], []
    bad = 0
    with Steps(f"{label}: {len(idents)} identities, {n_probe} {modality} probes, "
               f"{len(names)} models", len(idents), every=10) as st:
        for k, ident in enumerate(idents):
            paths = files[ident]
            ins = [_load(modality, p) for p in paths[:enrol]]
            boxes = [emb.detect(x)[0] if modality == "face" else None for x in ins]
            for m in names:
                vecs = np.stack([emb.embed(m, x, b, utt) for x, b in zip(ins, boxes)])
                templates[m].append(scoring.template(scoring.quantize_unit(vecs)))
            for fi, p in enumerate(paths[enrol:]):
                try:
                    src = _load(modality, p)
                except DataError:
                    bad += 1
                    continue
                for v in range(variants):
                    rng = np.random.default_rng([seed, k, fi, v])
                    if modality == "face":
                        x = face_probe(src, v, rng)
                        box, pres = emb.detect(x)
                        feats = F.face_features(x, box)
                        gone = pres < pres_thr
                    else:
                        x = voice_probe(src, v, rng)
                        box = None
                        feats = F.voice_features(x)
                        gone = not voice_ok(x)
                    X.append(feats)
                    refused.append(gone)
                    for m in names:
                        probe_emb[m].append(None if gone else emb.embed(m, x, box, utt))
                    groups.append(k)
                    var.append(v)
            st.tick()
    emb.cache.save()
    if not X:
        raise DataError(f"{label}: no usable {modality} probes")
    groups = np.asarray(groups)
    refused = np.asarray(refused, bool)
    same = groups[:, None] == np.arange(len(idents))[None, :]
    margins = []
    for m in names:
        dim = len(templates[m][0])
        e = np.stack([v if v is not None else np.zeros(dim, np.float32) for v in probe_emb[m]])
        s = scoring.score_matrix(e, np.stack(templates[m])) - zoo_.threshold[m]
        s[refused] = routers.REFUSED
        margins.append(s.astype(np.float32))
    return {"modality": modality, "label": label, "models": list(names), "identities": idents,
            "X": np.asarray(X, np.int64), "margins": np.stack(margins), "same": same,
            "refused": refused, "groups": groups, "variant": np.asarray(var),
            "cost_first": np.array([costs_["first"][m] for m in names]),
            "cost_extra": np.array([costs_["extra"][m] for m in names]),
            "cost_refused": costs_["refused"], "costs": costs_,
            "enrol": enrol, "variants": variants, "seed": seed,
            "skipped_identities": len(short), "unreadable_files": bad}


def routing_sets(modality, part, data_dir=None):
    """{set name: {identity: [paths]}} a router trains on (``part="premodel"``: the identities
    data/splits.json reserves for it) or is evaluated on (``part="eval"``: identities no model
    trained on, from the training source and from sets of other sources)."""
    from eyeauth.evaluation import crosseval as X

    if modality == "face":
        if part == "eval":
            return {"lfw": X.split_files("lfw", "eval", data_dir),
                    "orl": X.split_files("orl", "eval", data_dir)}
        return {"lfw_premodel": X.split_files("lfw", "premodel", data_dir)}
    if part == "eval":
        return {"speech_commands_phrase": X.phrase_files("speech_commands", data_dir),
                "fsdd_phrase": X.phrase_files("fsdd", data_dir)}
    return {"speech_commands_phrase_premodel":
            X.phrase_files("speech_commands", data_dir, part="premodel")}
