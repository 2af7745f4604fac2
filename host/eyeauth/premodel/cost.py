"""Modeled ESP-EYE latency: each zoo model's whole path, and the premodel's own overhead.

* A model's path (what the board runs for one input when that model is chosen), as
  ``eyeauth eval fusion`` models it: face = det_pre + detector + face_pre:S + face model +
  match:Dx3; voice = vad + logmel:TxM + voice model + match:Dx5. Networks from the cards'
  timing model for the board's chip (``timing.card_latency_ms``); Python stages from :func:`eyeauth.auth.costs.stage_costs` (the firmware
  timed in the MicroPython VM x the board's ``python_speed_factor``).
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
from eyeauth.auth import costs
from eyeauth.errors import EyeauthError
from eyeauth.premodel.data import cache_dir

SOURCES = ("eyeauth_fw/features.py", "eyeauth_fw/premodel.py", "eyeauth_fw/pipeline.py")

_SCRIPT = costs.VM_HELPERS + r"""
from eyeauth_fw import features, premodel
premodel.DIR = %(dir)r
MOD = %(mod)r
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


def model_paths(cards, modality, board="esp-eye"):
    """{model: modeled ms of its whole path} and the stage breakdown, for a modality's cards."""
    from eyeauth.board.configs import load_board
    from eyeauth.models import zoo

    cfg = load_board(board)

    if modality == "face":
        det = zoo.load_card(zoo.DETECTOR)
        sizes = [c["input"]["shape"][1] for c in cards]
        match = [(c["output"]["shape"][-1], 3) for c in cards]
        py = costs.stage_costs(face_sizes=sizes, match=match, board=board)
    else:
        shapes = [tuple(c["input"]["shape"][1:3]) for c in cards]
        match = [(c["output"]["shape"][-1], 5) for c in cards]
        py = costs.stage_costs(voice_shapes=shapes, match=match, board=board)
    ms = py["modeled_ms"]
    out, stages = {}, {}
    for c in cards:
        d = c["output"]["shape"][-1]
        if modality == "face":
            s = {"det_pre": ms["det_pre"], "nn:" + det["name"]: _nn_ms(det, cfg),
                 "face_pre": ms[f"face_pre:{c['input']['shape'][1]}"],
                 "nn:" + c["name"]: _nn_ms(c, cfg), "match": ms[f"match:{d}x3"]}
        else:
            t, m = c["input"]["shape"][1:3]
            s = {"frontend": ms["frontend"], "vad": ms["vad"], "logmel": ms[f"logmel:{t}x{m}"],
                 "nn:" + c["name"]: _nn_ms(c, cfg), "match": ms[f"match:{d}x5"]}
        stages[c["name"]] = s
        out[c["name"]] = round(sum(s.values()), 3)
    return out, {"board": board, "python_speed_factor": py["python_speed_factor"],
                 "stages_ms": stages}


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
        src = _SCRIPT % {"fw": str(Path(FIRMWARE_DIR).resolve()), "dir": d, "mod": modality,
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
    ms = {k: round(v * factor / 1000.0, 3) for k, v in vm.items()}
    # features are computed when the chooser, an escalate band or a quality rule reads them
    used = bool(doc.get("index")) or bool(doc.get("quality")) or \
        any(r[2] >= 0 for r in doc.get("escalate") or [])
    feats = ms["features"] if used else 0.0  # a constant choice computes none
    rules = ms.get("escalate", 0.0) if (doc.get("escalate") or doc.get("quality")) else 0.0
    return {"board": board, "python_speed_factor": factor, "vm_us": vm, "modeled_ms": ms,
            "features_used": used,
            "overhead_ms": round(feats + ms["choose"] + rules, 3), "cached": cached}


def _nn_ms(card, board_cfg):
    """A network's modeled ms on the board's chip (the card's timing-model figures)."""
    from eyeauth.timing import card_latency_ms

    return card_latency_ms(card, board_cfg.get("chip") or "esp32")


def routing_costs(zoo_, board="esp-eye"):
    """Modeled ms on ``board`` for routing: per model the whole path when it runs first
    (``first``), the added cost when it runs after another model on the same input (``extra``:
    the shared stages, detector or VAD, are not repeated) and the cost of an input the board
    refuses before any model (``refused``), with ``order`` (cheapest path first) and the stages.

    Faces: det_pre + detector + face_pre:S + net + match, as :func:`model_paths`, the networks at
    the board chip's figure. Voices: the 3-s phrase path of each card (``latency_phrase_3s_ms``,
    measured on the firmware's streamed log-mel in the VM: VAD, log-mel rows, windows x net),
    its Python parts rescaled by the board's python_speed_factor and the net by its chip;
    + match."""
    from eyeauth.board.configs import load_board

    cfg = load_board(board)
    cards = [zoo_.cards[n] for n in zoo_.names]
    factor = float(cfg.get("python_speed_factor") or 1.0)
    stages = {}
    if zoo_.modality == "face":
        det = zoo_.det_card
        sizes = [c["input"]["shape"][1] for c in cards]
        match = [(c["output"]["shape"][-1], 3) for c in cards]
        ms = costs.stage_costs(face_sizes=sizes, match=match, board=board)["modeled_ms"]
        shared = ms["det_pre"] + _nn_ms(det, cfg)
        for c in cards:
            d = c["output"]["shape"][-1]
            stages[c["name"]] = {"det_pre": ms["det_pre"], "nn:" + det["name"]: _nn_ms(det, cfg),
                                 "face_pre": ms[f"face_pre:{c['input']['shape'][1]}"],
                                 "nn:" + c["name"]: _nn_ms(c, cfg), "match": ms[f"match:{d}x3"]}
    else:
        match = [(c["output"]["shape"][-1], 5) for c in cards]
        ms = costs.stage_costs(match=match, board=board)["modeled_ms"]
        vads = []
        for c in cards:
            ph = c.get("latency_phrase_3s_ms")
            if not ph:
                raise EyeauthError(f"{c['name']}'s card has no latency_phrase_3s_ms; run "
                                   "`python3 -m eyeauth.models.voice_phrase --update-cards`")
            scale = factor / float(ph.get("python_speed_factor") or factor)
            d = c["output"]["shape"][-1]
            if "window_ms" not in ph:
                raise EyeauthError(f"{c['name']}'s latency_phrase_3s_ms predates the audio front "
                                   "end; run `python3 -m eyeauth.models.voice_phrase "
                                   "--update-latency`")
            vads.append(ph["vad_ms"] * scale + ph["frontend_ms"])
            stages[c["name"]] = {"frontend": round(ph["frontend_ms"], 3),
                                 "vad": round(ph["vad_ms"] * scale, 3),
                                 "logmel": round(ph["window_ms"] * scale, 3),
                                 "nn:" + c["name"]: round(_nn_ms(c, cfg) * ph["windows"], 3),
                                 "match": ms[f"match:{d}x5"]}
        shared = float(np.mean(vads))
    first = {n: round(sum(s.values()), 3) for n, s in stages.items()}
    extra = {n: round(first[n] - shared, 3) for n in first}
    order = sorted(first, key=lambda n: (first[n], n))
    return {"board": board, "chip": cfg.get("chip"), "python_speed_factor": factor,
            "order": order, "first": first, "extra": extra, "refused": round(shared, 3),
            "stages_ms": stages}
