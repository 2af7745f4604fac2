"""`eyeauth bench capacity --users N`: hundreds of users on the board (issue 14, item 11).

What it does, on a (virtual) board deployed with the default models and paired:

1. N - 2 users written as the firmware's own store writes them: real embeddings (one LFW photo
   per user, from training identities, through the detector and the default face model; one
   Speech Commands word per user through the default voice model) quantised as the board
   enrols, put into shard files by ``eyeauth_fw.store`` itself running in the MicroPython VM,
   and copied with ``deploy`` (enrolling hundreds through the camera path takes minutes here);
2. 2 more enrolled through the real protocol (feed + signed enroll: a photo and two FSDD
   clips each), timed;
3. the board's own figures: enrolled count and store bytes (``users``), heap (``status``);
   1:1 and 1:N match stages in debug mode, measured on the board and modeled for the ESP-EYE
   (VM time x python_speed_factor, as every MicroPython stage is);
4. FAR and FRR per attempt against N, with the 1:1 threshold and with the N-adjusted one
   (``identify.far_vs_n``, real embeddings of LFW evaluation identities, device scoring).
"""
from __future__ import annotations

import secrets
import statistics
import tempfile
import time
from pathlib import Path

from eyeauth import mpvm
from eyeauth.errors import DataError, EyeauthError

_WRITE = r"""
import os, gc
os.chdir(%r)
from eyeauth_fw import store
store.DIR = 'tpl'
s = store.Store()
s.load()
with open('users.bin', 'rb') as f:
    blob = f.read()
keys = %r
dims = %r
rec = sum(dims)
names = %r
for k, name in enumerate(names):
    off = k * rec
    e = {}
    for key, d in zip(keys, dims):
        e[key] = [blob[off:off + d]]
        off += d
    s.enroll(name, e)
    gc.collect()
print(len(s.users), s.nbytes)
"""


def shard_files(users: list[tuple[str, dict]]) -> dict[str, bytes]:
    """{"/tpl/NN.bin": bytes} holding `users` ([(name, {key: int8 sample bytes})]), written by
    the firmware's store code in the MicroPython VM (the board's 2 MB heap)."""
    if not users:
        return {}
    keys = sorted(users[0][1])
    dims = [len(users[0][1][k]) for k in keys]
    with tempfile.TemporaryDirectory(prefix="eyeauth-capacity-") as tmp:
        Path(tmp, "users.bin").write_bytes(b"".join(u[1][k] for u in users for k in keys))
        script = mpvm.firmware_prelude() + _WRITE % (tmp, keys, dims, [u[0] for u in users])
        mpvm.run(script, heap_bytes=2097152, timeout=600, what=f"writing {len(users)} users with the firmware store")
        return {f"/tpl/{p.name}": p.read_bytes() for p in sorted(Path(tmp, "tpl").glob("*.bin"))}


def user_samples(n: int, face_model: str, voice_model: str, data_dir=None):
    """n users of real embeddings: one LFW training photo each (detector + face model) and one
    Speech Commands word each (voice model), quantised as the board enrols them."""
    from eyeauth import SHARED_DATA_DIR, datasets, splits
    from eyeauth.evaluation import embeddings, scoring
    from eyeauth.models import zoo

    root = Path(data_dir or SHARED_DATA_DIR)
    lfw = datasets.scan(root / splits.SOURCES["lfw"][0], "face")
    photos = [p for i in splits.identities("lfw", "train") if i in lfw.files for p in lfw.files[i]][:n]
    sc = datasets.scan(root / "voices/speech_commands", "voice")
    clips = [p for i in sorted(sc.files) for p in sc.files[i][:4]][:n]
    if len(photos) < n or len(clips) < n:
        raise DataError(f"need {n} LFW training photos and Speech Commands clips; found {len(photos)} and {len(clips)}")
    f = embeddings.embed_files([zoo.load_card(face_model)], photos, "face",
                               label=f"embedding {n} LFW photos with {face_model}")[face_model]
    v = embeddings.embed_files([zoo.load_card(voice_model)], clips, "voice",
                               label=f"embedding {n} Speech Commands clips with {voice_model}")[voice_model]
    fq, vq = scoring.quantize_unit(f), scoring.quantize_unit(v)
    return [(f"cap{k:04d}", {f"face:{face_model}": fq[k].tobytes(), f"voice:{voice_model}": vq[k].tobytes()})
            for k in range(n)]


def _stage(reply: dict, name: str) -> tuple[float, float, dict | None]:
    for st in reply.get("stages", []):
        if st[0] == name:
            return st[2] / 1000.0, st[3] / 1000.0, None
    raise EyeauthError(f"no {name} stage in the board's reply")


def run(port: str, users: int, key: bytes | None = None, data_dir=None, rounds: int = 3,
        far: bool = True, progress=None) -> dict:
    """The capacity figures of the board on `port` with `users` enrolled (see the module doc)."""
    from eyeauth import MODELS_DIR, SHARED_DATA_DIR, datasets, splits
    from eyeauth.evaluation import identification as identify, thresholds
    from eyeauth.auth.client import AuthClient
    from eyeauth.board.deploy import default_models_bundle, deploy
    from eyeauth.link.client import AppClient
    from eyeauth.link.transport import open_transport

    say = progress or (lambda msg: None)
    key = key or secrets.token_bytes(32)
    th = thresholds.load()
    fm, vm = th["default"]["face"], th["default"]["voice"]
    real = min(2, users)
    say(f"embedding {users} users' samples ({fm}, {vm})")
    samples = user_samples(users, fm, vm, data_dir)
    say(f"writing {users - real} users with the firmware store (MicroPython VM)")
    shards = shard_files(samples[:users - real])
    say("deploying the app, the default models and the shards")
    deploy(port, build=default_models_bundle, pairing_key=key)
    if shards:
        deploy(port, files=shards, prune=False, secret=key)
    root = Path(data_dir or SHARED_DATA_DIR)
    lfw = datasets.scan(root / splits.SOURCES["lfw"][0], "face")
    train = [p for i in splits.identities("lfw", "train") if i in lfw.files for p in lfw.files[i]]
    probe = [p for i in splits.identities("lfw", "eval") if i in lfw.files for p in lfw.files[i]][:rounds]
    spk = datasets.fsdd(data_dir).files
    clip = [spk[name][k] for k in range(3, 40) for name in sorted(spk) if k < len(spk[name])][:rounds]
    own = [f for name in sorted(spk) for f in spk[name][1:3]]  # the real enrolls' voices
    if len(probe) < rounds or len(clip) < rounds:
        raise DataError(f"--rounds {rounds}: only {min(len(probe), len(clip))} probe files")
    out: dict = {"users_requested": users, "board_port": port, "face_model": fm, "voice_model": vm}
    with open_transport(port) as t:
        app = AppClient(t, timeout=120)
        app.ensure_app()
        c = AuthClient(app, key, debug=True)
        c.config(lockout_n=100)  # the bench's own failed attempts must not lock it out
        times = []
        for k in range(real):
            name = f"real{k}"
            t0 = time.monotonic()
            c.enroll(name, [train[users + k]], own[2 * k:2 * k + 2])
            times.append(time.monotonic() - t0)
        u = c.users()
        out.update({"enrolled": len(u["users"]), "store_bytes": u.get("store_bytes"),
                    "enroll_protocol_s": round(statistics.mean(times), 2) if times else None})
        who = samples[0][0] if users > real else "real0"
        app.command("telemetry", on=True)  # the match stage's record says over how many templates
        stages: dict = {}
        for policy, kw in (("face", {"face": None}), ("voice", {"voice": None})):
            for mode, claim in (("1:1", who), ("1:N", None)):
                ms, ns = [], set()
                for r in range(rounds):
                    args = {"face": probe[r]} if policy == "face" else {"voice": clip[r]}
                    app.telemetry.clear()
                    rep = c.auth(policy=policy, user=claim, **args)
                    ms.append(_stage(rep, "match")[:2])
                    app.pump(0.2)
                    ns |= {t.extra.get("n") for t in app.telemetry if t.stage == "match"}
                stages.setdefault(policy, {})[mode] = {
                    "measured_ms": round(statistics.median(m[0] for m in ms), 3),
                    "modeled_ms_esp_eye": round(statistics.median(m[1] for m in ms), 2),
                    "templates": ns.pop() if len(ns) == 1 else sorted(ns, key=str)}
        out["match"] = stages
        app.command("telemetry", on=False)
        # the same photo real0 enrolled with, unclaimed: the 1:N pass must find real0
        rep = c.auth(face=train[users], policy="face")
        out["self_identification"] = {"best": rep.get("best", {}).get("face"),
                                      "score": round(rep.get("face_score", -2.0), 4),
                                      "accepted": rep["accepted"]}
        c.end_debug()  # debug mode is board-wide: leave it off
        st = app.command("status")
        out.update({"heap_free": st["heap_free"], "heap_min": st["heap_min"]})
    # flash: the ESP-EYE's vfs partition against what goes on it (file bytes; littlefs adds
    # a little per file): the full release (every model) and the default-models bundle
    from eyeauth.board.configs import load_board
    from eyeauth.board.deploy import build_bundle

    vfs = int(load_board("esp-eye")["flash_layout"]["vfs_size"])
    full = sum(len(d) for d in build_bundle().values())
    small = sum(len(d) for d in default_models_bundle().values())
    out["flash"] = {"vfs_bytes": vfs, "full_release_bytes": full, "default_models_bytes": small,
                    "free_after_full_release_and_store": vfs - full - (out["store_bytes"] or 0)}
    tail = identify.load(MODELS_DIR / "identification.json")["tail"] if (MODELS_DIR / "identification.json").exists() else {}
    out["identification_threshold"] = {m: {"1:1": th["thresholds"][m],
                                           f"N={out['enrolled']}": round(identify.threshold(tail.get(m), th["far_target"], out["enrolled"], th["thresholds"][m]), 4)}
                                       for m in (fm, vm)}
    if far:
        say("FAR and FRR against N on LFW evaluation identities")
        ns = sorted({1, 2, 5, 10, 25, 50, 100, 200, users})
        out["far_vs_n"] = {"model": fm, "far_target": th["far_target"],
                           "rows": identify.far_vs_n(fm, ns, th["far_target"], th["thresholds"][fm],
                                                     tail.get(fm), data_dir)}
    return out


def text(r: dict) -> str:
    si = r.get("self_identification") or {}
    fl = r["flash"]
    lines = [f"enrolled {r['enrolled']} users (requested {r['users_requested']}); store {r['store_bytes']} bytes "
             f"on flash; heap {r['heap_free']} free (low-water {r['heap_min']})",
             f"ESP-EYE vfs {fl['vfs_bytes']} bytes: full release {fl['full_release_bytes']} + store leaves "
             f"{fl['free_after_full_release_and_store']} (default-models bundle {fl['default_models_bytes']})",
             f"enroll through the protocol: {r['enroll_protocol_s']} s per user (virtual board); an "
             f"enrolled photo, unclaimed: best match {si.get('best')} (score {si.get('score')}), "
             f"{'accepted' if si.get('accepted') else 'rejected'} at the N-user threshold",
             f"{'match':14s} {'measured ms':>12s} {'modeled ESP-EYE ms':>19s} {'templates':>10s}"]
    for mod, v in r["match"].items():
        for mode, x in v.items():
            lines.append(f"{mod + ' ' + mode:14s} {x['measured_ms']:12.3f} {x['modeled_ms_esp_eye']:19.2f} {x['templates']:10d}")
    for m, t in r["identification_threshold"].items():
        lines.append(f"threshold {m}: " + ", ".join(f"{k} {v}" for k, v in t.items()))
    f = r.get("far_vs_n")
    if f:
        lines.append(f"identification on LFW evaluation identities ({f['model']}; FAR target {f['far_target']:g}):")
        lines.append(f"{'N':>5s} {'thr 1:1':>8s} {'FAR':>7s} {'FRR':>7s}   {'thr N':>7s} {'FAR':>7s} {'FRR':>7s}")
        for x in f["rows"]:
            lines.append(f"{x['n']:5d} {x['threshold_1to1']:8.3f} {100 * x['far_1to1_threshold']:6.1f}% {100 * x['frr_1to1_threshold']:6.1f}%"
                         f"   {x['threshold_n']:7.3f} {100 * x['far_n_threshold']:6.1f}% {100 * x['frr_n_threshold']:6.1f}%")
    return "\n".join(lines)
