# Image preprocessing on the device, step for step the same as host/eyeauth/models/preprocess.py
# (the reference; tests/firmware/test_parity.py checks them against each other under the VM).
# Frames are bytearrays of grey pixels, row-major. The per-pixel loops are viper code: one pass
# over the box, integer sums only, no allocation inside the loops.
import micropython

DET_W = micropython.const(80)
DET_H = micropython.const(60)


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


@micropython.viper
def _center_q(buf: ptr8, n: int):
    i = 0
    while i < n:
        buf[i] = (buf[i] - 128) & 0xFF
        i += 1


def letterbox(fw, fh):
    # (pad_x, pad_y, padded_w, padded_h) that make the frame 4:3.
    if fw * 3 >= fh * 4:
        ph = -(-fw * 3 // 4)
        return 0, (ph - fh) // 2, fw, ph
    pw = -(-fh * 4 // 3)
    return (pw - fw) // 2, 0, pw, fh


def detector_input(frame, fw, fh):
    # int8 60x80 detector tensor; padding of a non-4:3 frame is grey 128 (as on the host).
    px, py, pw, ph = letterbox(fw, fh)
    if (pw, ph) != (fw, fh):
        canvas = bytearray(b"\x80" * (pw * ph))
        for r in range(fh):
            canvas[(py + r) * pw + px:(py + r) * pw + px + fw] = frame[r * fw:(r + 1) * fw]
        frame, fw, fh = canvas, pw, ph
    small = area_resize(frame, fw, fh, (0, 0, fw, fh), DET_W, DET_H)
    _center_q(small, DET_W * DET_H)
    return small


def detector_box(probs, fw, fh):
    # (cx, cy, side) in [0, 1] -> square (x, y, w, h) in frame pixels.
    px, py, pw, ph = letterbox(fw, fh)
    cx, cy, side = probs
    s = max(side * ph, 4.0)
    x = cx * pw - s / 2 - px
    y = cy * ph - s / 2 - py
    s = int(round(s))
    return int(round(x)), int(round(y)), s, s


def default_face_box(fw, fh):
    side = min(fw, fh)
    return (fw - side) // 2, (fh - side) * 5 // 11, side, side
