"""The evaluation figures on a model's card, added after the build wrote the model
(``models.build.build(finish=finish)``; ``eyeauth models build`` and ``eyeauth release build``
pass it). Re-running them never retrains: the build key does not cover this code.

* detector: box quality and face-presence rates on the evaluation identities and on frames
  without a face (``detection``), at the presence threshold the detector's recipe calibrated;
* face and voice: every set of the cross-dataset table of its modality (never trained on: ORL
  and FSDD are evaluation-only sources, LFW and Speech Commands their evaluation people), the
  teacher on the same trials and FAR / FRR at the threshold in models/thresholds.json
  (``eval_sets``; the headline ``eer``: faces the LFW evaluation people, voices Speech
  Commands evaluation speakers' 3-word phrases); voice also the utterance settings of the spec
  and the 3 s phrase latency when the card has none yet;
* keyword: the words threshold (fitted on the calib + premodel speakers) and the word figures
  (``eyeauth eval liveness --update-card``).
"""
from __future__ import annotations

import numpy as np

from eyeauth.models import zoo


def finish(card, out_dir=None):
    """The card of a just-built model with its evaluation figures (written)."""
    step = {"detector": detector, "landmark": landmark, "face": face, "voice": voice,
            "keyword": keyword}.get(card["modality"])
    return step(card["name"], out_dir) if step else card


def detector(name, out_dir=None):
    """Box quality (IoU against the box of YuNet's landmarks) and face-presence rates of the int8
    detector graph on the LFW evaluation people's frames (their LFW photos and the rest of LFW,
    at most face_data.EVAL_CAP each: each photo as the QVGA camera gives it and pasted into a
    scene), and the share of 400 seeded frames without a face it refuses, at the card's
    presence threshold."""
    from eyeauth.models import face_data as FD, face_path
    from eyeauth.training import face_frames, synth

    card = zoo.load_card(name, out_dir)
    spec = card["spec"]
    thr = float(card["output"]["presence_threshold"])
    det = zoo.model_bytes(name, out_dir)
    frames = face_frames.eval_frames(*FD.landmarked_part("eval"), spec["seed"] + 1000)
    ious, pres = [], []
    for f, pts in frames:
        (x, y, s), p = face_path.detect(f, det)
        bx, by, bs = FD.points_box(pts)
        ious.append(synth.iou((x, y, s, s), (bx, by, bs, bs)))
        pres.append(p)
    ious, pres = np.array(ious), np.array(pres)
    rng = np.random.default_rng(spec["seed"] + 2000)
    neg = np.array([face_path.detect(synth.negative_frame(rng), det)[1] for _ in range(400)])
    card["detection"] = {
        "frames": len(ious), "mean_iou": round(float(ious.mean()), 3),
        "iou_ge_0.5": round(float((ious >= 0.5).mean()), 3), "presence_threshold": thr,
        "face_frames_passed": round(float((pres >= thr).mean()), 4),
        "no_face_frames": len(neg), "no_face_frames_rejected": round(float((neg < thr).mean()), 4),
        "protocol": "threshold: 1st percentile of the presence output on the LFW calibration "
                    "people's frames; then the LFW evaluation people (their LFW photos and the "
                    f"rest of LFW, at most {FD.EVAL_CAP} each): each photo as the QVGA camera "
                    "gives it and pasted into a cluttered QVGA scene, IoU against the box of "
                    "YuNet's landmarks; 400 seeded frames without a face "
                    "(synth.negative_frame); int8 detector graph in TFLM"}
    return zoo.save_card(card, out_dir)


def landmark(name, out_dir=None):
    """Landmark error of the int8 detector + landmark net on frames of people never trained
    on: mean distance of the five points to YuNet's over the eye distance (NME), on the LFW
    evaluation people's frames (camera frames and scenes) and the ORL portraits as the camera
    gives them; also with no landmark net (the template's points in the detector box), the
    alignment the net replaces. Frames the presence gate refuses are counted, not scored."""
    from eyeauth import datasets, splits
    from eyeauth.models import align, face_data as FD, face_path, face_teacher
    from eyeauth.training import face_frames

    card = zoo.load_card(name, out_dir)
    det = zoo.model_bytes(zoo.DETECTOR, out_dir)
    thr = float(zoo.load_card(zoo.DETECTOR, out_dir)["output"]["presence_threshold"])
    lmk = zoo.model_bytes(name, out_dir)

    def score(frames):
        errs, boxed, refused = [], [], 0
        for f, pts in frames:
            box, p = face_path.detect(f, det)
            if p < thr:
                refused += 1
                continue
            iod = max(align.eye_distance(pts), 1e-6)
            got = face_path.landmark_points(f, box, lmk) / 16.0
            errs.append(float(np.linalg.norm(got - pts, axis=1).mean() / iod))
            tpl = align.box_points(box) / 16.0
            boxed.append(float(np.linalg.norm(tpl - pts, axis=1).mean() / iod))
        e, b = np.array(errs), np.array(boxed)
        return {"frames": len(frames), "refused": refused, "nme": round(float(e.mean()), 4),
                "nme_median": round(float(np.median(e)), 4),
                "over_0.1": round(float((e > 0.1).mean()), 4),
                "nme_without_landmarks": round(float(b.mean()), 4)}

    lfw = face_frames.eval_frames(*FD.landmarked_part("eval"), card["spec"]["seed"] + 1000)
    orl = datasets.scan(splits.folder("orl"), "face")
    paths = [p for _, p in orl.items()]
    sf = face_teacher.sface_table(paths, label="SFace teacher (ORL)")
    orl_frames = []
    for p, pts, ok in zip(paths, sf["pts"], sf["found"]):
        if ok:
            img = datasets.load_image(p)
            orl_frames.append((FD.camera_frame(img), FD.camera_points(pts, img.shape)))
    card["landmarks"] = {
        "lfw_eval": score(lfw), "orl": score(orl_frames),
        "protocol": "NME: mean distance of the five points to YuNet's, over the eye distance; "
                    "int8 detector graph then int8 landmark net in TFLM on QVGA camera frames "
                    "(LFW evaluation people, at most face_data.EVAL_CAP photos each: each as the "
                    "camera gives it and pasted into a scene; ORL: the 400 portraits as the "
                    "camera gives them); nme_without_landmarks: the template's points placed in "
                    "the detector box (align.box_points)"}
    return zoo.save_card(card, out_dir)


def eval_sets(card, data_dir=None):
    """{set: figures} of one model on every cross-dataset set of its modality: EER int8 and
    float, FRR at FAR 1 %, FAR / FRR at the shipped threshold, the teacher on the same trials."""
    from eyeauth.evaluation import crosseval

    sets = {}
    for set_name in crosseval.set_names(card["modality"]):
        res = crosseval.evaluate_set(set_name, [card], data_dir, teacher=True)
        m = res["models"][0]
        sets[set_name] = {"what": res["what"], "identities": res["identities"],
                          "files": res["files"], "refused_probes": res["refused_probes"],
                          "genuine_trials": res["genuine_trials"],
                          "impostor_trials": res["impostor_trials"],
                          **{k: m[k] for k in ("eer", "eer_float", "frr_at_far_1pct",
                                               "far_at_threshold", "frr_at_threshold")},
                          "teacher": res["teacher"], "target_eer": res["target_eer"]}
    return sets


def _headline(card, sets, head_set, command):
    head = sets[head_set]
    card.update({"eer": head["eer"], "eer_float": head["eer_float"],
                 "frr_at_far_1pct": head["frr_at_far_1pct"],
                 "eval_set": f"{head_set}: {head['what']}; int8 in TFLM through the device's "
                             "path, scored as the board scores",
                 "eval": {"set": head_set, **head}, "eval_sets": sets, "eval_command": command})
    return card


def face(name, out_dir=None, data_dir=None):
    """Every face set of the cross-dataset table through the board's face path (detector,
    landmarks, aligned crop); the headline ``eer`` is the LFW evaluation people's."""
    card = zoo.load_card(name, out_dir)
    card = _headline(card, eval_sets(card, data_dir), card["spec"]["split"],
                     "eyeauth models eval --modality face --teacher")
    return zoo.save_card(card, out_dir)


VOICE_HEADLINE = "speech_commands_phrase"


def voice(name, out_dir=None, data_dir=None):
    """Score one voice model on every voice set of the cross-dataset table (int8 and float,
    Resemblyzer on the same trials) and write the figures on its card: ``eer``, ``eer_float``,
    ``frr_at_far_1pct`` are those of the headline set; ``eval_sets`` every set."""
    from eyeauth.latency import phrase

    card = zoo.load_card(name, out_dir)
    entry = zoo.spec_entry(name, out_dir)  # inference settings: the spec's, never retrained
    u = card["input"]["preprocess"].setdefault("utterance", {})
    u.update({k: int(entry[k]) for k in ("hop_frames", "max_windows") if k in entry})
    card["spec"].update({k: entry[k] for k in ("hop_frames", "max_windows") if k in entry})
    zoo.save_card(card, out_dir)
    card = zoo.load_card(name, out_dir)
    card = _headline(card, eval_sets(card, data_dir), VOICE_HEADLINE,
                     "eyeauth models eval --modality voice --teacher")
    if "latency_phrase_3s_ms" not in card:  # a fresh build (`python3 -m eyeauth.latency.phrase
        # --update-latency` re-times it)
        card["latency_phrase_3s_ms"] = phrase.phrase_latency(card)
    return zoo.save_card(card, out_dir)


def keyword(name, out_dir=None):
    """Fit the words threshold on the calib + premodel speakers and put the word accuracy on the
    eval speakers on the card (``eyeauth eval liveness --update-card``)."""
    from eyeauth.evaluation import liveness

    card = zoo.load_card(name, out_dir)
    fit = liveness.fit_threshold(card)
    card["output"]["margin_threshold"] = fit["threshold"]
    card["threshold_fit"] = fit
    ev = liveness.evaluate(card=card, part="eval", speaker_check=False)
    card["eval"] = {k: ev[k] for k in ("about", "speakers", "word_accuracy", "word_accuracy_words",
                                        "word_accuracy_clips", "word_accuracy_clips_n",
                                        "genuine_pass_rate", "replay_reject_rate")}
    card["eval"]["note"] = ("words only (no speaker check); `eyeauth eval liveness` adds the "
                            "speaker check and the impostor trials")
    card["eval_command"] = "eyeauth eval liveness --json"
    return zoo.save_card(card, out_dir)
