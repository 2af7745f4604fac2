"""`eyeauth deploy --port P`: app, models and premodel onto the board filesystem."""
from eyeauth.board.deploy import build_bundle, deploy
from eyeauth.cli.main import (MODELS_HELP, Result, add_board_arg, add_json_flag,
                              add_models_arg, add_port_arg)
from eyeauth.progress import Steps


def register(sub):
    p = sub.add_parser("deploy", help="copy the app and models onto the board (mpremote)",
                       description="Compile the firmware with mpy-cross and copy it, the models and "
                       "the premodel onto the board's filesystem through mpremote's raw REPL. Only "
                       "files whose content changed are sent; each is written to a temporary name "
                       "and renamed, so an interrupted deploy leaves no half file and the next one "
                       "completes. The app restarts at the end.")
    add_port_arg(p)
    add_models_arg(p, help=MODELS_HELP + "; checked first (`eyeauth release check`): a "
                   "mismatched release is refused before the port opens")
    add_board_arg(p, help="board config (board_configs/): its camera, mic and arena data go to "
                  "/hal/board.json, its arena room is checked (default: $EYEAUTH_BOARD, else "
                  "board in [tool.eyeauth], else esp-eye)")
    p.add_argument("--no-mpy", action="store_true", help="copy .py sources instead of .mpy")
    p.add_argument("--no-models", action="store_true", help="leave models/ out")
    p.add_argument("--pair", action="store_true", help="put the pairing secret on the board (created "
                   "in ~/.config/eyeauth/pairing.key if missing): enroll and delete need it")
    add_json_flag(p)
    p.set_defaults(func=_deploy)


def _deploy(args):
    from eyeauth import release
    from eyeauth.models import zoo

    rel = None
    if not args.no_models:
        # nothing is written to a board from a mismatched release, or one whose arenas it
        # cannot hold; the release is loaded once, here, and shipped as loaded
        rel = release.require(zoo.models_dir(args.models), board=args.board)

    def build(arch):
        return build_bundle(models_dir=None, use_mpy=not args.no_mpy, arch=arch,
                            board=args.board, release=rel)

    key = None
    if args.pair:
        from eyeauth.auth.pairing import load_key
        key = load_key(create=True)
    with Steps("deploying", unit="B") as bar:
        def progress(n, total=None):
            if total is not None:
                bar.set_total(total or 1)
            bar.advance(n)

        res = deploy(args.port, build=build, progress=progress, pairing_key=key)
    d = res.as_dict()
    text = (f"{len(res.files_sent)} of {res.files_total} files sent ({res.bytes_sent} bytes, "
            f"{res.seconds:.1f} s); {len(res.files_removed)} stale removed; "
            f"app {'started' if res.app_started else 'did NOT start: check `mpremote connect ' + args.port + ' repl`'}")
    return Result(d, text)
