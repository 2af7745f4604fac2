# Spoken challenge (liveness): `say` draws 3-4 words (security.Spoken: os.urandom, valid once,
# for cfg challenge_s seconds); `auth` with spoken=<id> then checks, in the one clip, that the
# words were said in that order (words.py segmentation + the keyword model) and who said them
# (the voice model and threshold), in spoken.py (PROTOCOL.md). The voice model is the
# configured one (its log-mel rows are shared with the keyword model's), not the router's.
import time

from micropython import const

from eyeauth_fw import fusion, pipeline, release, spoken, wordorder, words
from eyeauth_fw.registry import ATTEMPTS, AppError, arg_int, register

_TTL_S = const(20)
_N_WORDS = const(3)


def _kw_model():
    # the keyword model and its margin threshold, as the release manifest names them
    kw = release.need("keyword")
    if kw is None:
        raise AppError("no_model", "the release has no keyword model: deploy one (`eyeauth deploy`)")
    return kw, release.need("keyword_margin")


def _open(s):
    from eyeauth_fw.security import Spoken
    sp = s.get("spoken")
    if sp is None:
        sp = s["spoken"] = Spoken(s["sec"]._rand)
    return sp


def _attempt_kind(kind):
    def deco(fn):
        ATTEMPTS[kind] = fn  # auth.py runs it for `auth spoken=<id>`
        return fn
    return deco


@register("say")
def _say(app, args):
    from eyeauth_fw.auth import _st
    s = _st(app)
    n = arg_int(args, "n", 3, 4, s["cfg"].get("challenge_words", _N_WORDS))
    cid, ws = _open(s).draw(words.VOCAB, n)
    return {"challenge": cid, "words": ws, "ttl_s": s["cfg"].get("challenge_s", _TTL_S)}


@_attempt_kind("spoken")
def attempt(app, s, cfg, policy, users, claimed, fid, vid, fm_fixed, vm_fixed, cid, base=None):
    # One challenge attempt (auth.py counts it, before and after): the challenge is spent first.
    # base: the policy asked for before the challenge; under cascade a frame without a usable
    # face leaves the words and the voice to decide (policy challenge), as _decide demands
    from eyeauth_fw import auth as A
    expected = _open(s).take(cid, cfg.get("challenge_s", _TTL_S) * 1000) if type(cid) is str else None
    if expected is None:
        raise AppError("bad_challenge", "spoken challenge unknown, used or expired: ask for a new one (`say`)")
    kw, thr = _kw_model()
    p = pipeline.Pipeline(app.board, app.tel)
    t0 = time.ticks_us()
    res = {"policy": policy, "models": {"keyword": kw}, "challenge": list(expected)}
    try:
        who = {}
        face = None
        if policy == "face+challenge":  # the face factor as in any attempt (router, cascade)
            item = A._capture(app, p, "camera", fid)
            face = A._face_factor(app, p, item, fm_fixed, "cascade" if base == "cascade" else policy,
                                  users, claimed, who, res)
            item = None
            if face is None:  # cascade, no usable face: the challenge alone decides
                policy = res["policy"] = "challenge"
        clip = A._capture(app, p, "mic", vid)[0]
        vm = vm_fixed or A.setting(cfg, "voice_model")
        order = []
        heard, margins, v = spoken.listen(p, clip, expected, kw, vm, order)
        res.update({"heard": heard, "word_margins": [round(m, 3) for m in margins]})
        # each word heard as itself (margin), and in the drawn order rather than another
        ok_words = len(margins) == len(expected) and words.words_ok(margins, thr) and \
            wordorder.order_ok(order)
        voice = -2.0
        if v is not None:
            who["voice"], res["voice_score"], voice = A._margin(p, cfg, "voice", vm, v, users, claimed)
            res["models"]["voice"] = vm
        t1 = time.ticks_us()
        ok, used = fusion.decide(policy, face, voice, A.setting(cfg, "cascade_margin"), words=ok_words)
        names = set(who.get(m) for m in used)
        ok = ok and len(names) == 1
        p._py("fusion", policy, t1)
    except pipeline.PipelineError as e:
        raise AppError(e.code, e.msg)
    res.update({"accepted": ok, "user": names.pop() if ok else None, "used": list(used),
                "words_ok": ok_words, "stages": [list(x) for x in p.stages],
                "total_us": time.ticks_diff(time.ticks_us(), t0),
                "modeled_us": sum(x[3] for x in p.stages)})
    return res
