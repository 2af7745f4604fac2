"""Face alignment, the reference the firmware mirrors bit for bit (``eyeauth_fw/imgproc.py``).

The board's face path: camera frame (QVGA grey) -> detector (box, presence) -> landmark net on
the region around the box (five points: the eyes, the nose tip, the mouth corners, as YuNet
gives them) -> a similarity-aligned crop (rotation + scale + shift) that puts the five points
where the ArcFace template puts them in its 112x112 chip (the alignment SFace was trained on,
OpenCV's ``FaceRecognizerSF.alignCrop``), scaled to the embedder's input size.

Everything after the networks is integer arithmetic, so host and board agree exactly:

Landmark input (``landmark_region``, ``landmark_input``), L x L grey:
  1. region = the detector's square box (x, y, s) grown to side r = s * 3 // 2 about the same
     centre: (x + s // 2 - r // 2, y + s // 2 - r // 2, r, r).
  2. integer area resize of the region to L x L, min/max stretch, q = p - 128
     (``preprocess.face_input``).
Landmark output: 10 int8 sigmoid values q (scale 1/256, zero point -128), x0 y0 .. x4 y4 relative
to the region; point coordinates in 1/16 pixel: ``X16 = 16 * rx + ((q + 128) * r) // 16``.

Aligned crop (``fit``, ``aligned_crop``), S x S:
  1. least-squares similarity frame ~ A out + t from the template points (1/16 pixel,
     ``template_q4``) to the landmarks, in integers: with n = 5, sums over the points,
     den = n sum(dx^2 + dy^2) - (sum dx)^2 - (sum dy)^2,
     a16 = ((n sum(dx sx + dy sy) - sum dx sum sx - sum dy sum sy) << 16) // den,
     b16 = ((n sum(dx sy - dy sx) - sum dx sum sy + sum dy sum sx) << 16) // den,
     tx16 = ((sum sx << 16) - (a16 sum dx - b16 sum dy)) // (16 n),
     ty16 = ((sum sy << 16) - (b16 sum dx + a16 sum dy)) // (16 n)      (Python floor division)
  2. k x k samples per output pixel, k = 1, 2 or 3 by the scale (a16^2 + b16^2 against
     1.5^2 and 2.5^2 in Q16 after >> 16); sample (u, v) of output pixel (i, j) is at
     X = tx16 + a16 j - b16 i + ox[u] - oyb[v], Y = ty16 + b16 j + a16 i + oxb[u] + oya[v]
     (Q16 frame pixels; ox[u] = (a16 off[u]) >> 16, oxb[u] = (b16 off[u]) >> 16, oya/oyb the
     same for v, off[u] = ((2u + 1 - k) << 16) // (2k)).
  3. bilinear: x0 = X >> 16, fx = (X >> 8) & 255 (y the same), neighbours clamped to the
     frame; value = (p00 (256 - fx) + p01 fx) (256 - fy) + (p10 (256 - fx) + p11 fx) fy.
  4. pixel = (sum of the k*k values + k*k*32768) // (k*k*65536).
  5. min/max stretch of the S x S crop, q = p - 128 (as every face input).
"""
from __future__ import annotations

import numpy as np

from eyeauth import camera
from eyeauth.models import preprocess as P

#: where OpenCV's alignCrop puts the five points (x, y) in its 112x112 chip (ArcFace template):
#: the eye on the image's left, the eye on its right, the nose tip, the mouth's left and right
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]])
LANDMARK_INPUT = 48
N_POINTS = 5


def template_q4(size):
    """The template points for an S x S crop, in 1/16 pixel (ints, shape (5, 2)): round half
    up of T * S * 16 / 112 with T in 1/10000 pixel, in integers (the board's arithmetic)."""
    t = np.round(ARCFACE_112 * 10000).astype(np.int64)
    d = 1120000
    return (2 * t * size * 16 + d) // (2 * d)


def landmark_region(box):
    """The square region (x, y, r, r) the landmark net looks at, from a detector box."""
    x, y, s = int(box[0]), int(box[1]), int(box[2])
    r = max(s * 3 // 2, 4)
    return (x + s // 2 - r // 2, y + s // 2 - r // 2, r, r)


def landmark_input(frame, box, size=LANDMARK_INPUT):
    """int8 (size, size) landmark-net input for the detector box ``box`` of ``frame``."""
    return P.face_input(frame, landmark_region(box), size)


def points_q4(q, region):
    """Landmarks in 1/16 pixel (int (5, 2)) from the net's 10 int8 outputs."""
    q = np.asarray(q, np.int64).reshape(N_POINTS, 2)
    rx, ry, r = int(region[0]), int(region[1]), int(region[2])
    return np.stack([16 * rx + ((q[:, 0] + 128) * r) // 16,
                     16 * ry + ((q[:, 1] + 128) * r) // 16], 1)


def targets(points, region):
    """Training targets in [0, 1] for landmark ``points`` (pixels, (5, 2)) in ``region``."""
    rx, ry, r = float(region[0]), float(region[1]), float(region[2])
    p = (np.asarray(points, np.float64) - (rx, ry)) / r
    return np.clip(p, 0.0, 1.0).reshape(-1).astype(np.float32)


def fit(points16, size):
    """(a16, b16, tx16, ty16): the integer similarity of step 1 (``points16``: 1/16 pixel)."""
    s = [[int(v) for v in p] for p in np.asarray(points16).reshape(N_POINTS, 2)]
    d = [[int(v) for v in p] for p in template_q4(size)]
    n = N_POINTS
    sdx, sdy = sum(p[0] for p in d), sum(p[1] for p in d)
    ssx, ssy = sum(p[0] for p in s), sum(p[1] for p in s)
    den = n * sum(p[0] * p[0] + p[1] * p[1] for p in d) - sdx * sdx - sdy * sdy
    na = n * sum(dp[0] * sp[0] + dp[1] * sp[1] for dp, sp in zip(d, s)) - sdx * ssx - sdy * ssy
    nb = n * sum(dp[0] * sp[1] - dp[1] * sp[0] for dp, sp in zip(d, s)) - sdx * ssy + sdy * ssx
    a16 = (na << 16) // den
    b16 = (nb << 16) // den
    tx16 = ((ssx << 16) - (a16 * sdx - b16 * sdy)) // (16 * n)
    ty16 = ((ssy << 16) - (b16 * sdx + a16 * sdy)) // (16 * n)
    return a16, b16, tx16, ty16


def samples_per_axis(a16, b16):
    s2 = (a16 * a16 + b16 * b16) >> 16  # scale^2 in Q16
    return 1 if s2 < 147456 else (2 if s2 < 409600 else 3)  # 2.25 * 65536, 6.25 * 65536


def offsets(a16, b16, k):
    """The per-sample offsets of step 2: (ox, oxb) for u and (oya, oyb) for v, Q16."""
    off = [((2 * u + 1 - k) << 16) // (2 * k) for u in range(k)]
    ox = [(a16 * o) >> 16 for o in off]
    oxb = [(b16 * o) >> 16 for o in off]
    return ox, oxb, ox, oxb  # v uses the same products (a16 off, b16 off)


def aligned_crop(frame, points16, size):
    """uint8 (size, size) similarity-aligned crop (steps 1-4; no stretch)."""
    img = camera.as_grey(frame).astype(np.int64)
    h, w = img.shape
    a16, b16, tx16, ty16 = fit(points16, size)
    k = samples_per_axis(a16, b16)
    ox, oxb, oya, oyb = offsets(a16, b16, k)
    i = np.arange(size, dtype=np.int64)[:, None]
    j = np.arange(size, dtype=np.int64)[None, :]
    bx = tx16 + a16 * j - b16 * i
    by = ty16 + b16 * j + a16 * i
    acc = np.zeros((size, size), np.int64)
    for v in range(k):
        for u in range(k):
            X = bx + ox[u] - oyb[v]
            Y = by + oxb[u] + oya[v]
            x0, y0 = X >> 16, Y >> 16
            fx, fy = (X >> 8) & 255, (Y >> 8) & 255
            xa, xb = np.clip(x0, 0, w - 1), np.clip(x0 + 1, 0, w - 1)
            ya, yb = np.clip(y0, 0, h - 1), np.clip(y0 + 1, 0, h - 1)
            top = img[ya, xa] * (256 - fx) + img[ya, xb] * fx
            bot = img[yb, xa] * (256 - fx) + img[yb, xb] * fx
            acc += top * (256 - fy) + bot * fy
    kk = k * k
    return ((acc + kk * 32768) // (kk * 65536)).astype(np.uint8)


def face_input(frame, points16, size):
    """int8 (size, size) embedder input: aligned crop -> min/max stretch -> q = p - 128."""
    return (P.stretch(aligned_crop(frame, points16, size)).astype(np.int16) - 128).astype(np.int8)


def points16_from_pixels(points):
    """1/16-pixel ints from float pixel coordinates (teacher landmarks)."""
    return np.round(np.asarray(points, np.float64).reshape(N_POINTS, 2) * 16).astype(np.int64)


def eye_distance(points):
    p = np.asarray(points, np.float64).reshape(N_POINTS, 2)
    return float(np.linalg.norm(p[0] - p[1]))


def box_points(box):
    """The template's five points placed in a face box (x, y, s) when there is no landmark
    model (the box is the template's face square: centre (56, 66), side 92 of 112), 1/16
    pixel, integers as on the board."""
    x, y, s = int(box[0]), int(box[1]), int(box[2])
    t = np.round(ARCFACE_112 * 10000).astype(np.int64)
    return np.stack([16 * x + (t[:, 0] - 560000 + 460000) * s * 16 // 920000,
                     16 * y + (t[:, 1] - 660000 + 460000) * s * 16 // 920000], 1)
