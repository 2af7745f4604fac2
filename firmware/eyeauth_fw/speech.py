# Voice activity and window placement from the audio front end's frame energies, in integers,
# so that the board and the host decide alike on any float width. No board imports: the host's
# models/vad.py and voice_phrase.py run this same file.
#
# Levels: the front end's VAD column (models/audio_fe.tflite) of every other row (rows 0, 2, 4 ...:
# samples 256 t .. 256 t + 255, the 32 ms frames of the VAD), L = 256.1 log2(S), S the frame's
# sum of squared int16 samples; 10 log10(S / 256) dB = L * 0.0117536 - 24.08.
# Decision (the VAD of models/vad.py before the front end, the same thresholds in L units):
#   noise = 10th percentile of the levels (linear interpolation), peak = max;
#   a clip of >= 16 frames whose peak is < 12 dB over its noise is steady noise: no speech;
#   else a frame is speech when its level >= max(min(noise + 12 dB, peak - 6 dB), peak - 30 dB,
#   35 dB); the clip has speech with >= 3 speech frames.
FRAME = 256
HOP = 128
MIN_SPEECH = 3
STEADY = 16
# thresholds x 10 in L units (dB / 0.0117536 x 10): 12 dB, 6 dB, 30 dB; 35 dB absolute (+24.08)
_MARGIN10 = 10210
_DB6_10 = 5105
_DB30_10 = 25524
_FLOOR10 = 50268
# frame energy weights for energy centres: round(4096 * 2 ** (-i / 32)), 1/32 octave steps
_W = (4096, 4008, 3922, 3838, 3756, 3676, 3597, 3520, 3444, 3371, 3298, 3228, 3158, 3091, 3025,
      2960, 2896, 2834, 2774, 2714, 2656, 2599, 2543, 2489, 2435, 2383, 2332, 2282, 2233, 2186,
      2139, 2093)


def flags(lv):
    # speech flag (0/1) per frame level -> bytearray
    n = len(lv)
    out = bytearray(n)
    if not n:
        return out
    s = sorted(lv)
    k = n - 1
    lo = k // 10
    hi = min(lo + 1, k)
    noise10 = 10 * s[lo] + (s[hi] - s[lo]) * (k % 10)
    peak10 = 10 * s[k]
    if n >= STEADY and peak10 - noise10 < _MARGIN10:
        return out
    thr = max(min(noise10 + _MARGIN10, peak10 - _DB6_10), peak10 - _DB30_10, _FLOOR10)
    thr = -(-thr // 10)  # integer levels: 10 v >= thr10  <=>  v >= ceil(thr10 / 10)
    t = 0
    for v in lv:
        if v >= thr:
            out[t] = 1
        t += 1
    return out


def centre(lv, first, end, fl=None, top=-1):
    # energy-weighted centre sample of frames [first, end) (with ``fl``: its speech frames
    # only; ``top``: their highest level, if known); weights 2^((level - top) / 256.1) in Q12,
    # 1/32 octave steps, 0 beyond 12 octaves
    if top < 0:
        for t in range(first, end):
            if (fl is None or fl[t]) and lv[t] > top:
                top = lv[t]
    num = den = 0
    w = _W
    for t in range(first, end):
        if fl is None or fl[t]:
            d = top - lv[t]
            if d < 3072:
                v = w[(d >> 3) & 31] >> (d >> 8)
                num += v * t
                den += v
    if not den:
        return first * FRAME + FRAME // 2
    return (2 * FRAME * num + den * (FRAME + 1)) // (2 * den)


def span(lv, fl, n_samples):
    # -> (has speech, energy centre sample, speech frames, first sample, end sample) of a clip
    nsp = 0
    first = last = top = -1
    for t in range(len(fl)):
        if fl[t]:
            nsp += 1
            if first < 0:
                first = t
            last = t
            if lv[t] > top:
                top = lv[t]
    if first < 0:
        c = centre(lv, 0, len(lv))
        return False, min(c, max(n_samples - 1, 0)), 0, 0, 0
    c = centre(lv, first, last + 1, fl, top)
    return nsp >= MIN_SPEECH, min(c, n_samples - 1), nsp, first * FRAME, min((last + 1) * FRAME, n_samples)


def vad_rows(n_samples):
    # front-end rows the VAD reads: 0, 2, ..., 2 (frames - 1)
    return max(1, 2 * (-(-n_samples // FRAME)) - 1)


def window_rows(centre_sample, s, e, n_frames, hop_frames, max_windows):
    # -> [first row of each model window] on the clip's row grid (row r = samples 128 r ..
    # 128 r + 255). A span that fits one window (or one window allowed): the window centred on
    # the energy centre, at the nearest row; else windows from the span start s (a frame edge:
    # row s / 128) every ~hop_frames rows, the last ending at or just past e.
    w = (n_frames - 1) * HOP + FRAME
    if e - s <= w or max_windows <= 1:
        return [(centre_sample - w // 2 + HOP // 2) // HOP]
    extra = -(-(e - s - w) // HOP)
    n = min(1 + -(-extra // max(1, hop_frames)), max_windows)
    base = s // HOP
    return [base + (2 * k * extra + (n - 1)) // (2 * (n - 1)) for k in range(n)]
