"""The model zoo: the spec (models/zoo.json), the built files and their cards.

``list_models()`` and ``load_card(name)`` read only JSON; nothing here imports TensorFlow.
A card sits at models/<name>.json next to models/<name>.tflite (full int8); the float reference
the int8 model was checked against is models/float/<name>.tflite.
"""
from __future__ import annotations

import json
from pathlib import Path

from eyeauth.errors import ModelError

MODALITIES = ("face", "voice", "detector", "landmark", "keyword", "frontend")
FRONTEND = "audio_fe"
DETECTOR = "face_det"
LANDMARK = "face_lmk"  # five landmarks for the aligned crop (models/face_path.py)


def models_dir(path=None):
    """``path``, else $EYEAUTH_MODELS_DIR, else the checkout's models/ folder."""
    import os

    from eyeauth import MODELS_DIR

    return Path(path or os.environ.get("EYEAUTH_MODELS_DIR") or MODELS_DIR)


def load_spec(path=None):
    """The zoo spec: list of fully resolved entries (defaults of the modality merged in)."""
    f = models_dir(path) / "zoo.json"
    try:
        raw = json.loads(f.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the zoo spec {f}: {exc}") from None
    out = []
    for entry in raw["models"]:
        if entry.get("modality") not in MODALITIES:
            raise ModelError(f"zoo.json: {entry.get('name')}: modality must be one of "
                             f"{', '.join(MODALITIES)}")
        merged = dict(raw.get("defaults", {}).get(entry["modality"], {}))
        merged.update(entry)
        out.append(merged)
    return out


def spec_entry(name, path=None):
    for e in load_spec(path):
        if e["name"] == name:
            return e
    raise ModelError(f"no model {name!r} in the zoo spec; see `eyeauth models list`")


def card_path(name, path=None):
    return models_dir(path) / f"{name}.json"


def tflite_path(name, path=None, variant="int8"):
    d = models_dir(path)
    return d / f"{name}.tflite" if variant == "int8" else d / "float" / f"{name}.tflite"


def load_card(name, path=None):
    """The card of a built model (dict), with ``path`` (absolute .tflite path) added."""
    f = card_path(name, path)
    if not f.exists():
        raise ModelError(f"model {name!r} is not built (no {f.name}); run `eyeauth models build` "
                         "or pick one from `eyeauth models list`")
    try:
        card = json.loads(f.read_text())
    except ValueError as exc:
        raise ModelError(f"card {f} is corrupt ({exc}); rebuild with `eyeauth models build`") from None
    card["path"] = str(tflite_path(name, path))
    return card


def list_models(path=None, modality=None):
    """Cards of every built model of the spec, in spec order (optionally one modality)."""
    out = []
    for entry in load_spec(path):
        if modality and entry["modality"] != modality:
            continue
        if card_path(entry["name"], path).exists():
            out.append(load_card(entry["name"], path))
    return out


def model_bytes(name, path=None, variant="int8"):
    f = tflite_path(name, path, variant)
    try:
        return f.read_bytes()
    except OSError:
        raise ModelError(f"{f} is missing; run `eyeauth models build`") from None


def save_card(card, path=None):
    """Write a card (dict) to models/<name>.json (``path``: the models folder); returns it
    without the ``path`` key :func:`load_card` adds."""
    card = {k: v for k, v in card.items() if k != "path"}
    card_path(card["name"], path).write_text(json.dumps(card, indent=1, default=_jsonable) + "\n")
    return card


def _jsonable(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)
