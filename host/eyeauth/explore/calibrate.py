"""Re-calibrate the latency model from field telemetry (`eyeauth explore calibrate --db FILE`).

The timing model (eyeauth.timing) is anchored to one published figure per chip x ESP-NN
configuration. A board in the field reports, per pipeline stage, the latency it measured
(``latency_us``) next to the latency the model predicted (``modeled_us``). This module fits:

* per (chip, ESP-NN, model): the median of measured / modeled over that model's records
  (robust to the odd slow frame: GC, a flash cache miss);
* per (chip, ESP-NN): the geometric mean of the per-model factors, so that every model counts
  once however many records it has. This is the factor for models with no telemetry.

Per op *type* factors cannot be identified from this telemetry (one record times a whole model,
not its operators); the per-model factors carry what the op mix does. The chip of a record is the
``chip`` of the board config its boot reported (``boots.board``); ``fallback_chip`` covers boards
with no config. A record whose ``extra`` has ``"esp_nn": false`` calibrates the reference-kernel
configuration. The explorer multiplies card latencies by these factors (:func:`factor`).
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from eyeauth.errors import DataError, UsageError

VERSION = 1


def default_path():
    """$EYEAUTH_CALIBRATION, else calibration.json in $EYEAUTH_CACHE or ~/.cache/eyeauth."""
    from eyeauth import cache_dir

    env = os.environ.get("EYEAUTH_CALIBRATION")
    return Path(env) if env else cache_dir() / "calibration.json"


def _chip_of(board, fallback_chip, cache):
    if board not in cache:
        from eyeauth.board.configs import load_board

        try:
            cache[board] = load_board(board)["chip"] if board else None
        except UsageError:
            cache[board] = None
    return cache[board] or fallback_chip


def _rows(db_path):
    from eyeauth.telemetry.schema import open_readonly

    conn = open_readonly(db_path)
    try:
        return conn.execute(
            "SELECT r.model, r.latency_us, r.modeled_us, r.extra, b.board FROM records r "
            "LEFT JOIN boots b ON b.boot = r.boot "
            "WHERE r.model != '' AND r.modeled_us > 0 AND r.latency_us > 0").fetchall()
    finally:
        conn.close()


def _median(values):
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def fit(db_path, fallback_chip=None, min_records=3):
    """Calibration dict from a telemetry database (see the module docstring)."""
    if fallback_chip is not None and fallback_chip not in ("esp32", "esp32s3"):
        raise UsageError(f"--chip must be esp32 or esp32s3, not {fallback_chip!r}")
    groups, unresolved, boards, cache = {}, set(), {}, {}
    for model, lat, mod, extra, board in _rows(db_path):
        chip = _chip_of(board, fallback_chip, cache)
        if chip is None:
            unresolved.add(board or "?")
            continue
        try:
            esp_nn = bool(json.loads(extra or "{}").get("esp_nn", True))
        except (ValueError, AttributeError):
            esp_nn = True
        key = f"{chip}_{'espnn' if esp_nn else 'ref'}"
        groups.setdefault(key, {}).setdefault(model, []).append(lat / mod)
        boards.setdefault(key, set()).add(board or "?")
    if not groups:
        why = (f"boards without a config: {', '.join(sorted(unresolved))}; pass --chip"
               if unresolved else "no records with a model, a measured and a modeled latency")
        raise DataError(f"{db_path}: nothing to calibrate from ({why})")
    factors = {}
    for key, models in sorted(groups.items()):
        per_model = {}
        for model, ratios in sorted(models.items()):
            s = sorted(ratios)
            per_model[model] = {"scale": round(_median(s), 4), "records": len(s),
                                "p10": round(s[int(0.1 * (len(s) - 1))], 4),
                                "p90": round(s[int(0.9 * (len(s) - 1))], 4),
                                "used": len(s) >= min_records}
        used = [m["scale"] for m in per_model.values() if m["used"]] or \
               [m["scale"] for m in per_model.values()]
        chip_scale = math.exp(sum(math.log(v) for v in used) / len(used))
        factors[key] = {"scale": round(chip_scale, 4),
                        "records": sum(m["records"] for m in per_model.values()),
                        "boards": sorted(boards[key]), "models": per_model}
    return {"version": VERSION, "source": str(db_path), "created": time.strftime(
        "%Y-%m-%dT%H:%M:%S"), "min_records": min_records, "factors": factors,
        "unresolved_boards": sorted(unresolved)}


def save(cal, path=None):
    path = Path(path) if path else default_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cal, indent=1) + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write the calibration to {path} ({exc.strerror}); "
                         "pass --out FILE") from None
    return path


def load(path):
    """A calibration file, checked; DataError with the fix when it is not one."""
    path = Path(path)
    try:
        cal = json.loads(path.read_text())
    except OSError as exc:
        raise DataError(f"cannot read calibration {path} ({exc.strerror}); "
                        "run `eyeauth explore calibrate --db FILE`") from None
    except ValueError as exc:
        raise DataError(f"calibration {path} is not JSON ({exc}); re-run "
                        "`eyeauth explore calibrate`") from None
    if not isinstance(cal, dict) or cal.get("version") != VERSION or \
            not isinstance(cal.get("factors"), dict):
        raise DataError(f"{path} is not an eyeauth calibration (version {VERSION}); re-run "
                        "`eyeauth explore calibrate`")
    return cal


def resolve(path=None, use=True):
    """(calibration or None, description): an explicit ``path`` must exist; the default path is
    used only when it exists; ``use=False`` disables calibration."""
    if not use:
        return None, "none (--no-calibration)"
    if path:
        return load(path), str(path)
    p = default_path()
    if p.exists():
        return load(p), _tilde(p)
    return None, f"none ({_tilde(p)} absent)"


def _tilde(path):
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if text.startswith(home + os.sep) else text


def factor(cal, chip, esp_nn, model=None):
    """The scale to apply to a modeled latency: per model if fitted, else per chip, else 1."""
    if not cal:
        return 1.0
    f = cal["factors"]
    key = f"{chip}_{'espnn' if esp_nn else 'ref'}"
    other = f"{chip}_{'ref' if esp_nn else 'espnn'}"
    entry = f.get(key) or f.get(other)
    if not entry:
        return 1.0
    m = entry.get("models", {}).get(model)
    if m and m.get("used") and key in f:
        return float(m["scale"])
    return float(entry["scale"])
