"""The speaker-encoder teacher used by the voice build (Resemblyzer, training-time only)."""
import numpy as np
import pytest

from eyeauth import datasets
from eyeauth.models import voice_teacher as VT


def test_project_gives_unit_rows_of_the_student_size():
    t = np.random.default_rng(0).normal(size=(100, VT.EMB_DIM)).astype(np.float32)
    basis = VT.pca_basis(t, 64)
    assert basis.shape == (VT.EMB_DIM, 64)
    p = VT.project(t, basis, t.mean(0))
    assert p.shape == (100, 64) and np.allclose(np.linalg.norm(p, axis=1), 1, atol=1e-5)


def test_teacher_tells_speakers_apart_and_caches(shared_data, tmp_path):
    pytest.importorskip("resemblyzer")
    root = shared_data / "voices" / "fsdd" / "recordings"
    clips = {s: [datasets.load_audio(root / f"{d}_{s}_0.wav") for d in range(4)]
             for s in ("george", "jackson")}
    allc = clips["george"] + clips["jackson"]
    e = VT.embed(allc, cache_dir=tmp_path, progress=False)
    assert e.shape == (8, VT.EMB_DIM)
    assert np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    s = e @ e.T
    same = (s[:4, :4].sum() - 4 + s[4:, 4:].sum() - 4) / 24
    assert same > s[:4, 4:].mean() + 0.05
    assert len(list(tmp_path.rglob("*.npy"))) == 8
    again = VT.embed(allc, cache_dir=tmp_path, progress=False)
    assert np.array_equal(again, e)
