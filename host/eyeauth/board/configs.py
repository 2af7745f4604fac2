"""Boards are data: one JSON file per board in board_configs/, and this registry."""
from __future__ import annotations

import json
from pathlib import Path

from eyeauth import BOARD_CONFIGS_DIR
from eyeauth.board.chips import CHIPS
from eyeauth.errors import UsageError

# Chip facts live in the chip registry (board/chips.py); these views keep their old names.
PY_SPEED_FACTOR = {name: c.py_speed_factor for name, c in CHIPS.items()}
MCU_NAME = {name: c.mcu_name for name, c in CHIPS.items()}

REQUIRED = ("name", "chip", "cpu_mhz", "sram_bytes", "psram_bytes", "flash_bytes",
            "micropython_heap_bytes", "flash_layout")


def board_names(config_dir: Path = BOARD_CONFIGS_DIR) -> list[str]:
    return sorted(p.stem for p in Path(config_dir).glob("*.json"))


def load_board(name: str, config_dir: Path = BOARD_CONFIGS_DIR) -> dict:
    path = Path(config_dir) / f"{name}.json"
    if not path.exists():
        known = ", ".join(board_names(config_dir)) or "none"
        raise UsageError(f"unknown board {name!r}; known boards: {known} (files in {config_dir})")
    try:
        cfg = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UsageError(f"board config {path} is not valid JSON ({exc.msg}, line {exc.lineno}); fix the file") from None
    missing = [k for k in REQUIRED if k not in cfg]
    if missing:
        raise UsageError(f"board config {path} lacks {', '.join(missing)}; add them")
    cfg.setdefault("python_speed_factor", PY_SPEED_FACTOR.get(cfg["chip"], 30.0))
    _check_button(cfg, path)
    return cfg


def bridge_pins(cfg: dict) -> set[str]:
    """The chip pins the board's USB serial line drives (``usb_serial.drives``: a USB-UART
    bridge's DTR/RTS wired to EN and GPIO0 for esptool's auto-reset)."""
    drives = (cfg.get("usb_serial") or {}).get("drives") or {}
    return {pin for pins in drives.values() for pin in pins}


def _check_button(cfg: dict, path: Path) -> None:
    # The maintenance button opens a paired board's REPL: it must be a pin the cable cannot hold
    pin = ((cfg.get("hal") or {}).get("button") or {}).get("pin")
    if pin is not None and (pin == 0 or f"GPIO{pin}" in bridge_pins(cfg)):
        raise UsageError(f"board config {path}: hal.button is GPIO{pin}, which the USB serial line "
                         f"drives ({cfg.get('usb_serial', {}).get('kind', 'bridge')} DTR/RTS): anyone "
                         f"with the cable could hold it; put the maintenance button on another pin")


def micropython_machine(cfg: dict) -> str:
    """os.uname().machine of the board's MicroPython image: MICROPY_HW_BOARD_NAME (the config's
    ``micropython_board_name``, as firmware/image sets it) + " with " + the chip's MCU name."""
    name = cfg.get("micropython_board_name") or cfg.get("title") or cfg["name"]
    return f"{name} with {MCU_NAME.get(cfg['chip'], cfg['chip'].upper())}"
