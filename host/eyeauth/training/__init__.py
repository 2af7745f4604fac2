"""Training: the code that decides a model's weights, and nothing else.

A *recipe* is a module of this package, ``eyeauth/training/<recipe>.py``: the zoo entry's
``"recipe"`` names it, else its modality (``detector``, ``face``, ``voice``, ``keyword``). A
recipe declares, at module level, as plain literals::

    RECIPE = "face/1"     # the recipe's version: bump it when something this recipe reads
                          # outside this package changes what it trains (preprocessing in
                          # models/preprocess.py or vad.py, the conversion, the data loaders)
    TEACHER = "dlib-5pt-resnet/v2 (...)"   # what it distils from or labels with; None if none

and a function ``train(entry, data, out_dir) -> Trained`` (``data``: :class:`Data`, the
identities the build resolved; ``out_dir``: the models folder being built), optionally ``calibrate(entry, data, out_dir) -> dict`` (card fields fitted on
the written int8 model that later builds read, e.g. the detector's presence threshold).
Conversion, files and the card are the build's (:mod:`eyeauth.models.build`); evaluation
figures on the card are the evaluation layer's; neither is training code.

A model's build key (``models.build.build_hash``) is made of declared inputs only: the zoo
entry, the training-data listing (files and split parts), ``RECIPE``, ``TEACHER`` and the text
of the recipe's module plus every module of this package it imports (found by parsing the
imports, never by running them): :func:`code_key`. So moving or renaming evaluation or glue
code never changes a build key; editing training code here does, and only for the recipes
that import it. tests/models/test_build_keys.py shows both.
"""
from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from eyeauth.errors import ModelError

HERE = Path(__file__).resolve().parent
PACKAGE = "eyeauth.training"


@dataclass
class Data:
    """What a recipe trains on: the zoo entry's data set (``ds``: train + eval identities of
    its split), its training identities and the held-out (eval) identities the card reports."""
    ds: object
    train_ids: list
    eval_ids: list


@dataclass
class Trained:
    """A recipe's result: the Keras model, representative inputs for the int8 conversion
    (float, NHWC without the batch axis), the card's ``training`` section, and other card
    fields the recipe owns (merged into the card the build assembles). A recipe that makes its
    model some other way (a signal-processing graph written directly) gives ``files``:
    (int8 tflite bytes, float tflite bytes, its own int8-vs-float check dict), and no
    ``model``/``rep``; the build then converts nothing."""
    model: object
    rep: list
    training: dict
    card: dict = field(default_factory=dict)
    files: tuple | None = None


def recipe_name(entry) -> str:
    return str(entry.get("recipe") or entry["modality"])


def recipe_path(name, root=None) -> Path:
    path = Path(root or HERE) / f"{name}.py"
    if not path.is_file():
        raise ModelError(f"no training recipe {name!r} (eyeauth/training/{name}.py); a zoo "
                         "entry's \"recipe\" (or its modality) names one")
    return path


def load(entry):
    """The recipe module of a zoo entry (imported: it may import TensorFlow)."""
    import importlib

    recipe_path(recipe_name(entry))
    return importlib.import_module(f"{PACKAGE}.{recipe_name(entry)}")


def declared(path) -> dict:
    """{RECIPE, TEACHER} of a recipe file, read from its source (literals only)."""
    tree = ast.parse(Path(path).read_text(), str(path))
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name) and node.targets[0].id in ("RECIPE", "TEACHER"):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                raise ModelError(f"{path}: {node.targets[0].id} must be a literal") from None
    if not isinstance(out.get("RECIPE"), str) or "TEACHER" not in out:
        raise ModelError(f"{path}: a recipe declares RECIPE = \"<name>/<version>\" and TEACHER "
                         "(a string, or None) at module level")
    return out


def _imports(path, root):
    """Modules of this package (file names) that ``path`` imports, at any depth."""
    tree = ast.parse(Path(path).read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:  # relative: from . import x / from .x import y
                mod = PACKAGE + ("." + mod if mod else "")
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]
        for n in names:
            if n.startswith(PACKAGE + "."):
                f = Path(root) / (n[len(PACKAGE) + 1:].split(".")[0] + ".py")
                if f.is_file():
                    found.add(f.name)
    return found


def code_files(name, root=None) -> list:
    """The recipe's file and every module of this package it imports, transitively (sorted)."""
    root = Path(root or HERE)
    todo, seen = [recipe_path(name, root).name], set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        todo += sorted(_imports(Path(root) / f, root) - seen)
    return sorted(seen)


def code_key(name, root=None) -> str:
    """sha256 of a recipe's declared identity (RECIPE, TEACHER) and the text of its training
    code (:func:`code_files`)."""
    root = Path(root or HERE)
    h = hashlib.sha256()
    decl = declared(recipe_path(name, root))
    h.update(f"{decl['RECIPE']}\0{decl['TEACHER']}\0".encode())
    for f in code_files(name, root):
        h.update(f.encode() + b"\0" + (Path(root) / f).read_bytes())
    return h.hexdigest()
