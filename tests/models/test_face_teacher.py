"""Synthetic identities and the dlib teacher used by the face build."""
import numpy as np
import pytest

from eyeauth import datasets
from eyeauth.models import face_teacher as FT


def test_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    ang, scale, t = 0.2, 1.3, np.array([4.0, -7.0])
    A = scale * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    dst = src @ A.T + t
    A2, t2 = FT.similarity(src, dst)
    assert np.allclose(A2, A) and np.allclose(t2, t)


def test_warp_moves_a_point_where_the_transform_says():
    img = np.zeros((60, 50), np.uint8)
    img[10, 20] = 255
    A, t = np.eye(2), np.array([5.0, 3.0])  # x + 5, y + 3
    out = FT.warp(img, A, t)
    assert np.unravel_index(np.argmax(out), out.shape) == (13, 25)


def test_morph_of_an_image_with_itself_is_the_image():
    img = np.random.default_rng(1).integers(0, 256, (112, 92)).astype(np.uint8)
    pts = np.array([[30, 40], [40, 40], [60, 40], [50, 40], [45, 60]], float)
    m = FT.morph(img, pts, img, pts)
    assert np.abs(m.astype(int) - img).max() <= 1


def test_pca_projection_gives_unit_vectors_of_the_student_size():
    T = np.random.default_rng(2).normal(size=(50, 128))
    for dim in (64, 128, 160):
        Z = FT.pca_projection(T, dim)(T)
        assert Z.shape == (50, dim)
        assert np.allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)


def test_teacher_tells_people_apart(shared_data, tmp_path, monkeypatch):
    """The teacher (dlib ResNet) on real faces: same person closer than another person, and the
    morph pool is cached and shaped as documented."""
    pytest.importorskip("dlib")
    monkeypatch.setenv("EYEAUTH_CACHE", str(tmp_path))
    ds = datasets.scan(shared_data / "faces" / "orl", "face").subset(["s1", "s2"])
    items = ds.items()[:3] + ds.items()[10:13]
    imgs = [datasets.load_image(p) for _, p in items]
    labels = np.array([0, 0, 0, 1, 1, 1])
    pool = FT.morph_pool(imgs, labels, n_pairs=1, per_pair=2, seed=0)
    T = pool["T"]
    assert T.shape == (6, 128) and pool["M"].shape == (2,) + imgs[0].shape
    assert pool["MT"].shape == (2, 128) and pool["pairs"].tolist() == [[0, 1]]
    S = T @ T.T
    same = np.mean([S[0, 1], S[0, 2], S[1, 2], S[3, 4], S[3, 5], S[4, 5]])
    other = S[:3, 3:].mean()
    assert same > other + 0.03 and S[:3, 3:].max() < min(S[0, 1], S[3, 4])
    # a morph sits between its two parents
    m = pool["MT"][0]
    assert m @ T[:3].mean(0) > other and m @ T[3:].mean(0) > other
    assert len(list((tmp_path / "face_teacher").glob("*.npz"))) == 1
    again = FT.morph_pool(imgs, labels, n_pairs=1, per_pair=2, seed=0)  # from the cache
    assert np.array_equal(again["M"], pool["M"])
