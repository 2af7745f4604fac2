"""The `eyeauth` command line: parse, call a library function, print. Nothing else.

Each command lives in a small module of this package with a ``register(subparsers)`` function
(the mpremote / esptool habit: a table of small command functions). A handler gets the parsed
arguments and returns either ``None`` (it printed what it had to) or a result object; with
``--json`` the result is printed as JSON, otherwise as the handler's text. Only :func:`main`
turns :class:`~eyeauth.errors.EyeauthError` into ``eyeauth: <message>`` and an exit code (with
``--json`` also an error object on stdout); usage errors (argparse's included) exit 2.

Settings (``--port``, ``--models``, ``--board``) are resolved here for every command that has
the option, one way (:mod:`eyeauth.config`: flag > environment > ``[tool.eyeauth]`` > default);
a command declares them with :func:`add_port_arg`, :func:`add_models_arg`, :func:`add_board_arg`.
"""
import argparse
import importlib
import json
import os
import sys

from eyeauth import __version__
from eyeauth.errors import EyeauthError, UsageError

# Modules of eyeauth.cli that contribute commands, in --help order. A module that is not
# present yet is skipped, so the CLI grows with the project.
COMMAND_MODULES = (
    "demo", "sim", "devs", "flash", "deploy", "enroll", "monitor", "report", "models", "convert",
    "premodel", "evaluate", "explore", "bench", "release",
)

PORT_HELP = ("the board's serial port, or `auto` for the one board `eyeauth devs` finds "
             "(default: $EYEAUTH_PORT, $ESPTOOL_PORT, $ESPPORT, else port in [tool.eyeauth] of "
             "pyproject.toml)")
MODELS_HELP = ("the release folder (default: $EYEAUTH_MODELS_DIR, else models in "
               "[tool.eyeauth], else the checkout's models/)")
BOARD_HELP = ("board config in board_configs/ (default: $EYEAUTH_BOARD, else board in "
              "[tool.eyeauth], else esp-eye)")


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is a one-line UsageError (exit 2) that main() prints, as
    JSON too under --json."""

    def error(self, message):
        where = self.prog.partition(" ")[2]  # "models list" of "eyeauth models list"
        raise UsageError(f"{where + ': ' if where else ''}{message} (`{self.prog} --help` lists "
                         "the options)")


def _add_keys(parser, *keys):
    have = tuple(parser.get_default("config_keys") or ())
    parser.set_defaults(config_keys=have + tuple(k for k in keys if k not in have))


def add_port_arg(parser, help=PORT_HELP, role="app", optional=False, settings=True):
    """``--port``, resolved like every other command's. role="boot": the ROM bootloader's port
    (a virtual board's ttyBOOT for its ttyEYE); optional: no port is fine (the command starts a
    virtual board of its own); settings=False: the flag only (``auto`` included), never the
    environment or the project file (benchmarks that redeploy and re-pair the board they get)."""
    parser.add_argument("--port", help=help)
    parser.set_defaults(port_role=role, port_optional=optional, port_settings=settings)
    if settings:
        _add_keys(parser, "port")


def add_models_arg(parser, help=MODELS_HELP):
    parser.add_argument("--models", metavar="DIR", help=help)
    _add_keys(parser, "models")


def add_board_arg(parser, help=BOARD_HELP):
    parser.add_argument("--board", help=help)
    _add_keys(parser, "board")


class Result:
    """What a handler returns: data for --json and the text a person reads."""

    def __init__(self, data, text=None):
        self.data = data
        self.text = text

    def render(self, as_json):
        if as_json or self.text is None:
            return json.dumps(self.data, indent=2, sort_keys=False, default=_json_default)
        return self.text


def _json_default(obj):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "__fspath__"):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def help_when_bare(parser):
    """A command group run without its sub-command prints its help (exit 2)."""
    def show(args):
        parser.print_help()
        return 2
    parser.set_defaults(func=show)


def pct(x):
    """A fraction as a fixed-width percentage, for tables."""
    return f"{100 * x:6.2f}%"


def add_json_flag(parser):
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def build_parser():
    parser = ArgumentParser(
        prog="eyeauth",
        description="Face-plus-voice authentication on ESP-EYE class boards: build and quantize "
        "models, flash and deploy, enroll users, authenticate, and log telemetry. Every command "
        "works the same against a real board (--port /dev/ttyUSB0) and a virtual ESP-EYE "
        "(`eyeauth sim start`).",
    )
    parser.add_argument("--version", action="version", version=f"eyeauth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"eyeauth.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"eyeauth.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def resolve_settings(args):
    """Fill --port/--models/--board of the parsed arguments from the one resolver; check the
    project's [tool.eyeauth] whatever the command. Returns the environment variables to set
    while the command runs (the library's defaults follow the same release folder)."""
    from eyeauth import config, devices

    config.check_file()
    keys = getattr(args, "config_keys", None) or ()
    config.apply(args, keys)
    env = {}
    if "models" in keys and getattr(args, "models", None):
        env["EYEAUTH_MODELS_DIR"] = str(args.models)
    if getattr(args, "port_settings", True) is False and getattr(args, "port", None):
        args.port = devices.resolve(args.port)
    if "port" in keys:
        if args.port is None and getattr(args, "port_optional", False):
            return env
        config.require_port(args.port)
        args.port = devices.resolve(args.port, boot=getattr(args, "port_role", "app") == "boot")
    return env


def _fail(exc, as_json, code=None):
    code = exc.exit_code if code is None else code
    msg = str(exc) or type(exc).__name__
    print(f"eyeauth: {msg}", file=sys.stderr)
    if as_json:
        err = {"ok": False, "error": msg, "kind": type(exc).__name__, "exit_code": code}
        if getattr(exc, "code", None):
            err["code"] = exc.code  # the board's error code (DeviceError)
        print(json.dumps(err))
    return code


def _quiet_broken_pipe():
    """The reader went away (`eyeauth models list | head -2`): say nothing more, leave no
    traceback when Python flushes stdout at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141  # as a process killed by SIGPIPE


def main(argv=None):
    from eyeauth import progress

    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    progress.enable(not as_json)
    saved = {}
    try:
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            if not getattr(args, "func", None):
                parser.print_help()
                return 2
            as_json = bool(getattr(args, "json", False))
            progress.enable(not as_json)
            for k, v in resolve_settings(args).items():
                saved[k] = os.environ.get(k)
                os.environ[k] = v
            result = args.func(args)
        except EyeauthError as exc:
            return _fail(exc, as_json)
        except KeyboardInterrupt:
            return _fail(KeyboardInterrupt("interrupted"), as_json, 130)
        if isinstance(result, Result):
            print(result.render(as_json))
            sys.stdout.flush()
        elif isinstance(result, int):
            return result
        return 0
    except BrokenPipeError:
        return _quiet_broken_pipe()
    finally:
        progress.enable(True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


if __name__ == "__main__":
    from eyeauth.cli.main import main as _main  # the package's copy, so isinstance(Result) holds
    sys.exit(_main())
