# Voice features on the device: the audio front end (/models/audio_fe.tflite: TFLM's signal ops,
# see host/eyeauth/models/frontend.py) turns each chunk of a clip into rows, one per 256-sample
# frame at hop 128: log band energies of every mel band set the zoo uses, the frame's energy
# (the VAD's) and the FFT gain shift. This file feeds it chunks, then reads rows: the frame
# levels for the VAD (speech.py) and the int8 windows of the voice and keyword models. Python
# touches no sample on the way: chunk copies are memory copies, row reads are viper loops.
# Host mirror (training and evaluation run the same model): frontend.py, vad.py, voice_phrase.py.
from array import array

import micropython

from eyeauth_fw import speech

FE = "audio_fe"
FRAME = micropython.const(256)
HOP = micropython.const(128)
RATE = micropython.const(8000)


@micropython.viper
def _levels(ch: ptr16, k: int, w: int, col: int, dst: ptr16, d: int) -> int:
    # the VAD column of the chunk's even rows -> dst[d ...]; -> next d
    r = 0
    while r < k:
        dst[d] = ch[r * w + col]
        d += 1
        r += 2
    return d


@micropython.viper
def _gather(ch: ptr16, w: int, off: int, m: int, shcol: int, r0: int, r1: int, dst: ptr32, d: int) -> int:
    # absolute log band power (band L - 512 x shift, + 65536 so that it stays positive: viper
    # loads zero-extend on a 64-bit VM) of local rows r0..r1-1 -> dst[d ...]. The front end's
    # outputs are all >= 0, so unsigned 16-bit loads need no sign fix.
    r = r0
    while r < r1:
        base = r * w
        sh = int(ch[base + shcol]) * 512 - 65536  # 512 L units per bit of FFT gain
        j = 0
        while j < m:
            dst[d] = int(ch[base + off + j]) - sh
            d += 1
            j += 1
        r += 1
    return d


@micropython.viper
def _quant(v: ptr32, n: int, out: ptr8):
    # int8 window: q = 127 - round(rel * 255 / 80 dB), rel = the window's maximum minus the
    # value, clipped at 80 dB (host: frontend.quantize)
    top = v[0]
    i = 1
    while i < n:
        if v[i] > top:
            top = v[i]
        i += 1
    i = 0
    while i < n:
        rel = top - v[i]
        if rel > 6806:  # 80 dB in L units
            rel = 6806
        out[i] = (127 - ((rel * 39288 + 524288) >> 20)) & 0xFF  # 39288 = 255 / 6806 * 2^20
        i += 1


@micropython.viper
def _fill(buf: ptr8, a: int, b: int, v: int):
    # buf[a:b] = v (bytes)
    i = a
    while i < b:
        buf[i] = v
        i += 1


@micropython.viper
def clipped_count(x: ptr16, n: int) -> int:
    # samples at full scale (ptr16 reads unsigned: -32768 reads 32768)
    c = 0
    i = 0
    while i < n:
        v = x[i]
        if v == 32767 or v == 32768:
            c += 1
        i += 1
    return c


_bufs = {}


def _buffer(tc, n):
    # one scratch array per type and size for the app's lifetime (a clip's features allocate
    # no chunk input of their own)
    b = _bufs.get((tc, n))
    if b is None:
        b = _bufs[(tc, n)] = array(tc, bytes((4 if tc == "i" else 2) * n))
    return b


class Features:
    # The front end's rows of one clip, chunk by chunk on demand (chunk c = rows c k .. c k +
    # k - 1, the clip's samples 128 c k .. + 128 (k + 1), zero outside the clip). ``run(tensor)``
    # runs the front end (the pipeline's timed nn call) and returns its output bytes.
    def __init__(self, run, clip, lay):
        self.run = run
        self.x = clip
        self.k = lay["rows"]
        self.w = lay["width"]
        self.vcol = lay["vad"]
        self.scol = lay["shift"]
        self.cols = dict((m, o) for m, o in lay["mels"])
        self.chunks = {}
        self.inp = _buffer("h", (self.k + 1) * HOP)
        self.buf = None

    def chunk(self, c):
        ch = self.chunks.get(c)
        if ch is None:
            x, inp = self.x, self.inp
            m = len(inp)
            s = c * self.k * HOP
            a, b = max(s, 0), min(s + m, len(x))
            if a > s or b < s + m:
                _fill(inp, 0, 2 * m, 0)
            if b > a:
                inp[a - s:b - s] = memoryview(x)[a:b]
            ch = self.run(inp)
            self.chunks[c] = ch
        return ch

    def need(self, r0, r1):
        k = self.k
        for c in range(r0 // k, (r1 - 1) // k + 1):
            self.chunk(c)

    def levels(self):
        # the VAD's frame levels (array 'h'), rows 0, 2, ... over the whole clip
        rows = speech.vad_rows(len(self.x))
        self.need(0, rows)
        n = (rows + 1) // 2
        lv = array("h", bytes(2 * (n + self.k)))
        d = 0
        for c in range((rows - 1) // self.k + 1):
            d = _levels(self.chunks[c], self.k, self.w, self.vcol, lv, d)
        return lv[:n]

    def _scratch(self, n):
        if self.buf is None or len(self.buf) < n:
            self.buf = _buffer("i", n)
        return self.buf

    def window(self, r0, n_rows, n_mels, out, a=0, b=-1):
        # int8 model window (T x M bytes in ``out``) of rows r0 .. r0 + n_rows - 1; with a, b:
        # only rows a..b-1 of it, relative to their own maximum, the others the floor (-128)
        if b < 0:
            b = n_rows
        off = self.cols[n_mels]
        k = self.k
        self.need(r0 + a, r0 + b)
        buf = self._scratch(n_rows * n_mels)
        d = 0
        r = r0 + a
        while r < r0 + b:
            c = r // k
            e = min(r0 + b, (c + 1) * k)
            d = _gather(self.chunks[c], self.w, off, n_mels, self.scol, r - c * k, e - c * k, buf, d)
            r = e
        if a or b < n_rows:
            _fill(out, 0, n_rows * n_mels, 0x80)
        _quant(buf, d, memoryview(out)[a * n_mels:])
        return out


def vad(feat):
    # -> (has speech, energy centre sample, speech frames, peak level (L), span start, span end,
    # levels, flags)
    lv = feat.levels()
    fl = speech.flags(lv)
    ok, c, nsp, s, e = speech.span(lv, fl, len(feat.x))
    return ok, c, nsp, max(lv) if len(lv) else 0, s, e, lv, fl


def level_db(lv):
    # a VAD level in dB of the frame's mean square (for messages)
    return lv * 0.0117536 - 24.08
