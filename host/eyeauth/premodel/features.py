"""The premodel's cheap input features: the numpy reference of firmware/eyeauth_fw/features.py.

Same integer arithmetic, step for step (tests/premodel/test_features_vm.py checks that the
device, run in the MicroPython VM, returns the same integers). Definitions:

Face (``face_features(frame, box)``), frame = grey uint8 (H, W), box = (x, y, bw, bh):

* sample grid G = 16: rows r_j = clip(y + (2j+1)*bh // 2G, 0, H-2), columns
  c_i = clip(x + (2i+1)*bw // 2G, 0, W-2); v = frame[r_j, c_i], plus its right and lower
  neighbours (so 3 x 256 pixel reads);
* ``box_side`` bw; ``box_rel`` bw*256 // min(W, H); ``box_out`` 256 - 256 * (area of the box
  inside the frame) // (bw*bh);
* ``mean`` sum v // 256; ``contrast`` isqrt(sum v^2 // 256 - mean^2); ``range`` max v - min v;
* ``sharp`` 16 * sum(|v - right| + |v - down|) // 256 (fine gradient: blur lowers it, noise
  raises it); ``coarse`` 16 * sum of |differences of grid neighbours| // 480 (structure);
  ``edges`` points with |v - right| + |v - down| > 32; ``sat`` points < 16 or > 239;
  ``asym`` |left-half sum - right-half sum| // 128 (side light); ``sharp_ratio``
  sharp*64 // (coarse+1);
* ``frame_mean``: mean of an 8 x 8 grid over the whole frame (same sampling rule);
  ``backlight`` mean - frame_mean + 256.

Voice (``voice_features(clip)``), clip = int16 samples at 8 kHz, n samples:

* frames of 256 samples, nf = min(ceil(n/256), 160) (longer clips: the first 160 frames);
  points i = t*256, t*256+8, ... inside the clip;
* frame level ea[t] = sum |x[i]|; peak = max ea, floor = min ea; active frames: 8*ea[t] >= peak;
* on active frames (points with i+1 inside the clip): zc = points where x[i], x[i+1] differ in
  sign (x[i] XOR x[i+1] < 0), d1 = sum |x[i+1] - x[i]|, a1 = sum |x[i]|, cnt = points;
  clipped = points (of every frame) with |x[i]| >= 32767;
* ``dur`` n // 80 (10 ms); ``active`` active frames; ``act_frac`` active*256 // nf; ``level``
  ilog(peak + 1); ``floor`` ilog(floor + 1); ``snr`` level - floor; ``zcr`` zc*1024 // cnt;
  ``tilt`` ilog(d1+1) - ilog(a1+1) + 64 (higher = brighter spectrum: a spectral-centroid proxy);
  ``clip`` clipped points; ``act_level`` ilog(a1 // cnt + 1);
* ilog(v) = 8*floor(log2 v) + the 3 bits below v's leading one (0 for v <= 1).
"""
from __future__ import annotations

import math

import numpy as np

G, FG = 16, 8
EDGE = 32
FRAME, STEP, MAX_FRAMES = 256, 8, 160

FACE_NAMES = ("box_side", "box_rel", "box_out", "mean", "contrast", "range", "sharp", "coarse",
              "edges", "sat", "asym", "sharp_ratio", "frame_mean", "backlight")
VOICE_NAMES = ("dur", "active", "act_frac", "level", "floor", "snr", "zcr", "tilt", "clip",
               "act_level")
NAMES = {"face": FACE_NAMES, "voice": VOICE_NAMES}

#: Pixel / sample reads per input (the cost, independent of the frame or clip size).
FACE_READS = 3 * G * G + 3 * FG * FG


def ilog(v):
    v = int(v)
    if v <= 1:
        return 0
    e = v.bit_length() - 1
    f = (v >> (e - 3)) & 7 if e >= 3 else (v << (3 - e)) & 7
    return 8 * e + f


def _grid(img, x, y, bw, bh, g):
    h, w = img.shape
    k = np.arange(g)
    rows = np.clip(y + ((2 * k + 1) * bh) // (2 * g), 0, h - 2)
    cols = np.clip(x + ((2 * k + 1) * bw) // (2 * g), 0, w - 2)
    v = img[np.ix_(rows, cols)]
    right = img[np.ix_(rows, cols + 1)]
    down = img[np.ix_(rows + 1, cols)]
    grad = np.abs(v - right) + np.abs(v - down)
    coarse = np.abs(np.diff(v, axis=1)).sum() + np.abs(np.diff(v, axis=0)).sum()
    half = g // 2
    return {"s1": int(v.sum()), "s2": int((v * v).sum()), "lo": int(v.min()), "hi": int(v.max()),
            "fine": int(grad.sum()), "coarse": int(coarse), "edges": int((grad > EDGE).sum()),
            "sat": int(((v < 16) | (v > 239)).sum()), "left": int(v[:, :half].sum()),
            "right": int(v[:, half:].sum())}


def face_features(frame, box):
    """Integer face features (FACE_NAMES order) of a grey frame and a face box."""
    img = np.asarray(frame)
    if img.ndim != 2 or img.shape[0] < 2 or img.shape[1] < 2:
        raise ValueError(f"expected a 2-D grey frame of at least 2x2, got {img.shape}")
    img = img.astype(np.int64)
    h, w = img.shape
    x, y, bw, bh = (int(v) for v in box)
    bw, bh = max(bw, 1), max(bh, 1)
    a = _grid(img, x, y, bw, bh, G)
    n = G * G
    mean = a["s1"] // n
    ox = min(x + bw, w) - max(x, 0)
    oy = min(y + bh, h) - max(y, 0)
    inside = ox * oy if ox > 0 and oy > 0 else 0
    coarse = a["coarse"] * 16 // (2 * G * (G - 1))
    sharp = a["fine"] * 16 // n
    f = [bw, bw * 256 // min(w, h), 256 - inside * 256 // (bw * bh), mean,
         math.isqrt(a["s2"] // n - mean * mean), a["hi"] - a["lo"], sharp, coarse, a["edges"],
         a["sat"], abs(a["left"] - a["right"]) // (n // 2), sharp * 64 // (coarse + 1)]
    fm = _grid(img, 0, 0, w, h, FG)["s1"] // (FG * FG)
    return f + [fm, mean - fm + 256]


def voice_features(clip):
    """Integer voice features (VOICE_NAMES order) of an int16 clip at 8 kHz."""
    x = np.asarray(clip, np.int16).reshape(-1).astype(np.int64)
    n = x.size
    if n == 0:
        return [0] * len(VOICE_NAMES)
    nf = min(max(1, -(-n // FRAME)), MAX_FRAMES)
    n_used = min(n, nf * FRAME)
    idx = np.arange(0, n_used, STEP)
    frame_of = idx // FRAME
    ax = np.abs(x[idx])
    ea = np.bincount(frame_of, weights=ax, minlength=nf).astype(np.int64)
    clipped = int((ax >= 32767).sum())
    peak, floor = int(ea.max()), int(ea.min())
    active = 8 * ea >= peak
    sel = idx[active[frame_of] & (idx < n_used - 1)]
    a, b = x[sel], x[sel + 1]
    zc = int(((a ^ b) < 0).sum())
    d1 = int(np.abs(b - a).sum())
    a1 = int(np.abs(a).sum())
    cnt = max(int(sel.size), 1)
    nact = int(active.sum())
    level, fl = ilog(peak + 1), ilog(floor + 1)
    return [n // 80, nact, nact * 256 // nf, level, fl, level - fl, zc * 1024 // cnt,
            ilog(d1 + 1) - ilog(a1 + 1) + 64, clipped, ilog(a1 // cnt + 1)]


def features(modality, item):
    """Features of one input: ``item`` = (frame, box) for face, the int16 clip for voice."""
    if modality == "face":
        return face_features(*item)
    return voice_features(item)
