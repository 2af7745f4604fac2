# Image preprocessing on the device, step for step the same as host/eyeauth/models/preprocess.py
# and align.py (the references; tests/firmware/test_parity.py and test_align_parity.py check
# them against each other under the VM). The camera frame itself is the detector's input.
# Frames are bytearrays of grey pixels, row-major. The per-pixel loops are viper code: one pass
# over the box, integer sums only, no allocation inside the loops.
import micropython

CAM_W = micropython.const(320)  # the camera's QVGA frame: the detector graph's input
CAM_H = micropython.const(240)


@micropython.viper
def _area(src: ptr8, sw: int, sh: int, x: int, y: int, w: int, h: int,
          dst: ptr8, ow: int, oh: int, rowsum: ptr32):
    # Output (i, j) = rounded mean of rows [y + i*h//oh, max(y + (i+1)*h//oh, lo+1)) x the same
    # for columns; coordinates outside the frame repeat the edge pixel.
    i = 0
    while i < oh:
        r0 = (i * h) // oh
        r1 = ((i + 1) * h) // oh
        if r1 <= r0:
            r1 = r0 + 1
        j = 0
        while j < ow:
            rowsum[j] = 0
            j += 1
        r = r0
        while r < r1:
            yy = y + r
            if yy < 0:
                yy = 0
            if yy >= sh:
                yy = sh - 1
            base = yy * sw
            j = 0
            while j < ow:
                c0 = (j * w) // ow
                c1 = ((j + 1) * w) // ow
                if c1 <= c0:
                    c1 = c0 + 1
                s = 0
                c = c0
                while c < c1:
                    xx = x + c
                    if xx < 0:
                        xx = 0
                    if xx >= sw:
                        xx = sw - 1
                    s += src[base + xx]
                    c += 1
                rowsum[j] = rowsum[j] + s
                j += 1
            r += 1
        j = 0
        while j < ow:
            c0 = (j * w) // ow
            c1 = ((j + 1) * w) // ow
            if c1 <= c0:
                c1 = c0 + 1
            cnt = (r1 - r0) * (c1 - c0)
            dst[i * ow + j] = (rowsum[j] + cnt // 2) // cnt
            j += 1
        i += 1


def area_resize(frame, fw, fh, box, ow, oh):
    # -> bytearray(ow*oh) of the box (x, y, w, h) of a fw x fh frame.
    x, y, w, h = box
    out = bytearray(ow * oh)
    _area(frame, fw, fh, x, y, max(w, 1), max(h, 1), out, ow, oh, bytearray(4 * ow))
    return out


@micropython.viper
def _stretch_q(buf: ptr8, n: int, dst: ptr8):
    lo = 255
    hi = 0
    i = 0
    while i < n:
        v = buf[i]
        if v < lo:
            lo = v
        if v > hi:
            hi = v
        i += 1
    d = hi - lo
    i = 0
    while i < n:
        v = buf[i]
        if d > 0:
            v = ((v - lo) * 255 + d // 2) // d
        dst[i] = (v - 128) & 0xFF
        i += 1


def face_input(frame, fw, fh, box, size):
    # int8 face tensor (as bytes) from a box: area resize -> min/max stretch -> q = p - 128.
    small = area_resize(frame, fw, fh, box, size, size)
    _stretch_q(small, size * size, small)
    return small


def detector_box_q(out, fw, fh):
    # square (x, y, s, s) from the detector's int8 sigmoid outputs (scale 1/256, zero point
    # -128), integers only (host: face_build.box_from_q)
    qx = (out[0] + 128) & 0xFF
    qy = (out[1] + 128) & 0xFF
    qs = (out[2] + 128) & 0xFF
    cx = (qx * fw + 128) // 256
    cy = (qy * fh + 128) // 256
    s = max(4, (qs * fh + 128) // 256)
    return cx - s // 2, cy - s // 2, s, s


def box_points(box):
    # the template's five points placed in a face box (no landmark model): the box is the
    # template's face square (centre (56, 66), side 92 of its 112 pixels), 1/16 pixel
    x, y, s = box[0], box[1], box[2]
    return [(16 * x + (tx - 56 * 10000 + 46 * 10000) * s * 16 // (92 * 10000),
             16 * y + (ty - 66 * 10000 + 46 * 10000) * s * 16 // (92 * 10000)) for tx, ty in _T112]


def default_face_box(fw, fh):
    side = min(fw, fh)
    return (fw - side) // 2, (fh - side) * 5 // 11, side, side


# -- alignment (host reference: host/eyeauth/models/align.py, step for step) -------------------
# Landmarks are ints in 1/16 pixel; the similarity is fitted in integers and the crop is sampled
# k x k times per output pixel with integer bilinear weights, so host and board agree exactly.

# ArcFace template (OpenCV alignCrop's 112x112 chip) in 1/10000 pixel; in 1/16 pixel for an
# S x S crop: round half up of T * S * 16 / 112 in integers
_T112 = ((382946, 516963), (735318, 515014), (560252, 717366), (415493, 923655),
         (707299, 922041))
_tpl = {}
_BIAS = micropython.const(1048576)


def template_q4(size):
    t = _tpl.get(size)
    if t is None:
        d = 1120000
        t = [((2 * x * size * 16 + d) // (2 * d), (2 * y * size * 16 + d) // (2 * d)) for x, y in _T112]
        _tpl[size] = t
    return t


def landmark_region(box):
    x, y, s = box[0], box[1], box[2]
    r = max(s * 3 // 2, 4)
    return x + s // 2 - r // 2, y + s // 2 - r // 2, r, r


def landmark_input(frame, fw, fh, box, size):
    # int8 landmark-net input: the region around the detector box, as a face input
    return face_input(frame, fw, fh, landmark_region(box), size)


def points_q4(out, region):
    # 10 int8 sigmoid outputs (bytes) -> [(x16, y16)] * 5
    rx, ry, r = region[0], region[1], region[2]
    pts = []
    for k in range(5):
        qx = ((out[2 * k] + 128) & 0xFF)
        qy = ((out[2 * k + 1] + 128) & 0xFF)
        pts.append((16 * rx + (qx * r) // 16, 16 * ry + (qy * r) // 16))
    return pts


def fit(pts, size):
    # least-squares similarity frame ~ A out + t (Python ints, floor division as on the host)
    d = template_q4(size)
    n = 5
    sdx = sdy = ssx = ssy = sdd = na = nb = 0
    for (dx, dy), (sx, sy) in zip(d, pts):
        sdx += dx
        sdy += dy
        ssx += sx
        ssy += sy
        sdd += dx * dx + dy * dy
        na += dx * sx + dy * sy
        nb += dx * sy - dy * sx
    den = n * sdd - sdx * sdx - sdy * sdy
    a = ((n * na - sdx * ssx - sdy * ssy) << 16) // den
    b = ((n * nb - sdx * ssy + sdy * ssx) << 16) // den
    tx = ((ssx << 16) - (a * sdx - b * sdy)) // (16 * n)
    ty = ((ssy << 16) - (b * sdx + a * sdy)) // (16 * n)
    return a, b, tx, ty


@micropython.viper
def _warp(src: ptr8, sw: int, sh: int, dst: ptr8, n: int, a: int, b: int, tx: int, ty: int,
          k: int, offs: ptr32):
    # offs: ox[0..k-1] then oxb[0..k-1], each + _BIAS (ptr32 loads are unsigned on 64-bit VMs)
    kk = k * k
    half = kk * 32768
    div = kk * 65536
    mx = sw - 1
    my = sh - 1
    i = 0
    while i < n:
        bx = tx - b * i
        by = ty + a * i
        j = 0
        while j < n:
            acc = 0
            v = 0
            while v < k:
                oya = int(offs[v]) - 1048576
                oyb = int(offs[k + v]) - 1048576
                u = 0
                while u < k:
                    X = bx + int(offs[u]) - 1048576 - oyb
                    Y = by + int(offs[k + u]) - 1048576 + oya
                    x0 = X >> 16
                    y0 = Y >> 16
                    fx = (X >> 8) & 255
                    fy = (Y >> 8) & 255
                    x1 = x0 + 1
                    y1 = y0 + 1
                    if x0 < 0:
                        x0 = 0
                    if x0 > mx:
                        x0 = mx
                    if x1 < 0:
                        x1 = 0
                    if x1 > mx:
                        x1 = mx
                    if y0 < 0:
                        y0 = 0
                    if y0 > my:
                        y0 = my
                    if y1 < 0:
                        y1 = 0
                    if y1 > my:
                        y1 = my
                    r0 = y0 * sw
                    r1 = y1 * sw
                    top = int(src[r0 + x0]) * (256 - fx) + int(src[r0 + x1]) * fx
                    bot = int(src[r1 + x0]) * (256 - fx) + int(src[r1 + x1]) * fx
                    acc += top * (256 - fy) + bot * fy
                    u += 1
                v += 1
            dst[i * n + j] = (acc + half) // div
            bx += a
            by += b
            j += 1
        i += 1


def aligned_crop(frame, fw, fh, pts, size):
    # -> bytearray(size * size): the similarity-aligned crop (no stretch)
    from array import array
    a, b, tx, ty = fit(pts, size)
    s2 = (a * a + b * b) >> 16
    k = 1 if s2 < 147456 else (2 if s2 < 409600 else 3)
    offs = array("I", [0] * (2 * k))
    for u in range(k):
        o = ((2 * u + 1 - k) << 16) // (2 * k)
        offs[u] = ((a * o) >> 16) + _BIAS
        offs[k + u] = ((b * o) >> 16) + _BIAS
    out = bytearray(size * size)
    _warp(frame, fw, fh, out, size, a, b, tx, ty, k, offs)
    return out


def aligned_input(frame, fw, fh, pts, size):
    # int8 embedder input: aligned crop -> min/max stretch -> q = p - 128
    out = aligned_crop(frame, fw, fh, pts, size)
    _stretch_q(out, size * size, out)
    return out
