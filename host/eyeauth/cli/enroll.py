"""`eyeauth enroll`, `eyeauth auth`, `eyeauth users`: authentication on the board."""
from pathlib import Path

from eyeauth.cli.main import Result, add_json_flag
from eyeauth.errors import DataError, DeviceError

IMAGE_EXT = {".pgm", ".png", ".jpg", ".jpeg", ".bmp"}
AUDIO_EXT = {".wav"}


def register(sub):
    p = sub.add_parser("enroll", help="enroll a user from face images and voice clips",
                       description="Send N face images and N voice clips to the board (what its camera "
                       "and microphone would capture) and enroll the user: the board computes and "
                       "stores the templates; they never leave it. Signed with the pairing secret.")
    p.add_argument("--port", help="the board's serial port (default: $EYEAUTH_PORT, else port in [tool.eyeauth] of pyproject.toml)")
    p.add_argument("--user", required=True)
    p.add_argument("--face", type=Path, help="folder of face images (or one image)")
    p.add_argument("--voice", type=Path, help="folder of voice clips (.wav) (or one clip)")
    p.add_argument("-n", "--samples", type=int, default=5, help="images and clips to use (default 5)")
    add_json_flag(p)
    p.set_defaults(func=_enroll, config_keys=("port",))

    a = sub.add_parser("auth", help="authenticate a face image and/or voice clip on the board",
                       description="Run one authentication on the board: detect, crop, embed, match, "
                       "fuse, decide. Prints the decision; with the pairing secret (signed debug mode) "
                       "also scores, models and per-stage latency (measured on the board, modeled for it).")
    a.add_argument("--port", help="the board's serial port (default: $EYEAUTH_PORT, else port in [tool.eyeauth] of pyproject.toml)")
    a.add_argument("--face", type=Path, help="face image")
    a.add_argument("--voice", type=Path, help="voice clip (.wav)")
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
    a.set_defaults(func=_auth, config_keys=("port",))

    u = sub.add_parser("users", help="list, delete or unlock users on the board")
    u.add_argument("--port", help="the board's serial port (default: $EYEAUTH_PORT, else port in [tool.eyeauth] of pyproject.toml)")
    u.add_argument("--delete", metavar="USER", help="delete this user's templates (signed)")
    u.add_argument("--unlock", action="store_true", help="clear a lockout after failed attempts (signed)")
    u.add_argument("--flush", action="store_true", help="drop every fed input the board still holds")
    add_json_flag(u)
    u.set_defaults(func=_users, config_keys=("port",))


def _files(path, ext, n, what):
    if path is None:
        return []
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{what} {path} not found")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in ext)
    if not files:
        raise DataError(f"no {what} files ({', '.join(sorted(ext))}) in {path}")
    return files[:n]


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


def _enroll(args):
    faces = _files(args.face, IMAGE_EXT, args.samples, "face image")
    voices = _files(args.voice, AUDIO_EXT, args.samples, "voice clip")
    if not faces and not voices:
        raise DataError("give --face and/or --voice")
    c, t = _client(args.port)
    with t:
        r = c.enroll(args.user, faces, voices)
    return Result(r, f"enrolled {r['user']}: {r['samples']}")


def _auth(args):
    if args.challenge and args.voice and args.words_from:
        raise DataError("give --voice (a recording) or --words-from (a folder of word clips), not both")
    if args.words_from:
        from eyeauth.auth import liveness

        liveness.word_clips(args.words_from)  # a bad folder fails before the board draws
    if args.challenge:
        return _auth_challenge(args)
    if args.words:
        raise DataError("--words goes with --challenge")
    if args.face is None and args.voice is None:
        raise DataError("give --face and/or --voice")
    c, t = _client(args.port, debug=not args.decision_only)
    with t:
        try:
            r = c.auth(args.face, args.voice, policy=args.policy, user=args.user)
        except DeviceError as e:
            if e.code != "need_challenge":
                raise
            return _no_face(args, c)
        finally:
            c.end_debug()  # debug mode is board-wide: leave it off
    return _auth_result(args, r)


def _no_face(args, c):
    """The board saw no usable face (camera covered, too dark, no face): under cascade a plain
    voice clip may not decide, so guide the user through the spoken challenge instead (with the
    same face input, which the board checks again)."""
    from eyeauth.models.progress import note

    note("no usable face in front of the camera: answer the board's spoken challenge instead"
         + ("" if args.words_from else " (speak into the board's microphone)"))
    args.voice = None  # a recording cannot answer words the board has not drawn yet
    return _auth_challenge(args, c)


def _auth_challenge(args, c=None):
    from eyeauth.auth import liveness
    from eyeauth.models.progress import note

    if c is None:
        c, t = _client(args.port, debug=not args.decision_only)
        with t:
            try:
                return _auth_challenge(args, c)
            finally:
                c.end_debug()
    ch = c.say(args.words)
    note(f"say: {' '.join(ch['words']).upper()}  (within {ch['ttl_s']} s)")
    clip = args.voice
    if args.words_from:
        clip = liveness.phrase_from_folder(args.words_from, ch["words"], args.seed)
    r = c.auth(args.face, clip, policy=args.policy, user=args.user, spoken=ch["challenge"])
    r["challenge_words"] = ch["words"]
    return _auth_result(args, r, f" (challenge: {' '.join(ch['words'])})")


def _auth_result(args, r, extra=""):
    head = ("ACCEPTED " + str(r["user"]) if r["accepted"] else "REJECTED") + extra
    if args.decision_only:
        r = {k: r[k] for k in ("ok", "accepted", "user", "locked", "challenge_words") if k in r}
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
