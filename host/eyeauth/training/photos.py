"""Training photos with the teacher's face boxes, shared by the detector and face recipes."""
from __future__ import annotations

import numpy as np

from eyeauth import datasets
from eyeauth.models.progress import note
from eyeauth.training import synth


def teacher_photos(ds, ids, label):
    """Grey photos of ``ids`` with the face box dlib's landmarks give, where its detector found
    a face: ([identity], [photo], [(x, y, side)], teacher embeddings (n, 128))."""
    from eyeauth.models import face_teacher

    items = ds.subset(ids).items()
    tab = face_teacher.teacher_table([p for _, p in items], label=label)
    keep = np.flatnonzero(tab["found"])
    note(f"{label}: dlib found a face in {keep.size} of {len(items)} photos")
    return ([items[k][0] for k in keep], [datasets.load_image(items[k][1]) for k in keep],
            [tuple(map(float, tab["box"][k])) for k in keep], tab["emb"][keep])


def frames(photos, boxes, seed):
    """The detector frames of a set of photos: each photo as it is, and pasted once into a
    QVGA scene (face 20-80 % of the height): [(frame, box (x, y, w, h))]."""
    rng = np.random.default_rng(seed)
    out = []
    for ph, (bx, by, bs) in zip(photos, boxes):
        out.append((ph, (bx, by, bs, bs)))
        img, box, _ = synth.photo_frame(ph, (bx, by, bs), rng)
        out.append((img, box))
    return out
