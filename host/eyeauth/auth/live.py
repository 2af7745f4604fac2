"""Live enrolment and authentication: the board captures from its own camera and microphone
(``capture``, firmware ``eyeauth_fw/capture.py``), checks each capture as an attempt would (a
face present and good enough; speech, not clipped) and keeps it under an input id; the host
tells the person what to do, reports each capture's result, asks again for the ones the board
refused, and then names the kept ids in ``enroll`` / ``auth``, exactly as fed files are named.

A virtual board's camera and microphone are a folder of photos and recordings
(`eyeauth sim sensors`), taken through the same ``capture`` path.

Kept captures expire on the board 30 s after they were taken (inputs.py), so each modality's
captures are taken back to back and named at once; a capture older than ``FRESH_S`` is taken
again. Library code: it never prints; what a person must see goes to ``on_event``.
"""
from __future__ import annotations

import random
import time
from typing import Callable

from eyeauth.auth.client import AuthClient, Held
from eyeauth.errors import DataError, DeviceError

FRESH_S = 24.0  # a kept capture older than this is taken again (the board drops it at 30 s)
SENSOR = {"face": "camera", "voice": "mic"}
#: the board's spoken-challenge words (eyeauth_fw/words.py VOCAB): an enrolment phrase of
#: three of them is what the voice model and a later challenge hear
WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
#: refusals a person can fix by trying again (anything else ends the capture)
RETRY = {"no_face", "poor_face", "no_speech", "clipped"}
ADVICE = {
    "no_face": "look straight at the camera, face lit from the front",
    "poor_face": "more light on your face, hold still",
    "no_speech": "speak up, close to the board",
    "clipped": "speak a little further from the board",
}

Event = Callable[[dict], None]


def prompt_for(modality: str, words=None, seconds=None) -> str:
    if modality == "face":
        return "look at the camera"
    say = " ".join(w.upper() for w in words) if words else "a few words"
    return f"say: {say}" + (f"  (within {seconds} s)" if seconds else "")


def describe(modality: str, r: dict) -> str:
    """One line of what the board saw in a kept capture."""
    if modality == "face":
        x, y, w, h = (list(r.get("box") or [0, 0, 0, 0]) + [0] * 4)[:4]
        frac = w / r["w"] if r.get("w") else 0
        return f"face found ({w}x{h} px, {100 * frac:.0f} % of the frame width)"
    return f"speech {r.get('speech_s', 0):.1f} s of {r.get('seconds', 0):.1f} s heard"


class Live:
    """Captures for one command on one board. ``tries``: captures per kept one at most."""

    def __init__(self, client: AuthClient, on_event: Event | None = None, tries: int = 3,
                 rng: random.Random | None = None, pause_s: float = 0.0):
        self.c = client
        self.say = on_event or (lambda e: None)
        self.tries = max(1, int(tries))
        self.rng = rng or random.Random()
        self.pause_s = pause_s
        self.log: list[dict] = []

    def phrase(self, n: int = 3) -> list[str]:
        return self.rng.sample(WORDS, n)

    def one(self, modality: str, words=None, label: str = "", seconds=None) -> tuple[Held, dict]:
        """One kept capture: prompt, capture, and again while the board refuses it for a reason
        the person can fix (at most ``tries`` captures); DataError when none is kept."""
        last = None
        for k in range(1, self.tries + 1):
            self.say({"event": "prompt", "modality": modality, "label": label, "try": k,
                      "text": prompt_for(modality, words, seconds)})
            if self.pause_s:
                time.sleep(self.pause_s)
            try:
                r = self.c.capture(SENSOR[modality])
            except DeviceError as e:
                if e.code not in RETRY:
                    raise
                last = e
                why = str(e).split("`: ", 1)[-1]  # the board's words, without "board refused ..."
                entry = {"event": "refused", "modality": modality, "label": label, "try": k,
                         "code": e.code, "text": why, "advice": ADVICE.get(e.code, "")}
                self.log.append(entry)
                self.say(entry)
                continue
            entry = {"event": "kept", "modality": modality, "label": label, "try": k,
                     "text": describe(modality, r), "input": r["input"],
                     "quality": {k2: r[k2] for k2 in ("box", "w", "h", "speech_s", "seconds")
                                 if k2 in r}}
            self.log.append(entry)
            self.say(entry)
            return Held(r), r
        raise DataError(f"the board refused {self.tries} {modality} captures in a row "
                        f"({last.code if last else '?'}: {ADVICE.get(getattr(last, 'code', ''), '')}); "
                        f"try again with --tries N or feed files (--{modality} DIR)")

    def batch(self, modality: str, n: int) -> list[Held]:
        """``n`` kept captures of one modality, taken back to back; one that has been kept
        longer than FRESH_S (the board forgets it at 30 s) is taken again."""
        kept: list[tuple[float, Held]] = []
        while len(kept) < n:
            words = self.phrase() if modality == "voice" else None
            held, _ = self.one(modality, words, label=f"{len(kept) + 1}/{n}")
            kept.append((time.monotonic(), held))
            now = time.monotonic()
            stale = [k for k in kept if now - k[0] > FRESH_S]
            if stale:
                self.say({"event": "note", "modality": modality,
                          "text": f"{len(stale)} {modality} capture(s) too old for the board: "
                                  "taking them again"})
                kept = [k for k in kept if k not in stale]
        return [h for _, h in kept]

    def enroll(self, user: str, modalities=("face", "voice"), n: int = 5) -> dict:
        """Enrol ``user`` from ``n`` kept captures per modality, one signed enroll each
        (the board replaces only the named modality's templates)."""
        out = {}
        for mod in modalities:
            held = self.batch(mod, n)
            r = self.c.enroll(user, **{"faces" if mod == "face" else "voices": held})
            out = r
        return {**out, "captures": self.log}

    def auth(self, modalities, policy=None, user=None, spoken=None, words=None,
             seconds=None) -> dict:
        """One attempt on kept captures of ``modalities`` (the voice says ``words`` when given:
        a spoken challenge's)."""
        got = {}
        for mod in modalities:
            w = words if mod == "voice" else None
            if mod == "voice" and w is None:
                w = self.phrase()
            got[mod], _ = self.one(mod, w, seconds=seconds if mod == "voice" else None)
        r = self.c.auth(got.get("face"), got.get("voice"), policy=policy, user=user,
                        spoken=spoken)
        r["captures"] = self.log
        return r
