# Voice preprocessing on the device, the same steps as host/eyeauth/models/vad.py (voice-activity
# check) and preprocess.py (log-mel input). Audio is 8 kHz mono int16 in an array('h').
import math
from array import array

import micropython

FRAME = micropython.const(256)
HOP = micropython.const(128)
RATE = micropython.const(8000)
_MIN_SPEECH = micropython.const(3)
_STEADY = micropython.const(16)


@micropython.native
def _energy(x, start: int, n: int) -> float:
    s = 0.0
    end = start + n
    total = len(x)
    i = start
    while i < end:
        if i < total:
            v = x[i]
            s += v * v
        i += 1
    return s / n


def frame_db(x):
    n = max(1, -(-len(x) // FRAME))
    return [10.0 * math.log10(_energy(x, t * FRAME, FRAME) + 1.0) for t in range(n)]


def _percentile(vals, q):
    s = sorted(vals)
    k = (len(s) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def speech_flags(x):
    db = frame_db(x)
    noise = _percentile(db, 10)
    peak = max(db)
    if len(db) >= _STEADY and peak - noise < 12.0:
        return db, [False] * len(db)
    thr = max(min(noise + 12.0, peak - 6.0), peak - 30.0, 35.0)
    return db, [d >= thr for d in db]


def vad_span(x):
    # -> (has_speech, energy centre sample, speech frame count, peak dB, speech span start,
    # end sample): the span runs from the first to the last speech frame (0, 0 when none)
    if not len(x):
        return False, 0, 0, 0.0, 0, 0
    db, flags = speech_flags(x)
    nsp = 0
    first = -1
    last = -1
    for t, f in enumerate(flags):
        if f:
            nsp += 1
            if first < 0:
                first = t
            last = t
    num = 0.0
    den = 0.0
    for t, d in enumerate(db):
        if flags[t] or not nsp:
            e = 10 ** (d / 10.0)
            num += e * (t * FRAME + FRAME // 2)
            den += e
    c = int(round(num / max(den, 1e-9)))
    s = e = 0
    if nsp:
        s = first * FRAME
        e = min((last + 1) * FRAME, len(x))
    return nsp >= _MIN_SPEECH, min(c, len(x) - 1), nsp, max(db), s, e


def vad(x):
    # -> (has_speech, energy centre sample, speech frame count, peak dB)
    return vad_span(x)[:4]


def clipped_fraction(x):
    n = 0
    for v in x:
        if v >= 32767 or v <= -32768:
            n += 1
    return n / max(1, len(x))


# -- log-mel ---------------------------------------------------------------------------------
# The log-mel runs in integers (viper, 32-bit safe): block-scaled Q15 samples, a radix-2 FFT
# that halves each stage (no overflow), power in <= 2^29, mel sums split into high and low
# 16-bit halves so no bin loses precision; only the final log10 per band is float. Floats in
# MicroPython are heap objects: this keeps the per-sample work allocation-free.
_mel_cache = {}
_tables = {}


def _hz_to_mel(f):
    return 2595.0 * math.log10(1.0 + f / 700.0)


def mel_bank(n_mels):
    # Triangular HTK-mel filters, 20 Hz .. 4000 Hz, over the 129 bins of a 256-point FFT:
    # (first, count, Q8 weights) per band, flattened into arrays for the viper loop.
    if n_mels in _mel_cache:
        return _mel_cache[n_mels]
    lo_m, hi_m = _hz_to_mel(20.0), _hz_to_mel(RATE / 2)
    hz = [700.0 * (10 ** ((lo_m + (hi_m - lo_m) * k / (n_mels + 1)) / 2595.0) - 1.0)
          for k in range(n_mels + 2)]
    first = array("h", bytes(2 * n_mels))
    count = array("h", bytes(2 * n_mels))
    weights = array("h")
    for m in range(n_mels):
        lo, c, hi = hz[m], hz[m + 1], hz[m + 2]
        f0 = -1
        for b in range(FRAME // 2 + 1):
            f = b * RATE / FRAME
            v = min((f - lo) / max(c - lo, 1e-9), (hi - f) / max(hi - c, 1e-9))
            if v > 0:
                if f0 < 0:
                    f0 = b
                weights.append(int(v * 256 + 0.5))
            elif f0 >= 0:
                break
        first[m] = max(f0, 0)
        count[m] = len(weights) - sum(count[:m])
    _mel_cache[n_mels] = (first, count, weights)
    return _mel_cache[n_mels]


def _fft_tables():
    if not _tables:
        _tables["cos"] = array("h", (int(round(32767 * math.cos(2 * math.pi * k / FRAME))) for k in range(FRAME // 2)))
        _tables["sin"] = array("h", (int(round(-32767 * math.sin(2 * math.pi * k / FRAME))) for k in range(FRAME // 2)))
        _tables["hann"] = array("h", (int(round(32767 * (0.5 - 0.5 * math.cos(2 * math.pi * i / FRAME)))) for i in range(FRAME)))
        rev = array("h", bytes(2 * FRAME))
        for i in range(FRAME):
            j, v = 0, i
            for _ in range(8):
                j = (j << 1) | (v & 1)
                v >>= 1
            rev[i] = j
        _tables["rev"] = rev
    return _tables


@micropython.viper
def _preemph(x: ptr16, total: int, start: int, n: int, shift: int, y: ptr16) -> int:
    # yv = (x[n] - 0.97 x[n-1]) * 2^13 (x int16, zero outside the clip; |yv| < 2^30); -> peak
    # |yv|. With y given (shift >= 0: right shift, < 0: left), also store yv scaled as int16.
    # Arrays are read and written as 16-bit words (loads zero-extend on every port: the sign is
    # restored by hand), so the same code gives the same numbers on 32- and 64-bit boards.
    prev = 0
    peak = 0
    i = 0
    while i < n:
        k = start + i
        v = 0
        if k >= 0 and k < total:
            v = int(x[k])
            if v > 32767:
                v -= 65536
        yv = v << 13
        if i > 0:
            yv = yv - ((31785 * prev) >> 2)
        a = yv
        if a < 0:
            a = 0 - a
        if a > peak:
            peak = a
        if shift != 99:
            if shift >= 0:
                yv = yv >> shift
            else:
                yv = yv << (0 - shift)
            y[i] = yv & 0xFFFF
        prev = v
        i += 1
    return peak


def block_shift(peak):
    # block scaling: the shift that brings a window's peak to about 2^14 (the gain cancels in
    # the relative dB)
    shift = 0
    while peak > (1 << 14):
        peak >>= 1
        shift += 1
    while 0 < peak < (1 << 13):
        peak <<= 1
        shift -= 1
    return shift


@micropython.viper
def _frame_power(y: ptr16, off: int, hann: ptr16, rev: ptr16, cs: ptr16, sn: ptr16,
                 re: ptr16, im: ptr16, pw: ptr32) -> int:
    # windowed, bit-reversed load scaled up so the frame's peak is in [2^13, 2^14) (block
    # floating point: quiet frames keep their precision); radix-2 FFT halving each stage
    # (|values| stay < 2^15); power of bins 0..128 (< 2^30). -> the net scaling exponent e:
    # true amplitude = measured * 2^e.
    peak = 0
    i = 0
    while i < 256:
        v = int(y[off + i])
        if v > 32767:
            v -= 65536
        w = (v * int(hann[i])) >> 15
        if w < 0:
            w = 0 - w
        if w > peak:
            peak = w
        i += 1
    up = 0
    while peak > 0 and peak < 8192 and up < 15:
        peak = peak << 1
        up += 1
    i = 0
    while i < 256:
        v = int(y[off + i])
        if v > 32767:
            v -= 65536
        re[int(rev[i])] = (((v << up) * int(hann[i])) >> 15) & 0xFFFF
        im[int(rev[i])] = 0
        i += 1
    # block floating point per stage: halve only when the largest value could overflow
    size = 2
    step = 128
    halvings = 0
    big = 1
    while size <= 256:
        half = size >> 1
        sh = 0
        if big >= 8192:
            sh = 1
            halvings += 1
        rnd = sh
        big = 0
        start = 0
        while start < 256:
            k = 0
            while k < half:
                wr = int(cs[k * step])
                wi = int(sn[k * step])
                if wr > 32767:
                    wr -= 65536
                if wi > 32767:
                    wi -= 65536
                a = start + k
                b = a + half
                br = int(re[b])
                bi = int(im[b])
                ur = int(re[a])
                ui = int(im[a])
                if br > 32767:
                    br -= 65536
                if bi > 32767:
                    bi -= 65536
                if ur > 32767:
                    ur -= 65536
                if ui > 32767:
                    ui -= 65536
                tr = (wr * br - wi * bi + 16384) >> 15
                ti = (wr * bi + wi * br + 16384) >> 15
                v0 = (ur + tr + rnd) >> sh
                v1 = (ui + ti + rnd) >> sh
                v2 = (ur - tr + rnd) >> sh
                v3 = (ui - ti + rnd) >> sh
                re[a] = v0 & 0xFFFF
                im[a] = v1 & 0xFFFF
                re[b] = v2 & 0xFFFF
                im[b] = v3 & 0xFFFF
                if v0 < 0:
                    v0 = 0 - v0
                if v1 < 0:
                    v1 = 0 - v1
                if v2 < 0:
                    v2 = 0 - v2
                if v3 < 0:
                    v3 = 0 - v3
                if v0 > big:
                    big = v0
                if v1 > big:
                    big = v1
                if v2 > big:
                    big = v2
                if v3 > big:
                    big = v3
                k += 1
            start += size
        size <<= 1
        step >>= 1
    i = 0
    while i < 129:
        r = int(re[i])
        q = int(im[i])
        if r > 32767:
            r -= 65536
        if q > 32767:
            q -= 65536
        pw[i] = r * r + q * q
        i += 1
    return halvings - up


@micropython.viper
def _mel(pw: ptr32, first: ptr16, count: ptr16, w: ptr16, n_mels: int, hi: ptr32, lo: ptr32):
    # per band: sum(w * p) as hi (p >> 16) and lo (p & 0xFFFF) halves, each < 2^31
    p = 0
    m = 0
    while m < n_mels:
        f = int(first[m])
        c = int(count[m])
        sh = 0
        sl = 0
        k = 0
        while k < c:
            v = pw[f + k]
            wk = int(w[p + k])
            sh += wk * (v >> 16)
            sl += wk * (v & 0xFFFF)
            k += 1
        hi[m] = sh
        lo[m] = sl
        p += c
        m += 1


def voice_input(x, n_frames, n_mels, centre):
    # int8 (n_frames x n_mels) tensor, as bytes, from int16 audio and its energy centre.
    n = (n_frames - 1) * HOP + FRAME
    tb = _fft_tables()
    first, count, weights = mel_bank(n_mels)
    y = array("h", bytes(2 * n))
    shift = block_shift(_preemph(x, len(x), centre - n // 2, n, 99, y))
    _preemph(x, len(x), centre - n // 2, n, shift, y)
    re = array("h", bytes(2 * FRAME))
    im = array("h", bytes(2 * FRAME))
    pw = array("i", bytes(4 * 129))
    hi = array("i", bytes(4 * n_mels))
    lo = array("i", bytes(4 * n_mels))
    db = array("f", bytes(4 * n_frames * n_mels))
    log10 = math.log10
    j = 0
    for t in range(n_frames):
        e = _frame_power(y, t * HOP, tb["hann"], tb["rev"], tb["cos"], tb["sin"], re, im, pw)
        _mel(pw, first, count, weights, n_mels, hi, lo)
        corr = 6.020599913 * e  # undo the block scaling (power x 4 per bit)
        for m in range(n_mels):
            db[j] = 10.0 * log10(hi[m] * 65536.0 + lo[m] + 1e-3) + corr
            j += 1
    top = max(db)
    out = bytearray(len(db))
    k = 255.0 / 80.0
    for i in range(len(db)):
        rel = db[i] - top
        if rel < -80.0:
            rel = -80.0
        q = int(round(rel * k)) + 127
        out[i] = (min(127, max(-128, q))) & 0xFF
    return out


# -- utterance: windows over the speech, log-mel rows streamed through a ring ----------------
# Same steps as host/eyeauth/models/voice_phrase.py (the reference it is tested against).

def utterance_plan(centre, s, e, n_frames, hop_frames, max_windows):
    # -> (first sample of log-mel row 0, [row offset of each window])
    w = (n_frames - 1) * HOP + FRAME
    if e - s <= w or max_windows <= 1:
        return centre - w // 2, [0]
    extra = -(-(e - s - w) // HOP)
    n = min(1 + -(-extra // max(1, hop_frames)), max_windows)
    return s, [(2 * k * extra + (n - 1)) // (2 * (n - 1)) for k in range(n)]


_DB_BIAS = micropython.const(1 << 20)  # keeps the Q8 dB values positive (32-bit loads)


def _log2_table():
    # Q16 log2(1 + k/256), k = 0..256
    if "log2" not in _tables:
        _tables["log2"] = array("i", (int(round(65536 * math.log(1 + k / 256.0) / math.log(2))) for k in range(257)))
    return _tables["log2"]


@micropython.viper
def _db_row(hi: ptr32, lo: ptr32, n: int, corr: int, lg: ptr32, out: ptr32, off: int):
    # out[off + b] = 256 * 10 log10(hi[b] * 65536 + lo[b]) + corr  (Q8 dB, integers only):
    # exponent + 15-bit mantissa, log2 of the mantissa from a 257-entry table, interpolated
    b = 0
    while b < n:
        h = hi[b]
        lw = lo[b]
        e = 0
        f = 0
        if h > 0:
            nb = 0
            t = h
            while t > 1:
                t >>= 1
                nb += 1
            if nb <= 14:
                f = (h << (14 - nb)) + (lw >> (nb + 2))
            else:
                f = (h >> (nb - 14)) + (lw >> (nb + 2))
            e = nb + 16
        else:
            v = lw
            if v < 1:
                v = 1
            nb = 0
            t = v
            while t > 1:
                t >>= 1
                nb += 1
            if nb <= 14:
                f = v << (14 - nb)
            else:
                f = v >> (nb - 14)
            e = nb
        while f >= 32768:
            f >>= 1
            e += 1
        r = f - 16384
        k = r >> 6
        l2 = lg[k] + (((lg[k + 1] - lg[k]) * (r & 63)) >> 6)
        # 10 log10(2) * 256 = 770.6367 per octave; l2 (Q16) * 770.6367 / 65536 ~ l2 * 12330 >> 20
        out[off + b] = (e * 770637 + 500) // 1000 + ((l2 * 12330 + 524288) >> 20) + corr
        b += 1


@micropython.viper
def _quant(ring: ptr32, n: int, j0: int, out: ptr8):
    # int8 window: q = 127 - round(rel * 255 / 80) for rel = dB under the window's maximum,
    # clipped at 80 dB (rel in Q8: 80 dB = 20480; 255 / 20480 ~ 13056 / 2^20)
    top = 0
    i = 0
    while i < n:
        if ring[i] > top:
            top = ring[i]
        i += 1
    j = j0
    i = 0
    while i < n:
        rel = top - ring[j]
        if rel > 20480:
            rel = 20480
        out[i] = (127 - ((rel * 13056 + 524288) >> 20)) & 0xFF
        j += 1
        if j == n:
            j = 0
        i += 1


class LogMel:
    # Log-mel rows of one model's shape, one 256-sample frame at a time, into a ring of
    # n_frames rows (absolute dB in Q8, int32): a window is the ring read from its first row.
    # Every buffer is allocated once here; rows and windows are computed in integers (viper),
    # so streaming a phrase allocates nothing per row.
    def __init__(self, n_frames, n_mels):
        self.t = n_frames
        self.m = n_mels
        self.tb = _fft_tables()
        self.lg = _log2_table()
        self.bank = mel_bank(n_mels)
        self.y = array("h", bytes(2 * FRAME))
        self.re = array("h", bytes(2 * FRAME))
        self.im = array("h", bytes(2 * FRAME))
        self.pw = array("i", bytes(4 * 129))
        self.hi = array("i", bytes(4 * n_mels))
        self.lo = array("i", bytes(4 * n_mels))
        self.ring = array("i", bytes(4 * n_frames * n_mels))
        self.out = bytearray(n_frames * n_mels)

    def row(self, x, start, r):
        # frame at samples start .. start + 256 (zero outside the clip) -> ring row r % n_frames
        y = self.y
        shift = block_shift(_preemph(x, len(x), start, FRAME, 99, y))
        _preemph(x, len(x), start, FRAME, shift, y)
        tb = self.tb
        e = _frame_power(y, 0, tb["hann"], tb["rev"], tb["cos"], tb["sin"], self.re, self.im, self.pw)
        first, count, weights = self.bank
        _mel(self.pw, first, count, weights, self.m, self.hi, self.lo)
        # undo both scalings: power x 4 per bit = 6.0206 dB = 1541.274 in Q8
        corr = ((e + shift) * 1541274 + 500) // 1000 + _DB_BIAS
        _db_row(self.hi, self.lo, self.m, corr, self.lg, self.ring, (r % self.t) * self.m)

    def window(self, r0):
        # int8 tensor (bytes) of rows r0 .. r0 + n_frames - 1, relative to their maximum
        _quant(self.ring, len(self.ring), (r0 % self.t) * self.m, self.out)
        return self.out
