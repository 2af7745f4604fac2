"""Chips as data: one registry of the facts every model of a chip reads (boards name their chip
in board_configs/*.json; a new chip is one entry here plus its cycle tables in timing.py).

* ``clock_hz``: the clock the latency model divides cycles by (eyeauth.timing).
* ``mcu_name``: MicroPython's MICROPY_HW_MCU_NAME (ports/esp32/mpconfigport.h), the end of
  ``os.uname().machine`` (the virtual board answers with it).
* ``py_speed_factor``: MicroPython bytecode time on the chip / the unix-port VM on an x86-64
  host (published cross-board figures vs the same loops here: bench/pyspeed.py cites them; heap
  in PSRAM); a board config may override it, field telemetry recalibrates it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chip:
    name: str
    clock_hz: float
    mcu_name: str
    py_speed_factor: float


CHIPS = {c.name: c for c in (
    Chip("esp32", 240e6, "ESP32", 140.0),
    Chip("esp32s3", 240e6, "ESP32S3", 121.0),
)}


def chip(name: str) -> Chip:
    from eyeauth.errors import UsageError

    c = CHIPS.get(name)
    if c is None:
        raise UsageError(f"unknown chip {name!r}; known chips: {', '.join(CHIPS)} "
                         "(eyeauth/board/chips.py)")
    return c
