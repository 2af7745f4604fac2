import numpy as np
import pytest
from PIL import Image
from scipy.io import wavfile

from eyeauth import datasets
from eyeauth.errors import DataError


def test_orl_layout(orl_dir):
    ds = datasets.scan(orl_dir, "face")
    assert len(ds.identities) == 40 and ds.identities[:3] == ["s1", "s2", "s3"]
    assert all(len(v) == 10 for v in ds.files.values())
    img = datasets.load_image(ds.files["s1"][0])
    assert img.shape == (112, 92) and img.dtype == np.uint8


def test_fsdd_flat_layout(fsdd_dir):
    for root in (fsdd_dir, fsdd_dir.parent):
        ds = datasets.scan(root, "voice")
        assert ds.identities == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
        assert all(len(v) == 500 for v in ds.files.values())


def test_identity_layout_mixed_formats(tmp_path, rng):
    for ident in ("alice", "bob"):
        (tmp_path / "img" / ident).mkdir(parents=True)
        for k, ext in enumerate(("png", "jpg", "pgm")):
            Image.fromarray(rng.integers(0, 255, (30, 40, 3)).astype(np.uint8)).convert(
                "L" if ext == "pgm" else "RGB").save(tmp_path / "img" / ident / f"{k}.{ext}")
        (tmp_path / "wav" / ident).mkdir(parents=True)
        stereo = (rng.normal(0, 3000, (48000, 2))).astype(np.int16)
        wavfile.write(tmp_path / "wav" / ident / "a.wav", 48000, stereo)
        wavfile.write(tmp_path / "wav" / ident / "b.wav", 16000, rng.uniform(-1, 1, 16000).astype(np.float32))
    img = datasets.scan(tmp_path / "img", "face")
    assert img.identities == ["alice", "bob"] and len(img.files["bob"]) == 3
    assert all(datasets.load_image(p).ndim == 2 for _, p in img.items())
    wav = datasets.scan(tmp_path / "wav", "voice")
    a, b = (datasets.load_audio(p, 8000) for p in wav.files["alice"])
    assert a.dtype == np.int16 and a.shape == (8000,) and b.shape == (8000,)


def test_split_is_identity_disjoint():
    ids = [f"s{i}" for i in range(1, 41)]
    tr, te = datasets.split_identities(ids, 12)
    assert te == [f"s{i}" for i in range(29, 41)] and not set(tr) & set(te)
    tr, te = datasets.split_identities(ids, 10, seed=3)
    assert len(te) == 10 and not set(tr) & set(te) and len(tr) + len(te) == 40
    tr, te = datasets.split_identities(["a", "b", "c"], ["b"])
    assert tr == ["a", "c"] and te == ["b"]
    with pytest.raises(DataError):
        datasets.split_identities(ids, 40)


def test_errors(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        datasets.scan(tmp_path / "missing", "face")
    with pytest.raises(DataError, match="no pgm"):
        datasets.scan(tmp_path, "face")
    bad = tmp_path / "x.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot read image"):
        datasets.load_image(bad)
    with pytest.raises(DataError, match="cannot read audio"):
        datasets.load_audio(bad)


def test_natural_sort():
    assert sorted(["s10", "s2", "s1"], key=datasets.natural_key) == ["s1", "s2", "s10"]
