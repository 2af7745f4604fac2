"""The design space: enumerate configurations and evaluate one (pure functions, picklable).

A configuration is board variant x policy x face model x voice model x bit width x premodel.
``context(...)`` gathers everything evaluation needs into one small picklable dict (board
variants, slim model cards, the policies' operating points, assumptions, calibration), so a
worker process, a Dask worker or a Ray task can evaluate a chunk with nothing else.
"""
from __future__ import annotations

import itertools

from eyeauth import latency as assembly
from eyeauth.explore import fusion, latency, memory, pystages, ux

BITS = ("int8", "int16x8")
#: Which score set stands for each bit width (int16x8: the float reference model's scores).
SCORE_VARIANT = {"int8": "int8", "int16x8": "float"}
_CARD_KEYS = ("name", "modality", "macs", "params", "flash_bytes", "arena_bytes",
              "arena_bytes_target", "latency_ms", "build_hash", "ops")
#: Builtin ops with int16-activation (16x8) kernels in TFLM's reference kernels (conservative:
#: ops not listed exclude a model from 16x8 with the reason).
INT16_OPS = frozenset((
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "MEAN", "ADD", "SUB",
    "MUL", "AVERAGE_POOL_2D", "MAX_POOL_2D", "RESHAPE", "SQUEEZE", "SOFTMAX", "LOGISTIC", "TANH",
    "QUANTIZE", "DEQUANTIZE", "CONCATENATION", "PAD", "STRIDED_SLICE", "TRANSPOSE", "RELU",
    "RELU6"))


def slim_card(card):
    out = {k: card.get(k) for k in _CARD_KEYS}
    out["input_shape"] = card["input"]["shape"]
    out["emb_dim"] = (card.get("output") or {}).get("shape", [0])[-1]
    out["arena_bytes_target"] = out["arena_bytes_target"] or out["arena_bytes"]
    return out


def point_key(policy, face, voice, bits):
    return f"{policy}|{face or '-'}|{voice or '-'}|{bits}"


def uses(policy):
    return (policy != "voice", policy != "face")


def enumerate_configs(variants, face_models, voice_models, policies=fusion.POLICIES,
                      bits=BITS, routers=None):
    """Every configuration (dicts) of the space. ``premodel`` on: the modality's measured router
    (``routers[modality]``, :func:`eyeauth.premodel.export.router_summary`) runs in place of its
    final model, so it is offered only with that model (where it changes something)."""
    routers = routers or {}

    def routable(model, modality):
        r = routers.get(modality)
        return model is not None and r is not None and r["final"] == model

    out = []
    for v in variants:
        for policy in policies:
            use_f, use_v = uses(policy)
            for fm, vm in itertools.product(face_models if use_f else [None],
                                            voice_models if use_v else [None]):
                for b in bits:
                    for pre in (False, True):
                        if pre and not (routable(fm, "face") or routable(vm, "voice")):
                            continue
                        out.append({"id": len(out), "variant": v["variant"], "policy": policy,
                                    "face_model": fm, "voice_model": vm, "bits": b,
                                    "premodel": pre})
    return out


def _routed(cfg, ctx, role):
    """The measured router of a modality when this configuration runs it, else None."""
    r = (ctx.get("routers") or {}).get(role)
    return r if cfg["premodel"] and r is not None and r["final"] == cfg[f"{role}_model"] else None


def _parts(cfg, ctx):
    """[(role, card, bits)] of the models a configuration deploys (a router's whole chain)."""
    cards = ctx["cards"]
    use_f, use_v = uses(cfg["policy"])
    parts = []
    if use_f:
        parts.append(("detector", cards[ctx["detector"]], "int8"))
        parts.append(("face", cards[cfg["face_model"]], cfg["bits"]))
    if use_v:
        parts.append(("voice", cards[cfg["voice_model"]], cfg["bits"]))
    for role in ("face", "voice"):
        r = _routed(cfg, ctx, role) if (use_f if role == "face" else use_v) else None
        for n in (r["chain"][:-1] if r else ()):
            parts.append((f"{role}_route:{n}", cards[n], cfg["bits"]))
    return parts


def _voice_window_s(card):
    from eyeauth.models.preprocess import RATE, voice_window_samples

    return voice_window_samples(card["input_shape"][1]) / RATE


def _modality_nets(role, cfg, ctx):
    """[(stage, role key, runs)] of one modality's networks, the router's included: each model of
    its chain weighted by the share of attempts that run it (measured on the identities reserved
    for the router)."""
    r = _routed(cfg, ctx, role)
    if r is None:
        return [(role, role, 1.0)]
    return [(f"{role}:{n}", role if n == r["final"] else f"{role}_route:{n}", runs)
            for n, runs in zip(r["chain"], r["runs"])]


def _router_ms(role, cfg, ctx, board):
    r = _routed(cfg, ctx, role)
    return r["overhead_ms"].get(board, 0.0) if r else 0.0


def _router_py_ms(role, py, cfg, ctx, chip, a, stage_ms):
    """The Python stages of the extra runs of a router's chain (each run crops / matches)."""
    r = _routed(cfg, ctx, role)
    if r is None:
        return 0.0
    extra = 0.0
    for n, runs in zip(r["chain"], r["runs"]):
        if n == r["final"]:
            continue
        extra += runs * stage_ms(py, ctx["cards"][n], chip, a)
    final_runs = r["runs"][r["chain"].index(r["final"])]
    return extra - (1.0 - final_runs) * stage_ms(py, ctx["cards"][r["final"]], chip, a)


def evaluate(cfg, ctx):
    """One configuration -> one result row (dict)."""
    a, board = ctx["assumptions"], ctx["boards"][cfg["variant"]]
    chip = board["chip"]
    row = dict(cfg, board=board["board"], chip=chip, bom_usd=board["bom_usd"],
               options="+".join(board["options"]) or "-")
    parts = _parts(cfg, ctx)
    wide = {"int16x8": (a.int16_arena_factor, a.int16_flash_factor)}
    mem_parts = [{"name": c["name"], "ms": latency.card_ms(c, chip, bits == "int8"),
                  "arena_bytes": int(c["arena_bytes_target"] * wide.get(bits, (1, 1))[0]),
                  "flash_bytes": int(c["flash_bytes"] * wide.get(bits, (1, 1))[1])}
                 for _, c, bits in parts]
    use_f, use_v = uses(cfg["policy"])
    voice_card = ctx["cards"][cfg["voice_model"]] if use_v else None
    win_s = _voice_window_s(voice_card) if use_v else 0.0
    audio = int(win_s * (board.get("mic_rate_hz") or 16000) * 2) if use_v else 0
    mem = memory.check(board, mem_parts, a, needs_mic=use_v, audio_bytes=audio)
    no16 = sorted({op for _, c, bits in parts if bits == "int16x8"
                   for op in (c.get("ops") or ()) if op not in INT16_OPS})
    if mem["fits"] and no16:
        mem.update(fits=False, reason=f"TFLM has no 16x8 kernel for {', '.join(no16)}")
    row.update(feasible=mem["fits"], reason=mem["reason"], flash_used=mem.get("flash_used"),
               vfs_size=mem.get("vfs_size"), sram_used=mem.get("sram_used"),
               psram_arena_bytes=mem.get("psram_arena_bytes"),
               arena_in=",".join(f"{n}:{p}" for n, p in sorted(mem["arena_in"].items())),
               macs=sum(c["macs"] for role, c, _ in parts if not role.endswith("_cheap")))
    if not mem["fits"]:
        return row
    ms = {role: latency.model_ms(c, board, bits, mem["arena_in"].get(c["name"], "sram"), a,
                                 ctx["calibration"]) for role, c, bits in parts}
    face_ms = voice_ms = 0.0
    py = ctx["py_ms"].get(board["board"])

    def path(nets, python):  # the one latency assembly, networks at this variant's figures
        return assembly.assemble(nets=nets, python=python, nn_ms=ms.__getitem__)["total_ms"]

    if use_f:
        face_ms = path([("detector", "detector", 1)] + _modality_nets("face", cfg, ctx),
                       [("python", pystages.face_ms(py, ctx["cards"][cfg["face_model"]], chip, a)),
                        ("router_python", _router_py_ms("face", py, cfg, ctx, chip, a,
                                                        pystages.face_crop_ms)),
                        ("router", _router_ms("face", cfg, ctx, board["board"])),
                        ("fusion", pystages.fusion_ms(py) if use_v else 0.0)])
    if use_v:
        voice_ms = path(_modality_nets("voice", cfg, ctx),
                        [("python", pystages.voice_ms(py, voice_card, chip, a)),
                         ("router_python", _router_py_ms("voice", py, cfg, ctx, chip, a,
                                                         pystages.voice_model_ms)),
                         ("router", _router_ms("voice", cfg, ctx, board["board"]))])
    face_s = (a.camera_frame_ms + face_ms) / 1e3
    voice_s = win_s + a.voice_margin_s + voice_ms / 1e3
    points = ctx["points"][point_key(cfg["policy"], cfg["face_model"], cfg["voice_model"],
                                     cfg["bits"])]
    if not points:
        row.update(feasible=False, reason=f"no operating point of {cfg['policy']} reaches FAR "
                                          f"{a.far_target:g} with these models")
        return row
    shift = [r for r in (_routed(cfg, ctx, "face") if use_f else None,
                         _routed(cfg, ctx, "voice") if use_v else None) if r]
    if shift:  # the router's measured change of FAR / FRR, carried over to first order
        points = [dict(pt, frr=min(1.0, max(0.0, pt["frr"] + sum(r["frr_delta"] for r in shift))),
                       far=min(1.0, max(0.0, pt["far"] + sum(r["far_delta"] for r in shift))))
                  for pt in points]
    best = None
    for pt in points:
        if cfg["policy"] == "face":
            attempt = face_s
        elif cfg["policy"] == "voice":
            attempt = voice_s
        elif cfg["policy"] == "cascade":  # the voice is asked for only in the band
            attempt = face_s + pt["p_second"] * (a.voice_prompt_s + voice_s)
        else:  # the camera frame is grabbed while the user speaks; compute runs after
            attempt = max(a.camera_frame_ms / 1e3, win_s + a.voice_margin_s) + \
                (face_ms + voice_ms) / 1e3
        u = ux.unlock(pt["frr"], attempt, a.retry_s, a.attempts, a.lockout_penalty_s, pt["far"])
        if best is None or u["unlock_s"] < best[1]["unlock_s"]:
            best = (pt, u, attempt)
    pt, u, attempt = best
    row.update(frr=pt["frr"], far=pt["far"], eer=pt["eer"], p_second=pt["p_second"],
               face_ms=round(face_ms, 2), voice_ms=round(voice_ms, 2),
               attempt_s=round(attempt, 4), unlock_s=round(u["unlock_s"], 4),
               lockout=u["lockout"], first_try=u["first_try"],
               mean_attempts=round(u["mean_attempts"], 4),
               impostor_success=u["impostor_success"])
    return row


def evaluate_chunk(payload):
    """Worker entry point: ``(context, [config, ...]) -> [row, ...]`` (top level: picklable)."""
    ctx, configs = payload
    return [evaluate(c, ctx) for c in configs]
