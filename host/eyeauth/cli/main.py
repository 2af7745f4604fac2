"""The `eyeauth` command line: parse, call a library function, print. Nothing else.

Each command lives in a small module of this package with a ``register(subparsers)`` function
(the mpremote / esptool habit: a table of small command functions). A handler gets the parsed
arguments and returns either ``None`` (it printed what it had to) or a result object; with
``--json`` the result is printed as JSON, otherwise as the handler's text. Only :func:`main`
turns :class:`~eyeauth.errors.EyeauthError` into ``eyeauth: <message>`` and an exit code.
"""
import argparse
import importlib
import json
import sys

from eyeauth import __version__
from eyeauth.errors import EyeauthError

# Modules of eyeauth.cli that contribute commands, in --help order. A module that is not
# present yet is skipped, so the CLI grows with the project.
COMMAND_MODULES = (
    "demo", "sim", "flash", "deploy", "enroll", "monitor", "report", "models", "convert",
    "premodel", "evaluate", "explore", "bench", "release",
)


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
    parser = argparse.ArgumentParser(
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


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        keys = getattr(args, "config_keys", None)
        if keys:  # flag > environment > [tool.eyeauth] in pyproject.toml > default
            from eyeauth import config

            config.apply(args, keys)
            if "port" in keys:
                config.require_port(args.port)
        result = args.func(args)
    except EyeauthError as exc:
        print(f"eyeauth: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("eyeauth: interrupted", file=sys.stderr)
        return 130
    if isinstance(result, Result):
        print(result.render(getattr(args, "json", False)))
    elif isinstance(result, int):
        return result
    return 0


if __name__ == "__main__":
    from eyeauth.cli.main import main as _main  # the package's copy, so isinstance(Result) holds
    sys.exit(_main())
