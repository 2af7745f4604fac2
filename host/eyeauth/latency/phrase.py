"""Modeled board time of the whole voice path of a phrase (``latency_phrase_3s_ms`` on the
voice cards): the firmware's VAD, clipping check, streamed log-mel rows and window tensors with
the pipeline's garbage collections, timed in the MicroPython VM (fastest of ``repeats``: a shared
host only ever adds time) x the board's python_speed_factor, plus windows x the network's
modeled time, assembled by :func:`eyeauth.latency.assemble`.

    python3 -m eyeauth.latency.phrase --latency            # print it for the built voice models
    python3 -m eyeauth.latency.phrase --update-latency     # re-time it onto their cards
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from eyeauth.errors import DataError
from eyeauth.models.preprocess import RATE
from eyeauth.models.voice_phrase import utterance_settings

_VM_LATENCY = r"""
import time, gc
from array import array
from eyeauth_fw import audio
x = array("h", open(%(clip)r, "rb").read())
T, M, H, K = %(t)d, %(m)d, %(hop)d, %(maxw)d
def run():
    t0 = time.ticks_us()
    ok, c, nsp, peak, s, e = audio.vad_span(x)
    audio.clipped_fraction(x)
    t1 = time.ticks_us()
    start, offs = audio.utterance_plan(c, s, e, T, H, K)
    gc.collect()  # as pipeline.voice_embedding: one collection, then every 64 KB allocated
    gc.threshold(65536)
    lm = audio.LogMel(T, M)
    done = -1
    rows = 0
    for o in offs:
        r = max(o, done + 1)
        while r < o + T:
            lm.row(x, start + r * audio.HOP, r)
            r += 1
            rows += 1
        done = o + T - 1
        lm.window(o)
    t2 = time.ticks_us()
    gc.threshold(-1)
    return time.ticks_diff(t1, t0), time.ticks_diff(t2, t1), len(offs), rows
run()
best = None
for _ in range(%(rep)d):  # the fastest of each part (a shared host only ever adds time)
    gc.collect()
    r = run()
    best = r if best is None else (min(best[0], r[0]), min(best[1], r[1]), r[2], r[3])
print(*best)
"""


def latency_clip(seconds=3.0, seed=0):
    """A worst-case test utterance: ``seconds`` of speech-like noise (4 Hz syllable envelope,
    loud at both ends), so the VAD's speech span is the whole clip."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    env = 0.03 + 0.97 * (0.5 + 0.5 * np.cos(2 * np.pi * 4 * t))
    return np.clip(rng.normal(0, 3000, t.size) * env, -32768, 32767).astype(np.int16)


def phrase_latency(card, seconds=3.0, board="esp-eye", repeats=5):
    """Modeled ESP32 ms of the whole voice path for ``seconds`` of speech (``latency_clip``):
    the firmware's VAD + clipping check, its streamed log-mel rows and window tensors with the
    pipeline's garbage collections (timed in
    the MicroPython VM, x the board's python_speed_factor) + windows x the model's modeled
    inference latency (timing model)."""
    from eyeauth import FIRMWARE_DIR, latency, mpvm

    t, m = card["input"]["shape"][1:3]
    u = utterance_settings(card)
    cfg, chip, factor = latency.board_facts(board)
    with tempfile.TemporaryDirectory() as d:
        clip = Path(d) / "clip.bin"
        latency_clip(seconds).tofile(clip)
        script = mpvm.firmware_prelude() + _VM_LATENCY % {
            "clip": str(clip), "t": t, "m": m, "hop": u["hop_frames"],
            "maxw": u["max_windows"], "rep": repeats}
        heap = int(cfg.get("micropython_heap_bytes") or 2097152)
        r = mpvm.run(script, heap_bytes=heap, timeout=300, what="timing the voice path",
                     error=DataError)
    vad_us, lm_us, n, rows = (int(v) for v in r.stdout.split())
    path = latency.assemble(nets=[("nn", card, n)],
                            python=[("vad", latency.python_ms(vad_us, factor)),
                                    ("logmel", latency.python_ms(lm_us, factor))], chip=chip)
    st = path["stages_ms"]
    fw = hashlib.sha256(b"".join((Path(FIRMWARE_DIR) / "eyeauth_fw" / f).read_bytes()
                                 for f in ("audio.py", "pipeline.py"))).hexdigest()[:12]
    return {"seconds": seconds, "board": board, "python_speed_factor": factor, "windows": n,
            "firmware": fw, "rows": rows, "vad_ms": round(st["vad"], 1),
            "logmel_ms": round(st["logmel"], 1), "nn_ms": round(st["nn"], 1),
            "total_ms": round(st["vad"] + st["logmel"] + st["nn"], 1)}


def update_latency(name, out_dir=None, repeats=15):
    """Re-time the voice path of a card (the VM is timed on a shared host: the fastest of
    ``repeats`` runs is the stable figure) and write ``latency_phrase_3s_ms`` on it."""
    from eyeauth.models import zoo

    card = zoo.load_card(name, out_dir)
    new = phrase_latency(card, repeats=repeats)
    old = card.get("latency_phrase_3s_ms") or {}
    same = all(old.get(k) == new[k] for k in ("firmware", "windows", "rows", "nn_ms"))
    if same:  # interference only ever adds time: keep the fastest of each part seen
        for k in ("vad_ms", "logmel_ms"):
            new[k] = min(new[k], old[k])
        new["total_ms"] = round(new["vad_ms"] + new["logmel_ms"] + new["nn_ms"], 1)
    card["latency_phrase_3s_ms"] = new
    return zoo.save_card(card, out_dir)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m eyeauth.latency.phrase",
                                 description="modeled ESP32 time of the whole voice path of a 3 s "
                                             "phrase (VAD, streamed log-mel, every window's "
                                             "inference); the voice sets' figures are `eyeauth "
                                             "models eval --modality voice`")
    ap.add_argument("--models", nargs="*", help="voice models (default: all)")
    ap.add_argument("--latency", action="store_true", help="modeled ms of a 3 s phrase")
    ap.add_argument("--update-latency", action="store_true",
                    help="re-time the 3 s voice path of the built voice models onto their cards")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if not (a.latency or a.update_latency):
        ap.error("give --latency or --update-latency")
    from eyeauth.models import zoo

    cards = [c for c in zoo.list_models(modality="voice") if not a.models or c["name"] in a.models]
    out = {}
    if a.update_latency:
        for c in cards:
            c = update_latency(c["name"])
            print(f"{c['name']}: 3 s phrase {c['latency_phrase_3s_ms']['total_ms']} ms modeled")
    if a.latency:
        out["latency_3s"] = {c["name"]: phrase_latency(c) for c in cards}
    if a.json:
        print(json.dumps(out, indent=1))
        return 0
    for m, lat in out.get("latency_3s", {}).items():
        print(f"{m}: 3 s phrase {lat['total_ms']} ms modeled on the ESP32 ({lat['windows']} "
              f"windows, {lat['rows']} log-mel rows: vad {lat['vad_ms']} + log-mel "
              f"{lat['logmel_ms']} + nn {lat['nn_ms']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
