"""Modeled latencies the explorer uses: the model cards' timing-model figures, scaled.

A card holds ``latency_ms`` per ``<chip>_espnn`` / ``<chip>_ref`` from eyeauth.timing (240 MHz,
arena in SRAM, weights in flash: the anchors' setup). Here they are scaled for the board's clock,
the bit width (16x8 runs reference kernels: ESP-NN has int8 kernels only), the arena/weights
placement, and the field calibration (eyeauth.explore.calibrate). timing.py itself is not changed.
"""
from __future__ import annotations

from eyeauth import timing
from eyeauth.errors import ModelError
from eyeauth.explore import calibrate


def card_ms(card, chip, esp_nn=True):
    """The card's network ms on ``chip`` (timing.card_latency_ms, the one source of network
    times), ModelError with the fix when the card has none."""
    try:
        return timing.card_latency_ms(card, chip, esp_nn)
    except ValueError as exc:
        raise ModelError(str(exc)) from None


def model_ms(card, board, bits="int8", arena_in="sram", assumptions=None, calibration=None):
    """Modeled ms of one inference of ``card`` on ``board`` (a variant dict)."""
    from eyeauth.explore.assumptions import Assumptions

    assumptions = assumptions or Assumptions()
    chip = board["chip"]
    esp_nn = bits == "int8"
    ms = card_ms(card, chip, esp_nn)
    if bits == "int16x8":
        ms *= assumptions.int16_kernel_factor
    ms *= 240.0 / float(board["cpu_mhz"])
    if arena_in == "psram":
        ms *= assumptions.chip("psram_arena_factor", chip)
    if assumptions.weights_in == "heap":
        ms *= assumptions.chip("heap_weights_factor", chip)
    return ms * calibrate.factor(calibration, chip, esp_nn, card.get("name"))


def anchors(calibration=None):
    """The timing model against its published anchors (TFLM person detection, MobileNetV1-0.25
    96x96): table-only prediction, model with its fitted scale, and with field calibration."""
    rows = []
    for r in timing.calibration_report():
        f = calibrate.factor(calibration, r["chip"], r["esp_nn"])
        cal_ms = r["model_ms"] * f
        rows.append({
            "chip": r["chip"], "esp_nn": r["esp_nn"], "anchor_ms": r["anchor_ms"],
            "table_only_ms": r["table_only_ms"],
            "table_only_error_pct": round(100 * (r["table_only_ms"] - r["anchor_ms"])
                                          / r["anchor_ms"], 1),
            "scale": r["scale"], "model_ms": r["model_ms"], "error_pct": r["error_pct"],
            "calibration_factor": round(f, 4), "calibrated_ms": round(cal_ms, 1),
            "calibrated_error_pct": round(100 * (cal_ms - r["anchor_ms"]) / r["anchor_ms"], 1)})
    return rows


def person_detection_macs():
    return sum(op["macs"] for op in timing.person_detection_ops())
