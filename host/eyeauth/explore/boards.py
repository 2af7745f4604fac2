"""Boards for the explorer: the board configs (board_configs/*.json) and their component options.

A board file may carry ``options``: a list of ``{group, name, title, delta_usd, set}``. Options
of one group exclude each other (``psram``: 8 MB or none); groups combine. ``set`` overrides keys
of the board (nested ``flash_layout`` keys are merged). A *variant* is the board with one choice
per group (the board's own components being the default), named ``board+option+option``.
"""
from __future__ import annotations

import copy
import itertools
from pathlib import Path

from eyeauth import BOARD_CONFIGS_DIR
from eyeauth.board.chips import CHIPS as _CHIP_REGISTRY
from eyeauth.board.configs import board_names, load_board
from eyeauth.errors import UsageError

#: Keys every board needs for the explorer (the keys of board_configs/esp-eye.json).
EXPLORE_KEYS = ("name", "title", "chip", "cores", "cpu_mhz", "sram_bytes", "psram_bytes",
                "psram_usable_bytes", "flash_bytes", "camera", "frame", "microphone",
                "mic_rate_hz", "micropython_heap_bytes", "flash_layout", "bom_usd", "bom_source")
LAYOUT_KEYS = ("bootloader", "partition_table", "app", "app_size", "vfs", "vfs_size")
CHIPS = tuple(_CHIP_REGISTRY)  # the chips the explorer can model (board/chips.py)
_OPTION_KEYS = ("group", "name", "title", "delta_usd", "set")


def check_board(cfg, where="board config"):
    """Raise UsageError unless ``cfg`` has every explorer key with a sane value."""
    missing = [k for k in EXPLORE_KEYS if k not in cfg]
    if missing:
        raise UsageError(f"{where} lacks {', '.join(missing)}; add them (see esp-eye.json)")
    lay = [k for k in LAYOUT_KEYS if k not in cfg["flash_layout"]]
    if lay:
        raise UsageError(f"{where}: flash_layout lacks {', '.join(lay)}")
    if cfg["chip"] not in CHIPS:
        raise UsageError(f"{where}: chip {cfg['chip']!r} has no latency model; "
                         f"use one of {', '.join(CHIPS)}")
    if not isinstance(cfg["bom_usd"], (int, float)) or cfg["bom_usd"] <= 0:
        raise UsageError(f"{where}: bom_usd must be a positive price in USD")
    for opt in cfg.get("options", []):
        lack = [k for k in _OPTION_KEYS if k not in opt]
        if lack:
            raise UsageError(f"{where}: option {opt.get('name', '?')!r} lacks {', '.join(lack)}")
    return cfg


def load_boards(names=None, config_dir=BOARD_CONFIGS_DIR):
    """Board configs by name (all files in ``config_dir`` when ``names`` is empty), checked."""
    names = list(names or board_names(config_dir))
    if not names:
        raise UsageError(f"no board configs in {config_dir}")
    return [check_board(load_board(n, Path(config_dir)), f"board config {n}.json")
            for n in names]


def _apply(cfg, opt):
    out = copy.deepcopy(cfg)
    for key, value in opt["set"].items():
        if key == "flash_layout":
            out["flash_layout"] = {**out["flash_layout"], **value}
        else:
            out[key] = value
    out["bom_usd"] = round(out["bom_usd"] + float(opt["delta_usd"]), 2)
    return out


def variants(cfg):
    """Every component variant of a board: dicts with ``variant``, ``board``, ``options`` and
    the board's keys with the options applied."""
    groups = {}
    for opt in cfg.get("options", []):
        groups.setdefault(opt["group"], []).append(opt)
    choices = [[None] + opts for opts in groups.values()]
    out = []
    for combo in itertools.product(*choices):
        v = copy.deepcopy({k: val for k, val in cfg.items() if k != "options"})
        picked = [o for o in combo if o is not None]
        for opt in picked:
            v = _apply(v, opt)
        v["board"] = cfg["name"]
        v["options"] = [o["name"] for o in picked]
        v["option_titles"] = [o["title"] for o in picked]
        v["variant"] = "+".join([cfg["name"]] + v["options"])
        v["has_mic"] = bool(v.get("microphone"))
        out.append(v)
    return out


def board_variants(names=None, config_dir=BOARD_CONFIGS_DIR):
    return [v for cfg in load_boards(names, config_dir) for v in variants(cfg)]


def summary(v):
    """The part of a variant the JSON output and the report show."""
    keys = ("variant", "board", "title", "chip", "cores", "cpu_mhz", "sram_bytes", "psram_bytes",
            "psram_usable_bytes", "flash_bytes", "camera", "microphone", "bom_usd", "bom_source",
            "options", "option_titles")
    return {k: v.get(k) for k in keys}
