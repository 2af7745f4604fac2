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


def vad(x):
    # -> (has_speech, energy centre sample, speech frame count, peak dB)
    if not len(x):
        return False, 0, 0, 0.0
    db, flags = speech_flags(x)
    nsp = sum(1 for f in flags if f)
    use = flags if nsp else [True] * len(flags)
    num = 0.0
    den = 0.0
    for t, d in enumerate(db):
        if use[t]:
            e = 10 ** (d / 10.0)
            num += e * (t * FRAME + FRAME // 2)
            den += e
    c = int(round(num / max(den, 1e-9)))
    return nsp >= _MIN_SPEECH, min(c, len(x) - 1), nsp, max(db)


def clipped_fraction(x):
    n = 0
    for v in x:
        if v >= 32767 or v <= -32768:
            n += 1
    return n / max(1, len(x))


# -- log-mel ---------------------------------------------------------------------------------
_mel_cache = {}
_hann = None


def _hz_to_mel(f):
    return 2595.0 * math.log10(1.0 + f / 700.0)


def mel_bank(n_mels):
    # Triangular HTK-mel filters, 20 Hz .. 4000 Hz, over the 129 bins of a 256-point FFT, as
    # (first bin, [weights]) per band: a sparse table.
    if n_mels in _mel_cache:
        return _mel_cache[n_mels]
    lo_m, hi_m = _hz_to_mel(20.0), _hz_to_mel(RATE / 2)
    hz = [700.0 * (10 ** ((lo_m + (hi_m - lo_m) * k / (n_mels + 1)) / 2595.0) - 1.0)
          for k in range(n_mels + 2)]
    bank = []
    for m in range(n_mels):
        lo, c, hi = hz[m], hz[m + 1], hz[m + 2]
        first, w = -1, []
        for b in range(FRAME // 2 + 1):
            f = b * RATE / FRAME
            v = min((f - lo) / max(c - lo, 1e-9), (hi - f) / max(hi - c, 1e-9))
            if v > 0:
                if first < 0:
                    first = b
                w.append(v)
            elif first >= 0:
                break
        bank.append((max(first, 0), array("f", w)))
    _mel_cache[n_mels] = bank
    return bank


def _window():
    global _hann
    if _hann is None:
        _hann = array("f", (0.5 - 0.5 * math.cos(2 * math.pi * i / FRAME) for i in range(FRAME)))
    return _hann


@micropython.native
def _fft(re, im):
    # In-place iterative radix-2 FFT of length 256.
    n = 256
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j ^= bit
        if i < j:
            re[i], re[j] = re[j], re[i]
            im[i], im[j] = im[j], im[i]
    size = 2
    while size <= n:
        half = size >> 1
        ang = -2.0 * math.pi / size
        wr0 = math.cos(ang)
        wi0 = math.sin(ang)
        for start in range(0, n, size):
            wr = 1.0
            wi = 0.0
            for k in range(half):
                a = start + k
                b = a + half
                tr = wr * re[b] - wi * im[b]
                ti = wr * im[b] + wi * re[b]
                re[b] = re[a] - tr
                im[b] = im[a] - ti
                re[a] += tr
                im[a] += ti
                nwr = wr * wr0 - wi * wi0
                wi = wr * wi0 + wi * wr0
                wr = nwr
        size <<= 1


def voice_input(x, n_frames, n_mels, centre):
    # int8 (n_frames x n_mels) tensor, as bytes, from int16 audio and its energy centre.
    n = (n_frames - 1) * HOP + FRAME
    start = centre - n // 2
    total = len(x)
    y = array("f", bytes(4 * n))
    prev = 0.0
    for i in range(n):
        k = start + i
        v = x[k] / 32768.0 if 0 <= k < total else 0.0
        y[i] = v - 0.97 * prev if i else v
        prev = v
    win = _window()
    bank = mel_bank(n_mels)
    re = array("f", bytes(4 * FRAME))
    im = array("f", bytes(4 * FRAME))
    db = array("f", bytes(4 * n_frames * n_mels))  # preallocated: no list growth on the heap
    j = 0
    for t in range(n_frames):
        off = t * HOP
        for i in range(FRAME):
            re[i] = y[off + i] * win[i]
            im[i] = 0.0
        _fft(re, im)
        for first, w in bank:
            s = 0.0
            for k in range(len(w)):
                b = first + k
                s += w[k] * (re[b] * re[b] + im[b] * im[b])
            db[j] = 10.0 * math.log10(s + 1e-10)
            j += 1
    top = max(db)
    out = bytearray(len(db))
    for i, d in enumerate(db):
        rel = d - top
        if rel < -80.0:
            rel = -80.0
        q = int(round(rel * 255.0 / 80.0)) + 127
        out[i] = (min(127, max(-128, q))) & 0xFF
    return out
