"""eyeauth: face-plus-voice authentication for ESP-EYE class boards.

Library first: every command of the CLI is a function here that returns data and raises
:class:`eyeauth.errors.EyeauthError` subclasses; only :mod:`eyeauth.cli.main` prints and exits.
"""
import os
from pathlib import Path

__version__ = "0.1.0"

#: Root of a source checkout (firmware/, models/, board_configs/ live here).
REPO_ROOT = Path(__file__).resolve().parents[2]
FIRMWARE_DIR = REPO_ROOT / "firmware"
MODELS_DIR = REPO_ROOT / "models"
BOARD_CONFIGS_DIR = REPO_ROOT / "board_configs"
SHARED_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


def cache_dir() -> Path:
    """Where generated files go when the user names no place: $EYEAUTH_CACHE, else
    ~/.cache/eyeauth. Library code never writes into the package or the checkout by default."""
    return Path(os.environ.get("EYEAUTH_CACHE") or Path.home() / ".cache" / "eyeauth")
