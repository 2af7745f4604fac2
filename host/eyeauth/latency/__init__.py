"""Modeled latency on a board: the one assembly of a path or an attempt from stage costs.

Every modeled time the host prints (the fusion evaluation's paths, the spoken challenge, the
routers' paths, a 3 s phrase, the explorer's attempts) is :func:`assemble` over a list of
stages:

* a network stage is a model card run ``runs`` times, at the timing model's figure for the
  board's chip (:func:`eyeauth.timing.card_latency_ms`) unless the caller models the network
  otherwise (the explorer's clock, bit-width and placement variants: ``nn_ms``);
* a Python stage is the firmware's own code timed in the MicroPython VM (:mod:`stages`: the
  pipeline's stages; the voice path and the challenge are timed whole by their callers) times
  the board's ``python_speed_factor`` (:func:`python_ms`).

:func:`face_path` and :func:`voice_path` are the attempt paths the board runs for one model:
face = detector + lmk_pre + landmark net + face_pre:S (the aligned crop) + model + match:Dx3
(the camera frame is the detector's input as it is: its pooling runs in the graph); voice =
frontend + vad + logmel:TxM + model + match:Dx5 (one window of a 1 s clip: the audio front end's
chunks at the timing model's figure, the VAD's comparisons and one window read in Python) or,
with ``phrase`` (a card's ``latency_phrase_3s_ms``), the 3 s phrase: front end + VAD + window
reads + windows x model + match.
"""
from __future__ import annotations

FACE_ENROL, VOICE_ENROL = 3, 5


def python_ms(vm_us, factor):
    """Board ms of a Python stage timed at ``vm_us`` in the host VM."""
    return float(vm_us) * float(factor) / 1000.0


def assemble(nets=(), python=(), chip="esp32", nn_ms=None):
    """THE assembly of a modeled path: {"total_ms", "stages_ms": {stage: ms}}.

    ``nets``: [(stage, card, runs)], each ``runs`` x the network's ms (``nn_ms(card)``, default
    the timing model on ``chip``; with ``nn_ms`` "card" is whatever key it takes, the explorer's
    role names); ``python``: [(stage, board ms)] (:func:`python_ms`). Stages of the same name
    add up."""
    from eyeauth.timing import card_latency_ms

    one = nn_ms or (lambda card: card_latency_ms(card, chip))
    stages: dict = {}
    for name, card, runs in nets:
        stages[name] = stages.get(name, 0.0) + float(runs) * one(card)
    for name, ms in python:
        stages[name] = stages.get(name, 0.0) + float(ms)
    return {"total_ms": round(sum(stages.values()), 3),
            "stages_ms": {k: round(v, 3) for k, v in stages.items()}}


def board_facts(board):
    """(board config, chip, python_speed_factor) of a board name or config."""
    from eyeauth.board.configs import load_board

    cfg = load_board(board) if isinstance(board, str) else board
    return cfg, cfg.get("chip") or "esp32", float(cfg.get("python_speed_factor") or 1.0)


def face_path(card, det, py_ms, chip, enrol=FACE_ENROL, lmk=None):
    """Stages of a face attempt with ``card`` (``py_ms``: the board ms of the Python stages,
    ``stages.stage_costs(...)["modeled_ms"]``; ``lmk``: the landmark net's card, None: the
    template's points in the detector box)."""
    d = card["output"]["shape"][-1]
    nets = [("nn:" + det["name"], det, 1)] + ([("nn:" + lmk["name"], lmk, 1)] if lmk else [])
    python = [("lmk_pre", py_ms["lmk_pre"])] if lmk else []
    return assemble(nets=nets + [("nn:" + card["name"], card, 1)],
                    python=python + [("face_pre", py_ms[f"face_pre:{card['input']['shape'][1]}"]),
                                     ("match", py_ms[f"match:{d}x{enrol}"])], chip=chip)


def voice_path(card, py_ms, chip, factor, enrol=VOICE_ENROL, phrase=False):
    """Stages of a voice attempt with ``card``: one window (frontend + vad + logmel:TxM), or
    with ``phrase`` the card's timed 3 s phrase (the front end's chunks; the VAD and the window
    reads rescaled to this board's factor; x the windows)."""
    d = card["output"]["shape"][-1]
    match = ("match", py_ms[f"match:{d}x{enrol}"])
    if not phrase:
        t, m = card["input"]["shape"][1:3]
        return assemble(nets=[("nn:" + card["name"], card, 1)],
                        python=[("frontend", py_ms["frontend"]), ("vad", py_ms["vad"]),
                                ("logmel", py_ms[f"logmel:{t}x{m}"]), match], chip=chip)
    ph = card.get("latency_phrase_3s_ms")
    if not ph:
        from eyeauth.errors import EyeauthError

        raise EyeauthError(f"{card['name']}'s card has no latency_phrase_3s_ms; run "
                           "`python3 -m eyeauth.latency.phrase --update-latency`")
    if "window_ms" not in ph:
        from eyeauth.errors import EyeauthError

        raise EyeauthError(f"{card['name']}'s latency_phrase_3s_ms predates the audio front end; "
                           "run `python3 -m eyeauth.latency.phrase --update-latency`")
    scale = factor / float(ph.get("python_speed_factor") or factor)
    return assemble(nets=[("nn:" + card["name"], card, ph["windows"])],
                    python=[("frontend", ph["frontend_ms"]), ("vad", ph["vad_ms"] * scale),
                            ("logmel", ph["window_ms"] * scale), match], chip=chip)
