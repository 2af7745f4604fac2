# Admin commands (PROTOCOL.md): challenge, debug, users, delete, unlock, config, maintenance.
# All but challenge and users are signed (security.py); config values are range-checked.
import json

from eyeauth_fw import fsutil, fusion, release
from eyeauth_fw.registry import AppError, arg_int, arg_str, lock_serial, register
from eyeauth_fw.auth import CONFIG, _authentic, _st, setting


_PAGE = 100  # users per `users` reply


@register("challenge")
def _challenge(app, args):
    sec = _st(app)["sec"]
    return {"chal": sec.challenge(), "board_id": sec.board_id or ""}


@register("debug")
def _debug(app, args):
    # signed: scores, models, stages in auth replies and the choice of policy/model per attempt
    _authentic(app, args)
    s = arg_int(args, "seconds", 0, 3600, 600)
    _st(app)["sec"].set_debug(s)
    return {"debug": s}


@register("users")
def _users(app, args):
    s = _st(app)
    sec = s["sec"]
    wait = sec.wait_s()
    # a page of at most _PAGE users (sorted), so that a reply stays well under a line (8 KB)
    # with hundreds enrolled; `next` is the offset of the following page, or null
    start = arg_int(args, "offset", 0, 1 << 16, 0)
    names = sorted(s["store"].users)
    page = names[start:start + _PAGE]
    summ = s["store"].summary()
    out = {"users": {u: summ[u] for u in page}, "count": len(names),
           "next": start + _PAGE if start + _PAGE < len(names) else None,
           "locked": wait > 0, "wait_s": wait,
           "paired": sec.key is not None, "board_id": sec.board_id or "",
           "store_bytes": s["store"].nbytes}
    if "store_error" in s:
        out["store_error"] = s["store_error"]
    if s["store"].recovered:
        out["recovered"] = True
    return out


@register("delete")
def _delete(app, args):
    _authentic(app, args)
    s = _st(app)
    user = arg_str(args, "user", 64)
    if user not in s["store"].users:
        raise AppError("unknown_user", "%s is not enrolled" % user)
    s["store"].delete(user)
    return {"deleted": user}


@register("maintenance")
def _maintenance(app, args):
    # signed: Ctrl-C and the REPL open again until the next reboot (what `eyeauth deploy` and
    # mpremote need on a paired board); RAM only, a reset locks the line again
    _authentic(app, args)
    lock_serial(False)
    return {"repl": True}


@register("unlock")
def _unlock(app, args):
    _authentic(app, args)
    _st(app)["sec"].unlock()
    return {"locked": False}


def _check_config(cfg, new):
    if type(new) is not dict:
        raise AppError("bad_args", "set must be an object")
    for k, v in new.items():
        if k == "policy":
            ok = v in fusion.ALL
        elif k in ("face_model", "voice_model"):
            ok = v in release.models(k[:-6])
        elif k == "lockout_n":
            ok = type(v) is int and 1 <= v <= 100
        elif k == "lockout_s":
            ok = type(v) is int and 1 <= v <= 3600
        elif k == "write_delay_ms":
            ok = type(v) is int and 0 <= v <= 100
        elif k == "detector":
            ok = v is None or (type(v) is str and len(v) <= 32)
        elif k == "premodel":
            ok = type(v) is bool
        elif k == "challenge_s":  # how long a spoken challenge stays valid
            ok = type(v) is int and 1 <= v <= 300
        elif k == "challenge_words":
            ok = type(v) is int and 3 <= v <= 4
        else:
            raise AppError("bad_args", "unknown config key " + str(k)[:32])
        if not ok:
            raise AppError("bad_args", "config %s: value out of range" % k)


@register("config")
def _config(app, args):
    _authentic(app, args)
    s = _st(app)
    new = args.get("set") or {}
    _check_config(s["cfg"], new)
    sec = s["sec"]
    for k in ("lockout_n", "lockout_s"):
        if k in new:
            sec.state[k] = new.pop(k)
            sec.save()
    if new:
        try:
            with open(CONFIG) as f:
                saved = json.load(f)
        except (OSError, ValueError):
            saved = {}
        saved.update(new)
        fsutil.write_atomic(CONFIG, json.dumps(saved).encode())
        s["cfg"].update(new)
    if "write_delay_ms" in new:
        s["store"].write_delay_ms = new["write_delay_ms"]
    out = {k: setting(s["cfg"], k) for k in ("policy", "face_model", "voice_model")}
    out["lockout_n"], out["lockout_s"] = sec.state["lockout_n"], sec.state["lockout_s"]
    return {"config": out}
