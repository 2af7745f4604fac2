import numpy as np
import pytest

from eyeauth import datasets
from eyeauth.errors import DataError
from eyeauth.models import embed, preprocess as P, zoo
from eyeauth.training import synth


def test_detector_finds_placed_faces(cards, orl_dir, rng):
    """ORL (never trained on): the portrait as the camera gives it and pasted into a QVGA scene;
    the box is the square YuNet's five points give (what the detector learned,
    face_data.points_box), and the face passes the gate."""
    from eyeauth.models import face_data as FD, face_teacher
    from eyeauth.training import face_frames

    ds = datasets.scan(orl_dir, "face")
    paths = [ds.files[i][0] for i in ds.identities[:8]]
    tab = face_teacher.sface_table(paths, workers=1)
    assert tab["found"].all()
    thr = embed.presence_threshold()
    ious, passed = [], []
    for k, p in enumerate(paths):
        face = datasets.load_image(p)
        scene, spts = face_frames.scene_view(face, tab["pts"][k], rng)
        cam, cpts = FD.camera_frame(face), FD.camera_points(tab["pts"][k], face.shape)
        for img, pts in ((scene, spts), (cam, cpts)):
            x, y, s = FD.points_box(pts)
            got, presence = embed.detect(img)
            ious.append(synth.iou(got, (x, y, s, s)))
            passed.append(presence >= thr)
    assert np.mean(ious) > 0.55 and np.mean(np.array(ious) > 0.4) >= 0.8, ious
    assert np.mean(passed) >= 0.9


def test_detector_presence_refuses_frames_without_a_face(cards):
    rng = np.random.default_rng(9)
    thr = embed.presence_threshold()
    assert thr > 0.5
    frames = [synth.negative_frame(rng) for _ in range(30)]
    refused = [embed.detect(f)[1] < thr for f in frames]
    assert np.mean(refused) >= 0.9


def test_embed_face_unit_and_discriminative(cards, orl_dir):
    name = min((c for c in cards if c["modality"] == "face"), key=lambda c: c["macs"])["name"]
    a1, a2 = (datasets.load_image(orl_dir / "s35" / f"{k}.pgm") for k in (1, 2))
    b1 = datasets.load_image(orl_dir / "s36" / "1.pgm")
    ea1, ea2, eb1 = (embed.embed_face(name, im) for im in (a1, a2, b1))
    assert np.linalg.norm(ea1) == pytest.approx(1.0, abs=1e-5)
    assert ea1 @ ea2 > ea1 @ eb1
    boxed = embed.embed_face(name, a1, box=P.default_face_box(a1.shape))
    assert boxed.shape == ea1.shape


def test_embed_voice(cards, fsdd_dir):
    name = next(c["name"] for c in cards if c["modality"] == "voice")
    wav = datasets.load_audio(sorted(fsdd_dir.glob("1_yweweler_*.wav"))[0])
    e8 = embed.embed_voice(name, wav)
    as_float = wav.astype(np.float32) / 32768
    up = np.repeat(as_float, 2)  # 16 kHz float input: resampled inside
    e16 = embed.embed_voice(name, up, rate=16000)
    assert np.linalg.norm(e8) == pytest.approx(1.0, abs=1e-5)
    assert e8 @ e16 > 0.9


def test_bad_inputs(cards):
    with pytest.raises(DataError):
        embed.detect_face(np.zeros((3, 3), np.uint8))
    name = next(c["name"] for c in cards if c["modality"] == "voice")
    with pytest.raises(DataError):
        embed.embed_voice(name, np.zeros(0, np.int16))
