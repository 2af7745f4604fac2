# Spoken challenge, the board's computation for one clip (challenge.py runs the commands):
# segment the words (words.py), compute the log-mel rows once on one grid from the first speech
# sample, read each word's keyword window and the voice model's windows from those same rows
# (when their mel bands agree; else the voice path runs as for a plain voice attempt).
# No board imports: `eyeauth eval liveness` times this file in the MicroPython VM.
import gc
import time

import micropython

from eyeauth_fw import audio, pipeline, release, words


@micropython.viper
def _clipped(x: ptr16, n: int) -> int:
    # samples at full scale (audio.clipped_fraction's count, 30x faster: ptr16 reads unsigned,
    # so -32768 reads 32768)
    c = 0
    i = 0
    while i < n:
        v = x[i]
        if v == 32767 or v == 32768:
            c += 1
        i += 1
    return c


def _speech(db, flags, n):
    # vad_span's (centre, first, end) from the frame dB and flags (audio.vad_span, no second pass)
    first = last = -1
    num = den = 0.0
    for t in range(len(flags)):
        if flags[t]:
            if first < 0:
                first = t
            last = t
    for t in range(len(db)):
        if flags[t] or first < 0:
            e = 10 ** (db[t] / 10.0)
            num += e * (t * audio.FRAME + audio.FRAME // 2)
            den += e
    c = min(int(round(num / max(den, 1e-9))), n - 1)
    if first < 0:
        return c, 0, 0, 0
    return c, first * audio.FRAME, min((last + 1) * audio.FRAME, n), sum(1 for f in flags if f)


class _Rows:
    # absolute log-mel rows 0..n-1 on the grid from `start`, each computed once, on demand
    def __init__(self, clip, start, n, n_mels):
        self.lm = audio.LogMel(n, n_mels)
        self.clip, self.start, self.m = clip, start, n_mels
        self.done = bytearray(n)

    def need(self, a, b):
        for r in range(a, b):
            if not self.done[r]:
                self.lm.row(self.clip, self.start + r * audio.HOP, r)
                self.done[r] = 1

    def quant(self, a, b, out, at):
        # rows a..b-1 relative to their maximum -> out from row `at`
        m = self.m
        audio._quant(memoryview(self.lm.ring)[a * m:b * m], (b - a) * m, 0, memoryview(out)[at * m:(at + b - a) * m])


def listen(p, clip, expected, kw, vm, order=None):
    # -> (heard words, margins of the expected words, speaker embedding or None); with a list
    # `order`, one row per word of each segment's logits of the challenge words (wordorder.py).
    # Stages:
    # segment (VAD + words), logmel (rows), keyword (nn per word), voice_embed (nn per window).
    t0 = time.ticks_us()
    db, flags = audio.speech_flags(clip)
    c, s, e, nsp = _speech(db, flags, len(clip))
    clipped = _clipped(clip, len(clip)) / max(1, len(clip))
    segs = words.segment(flags, db, len(expected), len(clip))
    p._py("segment", kw, t0, {"speech_frames": nsp, "words": segs if type(segs) is int else len(segs)})
    if clipped > 0.05:
        raise pipeline.PipelineError("clipped", "%d%% of the clip is clipped: speak further from the mic" % int(clipped * 100))
    if nsp < 3:
        raise pipeline.PipelineError("no_speech", "no speech in the clip: say the words")
    if type(segs) is int:
        return ["?"] * segs, [], None
    kc, vc = release.net(kw), release.net(vm)
    kt, km = kc["shape"][1], kc["shape"][2]
    vt, vmels = vc["shape"][1], vc["shape"][2]
    vstart, offs = audio.utterance_plan(c, s, e, vt, vc["hop"], vc["maxw"])
    shared = vmels == km and vstart == s
    wins = [words.window(g, s, kt) for g in segs]
    n = max(o + b for o, a, b in wins)
    if shared:
        n = max(n, offs[-1] + vt)
    gc.collect()
    old = gc.threshold()
    gc.threshold(pipeline.GC_EVERY)
    try:
        rows = _Rows(clip, s, n, km)
        floor = b"\x80" * (kt * km)
        q = bytearray(kt * km)
        heard, margins = [], []
        for (o, a, b), want in zip(wins, expected):
            t1 = time.ticks_us()
            rows.need(o + a, o + b)
            q[:] = floor
            rows.quant(o + a, o + b, q, a)
            p._py("logmel", kw, t1)
            out = p._nn("keyword", kw, q)
            lg = [((((v + 128) & 0xFF) - 128) - kc["zp"]) * kc["scale"] for v in out]
            heard.append(words.VOCAB[words.argmax(lg)])
            margins.append(words.margin(lg, words.VOCAB.index(want)))
            if order is not None:
                order.append([lg[words.VOCAB.index(w)] for w in expected])
        if not shared:
            return heard, margins, p.voice_embedding(clip, (c, s, e), vm)
        vq = bytearray(vt * vmels)
        acc = None
        for o in offs:
            t1 = time.ticks_us()
            rows.need(o, o + vt)
            rows.quant(o, o + vt, vq, 0)
            p._py("logmel", vm, t1, {"window": o})
            acc = pipeline.add_to(acc, p._unit(vm, p._nn("voice_embed", vm, vq)))
        return heard, margins, pipeline.unit(acc)
    finally:
        gc.threshold(old)
