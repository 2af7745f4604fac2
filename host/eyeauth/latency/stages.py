"""Modeled cost of the board's Python stages: the firmware's own preprocessing, timed in the real
MicroPython VM (the unix port) and scaled to the board by its ``python_speed_factor``.

The stages are those ``firmware/eyeauth_fw/pipeline.py`` times, with the same calls:

* ``lmk_pre``: ``imgproc.landmark_input`` of a face box of a QVGA (320 x 240) grey frame (the
  box: a square of half the frame height, 120 px: a face at arm's length) to 48 x 48;
* ``face_pre:S``: ``imgproc.aligned_input`` of that face to S x S (the template's points placed
  in the box: ``imgproc.box_points``; the sampling rate k follows from the scale as on a real
  face of that size);
* ``vad``: the Python of ``pipeline.voice_check`` on a 1-s 8 kHz clip (frame levels, VAD
  comparisons, clipping count), its front-end chunks run by the real TFLM interpreter through
  the sim HAL (``sim.vmnn``) and left out of the Python time;
* ``frontend``: those front-end chunks (2 for 1 s) at the timing model's latency of
  models/audio_fe.tflite on the board's chip (no VM time: a network stage);
* ``logmel:TxM``: the Python of one T x M window of ``pipeline.voice_embedding`` (reading and
  quantising the front end's rows) of that clip;
* ``match:DxE``: ``pipeline.score`` of a D-dim probe against one user's E int8 samples (the board
  runs it inside auth, outside the timed stages; it is counted here because it is board time);
* ``fusion``: ``fusion.decide`` (the board's "fusion" stage).

Each stage runs ``repeats`` times (after one warm-up call); the fastest VM time counts (the host
is shared with other work, and interference only ever adds time: the minimum is the stable
estimate of the stage's own cost). The VM
runs with the board's MicroPython heap (``micropython_heap_bytes``). Modeled board time =
VM time x ``python_speed_factor`` of the board config (an estimate to recalibrate from field
telemetry, see board_configs/*.json). VM times are cached in memory and on disk
(``$EYEAUTH_COSTS_CACHE``, else py_costs.json in ``$EYEAUTH_CACHE`` or ~/.cache/eyeauth) keyed by the firmware sources,
the VM binary and the stage list, so repeated evaluations report the same figures; the factor is
applied on every read, so a recalibrated board config takes effect at once.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from eyeauth import FIRMWARE_DIR
from eyeauth.errors import EyeauthError

FRAME_W, FRAME_H = 320, 240
FACE_BOX = (100, 60, 120, 120)
CLIP_SAMPLES = 8000
SOURCES = ("eyeauth_fw/imgproc.py", "eyeauth_fw/audio.py", "eyeauth_fw/pipeline.py",
           "eyeauth_fw/fusion.py", "eyeauth_fw/speech.py")

_memo: dict = {}

# The MicroPython side of every timing script (this module's and the premodel's): imports,
# the fastest-of-REP timer, and the synthetic frame and clip the stages are timed on.
# %-formatted with at least rep; callers put mpvm.firmware_prelude() first.
VM_HELPERS = r"""
import json, time, gc, math
from array import array
REP = %(rep)d
def timed(fn):
    fn()
    ts = []
    for _ in range(REP):
        gc.collect()
        t0 = time.ticks_us()
        fn()
        ts.append(time.ticks_diff(time.ticks_us(), t0))
    return min(ts)
def synth_frame(W, H):
    frame = bytearray(W * H)
    for r in range(H):
        for c in range(W):
            frame[r * W + c] = (r * 3 + c * 5 + ((r * c) >> 4)) & 0xFF
    return frame
def synth_clip(n):
    seed = 12345
    clip = array('h', bytes(2 * n))
    for i in range(n):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        noise = (seed >> 16) %% 200 - 100
        env = 1.0 if 2400 <= i < 5600 else 0.0
        clip[i] = int(noise + env * 6000 * math.sin(i * 0.21) * math.sin(i * 0.0041))
    return clip
"""

_SCRIPT = VM_HELPERS + r"""
W = %(w)d
H = %(h)d
spec = json.loads(%(spec)r)
out = {}
if spec["face"] is not None:
    from eyeauth_fw import imgproc
    frame = synth_frame(W, H)
    box = tuple(spec["box"])
    out["lmk_pre"] = timed(lambda: imgproc.landmark_input(frame, W, H, box, 48))
    pts = imgproc.box_points(box)
    for s in spec["face"]:
        out["face_pre:%%d" %% s] = timed(lambda: imgproc.aligned_input(frame, W, H, pts, s))
if spec["voice"] is not None:
    from eyeauth_fw import pipeline, release
    nets = spec["nets"]
    for t, m in spec["voice"]:
        nets["v%%dx%%d" %% (t, m)] = {"shape": [1, t, m, 1], "scale": 1.0, "zp": 0, "hop": t, "maxw": 1, "us": 0}
    release.use({"nets": nets})
    clip = synth_clip(%(n)d)
    class Board(SimBoard):  # the front end in TFLM (the service); a network's output: zeros
        def nn_run(self, model, tensor, net=None):
            if model == "audio_fe":
                return SimBoard.nn_run(self, model, tensor, net)
            return bytes(64), {"modeled_us": 0, "arena": 0}
    class Tel:
        def record(self, *a):
            pass
    def stage(name, fn):
        best = None
        for _ in range(REP + 1):
            gc.collect()
            p = pipeline.Pipeline(Board(), Tel())
            fn(p)
            t = sum(s[2] for s in p.stages if s[0] == name)
            best = t if best is None else min(best, t)
        return best
    out["vad"] = stage("vad", lambda p: p.voice_check(clip))
    for t, m in spec["voice"]:
        name = "v%%dx%%d" %% (t, m)
        out["logmel:%%dx%%d" %% (t, m)] = stage("logmel", lambda p: p.voice_embedding(clip, p.voice_check(clip), name))
if spec["match"] is not None:
    from eyeauth_fw import pipeline, fusion
    for d, e in spec["match"]:
        v = [((i * 37) %% 19 - 9) / 30.0 for i in range(d)]
        n = math.sqrt(sum(x * x for x in v))
        v = [x / n for x in v]
        samples = [pipeline.quantize_unit([((i * (k + 3)) %% 23 - 11) / 40.0 for i in range(d)])
                   for k in range(e)]
        out["match:%%dx%%d" %% (d, e)] = timed(lambda: pipeline.score(v, samples))
    out["fusion"] = timed(lambda: fusion.decide("cascade", 0.01, -0.02))
print("COSTS " + json.dumps(out))
"""


class CostError(EyeauthError):
    """The MicroPython VM could not time the firmware stages."""


def micropython_binary():
    from eyeauth import mpvm

    return mpvm.binary(CostError)


def _cache_path():
    env = os.environ.get("EYEAUTH_COSTS_CACHE")
    from eyeauth import cache_dir

    return Path(env) if env else cache_dir() / "py_costs.json"


def _fingerprint(firmware_dir, exe, heap, repeats):
    """Key of a set of VM timings: firmware sources, VM binary, heap, repeats, inputs."""
    h = hashlib.sha1()
    for rel in SOURCES:
        h.update((Path(firmware_dir) / rel).read_bytes())
    h.update(json.dumps([heap, repeats, FRAME_W, FRAME_H, FACE_BOX, CLIP_SAMPLES]).encode())
    from eyeauth.models import zoo

    fe = zoo.tflite_path(zoo.FRONTEND)  # the voice stages read its rows
    h.update(fe.read_bytes() if fe.exists() else b"")
    h.update(str(Path(exe).resolve()).encode())
    try:
        h.update(str(Path(exe).resolve().stat().st_size).encode())
    except OSError:
        pass
    return h.hexdigest()[:16]


def _run_vm(exe, spec, repeats, heap_bytes, firmware_dir, timeout):
    from eyeauth import mpvm

    if spec["voice"] is None:
        src = mpvm.firmware_prelude(firmware_dir) + _SCRIPT % {"w": FRAME_W, "h": FRAME_H,
                         "rep": int(repeats), "n": CLIP_SAMPLES, "spec": json.dumps(spec)}
        return mpvm.run_json(src, "COSTS", heap_bytes=heap_bytes, timeout=timeout,
                             what="timing the firmware stages", error=CostError)
    from eyeauth.board.configs import load_board
    from eyeauth.models import zoo
    from eyeauth.release import net_entry
    from eyeauth.sim import vmnn

    fe = _frontend_card()  # VM time is board-independent: any board's manifest entry will do
    spec["nets"] = {fe["name"]: net_entry(fe, load_board("esp-eye"))}
    src = _SCRIPT % {"w": FRAME_W, "h": FRAME_H, "rep": int(repeats), "n": CLIP_SAMPLES,
                     "spec": json.dumps(spec)}
    with vmnn.serve(zoo.models_dir()) as addr:
        return mpvm.run_json(vmnn.vm_prelude(addr, firmware_dir=firmware_dir) + src, "COSTS",
                             heap_bytes=heap_bytes, timeout=timeout,
                             what="timing the firmware stages", error=CostError)


def _frontend_card():
    from eyeauth.models import zoo

    try:
        return zoo.load_card(zoo.FRONTEND)
    except EyeauthError:
        raise CostError("the voice stages need the audio front end (models/audio_fe.tflite); "
                        "run `eyeauth models build audio_fe`") from None


def frontend_ms(n_samples, chip):
    """Modeled ms of the front end over a clip of ``n_samples``: the chunks the VAD reads (rows
    0 .. 2 frames - 2, ``speech.vad_rows``) at the card's latency on ``chip``."""
    from eyeauth.fw import speech
    from eyeauth.timing import card_latency_ms

    fe = _frontend_card()
    rows = speech.vad_rows(int(n_samples))
    k = int(fe["output"]["layout"]["rows"])
    return -(-rows // k) * card_latency_ms(fe, chip)


def measure_vm(face_sizes=(), voice_shapes=(), match=(), repeats=5, heap_bytes=2097152,
               firmware_dir=FIRMWARE_DIR, timeout=120):
    """Fastest-of-``repeats`` VM microseconds of every stage (dict), measured afresh.

    One VM process per group (the face stages; each voice shape with the VAD; matching and
    fusion), each with the board's heap. (In one 2 MB VM, QVGA face crops followed by log-mel
    patches of several shapes can end in a MemoryError although most of the heap is free: a
    firmware memory finding of its own; separate processes keep the timings clear of it.)"""
    exe = micropython_binary()
    box = list(FACE_BOX)
    groups = [{"face": sorted({int(s) for s in face_sizes}), "voice": None, "match": None}]
    for shape in sorted({(int(t), int(m)) for t, m in voice_shapes}) or [None]:
        groups.append({"face": None, "voice": [list(shape)] if shape else [], "match": None})
    groups.append({"face": None, "voice": None,
                   "match": sorted([int(d), int(e)] for d, e in {tuple(x) for x in match})})
    out = {}
    for g in groups:
        g["box"] = box
        got = _run_vm(exe, g, repeats, heap_bytes, firmware_dir, timeout)
        for k, v in got.items():
            out[k] = min(out[k], v) if k in out else v  # vad is timed once per voice group
    return out


def stage_names(face_sizes=(), voice_shapes=(), match=()):
    names = ["lmk_pre"] + [f"face_pre:{int(x)}" for x in face_sizes]
    names += ["vad"] + [f"logmel:{int(t)}x{int(m)}" for t, m in voice_shapes]
    names += [f"match:{int(d)}x{int(e)}" for d, e in match] + ["fusion"]
    return names


def _read_disk(path):
    try:
        disk = json.loads(path.read_text())
        return disk if isinstance(disk, dict) else {}
    except (OSError, ValueError):
        return {}


def stage_costs(face_sizes=(), voice_shapes=(), match=(), board="esp-eye", repeats=9,
                use_cache=True):
    """Modeled board milliseconds of the Python stages.

    Returns {"board", "python_speed_factor", "vm_us": {stage: us}, "modeled_ms": {stage: ms},
    "cached": bool}. Stage names: lmk_pre, face_pre:S, vad, logmel:TxM, match:DxE, fusion; with
    voice shapes also ``frontend`` (modeled_ms only: the front end's network time for 1 s).
    Each stage is measured once per firmware version (then cached per stage), so every command
    that needs it reports the same figure."""
    from eyeauth.latency import board_facts, python_ms

    cfg, _, factor = board_facts(board)
    heap = int(cfg.get("micropython_heap_bytes") or 2097152)
    exe = micropython_binary()
    face_sizes = sorted({int(x) for x in face_sizes})
    voice_shapes = sorted({(int(t), int(m)) for t, m in voice_shapes})
    match = sorted({(int(d), int(e)) for d, e in match})
    wanted = stage_names(face_sizes, voice_shapes, match)
    key = _fingerprint(FIRMWARE_DIR, exe, heap, int(repeats))
    path = _cache_path()
    known = dict(_memo.get(key, {})) if use_cache else {}
    if use_cache and any(n not in known for n in wanted):
        known.update(_read_disk(path).get(key) or {})
    missing = [n for n in wanted if n not in known]
    cached = not missing
    if missing:
        got = measure_vm([x for x in face_sizes if f"face_pre:{x}" in missing],
                         [s for s in voice_shapes if f"logmel:{s[0]}x{s[1]}" in missing],
                         [m for m in match if f"match:{m[0]}x{m[1]}" in missing],
                         repeats, heap)
        for n in missing:  # a group always re-times its cheap shared stages: keep the first
            known[n] = got[n]
        if use_cache:
            try:
                disk = _read_disk(path)
                disk.setdefault(key, {}).update({n: known[n] for n in missing})
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(disk, indent=1, sort_keys=True))
                tmp.replace(path)
            except OSError:
                pass  # a read-only home only costs a re-measure next time
    _memo.setdefault(key, {}).update(known)
    vm = {n: known[n] for n in wanted}
    ms = {k: round(python_ms(v, factor), 3) for k, v in vm.items()}
    if voice_shapes:  # the front end: a network stage, the timing model's
        ms["frontend"] = round(frontend_ms(CLIP_SAMPLES, cfg["chip"]), 3)
    return {"board": board, "python_speed_factor": factor, "vm_us": vm, "modeled_ms": ms,
            "cached": cached}
