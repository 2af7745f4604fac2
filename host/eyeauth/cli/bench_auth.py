"""`eyeauth bench auth`: per-stage and end-to-end latency of one authentication, per fusion
policy: measured on the (virtual) board, modeled for the ESP-EYE and the ESP32-S3-EYE, and the
app's peak heap."""
from __future__ import annotations

import secrets
import statistics
import tempfile

from eyeauth.cli.bench import target
from eyeauth.cli.main import Result

POLICIES = ("face", "voice", "sum", "both", "cascade")
BOARDS = ("esp-eye", "esp32-s3-eye")


ROUTER_STAGES = ("premodel", "escalate")  # the router's own work (features, choice, bands)
#: stages the board runs in TFLM (pipeline._nn, the audio front end); every other stage is Python
NN_STAGES = ("detect", "face_embed", "voice_embed", "keyword", "frontend")


def _run_board(port, key, rounds, data, every_model=False):
    from eyeauth.auth.client import AuthClient
    from eyeauth.board.deploy import build_bundle, default_models_bundle, deploy
    from eyeauth.datasets import fsdd, orl
    from eyeauth.link.client import AppClient
    from eyeauth.link.transport import open_transport

    deploy(port, build=(lambda arch: build_bundle(arch=arch)) if every_model else default_models_bundle,
           pairing_key=key)
    faces, voices = orl(data).files, fsdd(data).files
    fid, vid = list(faces)[-1], list(voices)[-1]
    out = {}
    with open_transport(port) as t:
        app = AppClient(t, timeout=60)
        app.ensure_app()
        c = AuthClient(app, key, debug=True)  # stages and policy choice: signed debug mode
        c.enroll("bench", faces[fid][:3], voices[vid][:3])
        for policy in POLICIES:
            # one warm-up attempt (first-use costs: mel filterbank, model load) is not counted
            runs = []
            for i in range(rounds + 1):
                runs.append(c.auth(faces[fid][5 + i % 5], voices[vid][10 + i], policy=policy, user="bench"))
                if runs[-1].get("failed"):  # rejected attempts count toward lockout: reset
                    c.unlock()
            runs = runs[1:]
            stages: dict = {}
            for r in runs:
                for stage, model, us, mod in r["stages"]:
                    stages.setdefault(stage, []).append((us, mod))
            router = [sum(st[2] for st in r["stages"] if st[0] in ROUTER_STAGES) for r in runs]
            router_mod = [sum(st[3] for st in r["stages"] if st[0] in ROUTER_STAGES) for r in runs]
            py_mod = [sum(st[3] for st in r["stages"] if st[0] not in NN_STAGES) for r in runs]
            out[policy] = {
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
        st = app.command("status")
    return out, st


@target("auth", "latency of one authentication per fusion policy, measured and modeled; peak heap")
def bench_auth(args, parser):
    if parser is not None:
        parser.add_argument("--rounds", type=int, default=5, help="authentications per policy")
        parser.add_argument("--data", help="data folder (default ../shared/data)")
        parser.add_argument("--models", choices=("default", "all"), default="default",
                            help="deploy the default face and voice models only (quick), or "
                            "every model so the router (premodel, cascade) can choose")
        return None
    from eyeauth.sim import VirtualBoard

    key = secrets.token_bytes(32)
    result = {"policies": {}, "boards": {}}
    boards = [("given", args.port)] if args.port else [(b, None) for b in BOARDS]
    for name, port in boards:
        if port:
            per, st = _run_board(port, key, args.rounds, args.data, args.models == "all")
        else:
            with tempfile.TemporaryDirectory(prefix="eyeauth-bench-") as tmp, VirtualBoard(tmp, board=name) as vb:
                per, st = _run_board(vb.port, key, args.rounds, args.data, args.models == "all")
        from eyeauth.board.configs import load_board
        heap = load_board(name)["micropython_heap_bytes"] if name != "given" else None
        result["boards"][name] = {"heap_min_free": st["heap_min"],
                                  "peak_heap_used": heap - st["heap_min"] if heap else None,
                                  "heap_free": st["heap_free"]}
        for policy, v in per.items():
            p = result["policies"].setdefault(policy, {"measured_ms": v["measured_ms"], "stages": v["stages"],
                                                       "router_measured_ms": v["router_measured_ms"],
                                                       "router_fraction_measured": v["router_fraction_measured"]})
            p[f"modeled_ms_{name}"] = v["modeled_ms"]
            p[f"python_fraction_modeled_{name}"] = v["python_fraction_modeled"]
            p[f"router_modeled_ms_{name}"] = v["router_modeled_ms"]
            p[f"router_fraction_modeled_{name}"] = v["router_fraction_modeled"]
            p[f"router_median_modeled_ms_{name}"] = v["router_median_modeled_ms"]
            for s, sv in v["stages"].items():
                p["stages"].setdefault(s, {})[f"modeled_ms_{name}"] = sv["modeled_ms"]
    lines = [f"{'policy':8} {'measured ms':>12} " + " ".join(f"{'modeled ' + b:>20}" for b, _ in boards)]
    for policy, v in result["policies"].items():
        lines.append(f"{policy:8} {v['measured_ms']:12.1f} " + " ".join(
            f"{v.get('modeled_ms_' + b, float('nan')):20.0f}" for b, _ in boards))
    lines.append("router (premodel + escalate stages) per attempt: " + "; ".join(
        f"{policy} {v['router_measured_ms']:.2f} ms measured ({100 * v['router_fraction_measured']:.2f} %), "
        + ", ".join(f"{v['router_modeled_ms_' + b]:.1f} ms modeled on {b} "
                    f"({100 * v['router_fraction_modeled_' + b]:.2f} %; median "
                    f"{v['router_median_modeled_ms_' + b]:.1f} ms)" for b, _ in boards
                    if 'router_modeled_ms_' + b in v)
        for policy, v in result["policies"].items()))
    lines.append("Python share of the modeled attempt (stages outside TFLM): " + "; ".join(
        f"{policy} " + ", ".join(f"{100 * v['python_fraction_modeled_' + b]:.0f} % on {b}"
                                 for b, _ in boards if 'python_fraction_modeled_' + b in v)
        for policy, v in result["policies"].items()))
    for b, v in result["boards"].items():
        lines.append(f"{b}: app peak heap {v['peak_heap_used']} bytes used (low-water mark {v['heap_min_free']} bytes free)")
    return Result(result, "\n".join(lines))


@target("capacity", "N users on the board: store bytes, 1:1 and 1:N match time (measured, modeled), FAR against N")
def bench_capacity(args, parser):
    if parser is not None:
        parser.add_argument("--users", type=int, default=500, help="users on the board (default 500, "
                            "the store's maximum)")
        parser.add_argument("--rounds", type=int, default=3, help="attempts per match figure (median)")
        parser.add_argument("--no-far", action="store_true", help="skip FAR/FRR against N (host, LFW)")
        parser.add_argument("--data", help="data folder (default ../shared/data)")
        return None
    from eyeauth.auth import capacity
    from eyeauth.cli.bench import board_port
    from eyeauth.errors import UsageError
    from eyeauth.models.progress import note

    if not 1 <= args.users <= 500:
        raise UsageError("--users must be 1..500 (the board's store holds at most 500)")
    key = None
    if args.port:  # a board of this host's: its own secret opens it (a virtual one gets a fresh one)
        from eyeauth.auth.pairing import load_key
        key = load_key(create=True)
    with board_port(args, deploy_app=False) as (port, _vb):
        r = capacity.run(port, args.users, key=key, data_dir=args.data, rounds=args.rounds,
                         far=not args.no_far, progress=note)
    return Result(r, capacity.text(r))
