"""Pure-Python firmware modules (no board imports) on the host: where the board and the host
must compute exactly alike (``speech.py``: VAD decisions and window placement; ``words.py``:
word segmentation), the host runs the firmware's own file instead of a mirror of it."""
from __future__ import annotations

import importlib
import importlib.util
import sys

from eyeauth import FIRMWARE_DIR


def load(name: str):
    """The firmware module ``eyeauth_fw.<name>``, imported from ``firmware/eyeauth_fw``."""
    if "eyeauth_fw" not in sys.modules:
        d = FIRMWARE_DIR / "eyeauth_fw"
        spec = importlib.util.spec_from_file_location("eyeauth_fw", d / "__init__.py",
                                                      submodule_search_locations=[str(d)])
        pkg = importlib.util.module_from_spec(spec)
        sys.modules["eyeauth_fw"] = pkg
        spec.loader.exec_module(pkg)
    return importlib.import_module(f"eyeauth_fw.{name}")
