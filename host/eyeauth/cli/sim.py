"""`eyeauth sim start|stop|status|reset|unplug|replug|button`: virtual ESP-EYE boards."""
from pathlib import Path

from eyeauth import sim
from eyeauth.cli.main import Result, add_board_arg, add_json_flag

_BOARD = ("board config name; also names the default state folder (default: $EYEAUTH_BOARD, "
          "else board in [tool.eyeauth], else esp-eye)")


def register(sub):
    p = sub.add_parser("sim", help="start and stop virtual ESP-EYE boards",
                       description="A virtual ESP-EYE: the real MicroPython VM running the firmware "
                       "behind a pseudo-terminal, a ROM bootloader port for esptool, and the real "
                       "TFLM interpreter for inference. Its ports open like /dev/ttyUSB0.")
    ss = p.add_subparsers(dest="sim_cmd", metavar="ACTION", required=True)
    start = ss.add_parser("start", help="start a board; prints its serial port")
    add_board_arg(start, help=_BOARD)
    start.add_argument("--state-dir", help="folder for the board's filesystem, flash and ports "
                       "(default ~/.cache/eyeauth/sim/BOARD, or $EYEAUTH_SIM_DIR)")
    start.add_argument("--fresh", action="store_true", help="erase the board's filesystem and flash first")
    start.add_argument("--port-file", help="also write the serial port path into this file")
    _sensor_args(start)
    add_json_flag(start)
    start.set_defaults(func=_start)
    for name, helptext in (("stop", "stop the board; no process is left behind"),
                           ("status", "show the board's ports and state"),
                           ("reset", "press the reset button"),
                           ("unplug", "pull the USB cable (the port disappears)"),
                           ("replug", "plug the USB cable back in")):
        _which(ss.add_parser(name, help=helptext), _other)
    se = ss.add_parser("sensors", help="what the board's camera and microphone see and hear",
                       description="Put a person in front of the virtual board: a folder of "
                       "photos for its camera and a folder of WAV recordings for its microphone "
                       "(or one file each). Every live capture (`eyeauth enroll --live`, "
                       "`eyeauth auth --live`) takes the next file, as the board's own sensor "
                       "would give it: a frame of the board's camera size, 8 kHz audio. Files "
                       "are checked now (format, rate, length), in one line each.")
    _sensor_args(se)
    se.add_argument("--clear", action="store_true", help="take both away (captures then fail)")
    _which(se, _sensors)
    b = ss.add_parser("button", help="hold or release the board's function button",
                      description="Hold the board's function button (the maintenance button of its "
                      "board config: the ESP-EYE's side key, the ESP32-S3-EYE's MENU key; never "
                      "BOOT, which the USB bridge's DTR/RTS drive), then `eyeauth sim reset`: a "
                      "paired board's app that starts with it held leaves Ctrl-C and the REPL "
                      "open until the next reboot (the physical way into a locked board).")
    b.add_argument("--release", action="store_true", help="let go of the button (default: hold it)")
    _which(b, _button)


def _which(p, func):
    """The options that name a running board (its config and folder), --json, the handler."""
    add_board_arg(p, help=_BOARD)
    p.add_argument("--state-dir", help="the board's folder (default ~/.cache/eyeauth/sim/BOARD, "
                   "or $EYEAUTH_SIM_DIR)")
    add_json_flag(p)
    p.set_defaults(func=func)


def _sensor_args(p):
    p.add_argument("--camera", metavar="PATH", help="folder of face photos (or one photo) the "
                   "camera sees, one per capture")
    p.add_argument("--mic", metavar="PATH", help="folder of .wav recordings (or one) the "
                   "microphone hears, one per capture (at most 4 s each)")


def _set_sensors(state, args):
    out = {}
    for sensor, path in (("camera", args.camera), ("mic", args.mic)):
        if path or getattr(args, "clear", False):
            out[sensor] = sim.sensor_source(state, sensor, path)
    return out


def _sensors(args):
    state = _state(args)
    if not (args.camera or args.mic or args.clear):
        from eyeauth.errors import UsageError

        raise UsageError("give --camera PATH and/or --mic PATH (or --clear)")
    got = _set_sensors(state, args)
    text = "\n".join(f"{k}: {v['path']} ({v['files']} files)" if v else f"{k}: nothing"
                     for k, v in got.items())
    return Result({"sensors": got}, text)


def _button(args):
    sim.button(_state(args), held=not args.release)
    what = "released" if args.release else "held"
    return Result({"held": not args.release}, f"button {what}")


def _state(args):
    return Path(args.state_dir) if args.state_dir else sim.default_state_dir(args.board)


def _start(args):
    info = sim.start(args.board, _state(args), fresh=args.fresh)
    if args.camera or args.mic:
        info["sensors"] = _set_sensors(Path(info["state_dir"]), args)
    if args.port_file:
        Path(args.port_file).write_text(info["port"] + "\n")
    return Result(info, info["port"] + f"\n(bootloader port for esptool: {info['boot_port']}; the "
                  f"serial port with its DTR/RTS lines: {info.get('rfc2217')}; "
                  f"stop with `eyeauth sim stop`)" if not args.json else None)


def _other(args):
    state = _state(args)
    if args.sim_cmd == "stop":
        was = sim.stop(state)
        return Result({"stopped": was}, "stopped" if was else "no virtual board was running")
    if args.sim_cmd == "status":
        info = sim.status(state)
        return Result(info, "\n".join(f"{k}: {v}" for k, v in info.items()))
    getattr(sim, args.sim_cmd)(state)
    return Result({"ok": True}, f"{args.sim_cmd}: done")
