"""The boards this machine can reach: USB serial ports (by the USB bridge's vendor and product id)
and running virtual boards; ``--port auto`` picks the one board found (mpremote's ``connect auto``
and esptool's port scan, narrowed to the boards eyeauth runs on).

USB ids (what `eyeauth devs` and ``--port auto`` look for):

* ESP-EYE (v2.1): its USB-to-UART bridge is a Silicon Labs CP2102 (Espressif's ESP-EYE Getting
  Started Guide, github.com/espressif/esp-who docs/en/get-started/ESP-EYE_Getting_Started_Guide.md:
  "CP2102 USB-to-UART Chip"); the CP2102/CP2102N factory id is 10C4:EA60 (Linux
  drivers/usb/serial/cp210x.c: "Silicon Labs factory default"). Many other ESP32 boards carry
  the same bridge: it is listed as an ESP-EYE candidate, not proven one.
* ESP32-S3-EYE (v2.x): no bridge; the ESP32-S3's own USB Serial/JTAG controller (the same guide
  for the S3-EYE: "Functionality is provided by ESP32-S3 USB Serial/JTAG interface"), id
  303A:1001 (esptool's ``ESPRESSIF_VID`` / ``USB_JTAG_SERIAL_PID`` in esp_pylib/constants.py).
  Another product id under Espressif's vendor id 303A is an ESP32-S2/S3 running its own USB
  stack (TinyUSB CDC), also a candidate.

A virtual board's serial port is its ``ttyEYE``; its ROM bootloader listens on ``ttyBOOT`` beside
it, where a real board has one port for both: :func:`boot_port` maps the one to the other, so
``eyeauth flash`` takes the same port as every other command.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from eyeauth.errors import UsageError

CP210X = (0x10C4, 0xEA60)
ESPRESSIF_VID = 0x303A
USB_SERIAL_JTAG = (ESPRESSIF_VID, 0x1001)


@dataclass(frozen=True)
class Device:
    port: str                    # the app's serial port
    boot_port: str               # where esptool reaches the ROM bootloader (a real board: port)
    kind: str                    # esp-eye | esp32-s3-eye | virtual | other
    description: str
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    board: str | None = None     # board config name, when known

    @property
    def candidate(self) -> bool:
        """A board `--port auto` may pick."""
        return self.kind != "other"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["usb_id"] = f"{self.vid:04X}:{self.pid:04X}" if self.vid is not None else None
        d["candidate"] = self.candidate
        return d


def classify(vid, pid) -> tuple[str, str, str | None]:
    """(kind, why, board config) of a USB serial port by its vendor and product id."""
    if (vid, pid) == CP210X:
        return "esp-eye", "Silicon Labs CP210x USB-UART bridge (the ESP-EYE's)", "esp-eye"
    if (vid, pid) == USB_SERIAL_JTAG:
        return "esp32-s3-eye", "Espressif USB Serial/JTAG (the ESP32-S3-EYE's)", "esp32-s3-eye"
    if vid == ESPRESSIF_VID:
        return "esp32-s3-eye", f"Espressif native USB, product {pid:04X}", "esp32-s3-eye"
    return "other", "", None


def usb_devices() -> list[Device]:
    from serial.tools import list_ports

    out = []
    for p in sorted(list_ports.comports(), key=lambda p: p.device):
        if p.vid is None:
            continue  # a built-in UART (ttyS*): no board on it that we can tell
        kind, why, board = classify(p.vid, p.pid)
        desc = why or (p.description if p.description not in (None, "n/a") else "USB serial")
        out.append(Device(p.device, p.device, kind, desc, p.vid, p.pid, p.serial_number, board))
    return out


def virtual_devices() -> list[Device]:
    from eyeauth import sim

    return [Device(s["port"], s["boot_port"], "virtual",
                   f"virtual {s['board']} (eyeauth sim, {s['state_dir']})", board=s["board"])
            for s in sim.running()]


def scan() -> list[Device]:
    """Every serial device found: USB ports (known boards first) and running virtual boards."""
    usb = usb_devices()
    return [d for d in usb if d.candidate] + virtual_devices() + [d for d in usb if not d.candidate]


def pick(devices: list[Device] | None = None) -> Device:
    """The one board `--port auto` means; a one-line UsageError when there is none or several."""
    found = [d for d in (scan() if devices is None else devices) if d.candidate]
    if len(found) == 1:
        return found[0]
    if not found:
        raise UsageError("--port auto found no board: plug in an ESP-EYE (USB 10C4:EA60) or "
                         "ESP32-S3-EYE (303A:1001), or start a virtual one (`eyeauth sim start`); "
                         "`eyeauth devs` lists what this machine sees")
    raise UsageError(f"--port auto found {len(found)} boards ({', '.join(d.port for d in found)}): "
                     "give one with --port (`eyeauth devs` says which is which)")


def _same(a: str, b: str) -> bool:
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except OSError:
        return a == b


def resolve(port: str, boot: bool = False) -> str:
    """The port to open: ``auto`` -> the one board found; with ``boot``, where that board's ROM
    bootloader listens (a virtual board's ttyBOOT for its ttyEYE; a real board: the same port)."""
    if port == "auto":
        d = pick()
        return d.boot_port if boot else d.port
    if boot:
        from pathlib import Path

        beside = Path(port).with_name("ttyBOOT")  # a virtual board's pair of ports
        if Path(port).name == "ttyEYE" and beside.exists():
            return str(beside)
        for d in virtual_devices():
            if _same(port, d.port):
                return d.boot_port
    return port
