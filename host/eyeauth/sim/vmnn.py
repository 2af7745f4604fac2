"""Firmware code in the MicroPython VM with its models in the real TFLM interpreter, outside a
virtual board: the nn service of a virtual board on a loopback socket, reached through the
firmware's own sim HAL. The voice-path timing, the challenge timing, the Python-stage costs and
the firmware parity tests run the board's voice front end this way."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from eyeauth.sim.nn_service import NNService


@contextmanager
def serve(models_dir, chip: str = "esp32"):
    """The nn service of a virtual board over the models of ``models_dir``, on a loopback
    socket: -> its "host:port". A MicroPython VM script reaches it through the firmware's own
    sim HAL (``vm_prelude``), so firmware code runs its models in the real TFLM interpreter
    outside a virtual board too (the voice-path timing, the firmware parity tests)."""
    from eyeauth.sim.services import ServiceServer

    server = ServiceServer({})
    server.nn = NNService(Path(models_dir), chip, models_dir=Path(models_dir))
    server.start()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        server.stop()


def vm_prelude(addr: str, board: str = "esp-eye", py_factor: float = 1.0, firmware_dir=None) -> str:
    """VM script lines: the firmware on sys.path and ``SimBoard``, the sim HAL's Board class,
    wired to the nn service at ``addr`` (the virtual board's ``_vboard`` module, stood in)."""
    from eyeauth import mpvm

    return mpvm.firmware_prelude(firmware_dir) + (
        "class _VBoard:\n    pass\n"
        "_vb = _VBoard()\n"
        f"_vb.board = {board!r}\n_vb.py_factor = {float(py_factor)!r}\n_vb.service = {addr!r}\n"
        "sys.modules['_vboard'] = _vb\n"
        "from hal.sim import Board as SimBoard\n")
