# Spoken challenge, the board's computation for one clip (challenge.py runs the commands): the
# front end's rows of the clip (audio.Features) once, the VAD and the word segments from their
# frame levels (speech.py, words.py), each word's keyword window and the voice model's windows
# read from those same rows.
# No board imports: `eyeauth eval liveness` times this file in the MicroPython VM.
import gc
import time

from eyeauth_fw import audio, pipeline, release, words


def listen(p, clip, expected, kw, vm, order=None):
    # -> (heard words, margins of the expected words, speaker embedding or None); with a list
    # `order`, one row per word of each segment's logits of the challenge words (wordorder.py).
    # Stages:
    # frontend (nn), segment (VAD + words), logmel (window reads), keyword (nn per word),
    # voice_embed (nn per window). One collection first, outside the stages (pipeline.voice_check).
    gc.collect()
    t0 = time.ticks_us()
    f = p.features(clip)
    ok, c, nsp, peak, s, e, lv, fl = audio.vad(f)
    clipped = audio.clipped_count(clip, len(clip)) / max(1, len(clip))
    segs = words.segment(fl, lv, len(expected), len(clip))
    p._py("segment", kw, t0, {"speech_frames": nsp, "words": segs if type(segs) is int else len(segs)}, p._fe_flush())
    if clipped > 0.05:
        raise pipeline.PipelineError("clipped", "%d%% of the clip is clipped: speak further from the mic" % int(clipped * 100))
    if nsp < 3:
        raise pipeline.PipelineError("no_speech", "no speech in the clip: say the words")
    if type(segs) is int:
        return ["?"] * segs, [], None
    kc = release.net(kw)
    kt, km = kc["shape"][1], kc["shape"][2]
    base = s // audio.HOP  # the words' grid starts at the first speech sample (a row edge)
    q = bytearray(kt * km)
    heard, margins = [], []
    for g, want in zip(segs, expected):
        o, a, b = words.window(g, s, kt)
        t1 = time.ticks_us()
        f.window(base + o, kt, km, q, a, b)
        p._py("logmel", kw, t1, None, p._fe_flush())
        out = p._nn("keyword", kw, q)
        lg = [((((v + 128) & 0xFF) - 128) - kc["zp"]) * kc["scale"] for v in out]
        heard.append(words.VOCAB[words.argmax(lg)])
        margins.append(words.margin(lg, words.VOCAB.index(want)))
        if order is not None:
            order.append([lg[words.VOCAB.index(w)] for w in expected])
    return heard, margins, p.voice_embedding(clip, (c, s, e, f), vm)
