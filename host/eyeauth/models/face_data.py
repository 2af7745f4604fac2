"""Which face photos the face models learn from and are judged on, and what a camera makes of them.

Sources (all under ../shared/data/faces; see its README for credits):

* ``lfw``: LFW deep-funneled, split by person in data/splits.json (train / calib / premodel /
  eval).
* ``lfw_more``: the rest of LFW. A person who is also in ``lfw`` keeps that person's part (extra
  photos of an evaluation person are evaluation data only); a person found only here (one
  photo each) is a training person.
* ``utkface``: aligned face chips without identities: training inputs only (distillation needs
  no identity: the target is the teacher's embedding of the photo itself).

Evaluation people may have hundreds of photos in ``lfw_more`` (George W. Bush: 530); so that a
few people do not dominate the trials, an evaluation set takes at most ``EVAL_CAP`` photos of a
person: the person's ``lfw`` photos first (natural order), then ``lfw_more`` photos in natural
order.

Camera frames: the board's camera gives 320x240 grey frames (QVGA). ``camera_frame`` is what the
camera makes of a photo file (letterboxed to 4:3 with grey 128, resized to 320x240, bilinear):
the host feeds the board such frames, and every evaluation goes through it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from eyeauth import SHARED_DATA_DIR, datasets, splits

EVAL_CAP = 10
from eyeauth.camera import QVGA, camera_frame, camera_points  # noqa: E402,F401 - the camera model


def listing(data_dir=None, sources=("lfw", "lfw_more", "utkface")):
    """A stable description of the training photos of ``sources`` (for build keys): path
    relative to the faces folder, size, identity."""
    root = _root(data_dir) / "faces"
    return [(str(Path(p).relative_to(root)), Path(p).stat().st_size, i)
            for p, i, _ in training_files(data_dir, sources)]


def _root(data_dir):
    return Path(data_dir or SHARED_DATA_DIR)


def _folder_files(folder):
    if not folder.is_dir():
        return {}
    return datasets.scan(folder, "face").files


def lfw_more_part(person, lfw_parts):
    """The part of a ``lfw_more`` person: their ``lfw`` part, else train (one photo each)."""
    return lfw_parts.get(person, "train")


def lfw_parts():
    doc = splits.load()["sets"]["lfw"]
    return {i: p for p in splits.PARTS for i in doc[p]}


def training_files(data_dir=None, sources=("lfw", "lfw_more", "utkface")):
    """[(path, identity or None, source)] of every photo the face models may learn from."""
    root = _root(data_dir) / "faces"
    parts = lfw_parts()
    out = []
    if "lfw" in sources:
        files = _folder_files(root / "lfw")
        out += [(p, i, "lfw") for i in splits.identities("lfw", "train") if i in files
                for p in files[i]]
    if "lfw_more" in sources:
        files = _folder_files(root / "lfw_more")
        out += [(p, i, "lfw_more") for i, ps in files.items()
                if lfw_more_part(i, parts) == "train" for p in ps]
    if "utkface" in sources:
        folder = root / "utkface"
        if folder.is_dir():
            out += [(p, None, "utkface") for p in sorted(folder.iterdir(), key=lambda q: datasets.natural_key(q.name))
                    if p.suffix.lower() in datasets.IMAGE_EXT]
    return out


def part_files(part, data_dir=None, cap=EVAL_CAP, more=True):
    """{person: [paths]} of the LFW people in ``part`` (calib, premodel, eval): their ``lfw``
    photos, then (``more``) their ``lfw_more`` photos, at most ``cap`` each."""
    root = _root(data_dir) / "faces"
    base = _folder_files(root / "lfw")
    extra = _folder_files(root / "lfw_more") if more else {}
    out = {}
    for i in splits.identities("lfw", part):
        ps = list(base.get(i, [])) + list(extra.get(i, []))
        if ps:
            out[i] = ps[:cap] if cap else ps
    return out


# ---------------------------------------------------------------- boxes and camera framings

#: the detector's face box in template (112x112 chip) coordinates: centre and side; about the
#: brow-to-chin square dlib's landmark box gave the first detector
BOX_CENTRE_112 = (56.0, 66.0)
BOX_SIDE_112 = 92.0


def similarity_fit(src, dst):
    """(A 2x2, t) of the least-squares similarity with dst ~ A @ src + t (float)."""
    from eyeauth.models.face_teacher import similarity

    return similarity(np.asarray(src, np.float64).reshape(-1, 2), np.asarray(dst, np.float64).reshape(-1, 2))


def points_box(points):
    """The square face box (x, y, side) in pixels for five landmarks (YuNet's order)."""
    from eyeauth.models.align import ARCFACE_112

    A, t = similarity_fit(ARCFACE_112, points)
    c = A @ np.array(BOX_CENTRE_112) + t
    side = BOX_SIDE_112 * float(np.sqrt(abs(np.linalg.det(A))))
    return float(c[0] - side / 2), float(c[1] - side / 2), side


def landmarked_part(part, data_dir=None, cap=EVAL_CAP):
    """(paths, YuNet's five landmarks) of the LFW people of ``part`` (their LFW photos and the
    rest of LFW, at most ``cap`` each) in which YuNet finds a face."""
    from eyeauth.models import face_teacher

    files = part_files(part, data_dir, cap=cap)
    paths = [p for ps in files.values() for p in ps]
    sf = face_teacher.sface_table(paths, label=f"SFace teacher (LFW {part})")
    keep = np.flatnonzero(sf["found"])
    return [paths[k] for k in keep], sf["pts"][keep]


#: the credit lines of the face data (../shared/data/README.md), kept on every face card
CREDIT = ("Labeled Faces in the Wild (G. B. Huang, M. Ramesh, T. Berg, E. Learned-Miller, UMass "
          "Amherst TR 07-49, 2007; deep funneling: Huang, Mattar, Lee, Learned-Miller, NIPS 2012), "
          "research use with credit; UTKFace (Z. Zhang, Y. Song, H. Qi, CVPR 2017), non-commercial "
          "research use with credit; evaluated also on the ORL Database of Faces (Olivetti "
          "Research Laboratory / AT&T Laboratories Cambridge)")
