"""The explorer's modeling parameters: every number that is assumed rather than measured.

Measured inputs come from elsewhere (model cards: MACs, flash and arena bytes, modeled latency;
the score cache: genuine/impostor scores; board configs: memory and BOM; telemetry: calibration).
What is left is here, each with the reason for its value, so that the guidelines report can print
the full table and a user can change any of them (``eyeauth explore --assume KEY=VALUE``; per-chip
values as ``KEY.esp32=VALUE``). Field telemetry should replace them as it arrives.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from eyeauth.errors import UsageError


def _chips(esp32, esp32s3):
    return field(default_factory=lambda: {"esp32": esp32, "esp32s3": esp32s3})


@dataclass(frozen=True)
class Assumptions:
    far_target: float = 0.01
    attempts: int = 5
    retry_s: float = 1.5
    lockout_penalty_s: float = 30.0
    camera_frame_ms: float = 70.0
    python_stages: str = "firmware"
    face_prep_ms: dict = _chips(15.0, 6.0)
    logmel_ms_per_frame: dict = _chips(1.2, 0.5)
    voice_margin_s: float = 0.3
    voice_prompt_s: float = 0.5
    psram_arena_factor: dict = _chips(1.3, 1.1)
    heap_weights_factor: dict = _chips(1.1, 1.05)
    weights_in: str = "flash"
    shared_arena: bool = False
    int16_kernel_factor: float = 1.15
    int16_arena_factor: float = 2.0
    int16_flash_factor: float = 1.05
    idf_reserve_bytes: dict = _chips(235520, 145408)
    runtime_reserve_bytes: int = 49152
    heap_min_bytes: int = 65536
    frame_bytes: int = 76800
    fs_reserve_bytes: int = 131072

    def chip(self, name, chip):
        """A per-chip value (``self.<name>[chip]``)."""
        return getattr(self, name)[chip]

    def as_dict(self):
        return dataclasses.asdict(self)


#: Why each value is what it is (printed in the guidelines report).
DOCS = {
    "far_target": "false-accept rate per attempt the threshold is set for (1 %: the cards' "
                  "operating point; 0.1 % is not resolvable with the held-out trial counts)",
    "attempts": "failed attempts in a row before the lock-out (fallback unlock)",
    "retry_s": "seconds a user needs to notice a rejection and present again",
    "lockout_penalty_s": "seconds a lock-out costs (fallback: PIN/app), counted in the "
                         "expected time to unlock",
    "camera_frame_ms": "grab one QVGA frame from a streaming OV2640 (about one frame at 15 fps)",
    "python_stages": "'firmware': Python stage costs (preprocessing, VAD, log-mel, matching) "
                     "timed in the MicroPython VM x the board's python_speed_factor "
                     "(eyeauth.latency.stages); 'assumed': the two per-chip figures below",
    "face_prep_ms": "python_stages=assumed only: detector input, face crop, matching, per chip",
    "logmel_ms_per_frame": "python_stages=assumed only: log-mel per 256-sample frame (a ulab "
                           "FFT would take about this), per chip",
    "voice_margin_s": "VAD margin around the voice window (speech start/end detection)",
    "voice_prompt_s": "cascade only: the board asks for the phrase before listening",
    "psram_arena_factor": "slow-down of a model whose TFLM arena sits in PSRAM instead of "
                          "internal SRAM (the anchors ran with the arena in SRAM), per chip",
    "heap_weights_factor": "slow-down when weights are read from the heap (weights_in=heap, "
                           "PSRAM on PSRAM boards) instead of memory-mapped flash (the anchors' "
                           "placement)",
    "weights_in": "where model weights live: 'flash' (memory-mapped from a partition, no RAM) "
                  "or 'heap' (the file loaded into the MicroPython heap: PSRAM when present)",
    "shared_arena": "models run one after another share one arena (re-created per model) "
                    "instead of one arena each",
    "int16_kernel_factor": "16x8 kernels vs int8 reference kernels (64-bit accumulators); "
                           "ESP-NN has int8 kernels only, so 16x8 runs TFLM reference kernels",
    "int16_arena_factor": "16x8 activation tensors are twice as wide: arena x2",
    "int16_flash_factor": "16x8 models keep int8 weights; int64 biases add a little",
    "idf_reserve_bytes": "internal SRAM that ESP-IDF keeps (IRAM code, caches, system heap; "
                         "Wi-Fi/BT off): sram_bytes minus this is free for the app, about "
                         "290 KB on the ESP32 and 370 KB on the ESP32-S3, per chip",
    "runtime_reserve_bytes": "MicroPython task stack, camera and I2S DMA buffers in SRAM",
    "heap_min_bytes": "MicroPython heap the app needs; in SRAM when the board has no PSRAM",
    "frame_bytes": "one QVGA grey frame buffer (in PSRAM when there is PSRAM)",
    "fs_reserve_bytes": "filesystem space kept for app files, templates and the premodel",
}


def _coerce(current, text, key):
    try:
        if isinstance(current, bool):
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return text.lower() in ("true", "1", "yes")
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
        return str(text)
    except ValueError:
        raise UsageError(f"--assume {key}={text}: expected a {type(current).__name__}") from None


def with_overrides(overrides=None, base=None):
    """A copy of ``base`` (defaults) with ``{"key": "value"}`` or ``{"key.chip": "value"}`` set."""
    base = base or Assumptions()
    values = base.as_dict()
    for key, text in (overrides or {}).items():
        name, _, chip = key.partition(".")
        if name not in values:
            raise UsageError(f"unknown assumption {name!r}; known: {', '.join(sorted(values))}")
        current = values[name]
        if isinstance(current, dict):
            if chip not in current:
                raise UsageError(f"{name} is per chip: use {name}.esp32=... or {name}.esp32s3=...")
            values[name] = {**current, chip: _coerce(current[chip], str(text), key)}
        elif chip:
            raise UsageError(f"{name} is not per chip; use {name}=VALUE")
        else:
            values[name] = _coerce(current, str(text), key)
    out = Assumptions(**values)
    if not 0 < out.far_target < 1:
        raise UsageError(f"far_target must be in (0, 1), got {out.far_target}")
    if out.attempts < 1:
        raise UsageError(f"attempts must be at least 1, got {out.attempts}")
    if out.weights_in not in ("flash", "heap"):
        raise UsageError(f"weights_in must be flash or heap, got {out.weights_in!r}")
    if out.python_stages not in ("firmware", "assumed"):
        raise UsageError(f"python_stages must be firmware or assumed, got {out.python_stages!r}")
    return out


def parse_sets(items):
    """``["k=v", ...]`` from the command line into a dict; a one-line error when malformed."""
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--assume {item!r}: write KEY=VALUE (e.g. --assume far_target=0.001)")
        out[key.strip()] = value.strip()
    return out
