# Cheap input features for the premodel (premodel.py): a few hundred pixels or a few thousand
# samples per input, viper integer loops, no allocation inside the loops. The host reference is
# host/eyeauth/premodel/features.py; tests/premodel checks both give the same integers under
# the VM. Viper ints are 32-bit on the ESP32: every sum below is bounded under 2**31 (the bound
# is written next to it).
#
# face_features(frame, w, h, box) -> list of ints named FACE_NAMES. A 16 x 16 grid of sample
#   points over the face box (x, y, bw, bh) (point (i, j) at x + (2i+1)*bw//32, y + (2j+1)*bh//32,
#   clamped to [0, w-2] x [0, h-2]); at each point the pixel v, its right and lower neighbours.
#   Plus an 8 x 8 grid over the whole frame for the frame's mean brightness.
# voice_features(clip) -> list of ints named VOICE_NAMES. Frames of 256 samples; every 8th
#   sample x[i] (and x[i+1]) of a frame is read: frame level ea[t] = sum |x[i]|; frames with
#   8 * ea[t] >= max ea are active; on active frames zero crossings of (x[i], x[i+1]), the sum of
#   |x[i+1] - x[i]| (a spectral-centroid proxy) and the sum of |x[i]|.
# Logarithms are ilog(v) = 8 * floor(log2 v) + the next 3 bits of v (1/8 octave = 0.75 dB).
from array import array

import micropython
from micropython import const

_G = const(16)
_FG = const(8)
_STEP = const(8)
_FRAME = const(256)
_EDGE = const(32)

FACE_NAMES = ("box_side", "box_rel", "box_out", "mean", "contrast", "range", "sharp", "coarse",
              "edges", "sat", "asym", "sharp_ratio", "frame_mean", "backlight")
VOICE_NAMES = ("dur", "active", "act_frac", "level", "floor", "snr", "zcr", "tilt", "clip",
               "act_level")

_acc = array("i", bytes(4 * 12))
_prev = array("i", bytes(4 * _G))
_MAXF = const(160)  # frames of 256 samples: 5.1 s at 8 kHz (the board takes at most 4 s)
_ea = array("i", bytes(4 * _MAXF))


@micropython.viper
def _grid(src: ptr8, fw: int, fh: int, bx: int, by: int, bw: int, bh: int, g: int,
          acc: ptr32, prev: ptr32):
    # acc: 0 sum v (<= 256*255), 1 sum v*v (<= 256*65025), 2 min, 3 max, 4 fine gradient sum
    # (<= 256*510), 5 coarse gradient sum (<= 480*255), 6 edge points, 7 saturated points,
    # 8 left-half sum, 9 right-half sum.
    s1 = 0
    s2 = 0
    lo = 255
    hi = 0
    fine = 0
    coarse = 0
    edges = 0
    sat = 0
    left = 0
    right = 0
    half = g >> 1
    j = 0
    while j < g:
        r = by + ((2 * j + 1) * bh) // (2 * g)
        if r > fh - 2:
            r = fh - 2
        if r < 0:
            r = 0
        base = r * fw
        pv = 0
        i = 0
        while i < g:
            c = bx + ((2 * i + 1) * bw) // (2 * g)
            if c > fw - 2:
                c = fw - 2
            if c < 0:
                c = 0
            v = int(src[base + c])
            d = v - int(src[base + c + 1])
            if d < 0:
                d = -d
            e = v - int(src[base + fw + c])
            if e < 0:
                e = -e
            fine += d + e
            if d + e > _EDGE:
                edges += 1
            if i > 0:
                d = v - pv
                coarse += d if d >= 0 else -d
            if j > 0:
                d = v - int(prev[i])
                coarse += d if d >= 0 else -d
            prev[i] = v
            pv = v
            s1 += v
            s2 += v * v
            if v < lo:
                lo = v
            if v > hi:
                hi = v
            if v < 16 or v > 239:
                sat += 1
            if i < half:
                left += v
            else:
                right += v
            i += 1
        j += 1
    acc[0] = s1
    acc[1] = s2
    acc[2] = lo
    acc[3] = hi
    acc[4] = fine
    acc[5] = coarse
    acc[6] = edges
    acc[7] = sat
    acc[8] = left
    acc[9] = right


@micropython.viper
def isqrt(v: int) -> int:
    # floor(sqrt(v)) for 0 <= v < 2**30, bit by bit.
    r = 0
    b = 1 << 28
    while b > v:
        b >>= 2
    while b:
        if v >= r + b:
            v -= r + b
            r = (r >> 1) + b
        else:
            r >>= 1
        b >>= 2
    return r


@micropython.viper
def ilog(v: int) -> int:
    # 8 * floor(log2 v) + the 3 bits below the leading one; 0 for v <= 1.
    if v <= 1:
        return 0
    e = 0
    while (v >> (e + 1)) != 0:
        e += 1
    if e >= 3:
        f = (v >> (e - 3)) & 7
    else:
        f = (v << (3 - e)) & 7
    return 8 * e + f


def face_features(frame, w, h, box):
    x, y, bw, bh = box
    bw = max(int(bw), 1)
    bh = max(int(bh), 1)
    a = _acc
    _grid(frame, w, h, x, y, bw, bh, _G, a, _prev)
    n = _G * _G
    mean = a[0] // n
    ox = min(x + bw, w) - max(x, 0)
    oy = min(y + bh, h) - max(y, 0)
    inside = ox * oy if ox > 0 and oy > 0 else 0
    coarse = a[5] * 16 // (2 * _G * (_G - 1))
    sharp = a[4] * 16 // n
    lr = a[8] - a[9]
    f = [bw, bw * 256 // min(w, h), 256 - inside * 256 // (bw * bh), mean,
         isqrt(a[1] // n - mean * mean), a[3] - a[2], sharp, coarse, a[6], a[7],
         (lr if lr >= 0 else -lr) // (n // 2), sharp * 64 // (coarse + 1)]
    _grid(frame, w, h, 0, 0, w, h, _FG, a, _prev)
    fm = a[0] // (_FG * _FG)
    f.append(fm)
    f.append(mean - fm + 256)
    return f


@micropython.viper
def _voice(x: ptr16, n: int, nf: int, ea: ptr32, acc: ptr32):
    # acc: 0 peak frame level, 1 floor frame level (<= 32*32768 each), 2 active frames,
    # 3 zero crossings, 4 sum |x[i+1]-x[i]| (<= 65535*32*160 < 2**29), 5 sum |x[i]| on active
    # frames (<= 32768*32*160 < 2**28), 6 points read on active frames, 7 clipped points.
    peak = 0
    floor = 1 << 24  # above any frame level (32 * 32768 = 2**20)
    clip = 0
    t = 0
    while t < nf:
        s = 0
        i = t * _FRAME
        end = i + _FRAME
        if end > n:
            end = n
        while i < end:
            v = int(x[i])
            if v >= 32768:
                v = 65536 - v
            if v >= 32767:
                clip += 1
            s += v
            i += _STEP
        ea[t] = s
        if s > peak:
            peak = s
        if s < floor:
            floor = s
        t += 1
    nact = 0
    zc = 0
    d1 = 0
    a1 = 0
    cnt = 0
    t = 0
    while t < nf:
        if 8 * int(ea[t]) >= peak:
            nact += 1
            i = t * _FRAME
            end = i + _FRAME
            if end > n - 1:
                end = n - 1
            while i < end:
                a = int(x[i])
                if a >= 32768:
                    a -= 65536
                b = int(x[i + 1])
                if b >= 32768:
                    b -= 65536
                if (a ^ b) < 0:  # signs differ
                    zc += 1
                d = b - a
                d1 += d if d >= 0 else -d
                a1 += a if a >= 0 else -a
                cnt += 1
                i += _STEP
        t += 1
    acc[0] = peak
    acc[1] = floor
    acc[2] = nact
    acc[3] = zc
    acc[4] = d1
    acc[5] = a1
    acc[6] = cnt
    acc[7] = clip


def voice_features(clip):
    n = len(clip)
    nf = min(max(1, (n + _FRAME - 1) // _FRAME), _MAXF)
    a = _acc
    if n == 0:
        return [0] * len(VOICE_NAMES)
    _voice(clip, min(n, nf * _FRAME), nf, _ea, a)
    level = ilog(a[0] + 1)
    floor = ilog(a[1] + 1)
    cnt = max(a[6], 1)
    return [n // 80, a[2], a[2] * 256 // nf, level, floor, level - floor, a[3] * 1024 // cnt,
            ilog(a[4] + 1) - ilog(a[5] + 1) + 64, a[7], ilog(a[5] // cnt + 1)]
