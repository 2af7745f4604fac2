"""`eyeauth explore calibrate` on a small synthetic telemetry database with the real schema."""
import json

import pytest

from eyeauth.cli.main import main
from eyeauth.errors import DataError
from eyeauth.explore import calibrate, latency
from eyeauth.link.protocol import TelemetryRecord
from eyeauth.telemetry.store import TelemetryStore


def _db(path, rows):
    """rows: (boot, board, model, measured_us, modeled_us, extra)."""
    store = TelemetryStore(path)
    store.begin_session("test")
    seq = {}
    for boot, board, model, lat, mod, extra in rows:
        if boot not in seq:
            store.note_boot(boot, board=board, hello=True)
            seq[boot] = 0
        store.add_record(TelemetryRecord(boot, seq[boot], "embed", model, lat, mod, 1_800_000,
                                         60_000, extra or {}))
        seq[boot] += 1
    store.commit(ended=True)
    store.close()
    return path


@pytest.fixture
def db(tmp_path):
    rows = []
    for k in range(5):  # ESP32 board: face_m64 runs 1.2x the model, face_s48 1.5x
        rows.append(("e32a0001", "esp-eye", "face_m64", 1200 + k, 1000, None))
        rows.append(("e32a0001", "esp-eye", "face_s48", 1500, 1000, None))
    for k in range(4):  # S3 board: 0.8x
        rows.append(("53b00001", "xiao-esp32s3-sense", "voice_s", 800, 1000, None))
    rows.append(("e32a0001", "esp-eye", "face_l96", 3000, 1000, None))  # one record only
    rows.append(("e32a0001", "esp-eye", "", 500, -1, None))  # no model: ignored
    rows.append(("e32a0001", "esp-eye", "face_m64", 9000, 1000, {"esp_nn": False}))
    return _db(tmp_path / "t.db", rows)


def test_fit_per_chip_and_model(db):
    cal = calibrate.fit(db)
    e32 = cal["factors"]["esp32_espnn"]
    assert e32["models"]["face_m64"]["scale"] == pytest.approx(1.202)
    assert e32["models"]["face_s48"]["scale"] == pytest.approx(1.5)
    assert not e32["models"]["face_l96"]["used"]  # 1 record < min_records
    assert e32["scale"] == pytest.approx((1.202 * 1.5) ** 0.5, rel=1e-3)  # geometric mean
    assert cal["factors"]["esp32s3_espnn"]["scale"] == pytest.approx(0.8)
    assert cal["factors"]["esp32_ref"]["models"]["face_m64"]["scale"] == pytest.approx(9.0)
    # applying it: per model when fitted, else per chip, else 1
    assert calibrate.factor(cal, "esp32", True, "face_m64") == pytest.approx(1.202)
    assert calibrate.factor(cal, "esp32", True, "face_l96") == pytest.approx(e32["scale"])
    assert calibrate.factor(cal, "esp32s3", False, "x") == pytest.approx(0.8)
    assert calibrate.factor(None, "esp32", True) == 1.0


def test_explorer_applies_it(db, tmp_path):
    cal = calibrate.fit(db)
    card = {"name": "face_m64", "latency_ms": {"esp32_espnn": 100.0, "esp32_ref": 1000.0}}
    board = {"chip": "esp32", "cpu_mhz": 240}
    assert latency.model_ms(card, board, calibration=cal) == pytest.approx(120.2)
    rows = {(r["chip"], r["esp_nn"]): r for r in latency.anchors(cal)}
    assert rows[("esp32", True)]["calibrated_error_pct"] == pytest.approx(
        100 * (380 * cal["factors"]["esp32_espnn"]["scale"] - 380) / 380, abs=0.2)


def test_cli_writes_the_json(db, tmp_path, capsys):
    out = tmp_path / "cal.json"
    assert main(["explore", "calibrate", "--db", str(db), "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = calibrate.load(out)
    assert printed["factors"] == saved["factors"]
    assert main(["explore", "anchors", "--calibration", str(out)]) == 0
    assert "esp32" in capsys.readouterr().out


def test_unknown_board_needs_chip(tmp_path):
    db = _db(tmp_path / "u.db", [("aaaa0001", "my-board", "m", 2000, 1000, None)] * 1)
    with pytest.raises(DataError, match="pass --chip"):
        calibrate.fit(db)
    cal = calibrate.fit(db, fallback_chip="esp32s3")
    assert cal["factors"]["esp32s3_espnn"]["scale"] == pytest.approx(2.0)


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(DataError, match="not an eyeauth calibration"):
        calibrate.load(bad)
    assert main(["explore", "calibrate", "--db", str(tmp_path / "none.db")]) != 0
    err = capsys.readouterr().err
    assert err.startswith("eyeauth: ") and err.count("\n") == 1
