"""`eyeauth bench link|...`: benchmarks that print their figures."""
import contextlib
import tempfile

from eyeauth.cli.main import add_json_flag, add_port_arg

# Other modules add bench targets here: name -> (help, add_arguments(parser), run(args) -> Result)
TARGETS = {}


def target(name, helptext):
    def deco(fn):
        TARGETS[name] = (helptext, fn)
        return fn
    return deco


def register(sub):
    p = sub.add_parser("bench", help="benchmarks (link, auth, ...) with printed figures",
                       description="Benchmarks that print their numbers. Without --port they run "
                       "on a fresh virtual ESP-EYE that is stopped afterwards.")
    ss = p.add_subparsers(dest="bench_target", metavar="TARGET", required=True)
    _load_targets()
    for name, (helptext, fn) in TARGETS.items():
        q = ss.add_parser(name, help=helptext)
        add_port_arg(q, help="the board to bench, or `auto` (default: a fresh virtual board, "
                     "stopped afterwards; never $EYEAUTH_PORT or the project's port: a bench "
                     "redeploys and re-pairs the board it gets)", optional=True, settings=False)
        add_json_flag(q)
        fn(None, q)
        q.set_defaults(func=lambda args, fn=fn: fn(args, None))


def _load_targets():
    import importlib
    for mod in ("eyeauth.cli.bench_link", "eyeauth.cli.bench_auth"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if not mod.startswith(str(exc.name)):
                raise


@contextlib.contextmanager
def board_port(args, deploy_app=True):
    """The port to bench: --port, or a fresh virtual board with the app flashed and deployed."""
    if args.port:
        yield args.port, None
        return
    from eyeauth.board.deploy import deploy
    from eyeauth.sim import VirtualBoard
    with tempfile.TemporaryDirectory(prefix="eyeauth-bench-") as tmp, VirtualBoard(tmp) as vb:
        if deploy_app:
            deploy(vb.port)
        yield vb.port, vb
