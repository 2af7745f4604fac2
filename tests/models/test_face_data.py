"""Face data: splits carry over to the rest of LFW, the evaluation cap, what the camera makes
of a photo, and the boxes and framings the face path trains on."""
import numpy as np
import pytest

from eyeauth import splits
from eyeauth.models import align, face_path, face_data
from eyeauth.training import face_frames


def test_training_files_never_hold_an_evaluation_calibration_or_router_person(shared_data):
    rows = face_data.training_files(shared_data)
    people = {i for _, i, _ in rows if i is not None}
    held = set()
    for part in ("calib", "premodel", "eval"):
        held |= set(splits.identities("lfw", part))
    assert people and not people & held
    sources = {s for _, _, s in rows}
    assert sources == {"lfw", "lfw_more", "utkface"}
    # a person found only in lfw_more trains; one of faces/lfw keeps their part
    lfw_more = [i for _, i, s in rows if s == "lfw_more"]
    assert len(lfw_more) > 4000


def test_evaluation_people_get_their_extra_photos_capped(shared_data):
    files = face_data.part_files("eval", shared_data)
    base = face_data.part_files("eval", shared_data, more=False)
    assert set(files) == set(base) == set(splits.identities("lfw", "eval")) & set(files)
    assert max(len(v) for v in files.values()) == face_data.EVAL_CAP
    assert sum(map(len, files.values())) > sum(map(len, base.values()))
    for person, ps in files.items():  # the person's own LFW photos come first
        assert ps[:len(base[person])] == base[person][:face_data.EVAL_CAP]


def test_camera_frame_is_qvga_and_points_follow_it():
    portrait = np.zeros((112, 92), np.uint8)
    portrait[40:44, 30:34] = 255  # a bright mark at (31.5, 41.5)
    cam = face_data.camera_frame(portrait)
    assert cam.shape == (240, 320) and cam[0, 0] == 128  # letterboxed with grey
    (x, y), = face_data.camera_points([(31.5, 41.5)], portrait.shape)
    ys, xs = np.nonzero(cam > 200)
    assert abs(xs.mean() - x) < 1.0 and abs(ys.mean() - y) < 1.0
    qvga = np.arange(240 * 320, dtype=np.uint32).reshape(240, 320).astype(np.uint8)
    assert face_data.camera_frame(qvga) is qvga or np.array_equal(face_data.camera_frame(qvga), qvga)


@pytest.mark.parametrize("view", ["camera", "scene"])
def test_framings_keep_the_landmarks_on_the_face(view):
    t = align.ARCFACE_112 * 1.5 + (40, 30)  # a synthetic "photo": bright eyes on a dark face
    photo = np.full((250, 250), 60, np.uint8)
    for px, py in t[:2]:
        photo[int(py) - 3:int(py) + 4, int(px) - 3:int(px) + 4] = 250
    rng = np.random.default_rng(3)
    for _ in range(5):
        fn = face_frames.camera_view if view == "camera" else face_frames.scene_view
        frame, pts = fn(photo, t, rng)
        assert frame.shape == (240, 320)
        for px, py in pts[:2]:
            if 4 <= px < 316 and 4 <= py < 236:
                patch = frame[int(round(py)) - 1:int(round(py)) + 2, int(round(px)) - 1:int(round(px)) + 2]
                assert patch.mean() > frame.mean(), (view, px, py)


def test_points_box_is_the_templates_face_square():
    x, y, s = face_data.points_box(align.ARCFACE_112)
    assert abs(s - face_data.BOX_SIDE_112) < 1e-6
    assert abs(x + s / 2 - 56) < 1e-6 and abs(y + s / 2 - 66) < 1e-6


def test_detector_box_from_int8_outputs():
    q = np.array([0, 0, 0], np.int8)  # sigmoid 0.5 each
    x, y, s, s2 = face_path.box_from_q(q, (240, 320))
    assert (x + s // 2, y + s // 2, s, s2) == (160, 120, 120, 120)
