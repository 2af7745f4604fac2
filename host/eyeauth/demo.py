"""The demo: a virtual ESP-EYE taken through flash, deploy, enrollment, genuine and impostor
attempts, telemetry into SQLite and a report. Persons are made of face and voice identities
from evaluation sets that no model trained on: ORL faces and Speech Commands evaluation
speakers saying 3-word phrases (data/splits.json)."""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from eyeauth.board.deploy import deploy
from eyeauth.board.flash import flash
from eyeauth.link.client import AppClient
from eyeauth.link.transport import open_transport
from eyeauth.sim import VirtualBoard
from eyeauth.telemetry.report import report
from eyeauth.telemetry.sink import FrameSink
from eyeauth.telemetry.store import TelemetryStore


def _say(verbose, msg):
    if verbose:
        from eyeauth.progress import note

        note(f"demo: {msg}")


def _persons(data: Path, users: int):
    """Virtual persons from evaluation sets no model trained on (data/splits.json): a face of
    ORL (an evaluation-only source) and a voice of a Speech Commands evaluation speaker, who
    speaks 3-word phrases (``crosseval.phrase_files``: 5 enrol, 10 to try). Returns (persons
    [(name, face id, speaker)], face files, phrase files, stranger face ids)."""
    from eyeauth import splits
    from eyeauth.datasets import scan
    from eyeauth.evaluation import crosseval

    faces = scan(splits.folder("orl", data), "face").files
    voices = crosseval.phrase_files("speech_commands", data)
    fids = [i for i in splits.identities("orl", "eval") if i in faces]
    vids = [i for i in splits.identities("speech_commands", "eval") if len(voices.get(i, ())) > 5]
    n = max(1, min(users, len(fids), len(vids)))
    return [(f"user{k + 1}", fids[k], vids[k]) for k in range(n)], faces, voices, fids[n:]


def run_demo(data=None, out=None, users=3, verbose=True, policy="cascade") -> dict:
    import secrets

    from eyeauth import SHARED_DATA_DIR
    from eyeauth.auth.client import AuthClient

    from eyeauth import cache_dir

    data = Path(data) if data else SHARED_DATA_DIR
    out = Path(out) if out else cache_dir() / "demo"  # never the checkout by default
    out.mkdir(parents=True, exist_ok=True)
    db = out / "telemetry.db"
    if db.exists():
        db.unlink()
    t0 = time.monotonic()
    persons, faces, voices, strangers = _persons(data, users)
    res: dict = {"board": "esp-eye (virtual)", "policy": policy, "steps": {}}
    key = secrets.token_bytes(32)
    with tempfile.TemporaryDirectory(prefix="eyeauth-demo-") as tmp, VirtualBoard(tmp) as vb:
        _say(verbose, f"virtual ESP-EYE on {vb.port} (bootloader {vb.boot_port})")
        from eyeauth.board.configs import load_board
        from eyeauth.sim.flashimg import build_app_image

        res["steps"]["flash"] = flash(vb.boot_port, build_app_image(),
                                      load_board("esp-eye")["flash_layout"]["app"])
        _say(verbose, f"flashed and verified {res['steps']['flash']['bytes']} bytes (esptool)")
        d = deploy(vb.port, pairing_key=key)
        res["steps"]["deploy"] = d.as_dict()
        _say(verbose, f"deployed {len(d.files_sent)} files, {d.bytes_sent} bytes (mpremote)")
        with TelemetryStore(db) as store, open_transport(vb.port) as t:
            store.begin_session(vb.port)
            app = AppClient(t, timeout=60, on_frame=FrameSink(store, vb.port))
            res["steps"]["hello"] = app.ensure_app()
            with AuthClient(app, key, debug=True) as c:  # scores, stages: debug mode, off after
                trials = _attempts(c, data, persons, faces, voices, strangers, policy, verbose)
            res["lockouts"] = sum(bool(r.get("locked")) for _, _, r in trials)
            st = app.command("status")
            res["heap_free"], res["heap_min"] = st["heap_free"], st["heap_min"]
            store.commit(ended=True)
    report(db, out / "report")
    res.update(_summarise(trials))
    res["report"] = str(out / "report" / "report.md")
    res["db"] = str(db)
    res["seconds"] = round(time.monotonic() - t0, 1)
    return res


def _attempts(c, data, persons, faces, voices, strangers, policy, verbose) -> list:
    """Enrol the persons, then their genuine attempts, each other's and strangers' as
    impostors. -> [(kind, claimed user, reply)]."""
    import numpy as np

    from eyeauth.errors import DeviceError

    for name, fid, vid in persons:
        # as many samples as the thresholds were set with (3 faces, 5 utterances)
        r = c.enroll(name, faces[fid][:3], voices[vid][:5])
        _say(verbose, f"enrolled {name} (face {fid}, voice {vid}): {r['samples']}")
    rng = np.random.default_rng(7)
    trials = []

    def attempt(face, spk, name):
        clip = voices[spk][rng.integers(5, len(voices[spk]))]
        try:
            r = c.auth(face, clip, policy=policy, user=name)
        except DeviceError as e:
            if e.code != "need_challenge":
                raise
            # no usable face: the person says the words the board draws instead
            r = _challenge(c, face, data / "voices" / "speech_commands" / spk, name, rng)
        if r.get("locked"):  # 5 rejections in a row: the operator unlocks, as a user would
            c.unlock()
        return r

    for name, fid, vid in persons:
        for k in range(3, min(len(faces[fid]), 10)):
            trials.append(("genuine", name, attempt(faces[fid][k], vid, name)))
        for other, ofid, ovid in persons:
            if other != name:  # someone else claiming to be `name`
                trials.append(("impostor", name, attempt(faces[ofid][6], ovid, name)))
        idx = [p[0] for p in persons].index(name)
        other_voice = persons[(idx + 1) % len(persons)][2]
        for sid in strangers[:8]:  # a stranger's face with another person's voice
            trials.append(("impostor", name, attempt(faces[sid][0], other_voice, name)))
        _say(verbose, f"authenticated attempts for {name}: {sum(1 for t in trials if t[1] == name)}")
    return trials


def _challenge(c, face, folder, name, rng, draws: int = 30) -> dict:
    """A spoken challenge answered by the speaker of `folder` (their single-word clips, joined
    as liveness.phrase_from_folder does). The data has no clip of some words for some speakers:
    the demo draws again (a draw costs nothing; only the attempt counts) until every word is
    one they said; none in `draws` draws: the reply of a person who could not answer."""
    from eyeauth import datasets
    from eyeauth.models import keyword, voice_phrase

    said: dict = {}
    for f in sorted(folder.glob("*.wav")):
        k = keyword.word_of(f)
        if k is not None:
            said.setdefault(keyword.VOCAB[k], []).append(f)
    for _ in range(draws):
        ch = c.say()
        if all(w in said for w in ch["words"]):
            clips = [datasets.load_audio(said[w][int(rng.integers(len(said[w])))]) for w in ch["words"]]
            r = c.auth(face, voice_phrase.make_phrase(clips, rng), user=name, spoken=ch["challenge"])
            r["challenged"] = True
            return r
    return {"accepted": False, "user": None, "used": [], "stages": [], "total_us": 0, "modeled_us": 0,
            "models": {}, "challenged": True, "unanswered": True}


def _summarise(trials) -> dict:
    gen = [r for kind, _, r in trials if kind == "genuine"]
    imp = [r for kind, _, r in trials if kind == "impostor"]
    stages: dict = {}
    for _, _, r in trials:
        for stage, model, us, mod in r["stages"]:
            s = stages.setdefault(stage, {"n": 0, "measured_ms": 0.0, "modeled_ms": 0.0})
            s["n"] += 1
            s["measured_ms"] += us / 1000
            s["modeled_ms"] += mod / 1000
    for s in stages.values():
        s["measured_ms"] = round(s["measured_ms"] / s["n"], 2)
        s["modeled_ms"] = round(s["modeled_ms"] / s["n"], 1)
    return {
        "attempts": len(trials), "genuine": len(gen), "impostor": len(imp),
        "far": round(sum(r["accepted"] for r in imp) / max(1, len(imp)), 4),
        "frr": round(sum(not r["accepted"] for r in gen) / max(1, len(gen)), 4),
        "mean_modeled_ms": round(sum(r["modeled_us"] for _, _, r in trials) / max(1, len(trials)) / 1000, 1),
        "mean_measured_ms": round(sum(r["total_us"] for _, _, r in trials) / max(1, len(trials)) / 1000, 1),
        "voice_used": round(sum("voice" in r["used"] for _, _, r in trials) / max(1, len(trials)), 3),
        # no usable face: the board asked for the spoken challenge (cascade)
        "challenged": round(sum(bool(r.get("challenged")) for _, _, r in trials) / max(1, len(trials)), 3),
        "stages": stages,
        "trials": [{"kind": kind, "claimed": who, "accepted": r["accepted"], "used": r["used"],
                    "face_score": r.get("face_score"), "voice_score": r.get("voice_score"),
                    "models": r["models"]} for kind, who, r in trials],
    }


def summary_text(res: dict) -> str:
    lines = [f"eyeauth demo on a {res['board']} ({res['seconds']} s), policy {res['policy']}",
             f"  flash: {res['steps']['flash']['bytes']} bytes written and verified; "
             f"deploy: {len(res['steps']['deploy']['files_sent'])} files",
             f"  attempts: {res['attempts']} ({res['genuine']} genuine, {res['impostor']} impostor); "
             f"lockouts after 5 rejections in a row: {res.get('lockouts', 0)} (unlocked by the operator)",
             f"  FAR {res['far'] * 100:.1f}%   FRR {res['frr'] * 100:.1f}%   (voice needed in {res['voice_used'] * 100:.0f}% of attempts; "
             f"no usable face, so a spoken challenge, in {res['challenged'] * 100:.0f}%)",
             f"  latency per attempt: modeled for the ESP-EYE {res['mean_modeled_ms']:.0f} ms, measured on the virtual board {res['mean_measured_ms']:.0f} ms",
             f"  {'stage':12} {'measured ms':>12} {'modeled ms':>11}"]
    for stage, s in res["stages"].items():
        lines.append(f"  {stage:12} {s['measured_ms']:12.2f} {s['modeled_ms']:11.1f}")
    lines += [f"  heap free {res['heap_free']} bytes; low-water mark {res['heap_min']} bytes",
              f"  telemetry: {res['db']}; report: {res['report']}"]
    return "\n".join(lines)
