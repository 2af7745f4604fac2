"""The virtual board's nn accelerator: model inference in the real TFLM interpreter.

The firmware's sim HAL sends ``{"op": "nn", "model": NAME}`` with the input tensor's bytes (int8
for the networks, int16 samples for the audio front end) raw after the line (services.py); the
model is
read from the **board's own filesystem** (``/models/NAME.tflite``, what `eyeauth deploy` put
there), run by tflite-micro, and answered with the output tensor, the arena the target would
need, and the latency the timing model gives for the board's chip.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np


class NNService:
    def __init__(self, fs_dir: Path, chip: str, models_dir: Path | None = None):
        self.fs_dir = Path(fs_dir)
        self.models_dir = Path(models_dir) if models_dir else self.fs_dir / "models"
        self.chip = chip
        self._cache: dict[str, tuple] = {}

    def _load(self, name: str):
        path = self.models_dir / f"{name}.tflite"
        st = path.stat()
        key = (st.st_mtime_ns, st.st_size)
        hit = self._cache.get(name)
        if hit and hit[0] == key:
            return hit[1]
        from eyeauth import timing
        from eyeauth.models import tflm

        data = path.read_bytes()
        tflm.validate(data, str(path))
        info = {
            "bytes": data,
            "arena": tflm.arena_bytes_target(tflm.arena_bytes(data)),
            "modeled_us": int(round(timing.model_latency(data, chip=self.chip, esp_nn=True)["total_ms"] * 1000)),
            "io": tflm.io_details(data),
        }
        self._cache[name] = (key, info)
        return info

    def handle(self, req: dict) -> dict:
        from eyeauth.errors import EyeauthError
        from eyeauth.models import tflm

        name = str(req.get("model", ""))
        if not name or "/" in name or name.startswith("."):
            return {"ok": False, "err": "bad_model", "msg": f"bad model name {name!r}"}
        try:
            info = self._load(name)
        except FileNotFoundError:
            return {"ok": False, "err": "no_model", "msg": f"/models/{name}.tflite is not on the board; run `eyeauth deploy`"}
        except EyeauthError as exc:
            return {"ok": False, "err": "bad_model", "msg": str(exc)}
        inp, out = info["io"]
        data = req.get("payload")
        if data is None:
            return {"ok": False, "err": "bad_input", "msg": "no input tensor bytes after the request"}
        dtype = np.dtype(inp["dtype"])  # int8, or uint8 for the detector's camera frame
        shape = tuple(inp["shape"])
        if len(data) != int(np.prod(shape)) * dtype.itemsize:
            return {"ok": False, "err": "bad_shape",
                    "msg": f"{name} takes {int(np.prod(shape))} {dtype.name} values {list(shape)}, "
                           f"got {len(data)} bytes"}
        raw = np.frombuffer(data, dtype)
        t0 = time.perf_counter()
        y = tflm.run(info["bytes"], raw.reshape(shape))
        host_us = int((time.perf_counter() - t0) * 1e6)
        return {"ok": True, "payload": np.asarray(y, out["dtype"]).tobytes(),
                "scale": float(out["scale"]), "zero_point": int(out["zero_point"]),
                "arena": int(info["arena"]), "modeled_us": info["modeled_us"], "host_us": host_us}


def register(server) -> None:
    """Plug into eyeauth.sim.services.ServiceServer (it calls this at construction)."""
    server.nn = None

    def nn(req):
        if server.nn is None:
            return {"ok": False, "err": "no_nn", "msg": "nn service not attached to a board"}
        return server.nn.handle(req)

    server.handlers["nn"] = nn
