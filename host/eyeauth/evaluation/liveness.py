"""``eyeauth eval liveness``: the spoken challenge on speakers no model was trained on.

Protocol (Speech Commands speakers of one part of data/splits.json, ``eval`` by default):

* enrolment: 5 phrases of 3 words from the speaker's first 5 clips (as the voice phrase
  protocol, ``voice_phrase.phrase_sets``), int8 samples, template = normalised sum (device
  scoring); test audio is always the speaker's other clips;
* a challenge: ``n_words`` distinct words drawn among the words the speaker has test clips of;
  a phrase = one clip of each word in order, trimmed to its speech, 0.1-0.4 s random gaps,
  white noise 30 dB under the speech (``voice_phrase.make_phrase``);
* genuine: the speaker says the challenge; replay: the speaker's recording of another word
  sequence (a previous challenge, same length, not the current one) offered for the
  challenge; impostor: another speaker of the part says the right words, claiming the
  speaker;
* the decision is the board's: words.py segmentation, the keyword model (int8, TFLM) on each
  word, every expected word's margin >= the card's ``margin_threshold``, and the voice model's
  utterance embedding on the same clip scoring >= its threshold against the claimed template.

Every rate counts the first try only. ``word_accuracy`` is open recognition (argmax of the 10
words) of every word of the genuine phrases (a word the segmentation missed counts wrong).
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from eyeauth.errors import DataError
from eyeauth.fw import wordorder, words as fw_words
from eyeauth.models import keyword as K

ENROL_CLIPS = 5
ENROL_PHRASES = 5
TRIALS = 10  # challenges per speaker (each: one genuine, one replay, one impostor trial)
FIT_REPLAY_ACCEPT = 0.005  # the threshold fit: replays accepted on the fit speakers at most this
COMMAND = "eyeauth eval liveness --json"


# ---------------------------------------------------------------- trials

def speakers(part, data_dir=None):
    """{speaker: (enrol clips, {word index: [test clips]})} of a Speech Commands part."""
    out = {}
    for spk, k, wav in K.clips(part, data_dir):
        out.setdefault(spk, []).append((k, wav))
    res = {}
    for spk, cl in out.items():
        test = {}
        for k, wav in cl[ENROL_CLIPS:]:
            test.setdefault(k, []).append(wav)
        res[spk] = ([w for _, w in cl[:ENROL_CLIPS]], test)
    return res


def draw(words_available, n, rng, avoid=None):
    """n distinct words (indices) in random order from ``words_available``, never ``avoid``."""
    pool = sorted(words_available)
    while True:
        seq = tuple(int(v) for v in rng.choice(pool, n, replace=False))
        if seq != avoid:
            return seq


def say(test, seq, rng):
    """A phrase of one speaker: one random test clip of each word of ``seq``, in order."""
    from eyeauth.models import voice_phrase

    return voice_phrase.make_phrase([test[k][int(rng.integers(len(test[k])))] for k in seq], rng)


def trials(part="eval", n_words=3, per_speaker=TRIALS, seed=13, data_dir=None):
    """(trials, enrolment phrases, skipped speakers): trials are dicts with ``kind`` (genuine,
    replay, impostor), ``claimed`` speaker, ``expected`` words, ``phrase``."""
    from eyeauth.models import voice_phrase

    spk = speakers(part, data_dir)
    names = sorted(spk)
    enrol, out, skipped = {}, [], []
    for i, s in enumerate(names):
        rng = np.random.default_rng([seed, i])
        clips, test = spk[s]
        if len(test) < n_words or len(clips) < 3:
            skipped.append(s)
            continue
        enrol[s] = [voice_phrase.make_phrase([clips[j] for j in rng.choice(len(clips), 3, replace=False)], rng)
                    for _ in range(ENROL_PHRASES)]
        for _ in range(per_speaker):
            seq = draw(test, n_words, rng)
            out.append({"kind": "genuine", "claimed": s, "expected": seq, "phrase": say(test, seq, rng)})
            other = draw(test, n_words, rng, avoid=seq)
            out.append({"kind": "replay", "claimed": s, "expected": seq, "said": other,
                        "phrase": say(test, other, rng)})
            who = [t for t in names if t != s and all(k in spk[t][1] for k in seq)]
            if who:
                t = who[int(rng.integers(len(who)))]
                out.append({"kind": "impostor", "claimed": s, "expected": seq, "speaker": t,
                            "phrase": say(spk[t][1], seq, rng)})
        # the owner's recording of the right words in another order (a spliced replay): a
        # separate random stream, so the trials above stay those of earlier versions
        r2 = np.random.default_rng([seed, i, 1])
        for t in [x for x in out if x["kind"] == "genuine" and x["claimed"] == s]:
            seq = t["expected"]
            perm = list(seq)
            while perm == list(seq):
                perm = [seq[j] for j in r2.permutation(len(seq))]
            out.append({"kind": "reorder", "claimed": s, "expected": seq, "said": perm,
                        "phrase": say(test, perm, r2)})
    return out, enrol, skipped


def word_clips(folder):
    """{word: [clip paths]} of a folder of one speaker's single-word clips (<word>_<n>.wav);
    DataError unless every vocabulary word has one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; give a folder of <word>_<n>.wav clips")
    got = {}
    for f in sorted(folder.glob("*.wav")):
        k = K.word_of(f)
        if k is not None:
            got.setdefault(K.VOCAB[k], []).append(f)
    missing = [w for w in K.VOCAB if w not in got]
    if missing:
        raise DataError(f"{folder} has no clip of {', '.join(missing)}; a challenge may draw any of "
                        f"{' '.join(K.VOCAB)}: give a folder with <word>_<n>.wav clips of each")
    return got


def phrase_from_folder(folder, words, seed=None):
    """The clip of ``words`` said by the speaker of ``folder``: one random clip per word,
    trimmed, joined with 0.1-0.4 s gaps, white noise 30 dB under the speech (int16, 8 kHz)."""
    from eyeauth import datasets
    from eyeauth.models import voice_phrase

    got = word_clips(folder)
    rng = np.random.default_rng(seed)
    clips = [datasets.load_audio(got[w][int(rng.integers(len(got[w])))]) for w in words]
    return voice_phrase.make_phrase(clips, rng)


# ---------------------------------------------------------------- the board's decision

def word_scores(kcard, phrase, expected, order=None):
    """(margins of the expected words, heard words): [] margins when the segmentation finds
    fewer words than expected. With a list ``order``: each segment's logits of the expected
    words are appended (the board's order check, wordorder.py)."""
    segs, qs = K.clip_tensors(kcard, phrase, len(expected))
    if not qs:
        return [], ["?"] * segs
    margins, heard = [], []
    for q, k in zip(qs, expected):
        lg = [float(v) for v in K.logits(kcard, q)]
        margins.append(fw_words.margin(lg, k))
        heard.append(fw_words.argmax(lg))
        if order is not None:
            order.append([lg[j] for j in expected])
    return margins, heard


def words_pass(margins, n, thr, order_ok=True):
    """The board's words decision: every word heard as itself by ``thr``, in the drawn order."""
    return len(margins) == n and min(margins) >= thr and bool(order_ok)


def score_trials(kcard, vcard, tr, enrol, progress=True):
    """Adds ``margins``, ``heard`` and (with a voice card) ``voice_score`` to every trial."""
    from eyeauth.evaluation import scoring
    from eyeauth.models import voice_phrase
    from eyeauth.models.progress import Steps

    templates = {}
    if vcard is not None:
        for s, ph in enrol.items():
            templates[s] = [scoring.quantize_unit(voice_phrase.embed(vcard, x)) for x in ph]
    with Steps("liveness trials", len(tr), every=5 if progress else 1e9) as st:
        for t in tr:
            order = []
            t["margins"], t["heard"] = word_scores(kcard, t["phrase"], t["expected"], order)
            t["order_ok"] = bool(order) and wordorder.order_ok(order)
            if vcard is not None:
                t["voice_score"] = scoring.score(voice_phrase.embed(vcard, t["phrase"]), templates[t["claimed"]])
            st.tick()
    return tr


def rates(tr, thr_words, thr_voice=None):
    """The pass/reject rates of the decision rule over scored trials."""
    def accepted(t):
        ok = words_pass(t["margins"], len(t["expected"]), thr_words, t.get("order_ok", True))
        if thr_voice is not None:
            ok = ok and t["voice_score"] >= thr_voice
        return ok

    out = {}
    for kind in ("genuine", "replay", "reorder", "impostor"):
        ts = [t for t in tr if t["kind"] == kind]
        acc = [accepted(t) for t in ts]
        out[kind] = {"trials": len(ts), "accepted": int(sum(acc))}
        if thr_voice is not None and ts:
            out[kind]["voice_alone_accepted"] = int(sum(t["voice_score"] >= thr_voice for t in ts))
    return out


def word_accuracy(tr):
    """Open recognition over every word of the genuine trials (missed segments count wrong)."""
    words = [(h, k) for t in tr if t["kind"] == "genuine" for h, k in zip(
        t["heard"] if len(t["heard"]) == len(t["expected"]) else [-1] * len(t["expected"]), t["expected"])]
    return sum(h == k for h, k in words) / max(1, len(words)), len(words)


def fit_threshold(kcard, n_words=3, seed=17, data_dir=None, progress=True):
    """The words threshold from the calib + premodel speakers (never trained on, never
    reported): the lowest margin threshold whose replay acceptance there is <= 0.5 %."""
    tr, enrol = [], {}
    for part in ("calib", "premodel"):
        t, e, _ = trials(part, n_words, seed=seed, data_dir=data_dir)
        tr += [x for x in t if x["kind"] != "impostor"]
        enrol.update(e)
    score_trials(kcard, None, tr, enrol, progress)
    grid = np.round(np.arange(-10.0, 10.01, 0.05), 2)
    for thr in grid:
        r = rates(tr, thr)
        if r["replay"]["accepted"] <= FIT_REPLAY_ACCEPT * r["replay"]["trials"]:
            break
    r = rates(tr, float(thr))
    return {"threshold": float(thr), "speakers": "speech_commands calib + premodel",
            "rule": f"lowest threshold on a 0.05 grid with replay acceptance <= {FIT_REPLAY_ACCEPT:.1%}",
            "genuine_pass_rate": round(r["genuine"]["accepted"] / max(1, r["genuine"]["trials"]), 4),
            "replay_reject_rate": round(1 - r["replay"]["accepted"] / max(1, r["replay"]["trials"]), 4),
            "genuine_trials": r["genuine"]["trials"], "replay_trials": r["replay"]["trials"]}


# ---------------------------------------------------------------- modeled latency

_VM = r"""
import time, gc
from array import array
from eyeauth_fw import pipeline, release, spoken
release.use({"nets": %(nets)r})
class T:
    def record(self, *a):
        pass
for path in %(clips)r:
    x = array("h", open(path, "rb").read())
    best = None
    for _ in range(%(rep)d):
        gc.collect()
        p = pipeline.Pipeline(SimBoard(), T())
        spoken.listen(p, x, %(expected)r, %(kw)r, %(vm)r)
        st = p.stages
        py = sum(s[2] for s in st if s[0] not in ("keyword", "voice_embed", "frontend"))
        nk = sum(1 for s in st if s[0] == "keyword")
        nv = sum(1 for s in st if s[0] == "voice_embed")
        seg = sum(s[2] for s in st if s[0] == "segment")
        fe = sum(s[3] for s in st if s[0] == "frontend")
        r = (py, nk, nv, seg, fe)
        best = r if best is None or r[0] < best[0] else best
    print(*best)
"""


def modeled_ms(kcard, vcard, phrases, expected, board="esp-eye", repeats=3):
    """Modeled ms of the whole challenge check (front end + segment + words + speaker) per
    phrase on a board: the firmware's ``spoken.listen`` run in the MicroPython VM with the sim
    HAL and its models in the real TFLM interpreter (``sim.vmnn``), the Python stages at VM time
    (fastest of ``repeats``) x the board's python_speed_factor, the front end and each inference
    at the timing model's latency, as the voice latency figures are made."""
    from eyeauth import latency, mpvm
    from eyeauth.models import zoo
    from eyeauth.release import net_entry
    from eyeauth.sim import vmnn

    cfg, chip, factor = latency.board_facts(board)
    vocab = K.VOCAB
    mdir = Path(kcard["path"]).parent
    fe = zoo.load_card(zoo.FRONTEND, mdir)
    with tempfile.TemporaryDirectory() as d, vmnn.serve(mdir, chip) as addr:
        paths = []
        for i, x in enumerate(phrases):
            p = Path(d) / f"p{i}.bin"
            np.asarray(x, np.int16).tofile(p)
            paths.append(str(p))
        script = vmnn.vm_prelude(addr, cfg["name"]) + _VM % {
            "nets": {c["name"]: net_entry(c, cfg) for c in (kcard, vcard, fe)},
            "clips": paths, "rep": repeats,
            "expected": tuple(vocab[k] for k in expected), "kw": kcard["name"], "vm": vcard["name"]}
        heap = int(cfg.get("micropython_heap_bytes") or 2097152)
        r = mpvm.run(script, heap_bytes=heap, timeout=600, what="timing the challenge path",
                     error=DataError)
    rows = []
    for line in r.stdout.split("\n"):
        if line.strip():
            py, nk, nv, seg, fe_us = (int(v) for v in line.split())
            path = latency.assemble(nets=[("keyword", kcard, nk), ("voice_embed", vcard, nv)],
                                    python=[("python", latency.python_ms(py, factor)),
                                            ("frontend", fe_us / 1000.0)], chip=chip)
            nn = path["stages_ms"]["keyword"] + path["stages_ms"]["voice_embed"]
            rows.append({"python_ms": path["stages_ms"]["python"],
                         "segment_ms": latency.python_ms(seg, factor),
                         "frontend_ms": path["stages_ms"]["frontend"], "nn_ms": nn,
                         "keyword_runs": nk, "voice_runs": nv, "total_ms": path["total_ms"]})
    tot = [x["total_ms"] for x in rows]
    med = rows[int(np.argsort(tot)[len(tot) // 2])]
    return {"board": board, "python_speed_factor": factor, "phrases": len(rows),
            "seconds_mean": round(float(np.mean([len(x) for x in phrases])) / 8000, 2),
            "median": {k: round(v, 1) if isinstance(v, float) else v for k, v in med.items()},
            "min_ms": round(min(tot), 1), "max_ms": round(max(tot), 1)}


# ---------------------------------------------------------------- the whole evaluation

def evaluate(card=None, voice=None, part="eval", n_words=3, per_speaker=TRIALS, seed=13,
             speaker_check=True, latency=True, data_dir=None, progress=True, models_dir=None):
    """The liveness figures (one dict; see the module doc for the protocol)."""
    from eyeauth.evaluation import thresholds as TH
    from eyeauth.models import zoo

    kcard = card or keyword_card(models_dir)
    thr_w = kcard["output"].get("margin_threshold")
    if thr_w is None:
        raise DataError(f"{kcard['name']} has no margin_threshold on its card; run "
                        "`eyeauth eval liveness --update-card`")
    vcard = thr_v = None
    if speaker_check:
        th = TH.load(Path(zoo.models_dir(models_dir)) / "thresholds.json")
        vname = voice or th["default"]["voice"]
        vcard, thr_v = zoo.load_card(vname, models_dir), float(th["thresholds"][vname])
    tr, enrol, skipped = trials(part, n_words, per_speaker, seed, data_dir)
    score_trials(kcard, vcard, tr, enrol, progress)
    r = rates(tr, thr_w, thr_v)
    acc, nw = word_accuracy(tr)
    clean = [(k, w) for _, k, w in K.clips(part, data_dir)]
    t, m = (int(v) for v in kcard["input"]["shape"][1:3])
    hit = n = 0
    for k, w in clean:
        q = K.single_word_input(w, t, m)
        n += 1
        hit += q is not None and int(np.argmax(K.logits(kcard, q))) == k
    frac = lambda kind: r[kind]["accepted"] / max(1, r[kind]["trials"])  # noqa: E731
    out = {
        "about": f"Speech Commands {part} speakers, {n_words}-word challenges, first try; "
                 "enrol 5 phrases of the first 5 clips; phrases of the other clips",
        "part": part, "speakers": len(enrol), "speakers_skipped": skipped, "words": n_words,
        "keyword_model": kcard["name"], "margin_threshold": thr_w,
        "word_accuracy": round(acc, 4), "word_accuracy_words": nw,
        "word_accuracy_clips": round(hit / max(1, n), 4), "word_accuracy_clips_n": n,
        "genuine_pass_rate": round(frac("genuine"), 4),
        "replay_reject_rate": round(1 - frac("replay"), 4),
        "reorder_reject_rate": round(1 - frac("reorder"), 4),
        "trials": {k: r[k] for k in r},
        "command": COMMAND,
    }
    if speaker_check:
        va = r["impostor"]["voice_alone_accepted"] / max(1, r["impostor"]["trials"])
        out.update({"voice_model": vcard["name"], "voice_threshold": thr_v,
                    "impostor_reject_rate": round(1 - frac("impostor"), 4),
                    "impostor_voice_alone_far": round(va, 4),
                    "genuine_words_only_pass_rate": round(sum(
                        words_pass(x["margins"], n_words, thr_w, x.get("order_ok", True))
                        for x in tr if x["kind"] == "genuine")
                        / max(1, r["genuine"]["trials"]), 4)})
        if latency:
            gen = [x for x in tr if x["kind"] == "genuine"][:8]
            lat = modeled_ms(kcard, vcard, [x["phrase"] for x in gen], gen[0]["expected"])
            out["modeled_ms"] = lat["median"]["total_ms"]
            out["modeled"] = lat
    return out


def keyword_card(models_dir=None):
    from eyeauth.models import zoo

    cards = zoo.list_models(models_dir, modality="keyword")
    if not cards:
        raise DataError("no keyword model in models/; run `eyeauth models build kw10`")
    return cards[0]


def to_json(res):
    return json.dumps(res, indent=1)
