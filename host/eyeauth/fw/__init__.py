"""The firmware's board-independent rules, imported on the host from the very files the board
runs: this package's path is ``firmware/eyeauth_fw``, so ``from eyeauth.fw import fusion``
(``words``, ``wordorder``, ``speech``) loads ``firmware/eyeauth_fw/fusion.py`` as
``eyeauth.fw.fusion``.

Only modules without board imports (no ``micropython``, ``machine``, ``hal``) can be imported
this way; the rest of the firmware runs in the MicroPython VM (:mod:`eyeauth.mpvm`).
"""
from eyeauth import FIRMWARE_DIR

__path__ = [str(FIRMWARE_DIR / "eyeauth_fw")]
