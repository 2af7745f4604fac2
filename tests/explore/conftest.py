"""Fixtures of the explorer tests: a small fake model zoo (cards only) and its score cache.

The explorer reads only JSON (cards, scores), so these tests need no TFLM, no data and no
built models, and they do not change when the real zoo is rebuilt.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

LAT = {"face_det": (80.0, 900.0, 15.0, 500.0), "face_a": (120.0, 1300.0, 18.0, 700.0),
       "face_b": (600.0, 6000.0, 80.0, 3500.0), "voice_a": (40.0, 400.0, 6.0, 250.0)}
SIZE = {"face_det": (1_600_000, 84_000, 38_000), "face_a": (2_400_000, 160_000, 40_000),
        "face_b": (12_000_000, 400_000, 180_000), "voice_a": (700_000, 76_000, 20_000)}
MODALITY = {"face_det": "detector", "face_a": "face", "face_b": "face", "voice_a": "voice"}
SHAPE = {"face_det": [1, 60, 80, 1], "face_a": [1, 48, 48, 1], "face_b": [1, 96, 96, 1],
         "voice_a": [1, 32, 20, 1]}
#: (genuine mean, impostor mean) of the synthetic cosine scores per model.
SEPARATION = {"face_a": (0.7, 0.2), "face_b": (0.8, 0.2), "voice_a": (0.6, 0.3)}


def card(name):
    e32, e32r, s3, s3r = LAT[name]
    macs, flash, arena = SIZE[name]
    return {"name": name, "modality": MODALITY[name], "macs": macs, "params": macs // 40,
            "flash_bytes": flash, "arena_bytes": arena, "arena_bytes_target": arena + 1024,
            "latency_ms": {"esp32_espnn": e32, "esp32_ref": e32r, "esp32s3_espnn": s3,
                           "esp32s3_ref": s3r},
            "input": {"shape": SHAPE[name]}, "output": {"shape": [1, 64]},
            "ops": ["CONV_2D", "MEAN"] + (["L2_NORMALIZATION"] if name == "face_b" else []),
            "build_hash": f"hash-{name}",
            "eval": {"enrol_per_identity": 3}}


def scores_entry(name, rng, n_gen=120, n_imp=1200):
    g_mu, i_mu = SEPARATION[name]
    entry = {"modality": MODALITY[name], "build_hash": f"hash-{name}",
             "identities": ["a", "b", "c", "d"], "files": 40, "enrol": 3,
             "detector_hash": "hash-face_det" if MODALITY[name] == "face" else None}
    for variant, shift in (("int8", 0.0), ("float", 0.02)):
        g = rng.normal(g_mu + shift, 0.12, n_gen)
        i = rng.normal(i_mu, 0.12, n_imp)
        entry[variant] = {"eer": 0.1, "frr_at_far_1pct": 0.3,
                          "genuine": [round(float(v), 4) for v in g],
                          "impostor": [round(float(v), 4) for v in i]}
    return entry


@pytest.fixture
def fake_zoo(tmp_path, monkeypatch):
    """(models dir, score cache path); EYEAUTH_MODELS_DIR points at the fake zoo."""
    models = tmp_path / "models"
    models.mkdir()
    spec = {"version": 1, "defaults": {},
            "models": [{"name": n, "modality": MODALITY[n]} for n in LAT]}
    (models / "zoo.json").write_text(json.dumps(spec))
    for name in LAT:
        (models / f"{name}.json").write_text(json.dumps(card(name)))
    rng = np.random.default_rng(7)
    cache = {"version": 1, "models": {n: scores_entry(n, rng) for n in SEPARATION}}
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps(cache))
    monkeypatch.setenv("EYEAUTH_MODELS_DIR", str(models))
    monkeypatch.delenv("EYEAUTH_CALIBRATION", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return models, scores
