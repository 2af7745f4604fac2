"""`eyeauth bench auth`: per-stage and end-to-end latency of one authentication, per fusion
policy: measured on the (virtual) board, modeled for the ESP-EYE and the ESP32-S3-EYE (the
board's own telemetry: networks by the timing model, Python stages by the chip's factor), the
router's share, and the app's peak heap."""
from __future__ import annotations

import secrets
import statistics
import tempfile

POLICIES = ("face", "voice", "sum", "both", "cascade")
BOARDS = ("esp-eye", "esp32-s3-eye")


ROUTER_STAGES = ("premodel", "escalate")  # the router's own work (features, choice, bands)
#: stages the board runs in TFLM (pipeline._nn, the audio front end); every other stage is Python
NN_STAGES = ("detect", "face_embed", "voice_embed", "keyword", "frontend")


def run_board(port, key, rounds, data, every_model=False):
    from eyeauth.auth.client import AuthClient
    from eyeauth.board.deploy import build_bundle, default_models_bundle, deploy
    from eyeauth.datasets import fsdd, orl
    from eyeauth.link.client import AppClient
    from eyeauth.link.transport import open_transport

    deploy(port, build=(lambda arch: build_bundle(arch=arch)) if every_model else default_models_bundle,
           pairing_key=key)
    faces, voices = orl(data).files, fsdd(data).files
    fid, vid = list(faces)[-1], list(voices)[-1]
    with open_transport(port) as t:
        app = AppClient(t, timeout=60)
        app.ensure_app()
        with AuthClient(app, key, debug=True) as c:  # stages, policy choice: debug mode, off after
            out = policies(c, faces, voices, fid, vid, rounds)
        st = app.command("status")
    return out, st


def policies(c, faces, voices, fid, vid, rounds) -> dict:
    """Per policy: the stages of `rounds` attempts after one warm-up (debug-mode replies)."""
    from eyeauth.errors import DeviceError

    out = {}
    c.enroll("bench", faces[fid][:3], voices[vid][:3])
    for policy in POLICIES:
        # one warm-up attempt (first-use costs: mel filterbank, model load) is not counted
        runs, challenged = [], 0
        for i in range(rounds + 1):
            try:
                runs.append(c.auth(faces[fid][5 + i % 5], voices[vid][10 + i], policy=policy, user="bench"))
            except DeviceError as e:  # cascade, no usable face: a spoken challenge, not timed here
                if e.code != "need_challenge":
                    raise
                challenged += 1
                c.unlock()
                continue
            if runs[-1].get("failed"):  # rejected attempts count toward lockout: reset
                c.unlock()
        runs = runs[1:]
        if not runs:
            nan = float("nan")
            out[policy] = {"need_challenge": challenged, "stages": {}, **{k: nan for k in (
                "measured_ms", "modeled_ms", "router_median_modeled_ms", "router_measured_ms",
                "router_modeled_ms", "router_fraction_measured", "router_fraction_modeled",
                "python_fraction_modeled")}}
            continue
        stages: dict = {}
        for r in runs:
            for stage, model, us, mod in r["stages"]:
                stages.setdefault(stage, []).append((us, mod))
        router = [sum(st[2] for st in r["stages"] if st[0] in ROUTER_STAGES) for r in runs]
        router_mod = [sum(st[3] for st in r["stages"] if st[0] in ROUTER_STAGES) for r in runs]
        py_mod = [sum(st[3] for st in r["stages"] if st[0] not in NN_STAGES) for r in runs]
        out[policy] = {
            "need_challenge": challenged,
            "python_fraction_modeled": round(sum(py_mod) / max(sum(r["modeled_us"] for r in runs), 1), 4),
            # the median too: one attempt's stage time includes whatever the host (not the
            # board) did meanwhile, and a mean of a few attempts keeps such outliers
            "router_median_modeled_ms": round(statistics.median(router_mod) / 1000, 2),
            "router_measured_ms": round(statistics.mean(router) / 1000, 3),
            "router_modeled_ms": round(statistics.mean(router_mod) / 1000, 2),
            "router_fraction_measured": round(sum(router) / max(sum(r["total_us"] for r in runs), 1), 5),
            "router_fraction_modeled": round(sum(router_mod) / max(sum(r["modeled_us"] for r in runs), 1), 5),
            "measured_ms": round(statistics.mean(r["total_us"] for r in runs) / 1000, 2),
            "modeled_ms": round(statistics.mean(r["modeled_us"] for r in runs) / 1000, 1),
            "stages": {s: {"measured_ms": round(statistics.mean(u for u, _ in v) / 1000, 3),
                           "modeled_ms": round(statistics.mean(m for _, m in v) / 1000, 2),
                           "runs": len(v)} for s, v in stages.items()},
        }
    return out


def run(port=None, rounds=5, data=None, every_model=False):
    """The benchmark on ``port`` (a board of this host's), else on a fresh virtual ESP-EYE and
    ESP32-S3-EYE each: {"policies": {policy: figures}, "boards": {board: heap}}."""
    from eyeauth.sim import VirtualBoard

    key = secrets.token_bytes(32)
    result = {"policies": {}, "boards": {}}
    boards = [("given", port)] if port else [(b, None) for b in BOARDS]
    for name, given in boards:
        if given:
            per, st = run_board(given, key, rounds, data, every_model)
        else:
            with tempfile.TemporaryDirectory(prefix="eyeauth-bench-") as tmp, VirtualBoard(tmp, board=name) as vb:
                per, st = run_board(vb.port, key, rounds, data, every_model)
        from eyeauth.board.configs import load_board
        heap = load_board(name)["micropython_heap_bytes"] if name != "given" else None
        result["boards"][name] = {"heap_min_free": st["heap_min"],
                                  "peak_heap_used": heap - st["heap_min"] if heap else None,
                                  "heap_free": st["heap_free"]}
        for policy, v in per.items():
            p = result["policies"].setdefault(policy, {"measured_ms": v["measured_ms"], "stages": v["stages"],
                                                       "need_challenge": v["need_challenge"],
                                                       "router_measured_ms": v["router_measured_ms"],
                                                       "router_fraction_measured": v["router_fraction_measured"]})
            p[f"modeled_ms_{name}"] = v["modeled_ms"]
            p[f"python_fraction_modeled_{name}"] = v["python_fraction_modeled"]
            p[f"router_modeled_ms_{name}"] = v["router_modeled_ms"]
            p[f"router_fraction_modeled_{name}"] = v["router_fraction_modeled"]
            p[f"router_median_modeled_ms_{name}"] = v["router_median_modeled_ms"]
            for s, sv in v["stages"].items():
                p["stages"].setdefault(s, {})[f"modeled_ms_{name}"] = sv["modeled_ms"]
    return result
