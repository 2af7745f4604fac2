"""`eyeauth flash --port P [--firmware F]`: write and verify an image with esptool."""
from pathlib import Path

from eyeauth.board.configs import load_board
from eyeauth.board.flash import flash
from eyeauth.cli.main import Result, add_json_flag
from eyeauth.progress import Steps


def register(sub):
    p = sub.add_parser("flash", help="write and verify a firmware image (esptool)",
                       description="Write an image to the board's flash with esptool and verify it. "
                       "Without --firmware, builds the eyeauth app image (firmware modules compiled "
                       "with mpy-cross) and writes it at the board's app offset. Give the board's "
                       "bootloader port (a virtual board prints it as ttyBOOT).")
    p.add_argument("--port", required=True, help="serial port of the board's ROM bootloader")
    p.add_argument("--firmware", type=Path, help="image file (.bin); default: build the app image")
    p.add_argument("--address", type=lambda s: int(s, 0), help="flash offset (default: board config)")
    p.add_argument("--board", default="esp-eye")
    p.add_argument("--baud", type=int, default=460800)
    add_json_flag(p)
    p.set_defaults(func=_flash)


def _flash(args):
    board = load_board(args.board)
    firmware, address = args.firmware, args.address
    if firmware is None:  # the virtual board's app image, at the board's app offset
        from eyeauth.sim.flashimg import build_app_image

        firmware = build_app_image()
        address = board["flash_layout"]["app"] if address is None else address
    with Steps("flashing", total=100, unit="%") as bar:
        res = flash(args.port, firmware, address, board, args.baud, progress=bar.update)
    return Result(res, f"wrote {res['bytes']} bytes at 0x{res['address']:x} in {res['write_s']} s; "
                  f"verified (digest matched)")
