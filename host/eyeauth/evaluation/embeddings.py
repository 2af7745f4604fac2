"""Embeddings of files through the board's path, cached in memory per (model, build, file):
faces frame -> detector -> box -> crop -> embedder (the detector's box and presence computed once
per image and shared by every face model), voices the utterance embedding. The evaluations that
embed the same files for several models (thresholds, identification, fusion) share them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from eyeauth import datasets
from eyeauth.models import embed, zoo
from eyeauth.models.progress import Steps

_emb_cache: dict = {}   # (model, build_hash, path) -> unit embedding (float32)
_box_cache: dict = {}   # (detector, build_hash, path) -> ((x, y, w, h), face presence)


def _key(card, path):
    return (card["name"], card.get("build_hash"), str(Path(path).resolve()))


def clear_cache():
    _emb_cache.clear()
    _box_cache.clear()


def embed_files(cards, paths, modality, label=None):
    """{model: (N, D) float32 unit embeddings} of ``paths`` for every card in ``cards``.

    Each file is read once, each (model, file) embedded once per process (cached in memory).
    Faces go through the detector (box cached per image), as the board does."""
    paths = [Path(p) for p in paths]
    todo = [i for i, p in enumerate(paths) if any(_key(c, p) not in _emb_cache for c in cards)]
    det = None
    if modality == "face" and todo:
        det = zoo.load_card(zoo.DETECTOR)
    if todo:
        names = ", ".join(c["name"] for c in cards)
        with Steps(label or f"embedding {len(todo)} {modality} files with {names}",
                   len(todo), every=10) as st:
            for i in todo:
                p = paths[i]
                if modality == "face":
                    img = datasets.load_image(p)
                    bk = _key(det, p)
                    if bk not in _box_cache:
                        _box_cache[bk] = embed.detect(img, det["name"])
                    for c in cards:
                        k = _key(c, p)
                        if k not in _emb_cache:
                            _emb_cache[k] = embed.embed_face(c["name"], img, _box_cache[bk][0])
                else:
                    wav = datasets.load_audio(p, 8000)
                    for c in cards:
                        k = _key(c, p)
                        if k not in _emb_cache:
                            _emb_cache[k] = embed.embed_voice(c["name"], wav, 8000)
                st.tick()
    return {c["name"]: np.stack([_emb_cache[_key(c, p)] for p in paths]) if paths
            else np.zeros((0, 0), np.float32) for c in cards}


def no_face(paths):
    """Boolean per face file: the detector's presence output is below its card's threshold
    (the board refuses such a frame: no embedding, no attempt). Needs embed_files first."""
    det = zoo.load_card(zoo.DETECTOR)
    thr = float(det["output"].get("presence_threshold", 0.0))
    return np.array([_box_cache[_key(det, p)][1] < thr for p in paths], bool)


