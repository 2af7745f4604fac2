"""Board time of the firmware's Python stages (preprocessing, VAD, log-mel, matching, fusion).

With ``python_stages=firmware`` (the default) the figures come from
:func:`eyeauth.latency.stages.stage_costs`: the firmware's own stage functions timed in the real
MicroPython VM, times the board config's ``python_speed_factor`` (itself an estimate to
recalibrate from field telemetry). When that cannot run (no VM binary, firmware stages missing)
or with ``python_stages=assumed``, the per-chip figures of the assumptions are used instead
(``face_prep_ms``, ``logmel_ms_per_frame``) and the report says so.
"""
from __future__ import annotations

from eyeauth.errors import EyeauthError

FACE_ENROL, VOICE_ENROL = 3, 5


def _specs(cards):
    face = sorted({c["input_shape"][1] for c in cards.values() if c["modality"] == "face"})
    voice = sorted({(c["input_shape"][1], c["input_shape"][2]) for c in cards.values()
                    if c["modality"] == "voice"})
    match = sorted({(c["emb_dim"], FACE_ENROL if c["modality"] == "face" else VOICE_ENROL)
                    for c in cards.values() if c["modality"] in ("face", "voice")})
    return face, voice, match


def measure(board_names, cards, mode="firmware"):
    """({board: {stage: ms}}, description, warnings). Empty dict: use the assumptions."""
    if mode != "firmware":
        return {}, "assumed per-chip figures (python_stages=assumed)", []
    try:
        from eyeauth.latency import stages as costs
    except ImportError as exc:
        return {}, "assumed per-chip figures", [f"firmware stage costs unavailable ({exc})"]
    face, voice, match = _specs(cards)
    out, factors = {}, {}
    try:
        for name in sorted(set(board_names)):
            got = costs.stage_costs(face_sizes=face, voice_shapes=voice, match=match,
                                    board=name)
            out[name] = got["modeled_ms"]
            factors[name] = got["python_speed_factor"]
    except (EyeauthError, OSError) as exc:
        return {}, "assumed per-chip figures", [
            f"firmware stage costs could not be measured ({exc}); using the assumptions"]
    desc = ("firmware stages timed in the MicroPython VM (eyeauth.latency.stages) x the board's "
            "python_speed_factor (" + ", ".join(f"{b} x{f:g}" for b, f in factors.items()) + ")")
    return out, desc, []


def face_ms(py, card, chip, assumptions):
    """Python ms of a face attempt: landmark-net input + aligned crop + matching (the camera
    frame is the detector's input as it is)."""
    if py:
        return py["lmk_pre"] + py[f"face_pre:{card['input_shape'][1]}"] + \
            py[f"match:{card['emb_dim']}x{FACE_ENROL}"]
    return assumptions.chip("face_prep_ms", chip)


def face_crop_ms(py, card, chip, assumptions):
    """Python ms one more face model adds to an attempt (a router's escalation): its crop and
    its matching (the detector runs once)."""
    if py:
        return py[f"face_pre:{card['input_shape'][1]}"] + py[f"match:{card['emb_dim']}x{FACE_ENROL}"]
    return 0.5 * assumptions.chip("face_prep_ms", chip)


def voice_model_ms(py, card, chip, assumptions):
    """Python ms one more voice model adds (its own log-mel and matching; the VAD runs once)."""
    frames, mels = card["input_shape"][1:3]
    if py:
        return py[f"logmel:{frames}x{mels}"] + py[f"match:{card['emb_dim']}x{VOICE_ENROL}"]
    return frames * assumptions.chip("logmel_ms_per_frame", chip)


def voice_ms(py, card, chip, assumptions):
    """Python ms of a voice attempt: VAD + windows + matching (+ the front end's network time,
    which the cost table carries with the Python stages)."""
    frames, mels = card["input_shape"][1:3]
    if py:
        return py.get("frontend", 0.0) + py["vad"] + py[f"logmel:{frames}x{mels}"] + \
            py[f"match:{card['emb_dim']}x{VOICE_ENROL}"]
    return frames * assumptions.chip("logmel_ms_per_frame", chip)


def fusion_ms(py):
    return py.get("fusion", 0.0) if py else 0.0
