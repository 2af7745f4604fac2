"""`eyeauth enroll`, `eyeauth auth`, `eyeauth users`: authentication on the board, from files or
live from the board's own camera and microphone (--live)."""
import sys
from pathlib import Path

from eyeauth.cli.main import Result, add_json_flag, add_port_arg
from eyeauth.errors import DeviceError, UsageError

RECORD = ("What to record: face photos, the face filling a good part of the frame, lit from the "
          "front, any format Pillow reads (pgm, png, jpg); voice: WAV files of about 2 s (a "
          "3-word phrase), mono, 8 kHz or more (16/44.1/48 kHz and stereo are converted), at most "
          "4 s (longer ones are refused, never cut)")



def register(sub):
    p = sub.add_parser("enroll", help="enroll a user, live from the board's camera and microphone "
                       "or from files",
                       description="Enroll a user: with --live the board captures N faces (\"look "
                       "at the camera\") and N spoken phrases (\"say: ...\") itself, checks each "
                       "(a face present and good enough; speech, not clipped) and the ones it "
                       "refuses are taken again; with --face/--voice it takes N image / WAV files "
                       "instead (what its camera and microphone would capture). The board computes "
                       "and stores the templates; they never leave it. Signed with the pairing "
                       "secret. " + RECORD + ".")
    add_port_arg(p)
    p.add_argument("--user", required=True, help="the name to enroll (1-32 of A-Z a-z 0-9 . _ - @)")
    p.add_argument("--face", type=Path, help="folder of face images (or one image)")
    p.add_argument("--voice", type=Path, help="folder of voice clips (.wav) (or one clip)")
    p.add_argument("--live", action="store_true", help="the board captures every modality not "
                   "given as files (--modality: only that one)")
    p.add_argument("--modality", choices=("face", "voice"), help="with --live: capture only this "
                   "modality (default: both)")
    p.add_argument("-n", "--samples", type=int, default=5, help="images and clips per modality "
                   "(1-5, default 5)")
    p.add_argument("--tries", type=int, default=3, help="with --live: captures per kept one, at "
                   "most (default 3)")
    add_json_flag(p)
    p.set_defaults(func=_enroll)

    a = sub.add_parser("auth", help="authenticate live on the board, or a face image and/or voice clip",
                       description="Run one authentication on the board: detect, crop, embed, match, "
                       "fuse, decide. With --live the board captures the face and/or the voice the "
                       "policy needs (the CLI says when to look and what to say, and asks again for a "
                       "capture the board refuses); else it takes --face / --voice files. Prints the "
                       "decision; with the pairing secret (signed debug mode) also scores, models and "
                       "per-stage latency (measured on the board, modeled for it).")
    add_port_arg(a)
    a.add_argument("--face", type=Path, help="face image")
    a.add_argument("--voice", type=Path, help="voice clip (.wav)")
    a.add_argument("--live", action="store_true", help="the board captures what the policy needs "
                   "and no file gives (the face, the voice, or both)")
    a.add_argument("--tries", type=int, default=3, help="with --live: captures per kept one, at "
                   "most (default 3)")
    a.add_argument("--user", help="claimed identity (default: identify among the enrolled)")
    a.add_argument("--policy", choices=("face", "voice", "sum", "both", "cascade", "challenge", "face+challenge"),
                   help="fusion policy (default: the board's, cascade; another needs the pairing secret)")
    a.add_argument("--challenge", action="store_true",
                   help="spoken challenge (liveness): the board draws words, the voice clip must say "
                   "them in order, in the enrolled voice, within the board's time limit; the clip "
                   "is --voice (a recording), made from --words-from, or the board's microphone. "
                   "Without it, when the board sees no usable face (cascade policy) it asks for "
                   "the challenge and the command guides you through it")
    a.add_argument("--words-from", type=Path, metavar="DIR",
                   help="for a spoken challenge: a folder of one speaker's single-word clips "
                   "(<word>_<n>.wav, Speech Commands layout); the host joins one clip of each drawn "
                   "word with random gaps and background noise (the virtual board's microphone)")
    a.add_argument("--words", type=int, choices=(3, 4), help="with --challenge: words to draw (board default 3)")
    a.add_argument("--seed", type=int, help="with --words-from: seed of the clip choice, gaps and noise")
    a.add_argument("--decision-only", action="store_true",
                   help="do not turn on the board's debug mode even when the pairing secret is here")
    add_json_flag(a)
    a.set_defaults(func=_auth)

    u = sub.add_parser("users", help="list, delete or unlock users on the board")
    add_port_arg(u)
    u.add_argument("--delete", metavar="USER", help="delete this user's templates (signed)")
    u.add_argument("--unlock", action="store_true", help="clear a lockout after failed attempts (signed)")
    u.add_argument("--flush", action="store_true", help="drop every fed input the board still holds")
    add_json_flag(u)
    u.set_defaults(func=_users)


def _checked(paths, modality):
    """The files as the board will take them, checked before the port opens: converted ones
    named in one line each, anything else refused in one line."""
    from eyeauth.auth import inputs
    from eyeauth.progress import note

    read = inputs.read_frame if modality == "face" else inputs.read_clip
    out = []
    for p in paths:
        x, notes = read(p)
        for line in notes:
            note(f"converted {line}")
        out.append(x)
    return out


def _tell(event):
    """What a person in front of the board must see: on stderr, whatever --json says."""
    e = event["event"]
    head = f"{event.get('modality', '')} {event.get('label', '')}".strip()
    if e == "prompt":
        again = f" (try {event['try']})" if event["try"] > 1 else ""
        line = f">> {head}: {event['text']}{again}"
    elif e == "kept":
        line = f"   ok: {event['text']}"
    elif e == "refused":
        line = f"   refused: {event['text']}" + (f"; {event['advice']}" if event.get("advice") else "")
    else:
        line = f"   {event['text']}"
    try:
        print(line, file=sys.stderr, flush=True)
    except BrokenPipeError:
        pass


def _client(port, debug=False):
    from eyeauth.auth import pairing
    from eyeauth.auth.client import AuthClient
    from eyeauth.link.client import AppClient
    from eyeauth.link.transport import open_transport

    if debug and not pairing.key_path().exists():
        debug = False  # no secret here: the board answers with its decision only
    t = open_transport(port)
    app = AppClient(t)
    app.ensure_app()
    return AuthClient(app, debug=debug), t


def _live(c, args):
    from eyeauth.auth.live import Live

    if args.tries < 1:
        raise UsageError("--tries must be at least 1")
    return Live(c, on_event=_tell, tries=args.tries)


def _enroll(args):
    if not 1 <= args.samples <= 5:
        raise UsageError(f"--samples {args.samples}: the board enrols 1 to 5 per modality")
    if args.modality and not args.live:
        raise UsageError("--modality goes with --live (files: give --face and/or --voice)")
    from eyeauth.auth.inputs import files

    faces = _checked(files(args.face, "face", args.samples) if args.face else [], "face")
    voices = _checked(files(args.voice, "voice", args.samples) if args.voice else [], "voice")
    live = [m for m in ((args.modality,) if args.modality else ("face", "voice"))
            if args.live and not {"face": faces, "voice": voices}[m]]
    if args.live and not live:
        raise UsageError("--live has nothing to capture: --face and --voice give both modalities")
    if not faces and not voices and not live:
        raise UsageError("give --live (the board's camera and microphone) or --face DIR and/or "
                         "--voice DIR")
    c, t = _client(args.port)
    with t:
        captures = []
        if faces or voices:
            r = c.enroll(args.user, faces, voices)
        if live:
            lv = _live(c, args)
            r = lv.enroll(args.user, live, args.samples)
            captures = r.pop("captures")
    r["captures"] = captures
    refused = sum(1 for e in captures if e["event"] == "refused")
    extra = f" ({len(captures)} live captures, {refused} refused and taken again)" if captures else ""
    return Result(r, f"enrolled {r['user']}: {r['samples']}{extra}")


def _policy_needs(policy):
    if policy == "face":
        return ("face",)
    if policy in ("voice", "challenge"):
        return ("voice",)
    return ("face", "voice")


def _auth(args):
    if args.challenge:
        return _auth_challenge(args)
    if args.words:
        raise UsageError("--words goes with --challenge")
    if args.words_from:  # answers a challenge the board may ask for (no usable face): check it now
        from eyeauth.evaluation import liveness

        liveness.word_clips(args.words_from)
    if args.live:
        return _auth_live(args)
    if args.face is None and args.voice is None:
        raise UsageError("give --live (the board's camera and microphone) or --face and/or --voice")
    face = _checked([args.face], "face")[0] if args.face else None
    voice = _checked([args.voice], "voice")[0] if args.voice else None
    c, t = _client(args.port, debug=not args.decision_only)
    with t:
        try:
            r = c.auth(face, voice, policy=args.policy, user=args.user)
        except DeviceError as e:
            if e.code != "need_challenge":
                raise
            return _no_face(args, c)
        finally:
            c.end_debug()  # debug mode is board-wide: leave it off
    return _auth_result(args, r)


def _auth_live(args):
    """Capture what the policy needs (the board's configured one, cascade by default: face and
    voice) and no file gives, then one attempt on those inputs."""
    face = _checked([args.face], "face")[0] if args.face else None
    voice = _checked([args.voice], "voice")[0] if args.voice else None
    need = [m for m in _policy_needs(args.policy or "cascade")
            if {"face": face, "voice": voice}[m] is None]
    c, t = _client(args.port, debug=not args.decision_only)
    with t:
        try:
            lv = _live(c, args)
            held = {m: lv.one(m, lv.phrase() if m == "voice" else None)[0] for m in need}
            try:
                r = c.auth(held.get("face", face), held.get("voice", voice), policy=args.policy,
                           user=args.user)
            except DeviceError as e:
                if e.code != "need_challenge":
                    raise
                return _no_face(args, c, lv)
        finally:
            c.end_debug()
    r["captures"] = lv.log
    return _auth_result(args, r)


def _no_face(args, c, lv=None):
    """The board saw no usable face (camera covered, too dark, no face): under cascade a plain
    voice clip may not decide, so guide the user through the spoken challenge instead (with the
    same face input, which the board checks again)."""
    _tell({"event": "prompt", "modality": "voice", "try": 1,
           "text": "no usable face in front of the camera: answer the board's spoken challenge "
                   "instead" + ("" if args.words_from or lv else " (speak into the board's microphone)")})
    args.voice = None  # a recording cannot answer words the board has not drawn yet
    return _auth_challenge(args, c, lv)


def _auth_challenge(args, c=None, lv=None):
    from eyeauth.evaluation import liveness

    if args.voice and args.words_from:
        raise UsageError("give --voice (a recording) or --words-from (a folder of word clips), not both")
    if args.live and (args.voice or args.words_from):
        raise UsageError("--live records the challenge's words from the board's microphone: drop "
                         "--voice / --words-from")
    if args.words_from:
        liveness.word_clips(args.words_from)  # a bad folder fails before the board draws
    if c is None:
        c, t = _client(args.port, debug=not args.decision_only)
        with t:
            try:
                return _auth_challenge(args, c)
            finally:
                c.end_debug()
    clip = _checked([args.voice], "voice")[0] if args.voice else None
    face = _checked([args.face], "face")[0] if args.face else None
    if args.live and lv is None:
        lv = _live(c, args)
        # the face before the words are drawn: the challenge's time runs from `say`
        if face is None and (args.policy or "face+challenge") != "challenge":
            face = lv.one("face")[0]
    ch = c.say(args.words)
    if args.words_from:
        clip = liveness.phrase_from_folder(args.words_from, ch["words"], args.seed)
    if lv is not None:
        clip = lv.one("voice", ch["words"], seconds=ch["ttl_s"])[0]
    else:  # the words, whoever says them (a clip made from --words-from, or the board's microphone)
        _tell({"event": "prompt", "modality": "voice", "try": 1,
               "text": f"say: {' '.join(ch['words']).upper()}  (within {ch['ttl_s']} s)"})
    r = c.auth(face, clip, policy=args.policy, user=args.user, spoken=ch["challenge"])
    r["challenge_words"] = ch["words"]
    if lv is not None:
        r["captures"] = lv.log
    return _auth_result(args, r, f" (challenge: {' '.join(ch['words'])})")


def _auth_result(args, r, extra=""):
    head = ("ACCEPTED " + str(r["user"]) if r["accepted"] else "REJECTED") + extra
    if args.decision_only:
        r = {k: r[k] for k in ("ok", "accepted", "user", "locked", "challenge_words", "captures")
             if k in r}
    if "stages" not in r:  # decision only
        return Result(r, head + (" (locked: too many failed attempts)" if r.get("locked") else ""))
    lines = [f"{head} ({r['policy']}, used {'+'.join(r['used'])})"]
    for k in ("face_score", "voice_score"):
        if k in r:
            lines.append(f"  {k}: {r[k]:.3f}")
    if "heard" in r:
        lines.append(f"  heard: {' '.join(r['heard'])} (word margins {r.get('word_margins')})")
    lines.append(f"  {'stage':12} {'model':10} {'measured ms':>12} {'modeled ms':>11}")
    for stage, model, us, mod in r["stages"]:
        lines.append(f"  {stage:12} {model:10} {us / 1000:12.1f} {mod / 1000:11.1f}")
    lines.append(f"  total: measured {r['total_us'] / 1000:.1f} ms, modeled for the board {r['modeled_us'] / 1000:.1f} ms")
    return Result(r, "\n".join(lines))


def _users(args):
    c, t = _client(args.port)
    with t:
        if args.delete:
            c.delete(args.delete)
        if args.unlock:
            c.unlock()
        if args.flush:
            c.flush()
        r = c.users()
    text = "\n".join(f"{u}: {m}" for u, m in sorted(r["users"].items())) or "nobody is enrolled"
    if r.get("locked"):
        text += f"\n(locked for {r.get('wait_s', '?')} s more after failed attempts; `eyeauth users --unlock`)"
    return Result(r, text)
