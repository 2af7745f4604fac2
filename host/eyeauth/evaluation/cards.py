"""The evaluation figures on a model's card, added after the build wrote the model
(``models.build.build(finish=finish)``; ``eyeauth models build`` and ``eyeauth release build``
pass it). Re-running them never retrains: the build key does not cover this code.

* detector: box quality and face-presence rates on the evaluation identities and on frames
  without a face (``detection``), at the presence threshold the detector's recipe calibrated;
* face: the evaluation part of its split through the detector (cross-dataset protocol);
* voice: every voice set of the cross-dataset table with the teacher on the same trials (the
  headline: Speech Commands evaluation speakers' 3-word phrases), the utterance settings of the
  spec, and the 3 s phrase latency when the card has none yet;
* keyword: the words threshold (fitted on the calib + premodel speakers) and the word figures
  (``eyeauth eval liveness --update-card``).
"""
from __future__ import annotations

import numpy as np

from eyeauth.models import zoo


def finish(card, out_dir=None):
    """The card of a just-built model with its evaluation figures (written)."""
    step = {"detector": detector, "face": face, "voice": voice, "keyword": keyword}.get(card["modality"])
    return step(card["name"], out_dir) if step else card


def detector(name, out_dir=None):
    """Box quality (IoU against the landmark box) and face-presence rates of the int8 detector
    on the evaluation identities' frames, and the share of 400 seeded frames without a face it
    refuses, at the card's presence threshold."""
    from eyeauth import datasets, splits
    from eyeauth.models import embed
    from eyeauth.training import photos, synth

    card = zoo.load_card(name, out_dir)
    spec = card["spec"]
    thr = float(card["output"]["presence_threshold"])
    ds = datasets.scan(splits.folder(spec["split"]), "face")
    _, ph, boxes, _ = photos.teacher_photos(ds, splits.identities(spec["split"], "eval"),
                                            "face teacher (detector evaluation)")
    frames = photos.frames(ph, boxes, spec["seed"] + 1000)
    out = [embed.detect(img, name, out_dir) for img, _ in frames]
    pres = np.array([o[1] for o in out])
    ious = np.array([synth.iou(o[0], b) for o, (_, b) in zip(out, frames)])
    rng = np.random.default_rng(spec["seed"] + 2000)
    neg = np.array([embed.detect(synth.negative_frame(rng), name, out_dir)[1] for _ in range(400)])
    card["detection"] = {
        "frames": len(ious), "mean_iou": round(float(ious.mean()), 3),
        "iou_ge_0.5": round(float((ious >= 0.5).mean()), 3), "presence_threshold": thr,
        "face_frames_passed": round(float((pres >= thr).mean()), 4),
        "no_face_frames": len(neg), "no_face_frames_rejected": round(float((neg < thr).mean()), 4),
        "protocol": "threshold: 1st percentile of the presence output on calibration "
                    "identities' frames; then LFW evaluation identities: each photo as it is "
                    "and pasted into a QVGA scene, IoU against the landmark box; 400 seeded "
                    "frames without a face (synth.negative_frame); int8 detector in TFLM"}
    return zoo.save_card(card, out_dir)


def face(name, out_dir=None):
    """EER (int8 and float) and FRR at FAR 1 % on the evaluation part of the model's split,
    through the detector, scored as the board scores."""
    from eyeauth.evaluation import crosseval

    card = zoo.load_card(name, out_dir)
    res = crosseval.evaluate_set(card["spec"]["split"], [card], thresholds={})
    m = res["models"][0]
    card.update({"eer": m["eer"], "eer_float": m["eer_float"], "frr_at_far_1pct": m["frr_at_far_1pct"],
                 "eval": {k: v for k, v in res.items() if k not in ("models", "teacher")}})
    return zoo.save_card(card, out_dir)


VOICE_HEADLINE = "speech_commands_phrase"


def voice(name, out_dir=None, data_dir=None):
    """Score one voice model on every voice set of the cross-dataset table (int8 and float,
    Resemblyzer on the same trials) and write the figures on its card: ``eer``, ``eer_float``,
    ``frr_at_far_1pct`` are those of the headline set; ``eval_sets`` every set."""
    from eyeauth.evaluation import crosseval
    from eyeauth.latency import phrase

    card = zoo.load_card(name, out_dir)
    entry = zoo.spec_entry(name, out_dir)  # inference settings: the spec's, never retrained
    u = card["input"]["preprocess"].setdefault("utterance", {})
    u.update({k: int(entry[k]) for k in ("hop_frames", "max_windows") if k in entry})
    card["spec"].update({k: entry[k] for k in ("hop_frames", "max_windows") if k in entry})
    zoo.save_card(card, out_dir)
    card = zoo.load_card(name, out_dir)
    sets = {}
    for set_name in crosseval.set_names("voice"):
        res = crosseval.evaluate_set(set_name, [card], data_dir, teacher=True, thresholds={})
        m = res["models"][0]
        sets[set_name] = {"what": res["what"], "identities": res["identities"],
                          "files": res["files"], "refused_probes": res["refused_probes"],
                          "genuine_trials": res["genuine_trials"],
                          "impostor_trials": res["impostor_trials"],
                          **{k: m[k] for k in ("eer", "eer_float", "frr_at_far_1pct")},
                          "teacher": res["teacher"], "target_eer": res["target_eer"]}
    head = sets[VOICE_HEADLINE]
    card.update({"eer": head["eer"], "eer_float": head["eer_float"],
                 "frr_at_far_1pct": head["frr_at_far_1pct"],
                 "eval_set": f"{VOICE_HEADLINE}: {head['what']}; int8 in TFLM through the "
                             "device's utterance path, scored as the board scores",
                 "eval": {"set": VOICE_HEADLINE, **head}, "eval_sets": sets,
                 "eval_command": "eyeauth models eval --modality voice --teacher"})
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
