# Spoken challenge, the arithmetic: split a clip's VAD frames into words, place each word's
# keyword-model window on the front end's row grid, and decide. Pure Python with no board
# imports: the host's keyword training and `eyeauth eval liveness` import this same file
# (eyeauth.fw.words), so the board and the evaluation segment and decide alike.
#
# Frames are the VAD's (256 samples, 32 ms at 8 kHz); rows are the front end's (256 samples,
# hop 128) on a grid that starts at sample `start`: row r covers start + 128 r .. + 256.
from . import speech  # relative: the host imports this file as eyeauth.fw.words

VOCAB = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
FRAME = 256
HOP = 128
MIN_RUN = 2  # frames: a shorter speech run is dropped while there are too many runs


def runs(flags):
    # [[first frame, end frame)] of each run of speech frames
    out = []
    start = -1
    for t, f in enumerate(flags):
        if f and start < 0:
            start = t
        elif not f and start >= 0:
            out.append([start, t])
            start = -1
    if start >= 0:
        out.append([start, len(flags)])
    return out


def merge_to(rs, n_words):
    # Runs -> at most n_words words: while there are too many, drop the shortest run if it is
    # shorter than MIN_RUN frames (a click, a breath), else join the two runs with the
    # shortest gap (a word the VAD split at a stop consonant).
    rs = [list(r) for r in rs]
    while len(rs) > n_words:
        k = min(range(len(rs)), key=lambda i: rs[i][1] - rs[i][0])
        if rs[k][1] - rs[k][0] < MIN_RUN:
            rs.pop(k)
            continue
        g = min(range(len(rs) - 1), key=lambda i: rs[i + 1][0] - rs[i][1])
        rs[g][1] = rs[g + 1][1]
        rs.pop(g + 1)
    return rs


def segment(flags, lv, n_words, n_samples):
    # -> [(start sample, end sample, centre sample)] of the words, or the number of words
    # heard (an int < n_words) when the clip has fewer separable words than asked for. ``lv``:
    # the VAD's frame levels (speech.py), for each word's energy centre.
    rs = merge_to(runs(flags), n_words)
    if len(rs) < n_words:
        return len(rs)
    return [(a * FRAME, min(b * FRAME, n_samples), speech.centre(lv, a, b)) for a, b in rs]


def window(seg, start, n_frames):
    # -> (o, a, b): the keyword window is rows o .. o + n_frames - 1 of the grid from `start`,
    # centred on the word's energy centre; of them, rows o + a .. o + b - 1 (those at or after
    # row 0 whose centre sample lies inside the word) are the word, the others are the floor
    s, e, c = seg
    o = (c - start - HOP) // HOP - n_frames // 2 + 1
    a = b = 0
    for i in range(n_frames):
        mid = start + (o + i) * HOP + HOP
        if s <= mid < e and o + i >= 0:
            if b == 0:
                a = i
            b = i + 1
    if b == 0:  # a word shorter than a row: its nearest row
        a, b = n_frames // 2 - 1, n_frames // 2
    return o, a, b


def margin(logits, k):
    # score of word k over the best other word (dequantized logits)
    best = None
    for i, v in enumerate(logits):
        if i != k and (best is None or v > best):
            best = v
    return logits[k] - best


def argmax(v):
    k = 0
    for i in range(1, len(v)):
        if v[i] > v[k]:
            k = i
    return k


def words_ok(margins, threshold):
    # every word of the challenge heard as itself, in order, by at least `threshold`
    for m in margins:
        if m < threshold:
            return False
    return True
