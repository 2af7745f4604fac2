"""What ships to the board, typed and checked as one thing before anything is written to it.

A release is the folder ``deploy`` ships (``models/``, ``--models DIR`` or $EYEAUTH_MODELS_DIR):
the int8 models and their cards, ``thresholds.json`` (operating thresholds, each fitted to one
model file: it records the build hash and sha256 of every file it was fitted on) and the
premodels (``premodel_<modality>.json``, fitted to the build hashes they record). :func:`load`
reads them once into a frozen :class:`Release` (models with file hashes and cards, thresholds
and calibration, identification tails, premodels, fusion policy and margin, arena sizes, build
hashes) and lists every way they do not belong together or lack a value the board needs in
``Release.problems``; :func:`require` raises :class:`ReleaseError` for the first, with the
command that fixes it. Every file the board runs is checked against the hash its card
recorded when it was built. ``deploy`` refuses a release with any problem before it opens the
port, and writes ``Release.board_manifest(board)`` to the board as ``/models/release.json``:
the board's only configuration (firmware/eyeauth_fw/release.py): model lists and defaults,
every threshold (embedders, presence gate, keyword margin, identification tails), fusion policy
and margin, router documents, and per network its shape, output quantization, utterance
windows, arena size and place on that board and modeled time on its chip.

Everything that reads ``thresholds.json`` goes through :func:`read_thresholds` (a typed
:class:`Thresholds`). ``eyeauth release build`` (:mod:`eyeauth.release_build`, a layer above:
it drives the zoo, thresholds and premodel builders) re-derives what is stale, in order.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from eyeauth.errors import ModelError

MANIFEST_FORMAT = 2
BOARD_MANIFEST = "release.json"  # /models/release.json on the board
FIX_THRESHOLDS = "run `eyeauth eval thresholds`"
FIX_PREMODEL = "run `eyeauth premodel train`"
FIX_IDENT = "run `eyeauth eval identification`"
IDENTIFICATION = "identification.json"
_NOT_CARDS = ("thresholds.json", "zoo.json", BOARD_MANIFEST, IDENTIFICATION)


class ReleaseError(ModelError):
    """The release folder is inconsistent; nothing was written to the board."""


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _frozen(d):
    return MappingProxyType(dict(d or {}))


# -- the types ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Calibration:
    """How a model's operating threshold was fitted (thresholds.json ``data.per_model``)."""
    data: str | None = None
    files: int | None = None
    genuine_trials: int | None = None
    impostor_trials: int | None = None
    far: float | None = None
    frr: float | None = None
    build_hash: str | None = None   # of the model the threshold was fitted on
    sha256: str | None = None       # of its .tflite file

    @classmethod
    def from_dict(cls, d):
        d = d or {}
        return cls(**{k: d.get(k) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Thresholds:
    """thresholds.json, typed: operating thresholds, the models each modality ships (the board's
    model list), the default model per modality, the calibration of each threshold."""
    path: Path
    thresholds: Mapping[str, float]
    models: Mapping[str, tuple]
    default: Mapping[str, str | None]
    eer: Mapping[str, float]
    far_target: float | None
    calibration: Mapping[str, Calibration]
    raw: Mapping = field(repr=False, default_factory=dict)

    @classmethod
    def from_dict(cls, d, path):
        if not isinstance(d, dict):
            raise ReleaseError(f"{path} is not a thresholds file (a JSON object); {FIX_THRESHOLDS}")
        per = (d.get("data") or {}).get("per_model") or {}
        try:
            return cls(Path(path), _frozen({k: float(v) for k, v in (d.get("thresholds") or {}).items()}),
                       _frozen({m: tuple(n) for m, n in (d.get("models") or {}).items()}),
                       _frozen(d.get("default")), _frozen(d.get("eer")), d.get("far_target"),
                       _frozen({k: Calibration.from_dict(v) for k, v in per.items()}),
                       _frozen(d))
        except (TypeError, ValueError, AttributeError) as exc:
            raise ReleaseError(f"{path} is malformed ({exc}); {FIX_THRESHOLDS}") from None

    def listed(self):
        """Every model the board is told to run, in file order."""
        return [n for names in self.models.values() for n in names]


@dataclass(frozen=True)
class ModelEntry:
    """One model of the release: its file, the hash of that file, its card, its threshold."""
    name: str
    modality: str                  # face | voice | detector (| whatever the card says)
    file: str                      # <name>.tflite in the release folder
    sha256: str | None             # of that file (None: the file is missing)
    build_hash: str | None         # the card's: what it was trained from
    arena_bytes: int               # the card's arena_bytes_target (TFLM arena + margin)
    card: Mapping = field(repr=False, default_factory=dict)
    threshold: float | None = None
    calibration: Calibration | None = None


@dataclass(frozen=True)
class Premodel:
    """A per-input model chooser (premodel_<modality>.json)."""
    modality: str
    file: str
    sha256: str
    models: tuple                  # the models it picks between
    fitted_on: Mapping[str, str]   # model -> build hash it was trained for


@dataclass(frozen=True)
class Fusion:
    """The firmware's fusion rules (firmware/eyeauth_fw/fusion.py), as the release ships them."""
    policies: tuple
    default_policy: str
    cascade_margin: float


@dataclass(frozen=True)
class Release:
    """Everything the board runs, and every way it does not belong together."""
    dir: Path
    id: str
    models: tuple                  # ModelEntry, sorted by name
    thresholds: Thresholds | None
    premodels: tuple               # Premodel
    fusion: Fusion
    detector: str | None
    problems: tuple = ()
    ident: Mapping = field(repr=False, default_factory=dict)  # model -> impostor tail (1:N)

    def model(self, name):
        for m in self.models:
            if m.name == name:
                return m
        raise ReleaseError(f"no model {name} in the release {self.dir}; see `eyeauth release check`")

    @property
    def board_models(self) -> Mapping[str, tuple]:
        return self.thresholds.models if self.thresholds else _frozen({})

    @property
    def defaults(self) -> Mapping[str, str | None]:
        return self.thresholds.default if self.thresholds else _frozen({})

    @property
    def keyword(self) -> str | None:
        return next((m.name for m in self.models if m.modality == "keyword"), None)

    @property
    def landmark(self) -> str | None:
        """The landmark net the board's aligned face crop uses (None: the template's points in
        the detector box)."""
        return next((m.name for m in self.models if m.modality == "landmark"), None)

    def board_manifest(self, board="esp-eye", only=None) -> dict:
        """/models/release.json for ``board`` (a name or config): the board's only
        configuration (small: the board parses it at boot). ``only``: ship just these model
        names (a quick deploy). Call it on a release without problems: every value is there."""
        if isinstance(board, str):
            from eyeauth.board.configs import load_board

            board = load_board(board)
        keep = (lambda n: True) if only is None else (lambda n: n in only)
        th = self.thresholds
        models = {m: [n for n in names if keep(n)] for m, names in self.board_models.items()}
        nets = {m.name: net_entry(m.card, board) for m in self.models if keep(m.name)}
        det, kw = self.detector if keep(self.detector) else None, self.keyword
        kw = kw if kw and keep(kw) else None
        lmk = self.landmark if self.landmark and keep(self.landmark) else None
        listed = [n for names in models.values() for n in names]
        return {"format": MANIFEST_FORMAT, "id": self.id, "board": board["name"],
                "models": models, "default": dict(self.defaults),
                "thresholds": {n: v for n, v in (th.thresholds.items() if th else ()) if keep(n)},
                "detector": det, "landmark": lmk,
                "presence_threshold": self.model(det).card["output"].get("presence_threshold") if det else None,
                "keyword": kw,
                "keyword_margin": self.model(kw).card["output"].get("margin_threshold") if kw else None,
                "ident": {n: dict(self.ident[n]) for n in listed if n in self.ident},
                "policy": self.fusion.default_policy, "cascade_margin": self.fusion.cascade_margin,
                "routers": {p.modality: p.file for p in self.premodels}, "nets": nets}

    def as_dict(self) -> dict:
        """The whole manifest, for `eyeauth release check --json`."""
        return {"format": MANIFEST_FORMAT, "id": self.id, "dir": str(self.dir),
                "ok": not self.problems, "problems": list(self.problems),
                "models": [{"name": m.name, "modality": m.modality, "file": m.file,
                            "sha256": m.sha256, "build_hash": m.build_hash,
                            "arena_bytes": m.arena_bytes, "threshold": m.threshold,
                            "calibration": m.calibration.__dict__ if m.calibration else None}
                           for m in self.models],
                "board_models": {k: list(v) for k, v in self.board_models.items()},
                "default": dict(self.defaults),
                "far_target": self.thresholds.far_target if self.thresholds else None,
                "premodels": [{"modality": p.modality, "file": p.file, "sha256": p.sha256,
                               "models": list(p.models), "fitted_on": dict(p.fitted_on)}
                              for p in self.premodels],
                "fusion": {"policies": list(self.fusion.policies),
                           "default_policy": self.fusion.default_policy,
                           "cascade_margin": self.fusion.cascade_margin},
                "detector": self.detector, "landmark": self.landmark, "keyword": self.keyword,
                "identification": sorted(self.ident)}


# -- the loader ----------------------------------------------------------------------------------

def _read(path, fix):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ReleaseError(f"{path} is not valid JSON ({exc}); {fix}") from None


def read_thresholds(path) -> Thresholds:
    """The thresholds file at ``path``, typed; ReleaseError (with the fix) if missing or bad."""
    d = _read(path, FIX_THRESHOLDS)
    if d is None:
        raise ReleaseError(f"{path} is missing; {FIX_THRESHOLDS}")
    return Thresholds.from_dict(d, path)


def firmware_fusion() -> Fusion:
    """The fusion rules of firmware/eyeauth_fw/fusion.py (the file the board runs), typed."""
    from eyeauth.fw import fusion

    return Fusion(tuple(fusion.POLICIES), fusion.DEFAULT_POLICY, float(fusion.CASCADE_MARGIN))


def release_id(models_dir):
    """A short id of the release: sha256 over the names and bytes of what ships."""
    d = Path(models_dir)
    h = hashlib.sha256()
    for f in sorted(list(d.glob("*.tflite")) + list(d.glob("*.json"))):
        if f.name in ("zoo.json", BOARD_MANIFEST):
            continue
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def arena_plan(arena_bytes, board) -> tuple[int, str]:
    """(bytes, "internal" | "spiram") of one model's arena on a board config: its
    arena_bytes_target plus the board's margin, in internal SRAM unless it is bigger than the
    board lets SRAM hold (then whole in PSRAM); what firmware/hal/esp32.py allocates."""
    nn = (board.get("hal") or {}).get("nn") or {}
    size = int(arena_bytes) + int(nn.get("arena_margin_bytes", 0))
    where = nn.get("arena", "internal")
    if where == "internal" and size > int(nn.get("arena_internal_max_bytes", size)):
        where = "spiram"
    return size, where


def net_entry(card, board) -> dict:
    """What the board needs of one network (the manifest's ``nets``): input shape, output
    quantization, utterance windows (voice), arena size and place on ``board``, and modeled
    microseconds on its chip (-1: the card has no figure for that chip)."""
    size, where = arena_plan(card.get("arena_bytes_target") or 0, board)
    ms = (card.get("latency_ms") or {}).get(f"{board['chip']}_espnn")
    out = {"shape": list(card["input"]["shape"]), "scale": card["output"]["scale"],
           "zp": card["output"]["zero_point"], "arena": size, "where": where,
           "us": int(round(ms * 1000)) if ms is not None else -1}
    u = (card["input"].get("preprocess") or {}).get("utterance")
    if card.get("modality") == "voice":
        out.update({"hop": int(u["hop_frames"]), "maxw": int(u["max_windows"])})
    if card.get("modality") == "frontend":  # its rows' columns (firmware audio.Features)
        out["lay"] = card["output"]["layout"]
    return out


def arena_limits(board) -> tuple[int, int]:
    """(largest one arena, all arenas together) in bytes that a board config can place: the
    esp32 HAL keeps one interpreter per model, each arena whole in internal SRAM or in the
    PSRAM the MicroPython heap leaves."""
    nn = (board.get("hal") or {}).get("nn") or {}
    internal = int(nn.get("arena_internal_max_bytes", 0))
    psram = max(0, int(board.get("psram_usable_bytes", board.get("psram_bytes", 0)))
                - int(board.get("micropython_heap_bytes", 0)))
    margin = int(nn.get("arena_margin_bytes", 0))
    return max(internal, psram) - margin, internal + psram


def _cards(d, probs):
    cards = {}
    for f in sorted(d.glob("*.json")):
        if f.name in _NOT_CARDS or f.name.startswith("premodel_"):
            continue
        c = _read(f, "rebuild it with `eyeauth models build`")
        if isinstance(c, dict) and "modality" in c:
            cards[c.get("name", f.stem)] = c
    return cards


def load(models_dir, board=None) -> Release:
    """Read the release in ``models_dir`` into a :class:`Release`; its ``problems`` list every
    mismatch (one line each, with the command that fixes it). ``board``: a board config (dict)
    or name whose arena room the models must fit."""
    d = Path(models_dir)
    if not d.is_dir():
        raise ReleaseError(f"no release folder {d}; give --models DIR (or $EYEAUTH_MODELS_DIR) "
                           "naming a folder of models, or build one (`eyeauth release build`)")
    probs: list[str] = []
    cards = _cards(d, probs)
    th = None
    th_doc = _read(d / "thresholds.json", FIX_THRESHOLDS)
    if th_doc is not None:
        th = Thresholds.from_dict(th_doc, d / "thresholds.json")
    models = []
    for name, c in sorted(cards.items()):
        f = d / f"{name}.tflite"
        if not f.exists():
            probs.append(f"{name}: card without {name}.tflite; run `eyeauth models build {name}`")
        sha = sha256_file(f) if f.exists() else None
        if sha and not c.get("sha256"):
            probs.append(f"{name}: its card records no sha256 of {f.name}, so the file cannot be "
                         f"checked; rebuild it (`eyeauth models build {name} --force`)")
        elif sha and sha != c["sha256"]:
            probs.append(f"{f.name} differs from the file its card was built with (changed or "
                         f"corrupt); restore it, or rebuild it (`eyeauth models build {name} --force`)")
        probs += _card_problems(name, c)
        models.append(ModelEntry(name, c.get("modality", "?"), f.name, sha, c.get("build_hash"),
                                 int(c.get("arena_bytes_target") or 0), _frozen(c),
                                 th.thresholds.get(name) if th else None,
                                 th.calibration.get(name) if th else None))
    if board is not None:
        probs += _arena_problems(models, board)
    if th is None:
        if any(c.get("modality") in ("face", "voice") for c in cards.values()):
            probs.append(f"no thresholds.json in {d}; {FIX_THRESHOLDS}")
    else:
        probs += _threshold_problems(th, cards, d)
    premodels = []
    for f in sorted(d.glob("premodel_*.json")):
        pm = _read(f, FIX_PREMODEL)
        if not isinstance(pm, dict):
            continue
        fitted = (pm.get("meta") or {}).get("zoo") or {}
        premodels.append(Premodel(pm.get("modality", f.stem[len("premodel_"):]), f.name,
                                  sha256_file(f), tuple(pm.get("models", [])), _frozen(fitted)))
        for name in pm.get("models", []):
            if name not in cards:
                probs.append(f"{f.name} picks {name}, which is not in {d}; {FIX_PREMODEL}")
            elif fitted.get(name) not in (None, cards[name].get("build_hash")):
                probs.append(f"{f.name} was trained for another build of {name}; {FIX_PREMODEL}")
            elif th and name in _premodel_thresholds(pm) and \
                    _premodel_thresholds(pm)[name] != th.thresholds.get(name):
                probs.append(f"{f.name} was trained with another threshold of {name}; {FIX_PREMODEL}")
    det = next((n for n, c in cards.items() if c.get("modality") == "detector"), None)
    listed = th.listed() if th else []
    if det is None and th and th.models.get("face"):
        probs.append(f"thresholds.json lists face models but {d} has no detector; run "
                     "`eyeauth models build face_det`")
    aligned = [n for n in (th.models.get("face") or () if th else ()) if n in cards and
               "landmark" in str(((cards[n].get("input") or {}).get("preprocess") or {}).get("steps", ""))]
    if aligned and not any(c.get("modality") == "landmark" for c in cards.values()):
        probs.append(f"{', '.join(aligned)} take landmark-aligned crops but {d} has no landmark "
                     "model; run `eyeauth models build face_lmk`")
    ident = {}
    doc = _read(d / IDENTIFICATION, FIX_IDENT)
    if isinstance(doc, dict) and isinstance(doc.get("tail"), dict):
        ident = {k: _frozen(v) for k, v in doc["tail"].items() if isinstance(v, dict)}
    missing = [n for n in listed if n in cards and not {"mu", "sd", "far"} <= set(ident.get(n, {}))]
    if missing:
        probs.append(f"{IDENTIFICATION} has no impostor tail for {', '.join(missing)} (the board's "
                     f"1:N thresholds); {FIX_IDENT}")
    return Release(d, release_id(d), tuple(models), th, tuple(premodels), firmware_fusion(), det,
                   tuple(probs), _frozen(ident))


def _card_problems(name, c):
    """The values the board needs from a card that it lacks (one line each, with the fix)."""
    out = c.get("output") or {}
    shape = out.get("shape") or [0]
    if c.get("modality") == "detector" and shape[-1] > 3 and out.get("presence_threshold") is None:
        return [f"{name}: its card has no presence_threshold (the board's face gate); rebuild it "
                f"(`eyeauth models build {name} --force`)"]
    if c.get("modality") == "keyword" and out.get("margin_threshold") is None:
        return [f"{name}: its card has no margin_threshold (the spoken challenge's words "
                "decision); run `eyeauth eval liveness --update-card`"]
    if c.get("modality") == "frontend" and not out.get("layout"):
        return [f"{name}: its card has no output layout (the board reads its rows by it); "
                f"rebuild it (`eyeauth models build {name} --force`)"]
    u = ((c.get("input") or {}).get("preprocess") or {}).get("utterance") or {}
    if c.get("modality") == "voice" and not {"hop_frames", "max_windows"} <= set(u):
        return [f"{name}: its card has no utterance windows (hop_frames, max_windows); run "
                "`eyeauth models build --cards " + name + "`"]
    return []


def _premodel_thresholds(pm):
    t = (pm.get("meta") or {}).get("thresholds")
    return t if isinstance(t, dict) else {}


def _arena_problems(models, board):
    if isinstance(board, str):
        from eyeauth.board.configs import load_board

        board = load_board(board)
    one, total = arena_limits(board)
    out = [f"{m.name}: needs a {m.arena_bytes} B arena, {board['name']} has room for {one} B; "
           "ship a smaller model (`eyeauth models list`)" for m in models if m.arena_bytes > one]
    need = sum(m.arena_bytes for m in models)
    if not out and need > total:
        out.append(f"the models' arenas need {need} B together, {board['name']} has {total} B; "
                   "ship fewer models (`deploy --models DIR` with a smaller release)")
    return out


def _threshold_problems(th, cards, d):
    probs = []
    listed = th.listed()
    for name in list(th.thresholds) + listed:
        if name not in cards:
            probs.append(f"thresholds.json names {name}, which is not in {d}; {FIX_THRESHOLDS}")
    for name in listed:
        if name not in cards:
            continue
        p = th.calibration.get(name) or Calibration()
        if p.build_hash and p.build_hash != cards[name].get("build_hash"):
            probs.append(f"{name} was rebuilt after its threshold was fitted; {FIX_THRESHOLDS}")
        elif p.sha256 and (d / f"{name}.tflite").exists() and _fitted_file_changed(p, cards[name], d):
            probs.append(f"{name}.tflite differs from the file its threshold was fitted on "
                         f"(changed or corrupt); rebuild or restore it, then {FIX_THRESHOLDS}")
        if name not in th.thresholds:
            probs.append(f"thresholds.json lists {name} without a threshold; {FIX_THRESHOLDS}")
    for mod, name in th.default.items():
        if name is not None and name not in th.models.get(mod, ()):
            probs.append(f"thresholds.json's default {mod} model {name} is not in its {mod} "
                         f"list; {FIX_THRESHOLDS}")
    return probs


def _fitted_file_changed(cal, card, d):
    """The file differs from the one its threshold was fitted on, while it is the file its card
    was built with (a file unlike its card's is reported once, as corrupt)."""
    sha = sha256_file(d / card["file"])
    return sha != cal.sha256 and card.get("sha256") in (None, sha)


def check(models_dir, board=None):
    """Problems (one line each, with the fixing command) of the release in ``models_dir``; []
    when it is consistent. ``board``: a board config (dict) or name whose arena room to check."""
    return list(load(models_dir, board).problems)


def require(models_dir, board=None) -> Release:
    """The release, or ReleaseError (first problem, and how many more) if it is inconsistent."""
    rel = load(models_dir, board)
    probs = rel.problems
    if probs:
        more = f" (and {len(probs) - 1} more: `eyeauth release check`)" if len(probs) > 1 else ""
        raise ReleaseError(f"refusing to deploy {models_dir}: {probs[0]}{more}")
    return rel
