# Authentication commands: feed, enroll, auth, users, delete, config, unlock (PROTOCOL.md).
# Enroll, delete, config and unlock carry an HMAC over "cmd|user|nonce" with the pairing secret
# and a nonce larger than the last one accepted. Templates never leave the board.
import gc
import json
import time
from binascii import a2b_base64

from eyeauth_fw import fsutil, fusion, pipeline
from eyeauth_fw.app import AppError, register
from eyeauth_fw.security import Security
from eyeauth_fw.store import MAX_SAMPLES, Store, StoreError

_MAX_W = 640
_MAX_H = 480
_MAX_SAMPLES_AUDIO = 8000 * 4
_QUEUE = 8
CONFIG = "/config.json"
DEFAULTS = {"policy": "cascade", "detector": "face_det", "premodel": True}

_state = {}


def _st(app):
    s = _state.get("s")
    if s is None:
        s = {"sec": Security(), "store": None, "cfg": _load_config(), "feed": {}, "q": {"camera": [], "mic": []}}
        s["store"] = Store(s["cfg"].get("write_delay_ms", 0))
        try:
            s["store"].load()
        except StoreError as e:
            s["store_error"] = str(e)
        _state["s"] = s
    return s


def _load_config():
    cfg = dict(DEFAULTS)
    try:
        with open("/models/thresholds.json") as f:
            th = json.load(f)
        cfg["thresholds"] = th["thresholds"]
        cfg["models"] = th["models"]
        cfg["face_model"] = th["default"]["face"]
        cfg["voice_model"] = th["default"]["voice"]
    except (OSError, ValueError, KeyError):
        cfg["thresholds"], cfg["models"] = {}, {"face": [], "voice": []}
    try:
        with open(CONFIG) as f:
            cfg.update(json.load(f))
    except (OSError, ValueError):
        pass
    return cfg


def _authentic(app, args, cmd):
    err = _st(app)["sec"].check(cmd, args.get("user", ""), args.get("nonce"), args.get("mac"))
    if err == "not_paired":
        raise AppError(err, "the board has no pairing secret: deploy with `eyeauth deploy --pair`")
    if err == "replay":
        raise AppError(err, "nonce already used: replayed command rejected")
    if err:
        raise AppError(err, "command authentication failed (wrong pairing secret?)")


@register("feed")
def _feed(app, args):
    # A test input for a sensor, sent in parts: the frame a camera would see, the clip a mic
    # would hear. Inputs queue up and are consumed by enroll/auth before live capture.
    sensor = args["sensor"]
    if sensor not in ("camera", "mic"):
        raise AppError("bad_args", "sensor must be camera or mic")
    s = _st(app)
    part, parts = int(args["part"]), int(args["parts"])
    buf = s["feed"].get(sensor)
    if part == 0:
        buf = s["feed"][sensor] = bytearray()
    elif buf is None:
        raise AppError("bad_args", "feed part %d without part 0" % part)
    buf.extend(a2b_base64(args["data"]))
    limit = _MAX_W * _MAX_H if sensor == "camera" else 2 * _MAX_SAMPLES_AUDIO
    if len(buf) > limit:
        del s["feed"][sensor]
        raise AppError("too_big", "%s input over %d bytes" % (sensor, limit))
    if part + 1 < parts:
        return {"have": len(buf)}
    del s["feed"][sensor]
    if sensor == "camera":
        w, h = int(args["w"]), int(args["h"])
        if w * h != len(buf) or w < 32 or h < 32 or w > _MAX_W or h > _MAX_H:
            raise AppError("bad_image", "need 8-bit grey %dx%d = %d bytes (32..%dx%d), got %d bytes" % (w, h, w * h, _MAX_W, _MAX_H, len(buf)))
        item = (bytes(buf), w, h)
    else:
        if int(args.get("rate", 0)) != 8000 or len(buf) % 2:
            raise AppError("bad_audio", "need 8 kHz mono 16-bit audio")
        item = (pipeline.as_int16(buf), 8000, 0)
    q = s["q"][sensor]
    if len(q) >= _QUEUE:
        raise AppError("busy", "%s queue full (%d inputs)" % (sensor, _QUEUE))
    q.append(item)
    gc.collect()
    return {"queued": len(q)}


def _next(app, sensor):
    q = _st(app)["q"][sensor]
    if q:
        return q.pop(0)
    item = app.board.capture(sensor)
    if item is None:
        raise AppError("no_input", "no %s input: feed one or stand in front of the board" % sensor)
    return item


def _capture(app, p, sensor):
    t0 = time.ticks_us()
    item = _next(app, sensor)
    p._py("capture", sensor, t0)
    return item


def _choose(app, p, mod, pick, fixed):
    # The model for this input: fixed by the command, else the premodel's choice (when on and
    # deployed), else the configured default. The premodel's cost is its own telemetry stage.
    cfg = _st(app)["cfg"]
    if fixed:
        return fixed
    if cfg.get("premodel"):
        t0 = time.ticks_us()
        name = pick()
        if name is not None:
            if name not in (cfg["models"].get(mod) or ()):
                name = None
            p._py("premodel", name or "", t0, {"choice": name or cfg[mod + "_model"]})
        if name:
            return name
    return cfg[mod + "_model"]


def _embed_face(app, p, item, models=None, fixed=None):
    # models: all of them (enrollment); else one, chosen per input -> ({model: vec}, box)
    from eyeauth_fw import premodel
    frame, w, h = item
    box = p.face_box(frame, w, h, _st(app)["cfg"].get("detector"))
    if models is None:
        models = [_choose(app, p, "face", lambda: premodel.choose_face(frame, w, h, box), fixed)]
    return {m: p.face_embedding(frame, w, h, box, m) for m in models}, box


def _embed_voice(app, p, item, models=None, fixed=None):
    from eyeauth_fw import premodel
    clip = item[0]
    centre = p.voice_check(clip)
    if models is None:
        models = [_choose(app, p, "voice", lambda: premodel.choose_voice(clip), fixed)]
    return {m: p.voice_embedding(clip, centre, m) for m in models}


@register("enroll")
def _enroll(app, args):
    _authentic(app, args, "enroll")
    s = _st(app)
    user = args["user"]
    if not user or len(user) > 32:
        raise AppError("bad_args", "user name must be 1..32 characters")
    nf, nv = int(args.get("face", 0)), int(args.get("voice", 0))
    if not (0 <= nf <= MAX_SAMPLES and 0 <= nv <= MAX_SAMPLES) or nf + nv == 0:
        raise AppError("bad_args", "face and voice sample counts must be 0..%d, not both 0" % MAX_SAMPLES)
    cfg = s["cfg"]
    entries = {}
    p = pipeline.Pipeline(app.board, app.tel)
    try:
        for mod, n, fn in (("face", nf, _embed_face), ("voice", nv, _embed_voice)):
            models = cfg["models"].get(mod) or []
            for _ in range(n):
                item = _capture(app, p, "camera" if mod == "face" else "mic")
                embs = fn(app, p, item, models)
                if mod == "face":
                    embs = embs[0]
                for m, v in embs.items():
                    entries.setdefault(mod + ":" + m, []).append(pipeline.quantize_unit(v))
    except pipeline.PipelineError as e:
        raise AppError(e.code, e.msg)
    try:
        s["store"].enroll(user, entries)
    except StoreError as e:
        raise AppError("store_full", "the store holds at most 16 users; delete one first") if str(e) == "full" else AppError("store", str(e))
    return {"user": user, "samples": s["store"].summary()[user]}


def _margin(p, cfg, mod, model, v, templates, user):
    t0 = time.ticks_us()
    thr = cfg["thresholds"].get(model, 0.5)
    best_user, best = None, -2.0
    for u, entries in templates.items():
        if user and u != user:
            continue
        samples = entries.get(mod + ":" + model)
        if samples:
            sc = pipeline.score(v, samples)
            if sc > best:
                best_user, best = u, sc
    p._py("match", model, t0)
    return best_user, best, best - thr


@register("auth")
def _auth(app, args):
    s = _st(app)
    sec = s["sec"]
    if sec.state["locked"]:
        raise AppError("locked", "locked after %d failed attempts; unlock with `eyeauth users --unlock`" % sec.state["failed"])
    cfg = s["cfg"]
    policy = args.get("policy") or cfg["policy"]
    if policy not in fusion.POLICIES:
        raise AppError("bad_args", "policy must be one of " + ", ".join(fusion.POLICIES))
    users = s["store"].users
    if not users:
        raise AppError("no_users", "nobody is enrolled")
    claimed = args.get("user")
    if claimed and claimed not in users:
        raise AppError("unknown_user", "%s is not enrolled" % claimed)
    fm_fixed = args.get("face_model")
    vm_fixed = args.get("voice_model")
    p = pipeline.Pipeline(app.board, app.tel)
    t0 = time.ticks_us()
    res = {"policy": policy, "models": {}}
    try:
        face = voice = None
        who = {}
        if "face" in fusion.needs(policy):
            item = _capture(app, p, "camera")
            embs, box = _embed_face(app, p, item, fixed=fm_fixed)
            fm = list(embs)[0]
            who["face"], res["face_score"], face = _margin(p, cfg, "face", fm, embs[fm], users, claimed)
            res["models"]["face"], res["box"] = fm, box
        clip = [None]
        if "voice" in fusion.needs(policy) and policy != "cascade":
            clip[0] = _capture(app, p, "mic")

        def voice_margin():
            item = clip[0] or _capture(app, p, "mic")
            embs = _embed_voice(app, p, item, fixed=vm_fixed)
            vm = list(embs)[0]
            who["voice"], res["voice_score"], m = _margin(p, cfg, "voice", vm, embs[vm], users, claimed)
            res["models"]["voice"] = vm
            return m

        voice = voice_margin if policy in ("voice", "cascade") else (voice_margin() if "voice" in fusion.needs(policy) else None)
        t1 = time.ticks_us()
        ok, used = fusion.decide(policy, face, voice)
        # identification: every modality used must point at the same person
        names = set(who[m] for m in used)
        ok = ok and len(names) == 1
        p._py("fusion", policy, t1)
    except pipeline.PipelineError as e:
        raise AppError(e.code, e.msg)
    if "voice" not in used and s["q"]["mic"] and args.get("drop_unused", True):
        s["q"]["mic"].pop(0)  # the clip presented with this attempt was not needed (cascade)
    sec.attempt(ok)
    res.update({"accepted": ok, "user": names.pop() if ok else None, "used": list(used),
                "stages": [list(x) for x in p.stages],
                "total_us": time.ticks_diff(time.ticks_us(), t0),
                "modeled_us": sum(x[3] for x in p.stages), "failed": sec.state["failed"],
                "locked": sec.state["locked"]})
    return res


@register("users")
def _users(app, args):
    s = _st(app)
    out = {"users": s["store"].summary(), "locked": s["sec"].state["locked"],
           "paired": s["sec"].key is not None}
    if "store_error" in s:
        out["store_error"] = s["store_error"]
    if s["store"].recovered:
        out["recovered"] = True
    return out


@register("delete")
def _delete(app, args):
    _authentic(app, args, "delete")
    s = _st(app)
    if args["user"] not in s["store"].users:
        raise AppError("unknown_user", "%s is not enrolled" % args["user"])
    s["store"].delete(args["user"])
    return {"deleted": args["user"]}


@register("unlock")
def _unlock(app, args):
    _authentic(app, args, "unlock")
    sec = _st(app)["sec"]
    sec.state["locked"] = False
    sec.state["failed"] = 0
    sec.save()
    return {"locked": False}


@register("config")
def _config(app, args):
    _authentic(app, args, "config")
    s = _st(app)
    new = args.get("set") or {}
    for k in new:
        if k not in ("policy", "face_model", "voice_model", "lockout_n", "write_delay_ms", "detector", "premodel"):
            raise AppError("bad_args", "unknown config key " + k)
    if "policy" in new and new["policy"] not in fusion.POLICIES:
        raise AppError("bad_args", "policy must be one of " + ", ".join(fusion.POLICIES))
    try:
        with open(CONFIG) as f:
            saved = json.load(f)
    except (OSError, ValueError):
        saved = {}
    saved.update(new)
    fsutil.write_atomic(CONFIG, json.dumps(saved).encode())
    s["cfg"].update(new)
    if "lockout_n" in new:
        s["sec"].state["lockout_n"] = int(new["lockout_n"])
        s["sec"].save()
    if "write_delay_ms" in new:
        s["store"].write_delay_ms = int(new["write_delay_ms"])
    return {"config": {k: s["cfg"][k] for k in ("policy", "face_model", "voice_model") if k in s["cfg"]}}
