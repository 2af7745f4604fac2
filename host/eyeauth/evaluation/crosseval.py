"""Cross-dataset evaluation: every zoo model on every evaluation set it never trained on, and on
any ``<identity>/<files>`` folder (:func:`evaluate_files`, ``eyeauth models eval --data``).

One protocol for all sets (the one the models are judged by): per identity, the first E files
(natural order; E = 3 images, 5 clips) are enrolled as the board enrols them (int8 samples,
template = normalised sum), every other file is a probe scored against every template (genuine:
its own identity; impostor: every other one). Faces go frame -> detector -> box -> crop ->
embedder; a probe whose frame the detector finds no face in (presence below the card's
threshold) is refused by the board and counts as a reject. Identities with too few files to
enrol and probe are skipped and counted, never fatal. A voice probe without speech is refused
by the board (``no_speech``) and counts as a reject too.

Per model and set: ``eer`` (int8 through TFLM), ``eer_float`` (the float reference),
``frr_at_far_1pct``, and ``far_at_threshold`` / ``frr_at_threshold`` at the threshold shipped
in models/thresholds.json. With ``teacher=True`` the teacher (dlib's ResNet for faces,
Resemblyzer for voices) is scored on the same trials.

Sets (``SETS``): ``orl`` (all 40 ORL people, portraits as they are), ``orl_scenes`` (each ORL
image pasted into a cluttered QVGA frame, seeded, written once to the cache), ``lfw`` (LFW
evaluation identities of data/splits.json), Speech Commands evaluation speakers and FSDD,
single clips and 3-word phrases (``phrase_files``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from eyeauth import datasets, splits
from eyeauth.errors import DataError
from eyeauth.evaluation import scoring
from eyeauth.models import embed, zoo
from eyeauth.models.progress import Steps, note

ENROL = {"face": 3, "voice": 5}


def _cache_root():
    from eyeauth import cache_dir

    return cache_dir()


def split_files(name, part="eval", data_dir=None):
    ds = datasets.scan(splits.folder(name, data_dir), splits.SOURCES[name][1])
    ids = [i for i in splits.identities(name, part) if i in ds.files]
    return {i: list(ds.files[i]) for i in ids}


def orl_scene_files(data_dir=None, seed=77):
    """ORL images pasted into cluttered QVGA frames (face 20-80 % of the height, at the box
    dlib's landmarks give, else the portrait's canonical box), written once as PNG under the
    cache (deterministic: same seed, same frames)."""
    from PIL import Image

    from eyeauth.models import face_teacher
    from eyeauth.training import synth
    from eyeauth.models.preprocess import default_face_box

    src = split_files("orl", "eval", data_dir)
    out_dir = _cache_root() / "eval_sets" / f"orl_scenes_s{seed}_v1"
    paths = [p for ps in src.values() for p in ps]
    done = out_dir / "DONE"
    files = {i: [out_dir / i / f"{Path(p).stem}.png" for p in ps] for i, ps in src.items()}
    if done.exists():
        return files
    tab = face_teacher.teacher_table(paths, label="face teacher (ORL boxes)")
    rng = np.random.default_rng(seed)
    k = 0
    for i, ps in src.items():
        (out_dir / i).mkdir(parents=True, exist_ok=True)
        for p, dst in zip(ps, files[i]):
            img = datasets.load_image(p)
            if tab["found"][k]:
                box = tuple(map(float, tab["box"][k]))
            else:
                bx, by, bs, _ = default_face_box(img.shape)
                box = (bx, by, bs)
            frame, _, _ = synth.photo_frame(img, box, rng)
            Image.fromarray(frame).save(dst)
            k += 1
    done.write_text("ok\n")
    return files


#: set name -> (modality, files(data_dir) -> {identity: [paths]}, what)
SETS = {
    "orl": ("face", lambda d: split_files("orl", "eval", d),
            "ORL, all 40 people, uncropped 92x112 portraits (never trained on)"),
    "orl_scenes": ("face", orl_scene_files,
                   "ORL pasted into cluttered 320x240 frames, face 20-80 % of the height"),
    "lfw": ("face", lambda d: split_files("lfw", "eval", d),
            "LFW evaluation identities (data/splits.json), 250x250 photos as they are"),
    "speech_commands": ("voice", lambda d: split_files("speech_commands", "eval", d),
                        "Speech Commands evaluation speakers (data/splits.json), single 1 s "
                        "command words (16 kHz files, heard at 8 kHz)"),
    "fsdd": ("voice", lambda d: _every("fsdd", FSDD_EVERY, d),
             "FSDD, all 6 speakers, single spoken digits at 8 kHz (every 5th recording)"),
}


def register_set(name, modality, files, what):
    SETS[name] = (modality, files, what)


FSDD_EVERY = 5  # FSDD: every 5th recording (100 of each speaker's 500, every digit)


def _every(name, every, data_dir):
    return {i: ps[::every] for i, ps in split_files(name, "eval", data_dir).items()}


def phrase_files(name, data_dir=None, seed=5, part="eval"):
    """3-word phrases of each evaluation speaker of ``name`` (voice_phrase.phrase_sets: clips
    trimmed to their speech, joined with 0.1-0.4 s gaps and light noise; the first 5 phrases
    are made of the speaker's first 5 clips and enrol), written once as 8 kHz WAVs under the
    cache so every model and the teacher score the very same audio."""
    from scipy.io import wavfile

    from eyeauth.models import voice_phrase

    ids = splits.identities(name, part)
    out_dir = _cache_root() / "eval_sets" / f"{name}{'' if part == 'eval' else '_' + part}_phrases_s{seed}_v1"
    done = out_dir / "DONE"
    if not done.exists():
        sets = voice_phrase.phrase_sets(splits.folder(name, data_dir), ids, seed=seed)
        for spk, phrases in sets.items():
            (out_dir / spk).mkdir(parents=True, exist_ok=True)
            for k, x in enumerate(phrases):
                wavfile.write(out_dir / spk / f"phrase_{k:02d}.wav", 8000, np.asarray(x, np.int16))
        done.write_text("ok\n")
    return {spk: sorted((out_dir / spk).glob("*.wav")) for spk in ids if (out_dir / spk).is_dir()}


def _voice_sets():
    if "speech_commands_phrase" in SETS:
        return
    register_set("speech_commands_phrase", "voice", lambda d: phrase_files("speech_commands", d),
                 "Speech Commands evaluation speakers, 3-word phrases (2-3 s): 5 enrol, 10 probe")
    register_set("fsdd_phrase", "voice", lambda d: phrase_files("fsdd", d),
                 "FSDD, all 6 speakers, 3-digit phrases at 8 kHz: 5 enrol, 10 probe")


def set_names(modality=None):
    _voice_sets()
    return [n for n, s in SETS.items() if modality is None or s[0] == modality]


def _embed(card, paths, samples, modality, boxes, tick=lambda: None):
    """(int8, float) unit embeddings of every path: one input tensor per file (faces: the crop
    at the detector's box; voices: the utterance windows, voice_phrase.tensors), run through the
    int8 model and its float reference."""
    from eyeauth.models import voice_phrase

    e8, ef = [], []
    for p in paths:
        tick()
        x = samples[str(p)]
        if modality == "face":
            q = embed.face_tensor(card["name"], x, boxes[str(p)][0])
            e8.append(embed.unit(embed.infer(card["name"], q)))
            ef.append(embed.unit(embed.infer(card["name"], q, True)))
            continue
        try:
            qs = voice_phrase.tensors(card, x)
        except DataError:  # no speech: refused by the board, scored as a reject
            qs = []
        for out, flt in ((e8, False), (ef, True)):  # = voice_phrase.embed, sharing the tensors
            out.append(voice_phrase.windows_embedding(card, qs, flt) if qs else
                       np.zeros(card["output"]["shape"][-1], np.float32))
    return np.stack(e8), np.stack(ef)


def _trials(emb, index, split, refused):
    def emb_of(ps):
        return emb[[index[str(p)] for p in ps]]

    g, imp, *_ = scoring.device_trials(emb_of, split, refused)
    return g, imp


def _teacher(modality, paths):
    if modality == "face":
        from eyeauth.models import face_teacher

        return face_teacher.teacher_table(paths, label="face teacher")["emb"]
    from scipy.io import wavfile

    from eyeauth.models import voice_teacher

    raw = [wavfile.read(os.fspath(p)) for p in paths]
    rates = {r for r, _ in raw}
    rate = rates.pop() if len(rates) == 1 else 8000  # the files' own rate; mixed: the board's
    return voice_teacher.embed([datasets.to_int16(x, r, rate) for r, x in raw], rate=rate)


def evaluate_set(name, cards=None, data_dir=None, teacher=False, thresholds=None,
                 max_identities=None):
    """One set's table: {set, modality, what, identities, skipped_identities, files, enrol,
    refused_probes, genuine_trials, impostor_trials, models: [...], teacher: {...} | None}."""
    _voice_sets()
    if name not in SETS:
        raise DataError(f"unknown evaluation set {name!r}; known: {', '.join(SETS)}")
    modality, files_of, what = SETS[name]
    return evaluate_files(name, modality, files_of(data_dir), what, cards, teacher, thresholds,
                          max_identities=max_identities)


def evaluate_files(name, modality, files, what, cards=None, teacher=False, thresholds=None,
                   enrol=None, max_identities=None, detect=True, keep_scores=False):
    """The table of any {identity: [paths]} (natural order): per model ``eer`` (int8),
    ``eer_float``, ``frr_at_far_1pct`` and ``far_at_threshold`` / ``frr_at_threshold`` at the
    shipped threshold (``thresholds``: {model: threshold}; None: models/thresholds.json).
    ``detect=False``: the images are face crops already (canonical box, no presence gate).
    ``keep_scores``: each model's row also holds its trials' scores (``scores``: {"int8":
    (genuine, impostor), "float": (...)}, numpy arrays)."""
    if max_identities:
        files = dict(list(files.items())[:max_identities])
    enrol = enrol or ENROL[modality]
    split, skipped = scoring.enrol_split(files, enrol)
    if len(split) < 2:
        raise DataError(f"{name}: {len(split)} identities with more than {enrol} files; need 2")
    if skipped:
        note(f"{name}: skipped {len(skipped)} identities with <= {enrol} files")
    paths = [p for i in split for p in split[i][0] + split[i][1]]
    index = {str(p): n for n, p in enumerate(paths)}
    cards = cards or zoo.list_models(modality=modality)
    th = thresholds if thresholds is not None else shipped_thresholds()
    load = datasets.load_image if modality == "face" else datasets.load_audio
    samples = {str(p): load(p) for p in paths}  # read once, shared by every model
    boxes = {}
    if modality == "face" and not detect:
        from eyeauth.models.preprocess import default_face_box

        boxes = {k: (default_face_box(x.shape), 1.0) for k, x in samples.items()}

        def refused(ps):
            return np.zeros(len(ps), bool)
    elif modality == "face":
        det = zoo.DETECTOR
        thr = embed.presence_threshold(det)
        with Steps(f"{name}: detecting faces", len(paths), every=10) as st:
            for p in paths:
                boxes[str(p)] = embed.detect(samples[str(p)], det)
                st.tick()

        def refused(ps):
            return np.array([boxes[str(p)][1] < thr for p in ps], bool)
    else:
        from eyeauth.models import vad

        speech = {k: vad.has_speech(x) for k, x in samples.items()}

        def refused(ps):  # the board's voice check refuses a clip without speech
            return np.array([not speech[str(p)] for p in ps], bool)
    out = {"set": name, "modality": modality, "what": what, "identities": len(split),
           "skipped_identities": len(skipped), "files": len(paths), "enrol": enrol,
           "refused_probes": int(sum(refused(split[i][1]).sum() for i in split)),
           "models": [], "teacher": None}
    for card in cards:
        with Steps(f"{name}: embedding with {card['name']}", len(paths), every=10) as st:
            e8, ef = _embed(card, paths, samples, modality, boxes, st.tick)
        g, imp = _trials(e8, index, split, refused)
        gf, impf = _trials(ef, index, split, refused)
        t = th.get(card["name"])
        far, frr = scoring.at_threshold(g, imp, t) if t is not None else (None, None)
        row = {"name": card["name"], "eer": round(scoring.eer(g, imp), 4),
               "eer_float": round(scoring.eer(gf, impf), 4),
               "frr_at_far_1pct": round(scoring.frr_at_far(g, imp, 0.01), 4),
               "threshold": t,
               "far_at_threshold": None if t is None else round(far, 4),
               "frr_at_threshold": None if t is None else round(frr, 4),
               "macs": card.get("macs"), "latency_esp32_ms": card.get("latency_esp32_ms")}
        if keep_scores:
            row["scores"] = {"int8": (g, imp), "float": (gf, impf)}
        out["models"].append(row)
        out["genuine_trials"], out["impostor_trials"] = int(g.size), int(imp.size)
        note(f"{name}: {card['name']} EER {100 * row['eer']:.1f}% (float {100 * row['eer_float']:.1f}%)")
    if teacher:
        te = _teacher(modality, paths)
        g, imp = _trials(te, index, split, None)
        out["teacher"] = {"name": "dlib ResNet" if modality == "face" else "Resemblyzer",
                          "eer": round(scoring.eer(g, imp), 4),
                          "frr_at_far_1pct": round(scoring.frr_at_far(g, imp, 0.01), 4)}
        out["target_eer"] = round(target_eer(out["teacher"]["eer"]), 4)
    return out


def target_eer(teacher_eer):
    """The issue's target EER on a set: max(1.5 x the teacher's, the teacher's + 2 points)."""
    return max(1.5 * teacher_eer, teacher_eer + 0.02)


def shipped_thresholds(models_dir=None):
    """{model: threshold} of the release's thresholds.json; {} without one (the threshold
    columns are then empty)."""
    from eyeauth.release import ReleaseError, read_thresholds

    try:
        return dict(read_thresholds(zoo.models_dir(models_dir) / "thresholds.json").thresholds)
    except ReleaseError:
        return {}


def evaluate(sets=None, modality=None, names=None, data_dir=None, teacher=False,
             max_identities=None):
    """The cross-dataset table: one :func:`evaluate_set` result per set."""
    sets = sets or set_names(modality)
    res = []
    for s in sets:
        mod = SETS[s][0] if s in SETS else None
        cards = [c for c in zoo.list_models(modality=mod) if not names or c["name"] in names] if mod else None
        res.append(evaluate_set(s, cards, data_dir, teacher, max_identities=max_identities))
    return res
