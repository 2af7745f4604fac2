# Authentication commands: feed, flush, enroll, auth (admin.py: challenge, debug, users, delete,
# unlock, config) (PROTOCOL.md, docs/SECURITY.md). Enroll and the admin changes are signed
# (security.py: a board-issued challenge, every argument and every named input under the MAC).
# Fed inputs live in inputs.py under board-issued ids; a command drops every input it names
# when it ends. Auth answers a decision only, unless a signed debug mode is on. Templates never
# leave the board.
import gc
import json
import math
import time
from binascii import a2b_base64

from micropython import const

from eyeauth_fw import fusion, pipeline, release
from eyeauth_fw.registry import ATTEMPTS, END_HOOKS, HELLO_HOOKS, AppError, arg_int, arg_str, register
from eyeauth_fw.inputs import MAX_CLIP, MAX_H, MAX_W, InputError, Inputs
from eyeauth_fw.security import Security
from eyeauth_fw.store import MAX_SAMPLES, MAX_USERS, Store, StoreError

CONFIG = "/config.json"
DEFAULTS = {"premodel": True}  # the board's own settings; the release's come from release.py
_NAME_OK = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@"
_MAX_PARTS = const(256)

_state = {}


def _st(app):
    s = _state.get("s")
    if s is None:
        s = {"sec": Security(app.board.urandom), "store": None, "cfg": _load_config(),
             "in": Inputs(app.board.urandom)}
        s["store"] = Store(s["cfg"].get("write_delay_ms", 0))
        try:
            s["store"].load()
        except StoreError as e:
            s["store_error"] = str(e)
        _state["s"] = s
    return s


def _release_id():
    # the id of the release deploy shipped (/models/release.json)
    try:
        return str((release.get() or {}).get("id", ""))[:32]
    except AppError:
        return ""


def _hello(app):
    sec = _st(app)["sec"]
    return {"board_id": sec.board_id or "", "paired": sec.key is not None,
            "release": _release_id()}


HELLO_HOOKS.append(_hello)


def _load_config():
    # /config.json (the signed `config` command): the board's own settings and overrides of the
    # release's policy, default models and detector. The release's values (models, thresholds,
    # gates, defaults, policy, margin) are read from the manifest where they are used
    # (release.py; setting() below), never defaulted on the board.
    cfg = dict(DEFAULTS)
    try:
        with open(CONFIG) as f:
            saved = json.load(f)
        if isinstance(saved, dict):
            cfg.update(saved)
    except (OSError, ValueError):
        pass
    return cfg


def setting(cfg, key):
    # policy, cascade_margin, detector, face_model, voice_model: /config.json's, else the
    # release manifest's
    if key in cfg:
        return cfg[key]
    if key.endswith("_model"):
        return release.need("default", key[:-6])
    return release.need(key)


def _authentic(app, args, digests=()):
    err = _st(app)["sec"].check(args, digests)
    if err == "not_paired":
        raise AppError(err, "the board has no pairing key: deploy with `eyeauth deploy --pair`")
    if err == "replay":
        raise AppError(err, "challenge unknown, used or expired: ask for a new one (`challenge`)")
    if err:
        raise AppError(err, "command authentication failed (wrong pairing secret or altered arguments?)")


def _input_error(e):
    return AppError(e.code, e.msg)


@register("feed")
def _feed(app, args):
    # A test input for a sensor, sent in parts of at most 4096 raw bytes (base64). Part 0 gives
    # the sensor, the size and the format, and gets an input id; later parts name that id.
    inp = _st(app)["in"]
    part = arg_int(args, "part", 0, _MAX_PARTS - 1)
    data = a2b_base64(arg_str(args, "data", 5464))
    try:
        if part == 0:
            sensor = args.get("sensor")
            parts = arg_int(args, "parts", 1, _MAX_PARTS)
            if sensor == "camera":
                w, h = arg_int(args, "w", 1, 1 << 16), arg_int(args, "h", 1, 1 << 16)
                size = arg_int(args, "size", 0, 1 << 24, w * h)
                if w < 32 or h < 32 or w > MAX_W or h > MAX_H or size != w * h:
                    raise AppError("bad_image", "need 8-bit grey %dx%d = %d bytes (32x32..%dx%d), got size %d" % (w, h, w * h, MAX_W, MAX_H, size))
                meta = (w, h)
            elif sensor == "mic":
                rate = arg_int(args, "rate", 0, 1 << 20)
                size = arg_int(args, "size", 0, 1 << 24)
                if rate != 8000 or size % 2 or size < 1600 or size > MAX_CLIP:
                    raise AppError("bad_audio", "need 8 kHz mono 16-bit audio, 0.1..4 s (%d bytes)" % MAX_CLIP)
                meta = (rate,)
            else:
                raise AppError("bad_args", "sensor must be camera or mic")
            iid = inp.begin(sensor, size, meta, parts)
        else:
            iid = arg_str(args, "input", 16)
        have, done = inp.add(iid, part, data)
    except InputError as e:
        raise _input_error(e)
    out = {"input": iid, "have": have}
    if done:
        out["sha256"] = inp.items[iid][7]
        gc.collect()
    return out


@register("flush")
def _flush(app, args):
    return {"flushed": _st(app)["in"].flush()}


def _named(args, key, many):
    # The inputs a command names for a modality: enroll a list of input ids (or a count n of
    # live captures), auth one input id; absent: [] for enroll, live capture for auth.
    v = args.get(key)
    if v is None:
        return []
    if many and type(v) is int and 0 <= v <= MAX_SAMPLES:
        return [None] * v
    if many and type(v) is list and len(v) <= MAX_SAMPLES and all(type(x) is str for x in v):
        return v
    if not many and type(v) is str:
        return [v]
    raise AppError("bad_args", "%s must be %s" % (key, "a list of at most %d input ids (or a count of live captures)" % MAX_SAMPLES if many else "an input id"))


def _mentioned(args):
    # Every input id a command names under face/voice, well-formed or not (an id, or a list of
    # them): all of them go when the command ends, even when its argument check failed.
    out = []
    for k in ("face", "voice"):
        v = args.get(k)
        for x in (v if type(v) is list else (v,)):
            if type(x) is str:
                out.append(x)
    return out


def _drop_named(app, args):
    # END_HOOKS: after every enroll and auth, whatever happened (a refused argument included),
    # the inputs it named are gone, so none outlives the command that named it
    if args.get("cmd") in ("enroll", "auth"):
        _drop(app, _mentioned(args))


END_HOOKS.append(_drop_named)


def _take(app, iid, sensor):
    # The item of a named input (the input is dropped when the command ends), or live capture.
    if iid is None:
        item = app.board.capture(sensor)
        if item is None:
            raise AppError("no_input", "no %s input: feed one or stand in front of the board" % sensor)
        return item
    try:
        v = _st(app)["in"].get(iid, sensor)
    except InputError as e:
        raise _input_error(e)
    if sensor == "camera":
        return v[1], v[2][0], v[2][1]
    return pipeline.as_int16(v[1]), 8000, 0


def _capture(app, p, sensor, iid=None):
    t0 = time.ticks_us()
    item = _take(app, iid, sensor)
    p._py("capture", sensor, t0)
    return item


def _drop(app, ids):
    inp = _st(app)["in"]
    for i in ids:
        inp.drop(i)


def _embed_face(app, p, item, models):
    # enrolment: every deployed face model on one frame -> ({model: vec}, box)
    frame, w, h = item
    cfg = _st(app)["cfg"]
    box = p.face_box(frame, w, h, setting(cfg, "detector"))
    pts = p.face_points(frame, w, h, box, setting(cfg, "landmark"))
    return {m: p.face_embedding(frame, w, h, pts, m) for m in models}, box


def _embed_voice(app, p, item, models):
    clip = item[0]
    centre = p.voice_check(clip)
    return {m: p.voice_embedding(clip, centre, m) for m in models}


def _routed(app, p, mod, route, embed, fixed, users, claimed, who, res):
    # One factor the router's way: the first model (fixed by a debug command, else the
    # router's choice, else the configured default), then the next model while the margin is
    # in the router's unsure band (premodel.escalate). route: None (fixed or no router) or
    # (t0, first model, features, us to leave out: the landmark step between the choice and
    # the first embedding); the router's cost is its own telemetry stage ("premodel" from t0:
    # features + choice; "escalate": each step). -> margin
    from eyeauth_fw import premodel
    cfg = _st(app)["cfg"]
    deployed = release.models(mod)
    name, feats = fixed, ()
    if route is not None:
        t0, first, feats, skip = route
        name = first if first in deployed else None
        p._py("premodel", name or "", t0, {"choice": name or setting(cfg, mod + "_model")}, skip)
    name = name or setting(cfg, mod + "_model")
    while True:
        v = embed(name)
        who[mod], res[mod + "_score"], m = _margin(p, cfg, mod, name, v, users, claimed)
        v = None
        nxt = None
        if route is not None:
            t0 = time.ticks_us()
            nxt = premodel.escalate(mod, name, m, feats)
            if nxt is not None and nxt in deployed:
                p._py("escalate", nxt, t0, {"from": name, "margin": m})
            else:
                nxt = None
        if nxt is None:
            res["models"][mod] = name
            return m
        name = nxt


def _face_factor(app, p, item, fixed, policy, users, claimed, who, res):
    # -> the face margin, or None when the frame has no usable face (the detector's presence
    # gate, or the router's quality rule) and the policy is cascade: the router's modality
    # choice hands the attempt to the voice factor, which must then be a spoken challenge
    # (_decide refuses a plain clip: need_challenge; challenge.py runs the words)
    from eyeauth_fw import premodel
    cfg = _st(app)["cfg"]
    frame, w, h = item
    try:
        box = p.face_box(frame, w, h, setting(cfg, "detector"))
    except pipeline.PipelineError as e:
        if e.code != "no_face" or policy != "cascade":
            raise
        p._py("premodel", "", time.ticks_us(), {"modality": "voice", "why": "no_face"})
        return None
    res["box"] = box
    route = None
    if cfg.get("premodel") and not fixed:
        t0 = time.ticks_us()
        first, feats = premodel.route_face(frame, w, h, box)
        if policy == "cascade" and premodel.poor("face", feats):
            p._py("premodel", "", t0, {"modality": "voice", "why": "poor_face"})
            return None
        route = (t0, first, feats)
    t1 = time.ticks_us()
    pts = p.face_points(frame, w, h, box, setting(cfg, "landmark"))
    if route is not None:  # the landmark step is its own stages, not the router's
        route = route + (time.ticks_diff(time.ticks_us(), t1),)
    return _routed(app, p, "face", route, lambda m: p.face_embedding(frame, w, h, pts, m),
                   fixed, users, claimed, who, res)


def _voice_factor(app, p, item, fixed, users, claimed, who, res):
    from eyeauth_fw import premodel
    clip = item[0]
    centre = p.voice_check(clip)
    route = None
    if _st(app)["cfg"].get("premodel") and not fixed:
        t0 = time.ticks_us()
        first, feats = premodel.route_voice(clip)
        route = (t0, first, feats, 0)
    return _routed(app, p, "voice", route, lambda m: p.voice_embedding(clip, centre, m),
                   fixed, users, claimed, who, res)


def _check_name(user):
    if type(user) is not str or not 1 <= len(user) <= 32 or any(c not in _NAME_OK for c in user):
        raise AppError("bad_args", "user name: 1..32 of A-Z a-z 0-9 . _ - @")
    return user


@register("enroll")
def _enroll(app, args):
    s = _st(app)
    faces, voices = _named(args, "face", True), _named(args, "voice", True)
    digests = []
    for sensor, ids in (("camera", faces), ("mic", voices)):
        for iid in ids:
            if iid is not None:
                try:
                    digests.append(s["in"].get(iid, sensor)[7])
                except InputError:
                    digests.append("-")  # the MAC check still runs (and spends the challenge)
    _authentic(app, args, digests)
    user = _check_name(args.get("user"))
    if not faces and not voices:
        raise AppError("bad_args", "name 1..%d face and/or voice inputs" % MAX_SAMPLES)
    entries = {}
    p = pipeline.Pipeline(app.board, app.tel)
    try:
        for mod, ids, fn in (("face", faces, _embed_face), ("voice", voices, _embed_voice)):
            models = release.models(mod)
            for iid in ids:
                item = _capture(app, p, "camera" if mod == "face" else "mic", iid)
                embs = fn(app, p, item, models)
                if mod == "face":
                    embs = embs[0]
                for m, v in embs.items():
                    entries.setdefault(mod + ":" + m, []).append(pipeline.quantize_unit(v))
                item = None
                _drop(app, (iid,))
                gc.collect()
    except pipeline.PipelineError as e:
        raise AppError(e.code, e.msg)
    try:
        s["store"].enroll(user, entries)
    except StoreError as e:
        if str(e) == "full":
            raise AppError("store_full", "the store holds at most %d users; delete one first" % MAX_USERS)
        if str(e) == "flash":
            raise AppError("store_full", "the board's flash is full: nothing was written; delete a user first")
        raise AppError("store", str(e))
    return {"user": user, "samples": s["store"].summary()[user]}


def _z_upper(p):
    # standard normal quantile exceeded with probability p (Abramowitz and Stegun 26.2.23)
    t = math.sqrt(-2.0 * math.log(p))
    return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)


def ident_threshold(cfg, model, n):
    # The per-comparison threshold of an identification over n templates: the score an impostor
    # exceeds with probability far/n (a normal law fitted to the calibration impostor tail,
    # /models/identification.json, host: eyeauth.auth.identify), so the chance that any of the n
    # lets an impostor in stays at far; never below the 1:1 threshold. Above 1: nobody passes.
    thr = release.need("thresholds", model)
    if n <= 1:
        return thr
    t = release.need("ident", model)
    return max(thr, t["mu"] + t["sd"] * _z_upper(t["far"] / n))


def _margin(p, cfg, mod, model, v, templates, user):
    # 1:1 against the claimed user, else 1:N over every template of this model (store.match:
    # one vectorised pass over the store's rows; `templates` is the store's user table, kept
    # as the callers pass it), with the threshold for N comparisons
    t0 = time.ticks_us()
    store = _state["s"]["store"]
    key = mod + ":" + model
    best_user, best = store.match(key, v, user)
    thr = release.need("thresholds", model) if user else ident_threshold(cfg, model, store.count(key))
    p._py("match", model, t0, {"n": 1 if user else store.count(key)})
    return best_user, best, best - thr


@register("auth")
def _auth(app, args):
    s = _st(app)
    fids, vids = _named(args, "face", False), _named(args, "voice", False)
    return _attempt(app, s, args, (fids or [None])[0], (vids or [None])[0])  # _drop_named ends them


def _attempt(app, s, args, fid, vid):
    sec = s["sec"]
    wait = sec.wait_s()
    if wait:
        raise AppError("locked", "locked after %d failed attempts: try again in %d s (or `eyeauth users --unlock`)" % (sec.state["failed"], wait))
    cfg = s["cfg"]
    debug = sec.debug()
    for k in ("policy", "face_model", "voice_model"):
        if args.get(k) and not debug:
            raise AppError("no_debug", "%s is chosen per attempt only in debug mode (signed `debug`)" % k)
    policy = args.get("policy") or setting(cfg, "policy")
    if policy not in fusion.ALL:
        raise AppError("bad_args", "policy must be one of " + ", ".join(fusion.ALL))
    spoken = args.get("spoken")  # a spoken challenge (challenge.py): the voice factor is fresh
    base = policy
    if spoken is not None:
        policy = fusion.with_challenge(policy)
    elif policy in fusion.CHALLENGE:
        raise AppError("no_challenge", "policy %s needs a spoken challenge: `say`, then auth with spoken=<challenge>" % policy)
    fm_fixed = args.get("face_model")
    vm_fixed = args.get("voice_model")
    for mod, m in (("face", fm_fixed), ("voice", vm_fixed)):
        if m is not None and m not in release.models(mod):
            raise AppError("bad_args", "%s_model must be one of the deployed %s models" % (mod, mod))
    users = s["store"].users
    if not users:
        raise AppError("no_users", "nobody is enrolled")
    claimed = args.get("user")
    if claimed is not None and (type(claimed) is not str or claimed not in users):
        raise AppError("unknown_user", "%s is not enrolled" % str(claimed)[:40])
    sec.begin_attempt()
    ok = False
    try:
        if spoken is not None:
            fn = ATTEMPTS.get("spoken")
            if fn is None:
                raise AppError("no_challenge", "this firmware has no spoken challenge (challenge.py)")
            res = fn(app, s, cfg, policy, users, claimed, fid, vid, fm_fixed, vm_fixed, spoken, base)
        else:
            res = _decide(app, s, cfg, policy, users, claimed, fid, vid, fm_fixed, vm_fixed)
        ok = res["accepted"]
    finally:
        sec.end_attempt(ok)
    if debug:
        res.update({"failed": sec.state["failed"], "locked": sec.wait_s() > 0})
        return res
    return {"accepted": ok, "user": res["user"], "locked": sec.wait_s() > 0}


def _decide(app, s, cfg, policy, users, claimed, fid, vid, fm_fixed, vm_fixed):
    p = pipeline.Pipeline(app.board, app.tel)
    t0 = time.ticks_us()
    res = {"policy": policy, "models": {}}
    try:
        face = voice = None
        who = {}
        if "face" in fusion.needs(policy):
            item = _capture(app, p, "camera", fid)
            face = _face_factor(app, p, item, fm_fixed, policy, users, claimed, who, res)
            item = None
        if face is None and policy == "cascade":
            # no usable face (covered camera, dark, no face): a recording must not open the
            # board, so the voice factor has to be fresh: the words the board draws
            raise AppError("need_challenge", "no usable face: answer a spoken challenge instead "
                           "(`say`, then auth with spoken=<id>; eyeauth auth --challenge)")
        clip = [None]
        if "voice" in fusion.needs(policy) and policy != "cascade":
            clip[0] = _capture(app, p, "mic", vid)

        nested = [0]  # us of a voice path run lazily inside fusion.decide: its own stages

        def voice_margin():
            tv = time.ticks_us()
            item = clip[0] or _capture(app, p, "mic", vid)
            m = _voice_factor(app, p, item, vm_fixed, users, claimed, who, res)
            nested[0] += time.ticks_diff(time.ticks_us(), tv)
            return m

        voice = voice_margin if policy in ("voice", "cascade") else (voice_margin() if "voice" in fusion.needs(policy) else None)
        nested[0] = 0  # only a voice path run inside fusion.decide below is subtracted
        t1 = time.ticks_us()
        ok, used = fusion.decide(policy, face, voice, setting(cfg, "cascade_margin"))
        # identification: every modality used must point at the same person
        names = set(who[m] for m in used)
        ok = ok and len(names) == 1
        p._py("fusion", policy, time.ticks_add(t1, nested[0]))  # the decision's own time
    except pipeline.PipelineError as e:
        raise AppError(e.code, e.msg)
    res.update({"accepted": ok, "user": names.pop() if ok else None, "used": list(used),
                "stages": [list(x) for x in p.stages],
                "total_us": time.ticks_diff(time.ticks_us(), t0),
                "modeled_us": sum(x[3] for x in p.stages), "best": who})  # best: debug replies only
    return res
