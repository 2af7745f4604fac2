"""What ships to the board, checked as one thing before anything is written to it.

A release is the folder ``deploy`` ships (``models/``, ``--models DIR`` or $EYEAUTH_MODELS_DIR):
the int8 models and their cards, ``thresholds.json`` (operating thresholds and the board's model
list, each fitted to one model file: it records the build hash and sha256 of every file it was
fitted on) and the premodels (``premodel_<modality>.json``, fitted to the build hashes and
thresholds they record). :func:`check` lists every way they do not belong together; ``deploy``
refuses a release with any problem before it opens the port, with one line that names the
mismatch and the command that fixes it.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from eyeauth.errors import ModelError


class ReleaseError(ModelError):
    """The release folder is inconsistent; nothing was written to the board."""


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _read(path, fix):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ReleaseError(f"{path} is not valid JSON ({exc}); {fix}") from None


def check(models_dir, arena_limit=None):
    """Problems (one line each, with the fixing command) of the release in ``models_dir``; []
    when it is consistent. ``arena_limit``: the board's largest TFLM arena in bytes."""
    d = Path(models_dir)
    probs = []
    fix_th = "run `eyeauth eval thresholds`"
    th = _read(d / "thresholds.json", fix_th)
    cards = {}
    for f in sorted(d.glob("*.json")):
        if f.name in ("thresholds.json", "zoo.json") or f.name.startswith("premodel_"):
            continue
        c = _read(f, "rebuild it with `eyeauth models build`")
        if isinstance(c, dict) and "modality" in c:
            cards[c.get("name", f.stem)] = c
    for name, c in cards.items():
        if not (d / f"{name}.tflite").exists():
            probs.append(f"{name}: card without {name}.tflite; run `eyeauth models build {name}`")
        if arena_limit and (c.get("arena_bytes_target") or 0) > arena_limit:
            probs.append(f"{name}: needs a {c['arena_bytes_target']} B arena, the board has "
                         f"{arena_limit} B; ship a smaller model (`eyeauth models list`)")
    if th is None:
        if any(c.get("modality") in ("face", "voice") for c in cards.values()):
            probs.append(f"no thresholds.json in {d}; {fix_th}")
        return probs
    per = (th.get("data") or {}).get("per_model") or {}
    listed = [n for names in (th.get("models") or {}).values() for n in names]
    for name in list(th.get("thresholds", {})) + listed:
        if name not in cards:
            probs.append(f"thresholds.json names {name}, which is not in {d}; {fix_th}")
    for name in listed:
        if name not in cards:
            continue
        p = per.get(name) or {}
        if p.get("build_hash") and p["build_hash"] != cards[name].get("build_hash"):
            probs.append(f"{name} was rebuilt after its threshold was fitted; {fix_th}")
        elif p.get("sha256") and (d / f"{name}.tflite").exists() and \
                p["sha256"] != sha256_file(d / f"{name}.tflite"):
            probs.append(f"{name}.tflite differs from the file its threshold was fitted on "
                         f"(changed or corrupt); rebuild or restore it, then {fix_th}")
        if name not in th.get("thresholds", {}):
            probs.append(f"thresholds.json lists {name} without a threshold; {fix_th}")
    for f in sorted(d.glob("premodel_*.json")):
        pm = _read(f, "run `eyeauth premodel train`")
        if not isinstance(pm, dict):
            continue
        meta = pm.get("meta") or {}
        for name in pm.get("models", []):
            if name not in cards:
                probs.append(f"{f.name} picks {name}, which is not in {d}; run `eyeauth premodel train`")
            elif (meta.get("zoo") or {}).get(name) not in (None, cards[name].get("build_hash")):
                probs.append(f"{f.name} was trained for another build of {name}; "
                             "run `eyeauth premodel train`")
    return probs


def release_id(models_dir):
    """A short id of the release: sha256 over the names and bytes of what ships."""
    d = Path(models_dir)
    h = hashlib.sha256()
    for f in sorted(list(d.glob("*.tflite")) + list(d.glob("*.json"))):
        if f.name == "zoo.json":
            continue
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def require(models_dir, arena_limit=None):
    """Raise ReleaseError (first problem, and how many more) if the release is inconsistent."""
    probs = check(models_dir, arena_limit)
    if probs:
        more = f" (and {len(probs) - 1} more: `eyeauth release check`)" if len(probs) > 1 else ""
        raise ReleaseError(f"refusing to deploy {models_dir}: {probs[0]}{more}")
