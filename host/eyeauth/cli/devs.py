"""`eyeauth devs`: the boards this machine sees (USB ids of the ESP-EYE and ESP32-S3-EYE bridges,
running virtual boards), and which one `--port auto` picks."""
from eyeauth.cli.main import Result, add_json_flag


def register(sub):
    p = sub.add_parser("devs", help="list the boards on USB and the running virtual boards",
                       description="Serial ports with a known USB bridge (ESP-EYE: CP2102 "
                       "10C4:EA60; ESP32-S3-EYE: USB Serial/JTAG 303A:1001, or any Espressif "
                       "303A product), the virtual boards `eyeauth sim start` runs (in "
                       "$EYEAUTH_SIM_DIR or ~/.cache/eyeauth/sim/), then other USB serial ports. "
                       "`--port auto` on any command means the one board listed as a candidate.")
    add_json_flag(p)
    p.set_defaults(func=_devs)


def _devs(args):
    from eyeauth import devices
    from eyeauth.errors import UsageError

    found = devices.scan()
    try:
        auto = devices.pick(found).port
    except UsageError as exc:
        auto, why = None, str(exc)
    else:
        why = None
    rows = [d.as_dict() for d in found]
    lines = [f"{'port':40s} {'kind':13s} {'usb id':9s} description"]
    for d in found:
        mark = "  <- --port auto" if d.port == auto else ""
        usb = f"{d.vid:04X}:{d.pid:04X}" if d.vid is not None else "-"
        lines.append(f"{d.port:40s} {d.kind:13s} {usb:9s} {d.description}{mark}")
        if d.boot_port != d.port:
            lines.append(f"{'':40s} {'':13s} {'':9s} bootloader (eyeauth flash): {d.boot_port}")
    if not found:
        lines = ["no serial device found"]
    if why:
        lines.append(why.replace("--port auto found", "`--port auto` would find"))
    return Result({"devices": rows, "auto": auto}, "\n".join(lines))
