"""Settings every command takes from more than one place: flag > environment > ``[tool.eyeauth]``
in the nearest pyproject.toml > default (esptool's and mpremote's habit: a default port from the
environment). The CLI resolves them here for every command that has the option, the same way.

=========  ===========================================  ==========================================
key        environment (first set wins)                 meaning
=========  ===========================================  ==========================================
port       EYEAUTH_PORT, ESPTOOL_PORT (esptool's),      the board's serial port; ``auto``: the one
           ESPPORT (ESP-IDF's idf.py)                   board `eyeauth devs` finds
models     EYEAUTH_MODELS_DIR                           the release folder (default: the checkout's
                                                        models/)
board      EYEAUTH_BOARD                                board config name in board_configs/
                                                        (default esp-eye)
=========  ===========================================  ==========================================

A pyproject.toml is looked for from the working directory upwards; in it, relative paths (models)
are taken from its own folder. A key it does not know is refused in one line, as is a value
that is not a string, whatever the command. Library code never reads this module: the CLI
resolves and passes values.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eyeauth.errors import UsageError

#: key -> (environment variable, default, is a path)
KEYS = {
    "port": ("EYEAUTH_PORT", None, False),
    "models": ("EYEAUTH_MODELS_DIR", None, True),
    "board": ("EYEAUTH_BOARD", "esp-eye", False),
}
#: key -> further environment variables, read after the first (the port variables of esptool
#: and of ESP-IDF's idf.py, so a port set for those tools works here too)
MORE_ENV = {"port": ("ESPTOOL_PORT", "ESPPORT")}


def env_vars(key) -> tuple:
    """The environment variables of ``key``, in the order they are read."""
    return (KEYS[key][0],) + MORE_ENV.get(key, ())


@dataclass(frozen=True)
class Setting:
    value: str | None
    source: str  # "flag", "$EYEAUTH_PORT", "<path>/pyproject.toml", "default"


def find_pyproject(start=None) -> Path | None:
    """The nearest pyproject.toml from ``start`` (default: the working directory) upwards."""
    here = Path(start or os.getcwd()).resolve()
    for d in (here, *here.parents):
        f = d / "pyproject.toml"
        if f.is_file():
            return f
    return None


def file_settings(start=None) -> tuple[dict, Path | None]:
    """({key: value}, the file) from ``[tool.eyeauth]`` of the nearest pyproject.toml; ({}, None)
    without one. UsageError (one line) for unknown keys, non-string values or bad TOML."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: no tomllib; pyproject settings need 3.11
        return {}, None
    f = find_pyproject(start)
    if f is None:
        return {}, None
    try:
        doc = tomllib.loads(f.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{f} is not readable TOML ({exc}); fix it or run from another folder") from None
    sect = (doc.get("tool") or {}).get("eyeauth") or {}
    if not isinstance(sect, dict):
        raise UsageError(f"{f}: [tool.eyeauth] must be a table of settings ({', '.join(KEYS)})")
    unknown = sorted(set(sect) - set(KEYS))
    if unknown:
        raise UsageError(f"{f}: unknown key(s) {', '.join(unknown)} in [tool.eyeauth]; "
                         f"known: {', '.join(KEYS)}")
    out = {}
    for k, v in sect.items():
        if not isinstance(v, str):
            raise UsageError(f"{f}: [tool.eyeauth] {k} must be a string, not {type(v).__name__}")
        out[k] = str((f.parent / v)) if KEYS[k][2] and not Path(v).is_absolute() else v
    return out, f


def resolve(key, flag=None, start=None, environ=None) -> Setting:
    """The value of ``key`` and where it came from: ``flag`` (not None) > environment >
    pyproject.toml > default."""
    if key not in KEYS:
        raise UsageError(f"unknown setting {key!r}; known: {', '.join(KEYS)}")
    default = KEYS[key][1]
    values, f = file_settings(start)  # read (and checked) whatever wins: a bad file is refused
    if flag is not None:
        return Setting(flag, "flag")
    env = os.environ if environ is None else environ
    for var in env_vars(key):
        if env.get(var):
            return Setting(env[var], f"${var}")
    if key in values:
        return Setting(values[key], str(f))
    return Setting(default, "default")


def apply(args, keys, start=None, environ=None):
    """Fill the attributes ``keys`` of parsed arguments that no flag set (None) in place."""
    for k in keys:
        if hasattr(args, k):
            setattr(args, k, resolve(k, getattr(args, k), start, environ).value)
    return args


def check_file(start=None) -> None:
    """Refuse a pyproject.toml whose [tool.eyeauth] is wrong, whatever the command reads."""
    file_settings(start)


def require_port(port):
    """The port, or a one-line UsageError naming the ways to give one."""
    if not port:
        raise UsageError("no serial port: give --port PORT or --port auto (`eyeauth devs` lists "
                         "the boards it sees), set $EYEAUTH_PORT, or put port = \"...\" under "
                         "[tool.eyeauth] in pyproject.toml (`eyeauth sim start` prints the "
                         "virtual board's)")
    return port
