"""Modeled ESP-EYE latency: each zoo model's whole path, and the premodel's own overhead.

* A model's path (what the board runs for one input when that model is chosen): the one latency
  assembly's (:mod:`eyeauth.latency`): face = detector + landmarks + face_pre:S + face model +
  match:Dx3; voice = the 3-s phrase path (VAD, streamed log-mel, windows x model) + match:Dx5.
* The premodel's overhead: ``features.face_features`` of the same QVGA frame and face box that
  costs.py times (or ``features.voice_features`` of its 1-s clip) plus ``premodel.choose`` with
  the exported premodel, each timed in the real VM (fastest of ``repeats`` after a warm-up,
  the board's heap), times ``python_speed_factor``. Loading (parsing) the JSON happens once per
  boot and is reported apart (``load``, fastest of ``repeats`` too). A constant premodel (no features) costs only the choice. VM
  timings are cached in the premodel cache folder, keyed by the firmware files, the premodel,
  the timing script and the VM binary.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile

import numpy as np
from pathlib import Path

from eyeauth import FIRMWARE_DIR
from eyeauth.latency import stages as costs
from eyeauth.errors import EyeauthError
from eyeauth.premodel.data import cache_dir

SOURCES = ("eyeauth_fw/features.py", "eyeauth_fw/premodel.py", "eyeauth_fw/pipeline.py")

_SCRIPT = costs.VM_HELPERS + r"""
from eyeauth_fw import features, premodel, release
premodel.DIR = %(dir)r
MOD = %(mod)r
release.use({"routers": {MOD: "premodel_%%s.json" %% MOD}})
if MOD == "face":
    W = %(w)d
    H = %(h)d
    frame = synth_frame(W, H)
    box = tuple(%(box)r)
    feat = lambda: features.face_features(frame, W, H, box)
else:
    clip = synth_clip(%(n)d)
    feat = lambda: features.voice_features(clip)
def load():
    premodel.reset()
    premodel.load(MOD)
f = feat()
M0 = premodel.load(MOD)["models"][0]
out = {"features": timed(feat), "choose": timed(lambda: premodel.choose(MOD, f)),
       "escalate": timed(lambda: (premodel.escalate(MOD, M0, 0.0, f), premodel.poor(MOD, f))),
       "load": timed(load), "choice": premodel.choose(MOD, f)}
print("PMCOST " + json.dumps(out))
"""


class CostError(EyeauthError):
    """The MicroPython VM could not time the premodel."""


def _key(modality, doc, heap, repeats, exe):
    h = hashlib.sha1()
    for rel in SOURCES:
        h.update((Path(FIRMWARE_DIR) / rel).read_bytes())
    h.update(json.dumps(doc, sort_keys=True).encode())
    h.update(_SCRIPT.encode())
    h.update(json.dumps([modality, heap, repeats, costs.FRAME_W, costs.FRAME_H, costs.FACE_BOX,
                         costs.CLIP_SAMPLES, str(Path(exe).resolve())]).encode())
    return h.hexdigest()[:16]


def _run(modality, doc, heap, repeats, timeout=120):
    from eyeauth import mpvm

    with tempfile.TemporaryDirectory() as d:
        Path(d, f"premodel_{modality}.json").write_text(json.dumps(doc))
        src = mpvm.firmware_prelude() + _SCRIPT % {"dir": d, "mod": modality,
                         "rep": int(repeats), "w": costs.FRAME_W, "h": costs.FRAME_H,
                         "box": list(costs.FACE_BOX), "n": costs.CLIP_SAMPLES}
        return mpvm.run_json(src, "PMCOST", heap_bytes=heap, timeout=timeout,
                             what="timing the premodel", error=CostError)


def overhead(modality, doc, board="esp-eye", repeats=21, use_cache=True):
    """Modeled board ms of the premodel per input (features + choose) for an exported premodel
    ``doc`` (dict). Returns {"vm_us": {...}, "modeled_ms": {features, choose, load},
    "overhead_ms", "python_speed_factor", "board", "cached"}."""
    from eyeauth.board.configs import load_board

    cfg = load_board(board)
    factor = float(cfg.get("python_speed_factor") or 1.0)
    heap = int(cfg.get("micropython_heap_bytes") or 2097152)
    key = _key(modality, doc, heap, repeats, costs.micropython_binary())
    path = cache_dir() / "vm_costs.json"
    disk = {}
    if use_cache:
        try:
            disk = json.loads(path.read_text())
        except (OSError, ValueError):
            disk = {}
    vm = disk.get(key)
    cached = vm is not None
    if vm is None:
        vm = _run(modality, doc, heap, repeats)
        vm = {k: vm[k] for k in ("features", "choose", "escalate", "load")}
        if use_cache:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                disk[key] = vm
                tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(disk, indent=1, sort_keys=True))
                tmp.replace(path)
            except OSError:
                pass
    from eyeauth.latency import python_ms

    ms = {k: round(python_ms(v, factor), 3) for k, v in vm.items()}
    # features are computed when the chooser, an escalate band or a quality rule reads them
    used = bool(doc.get("index")) or bool(doc.get("quality")) or \
        any(r[2] >= 0 for r in doc.get("escalate") or [])
    feats = ms["features"] if used else 0.0  # a constant choice computes none
    rules = ms.get("escalate", 0.0) if (doc.get("escalate") or doc.get("quality")) else 0.0
    return {"board": board, "python_speed_factor": factor, "vm_us": vm, "modeled_ms": ms,
            "features_used": used,
            "overhead_ms": round(feats + ms["choose"] + rules, 3), "cached": cached}


def routing_costs(zoo_, board="esp-eye"):
    """Modeled ms on ``board`` for routing: per model the whole path when it runs first
    (``first``), the added cost when it runs after another model on the same input (``extra``:
    the shared stages, detector or VAD, are not repeated) and the cost of an input the board
    refuses before any model (``refused``), with ``order`` (cheapest path first) and the stages.

    Every path is the one latency assembly's (:mod:`eyeauth.latency`): faces
    :func:`~eyeauth.latency.face_path` (detector + landmark net + face_pre:S + net + match), voices
    the 3-s phrase path of each card (:func:`~eyeauth.latency.voice_path` with ``phrase``: VAD,
    streamed log-mel rows, windows x net, at this board's python_speed_factor) + match."""
    from eyeauth import latency

    cfg, chip, factor = latency.board_facts(board)
    cards = [zoo_.cards[n] for n in zoo_.names]
    match = [(c["output"]["shape"][-1], 3 if zoo_.modality == "face" else 5) for c in cards]
    if zoo_.modality == "face":
        ms = costs.stage_costs(face_sizes=[c["input"]["shape"][1] for c in cards], match=match,
                               board=board)["modeled_ms"]
        lmk = zoo_.lmk_card
        paths = {c["name"]: latency.face_path(c, zoo_.det_card, ms, chip, lmk=lmk) for c in cards}
        shared_stages = ["nn:" + zoo_.det_card["name"]] + (["lmk_pre", "nn:" + lmk["name"]] if lmk else [])
        shared = float(np.mean([sum(p["stages_ms"][s] for s in shared_stages) for p in paths.values()]))
    else:
        ms = costs.stage_costs(match=match, board=board)["modeled_ms"]
        paths = {c["name"]: latency.voice_path(c, ms, chip, factor, phrase=True) for c in cards}
        # the front end's rows and the VAD run once, whichever model then reads the windows
        shared = float(np.mean([p["stages_ms"]["vad"] + p["stages_ms"]["frontend"]
                                for p in paths.values()]))
    first = {n: p["total_ms"] for n, p in paths.items()}
    extra = {n: round(first[n] - shared, 3) for n in first}
    order = sorted(first, key=lambda n: (first[n], n))
    return {"board": board, "chip": chip, "python_speed_factor": factor,
            "order": order, "first": first, "extra": extra, "refused": round(shared, 3),
            "stages_ms": {n: p["stages_ms"] for n, p in paths.items()}}
