"""`eyeauth demo`: the whole job on a virtual ESP-EYE, with a summary."""
import signal

from eyeauth.cli.main import Result, add_json_flag


def register(sub):
    p = sub.add_parser("demo", help="everything, on a virtual ESP-EYE, with a summary",
                       description="Starts a virtual ESP-EYE, flashes it (esptool), deploys the app and "
                       "models (mpremote), enrolls identities from the data folder, runs genuine and "
                       "impostor attempts, logs telemetry into SQLite and prints a summary. The board "
                       "is stopped on exit, Ctrl-C included.")
    p.add_argument("--data", help="data folder with faces/<id>/ and voices/ (default ../shared/data)")
    p.add_argument("--out", help="where the database and report go (default: demo/ in "
                   "$EYEAUTH_CACHE or ~/.cache/eyeauth)")
    p.add_argument("--users", type=int, default=3, help="identities to enroll (default 3)")
    p.add_argument("--policy", default="cascade", choices=("face", "voice", "sum", "both", "cascade"),
                   help="fusion policy of every attempt (default cascade: face first, the spoken "
                   "phrase only when the face is unsure)")
    add_json_flag(p)
    p.set_defaults(func=_demo)


def _demo(args):
    from eyeauth.demo import run_demo, summary_text

    # Ctrl-C (even when started from a script that ignores it) and SIGTERM both end the demo
    # through KeyboardInterrupt, so the virtual board is stopped on the way out.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    res = run_demo(data=args.data, out=args.out, users=args.users, verbose=not args.json,
                   policy=args.policy)
    return Result(res, summary_text(res))
