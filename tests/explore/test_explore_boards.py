import json

import pytest

from eyeauth import BOARD_CONFIGS_DIR
from eyeauth.errors import UsageError
from eyeauth.explore import boards

REQUIRED_BOARDS = ("esp-eye", "esp32-s3-eye", "esp32-cam", "xiao-esp32s3-sense")


def test_every_board_config_loads_with_all_keys():
    cfgs = {c["name"]: c for c in boards.load_boards()}
    assert set(REQUIRED_BOARDS) <= set(cfgs)
    for cfg in cfgs.values():
        for key in boards.EXPLORE_KEYS:
            assert key in cfg, (cfg["name"], key)
        for key in boards.LAYOUT_KEYS:
            assert key in cfg["flash_layout"]
        assert cfg["bom_usd"] > 0 and "2024" in cfg["bom_source"]
        assert cfg["psram_usable_bytes"] <= cfg["psram_bytes"]
        layout = cfg["flash_layout"]
        assert layout["vfs"] + layout["vfs_size"] <= cfg["flash_bytes"]
        assert layout["app"] + layout["app_size"] <= layout["vfs"]


def test_same_keys_as_esp_eye():
    ref = set(json.loads((BOARD_CONFIGS_DIR / "esp-eye.json").read_text()))
    for name in REQUIRED_BOARDS[1:]:
        keys = set(json.loads((BOARD_CONFIGS_DIR / f"{name}.json").read_text()))
        assert ref <= keys, (name, ref - keys)


def test_variants_combine_option_groups():
    cam = boards.load_boards(["esp32-cam"])[0]
    vs = {v["variant"]: v for v in boards.variants(cam)}
    assert set(vs) == {"esp32-cam", "esp32-cam+no-psram", "esp32-cam+no-mic",
                       "esp32-cam+no-psram+no-mic"}
    assert vs["esp32-cam+no-psram+no-mic"]["bom_usd"] == pytest.approx(cam["bom_usd"] - 4.0)
    assert vs["esp32-cam+no-psram"]["psram_usable_bytes"] == 0
    assert not vs["esp32-cam+no-mic"]["has_mic"] and vs["esp32-cam"]["has_mic"]


def test_option_merges_flash_layout():
    s3 = boards.load_boards(["esp32-s3-eye"])[0]
    v = {x["variant"]: x for x in boards.variants(s3)}["esp32-s3-eye+flash-16mb"]
    assert v["flash_bytes"] == 16 * 2**20
    assert v["flash_layout"]["vfs_size"] == 14680064
    assert v["flash_layout"]["app"] == s3["flash_layout"]["app"]


def test_missing_key_is_a_one_line_usage_error():
    cfg = boards.load_boards(["esp-eye"])[0]
    del cfg["bom_usd"]
    with pytest.raises(UsageError, match="lacks bom_usd"):
        boards.check_board(cfg)
    cfg = boards.load_boards(["esp-eye"])[0]
    cfg["chip"] = "esp32c3"
    with pytest.raises(UsageError, match="no latency model"):
        boards.check_board(cfg)
