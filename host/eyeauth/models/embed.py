"""Host versions of the device's inference steps: detect -> crop -> embed, and voice embedding.

All inference goes through the real TFLM interpreter (int8 models; ``float_ref=True`` runs the
float reference model, also in TFLM). Embeddings are returned L2-normalised (float32).
"""
from __future__ import annotations

import numpy as np

from eyeauth.errors import DataError
from eyeauth.models import preprocess as P, tflm, zoo


unit = tflm.unit


def infer(name, q, float_ref=False, path=None):
    """The dequantized output of model ``name`` (in the models folder ``path``) on one int8
    input tensor (float reference: ``float_ref``)."""
    return tflm.infer(zoo.model_bytes(name, path, variant="float" if float_ref else "int8"), q,
                      float_ref)


def detect(frame, detector=zoo.DETECTOR, path=None):
    """((x, y, s, s) square face box in camera-frame pixels, face presence in [0, 1]) from the
    int8 detector on the camera frame of ``frame`` (``face_data.camera_frame``: a photo of any
    size is what the board's QVGA camera would give for it)."""
    from eyeauth.models import face_path, face_data

    img = np.asarray(frame)
    if img.ndim not in (2, 3) or min(img.shape[:2]) < 8:
        raise DataError(f"a frame must be a grey or RGB image of at least 8x8, got {img.shape}")
    cam = face_data.camera_frame(img)
    (x, y, s), pres = face_path.detect(cam, zoo.model_bytes(detector, path))
    return (x, y, s, s), pres


def detect_face(frame, detector=zoo.DETECTOR, path=None):
    """(x, y, s, s) square face box in camera-frame pixels, from the int8 detector."""
    return detect(frame, detector, path)[0]


def presence_threshold(detector=zoo.DETECTOR, path=None):
    """The detector card's face-presence threshold (0.0: the detector has none)."""
    return float(zoo.load_card(detector, path)["output"].get("presence_threshold", 0.0))


def face_points(image, box=None, path=None):
    """Five landmarks (1/16 pixel of the camera frame) the board finds: the landmark net on the
    region around the detector box (``box`` from :func:`detect`; found when not given)."""
    from eyeauth.models import align, face_path, face_data

    cam = face_data.camera_frame(np.asarray(image))
    if box is None:
        box = detect_face(image, path=path)
    try:
        lmk = zoo.model_bytes(zoo.LANDMARK, path)
    except Exception:  # noqa: BLE001 - a release without a landmark model: template in the box
        return align.box_points(box)
    return face_path.landmark_points(cam, box, lmk)


def face_tensor(model_name, image, box=None, path=None):
    """The int8 input tensor (S, S) the face model gets for ``image``: camera frame ->
    detector box (unless ``box`` is given) -> landmarks -> aligned crop."""
    from eyeauth.models import align, face_data

    card = zoo.load_card(model_name, path)
    size = card["input"]["shape"][1]
    cam = face_data.camera_frame(np.asarray(image))
    return align.face_input(cam, face_points(image, box, path), size)


def embed_face(model_name, image, box=None, float_ref=False):
    """Unit face embedding of an image of any size (detector box unless ``box`` is given)."""
    return unit(infer(model_name, face_tensor(model_name, image, box), float_ref))


def voice_tensor(model_name, wav, rate=8000):
    from eyeauth.datasets import to_int16

    card = zoo.load_card(model_name)
    frames, mels = card["input"]["shape"][1:3]
    x = np.asarray(wav)
    if x.size == 0:
        raise DataError("empty audio clip")
    if rate != P.RATE or x.dtype != np.int16:
        x = to_int16(x, rate, P.RATE)
    return P.voice_input(x, frames, mels)


def embed_voice(model_name, wav, rate=8000, float_ref=False):
    """Unit voice embedding of a mono clip (int16, or float in [-1, 1]) at ``rate`` Hz: the
    device's utterance embedding (``voice_phrase.embed``: the model's windows over the speech,
    mean of their unit embeddings). A clip without speech, which the board rejects before any
    model runs, gets the single window on its energy centre (so sweeps over files never stop)."""
    from eyeauth.datasets import to_int16
    from eyeauth.models import voice_phrase

    x = np.asarray(wav)
    if x.size == 0:
        raise DataError("empty audio clip")
    if rate != P.RATE or x.dtype != np.int16:
        x = to_int16(x, rate, P.RATE)
    try:
        return voice_phrase.embed(zoo.load_card(model_name), x, flt=float_ref)
    except DataError:
        return unit(infer(model_name, voice_tensor(model_name, x), float_ref))
