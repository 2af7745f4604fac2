"""`eyeauth flash --port P [--firmware F]`: write and verify an image with esptool."""
from pathlib import Path

from eyeauth.board.configs import load_board
from eyeauth.board.flash import flash
from eyeauth.cli.main import PORT_HELP, Result, add_board_arg, add_json_flag, add_port_arg
from eyeauth.progress import Steps


def register(sub):
    p = sub.add_parser("flash", help="write and verify a firmware image (esptool)",
                       description="Write an image to the board's flash with esptool and verify it. "
                       "Without --firmware, builds the eyeauth app image (firmware modules compiled "
                       "with mpy-cross) and writes it at the board's app offset. Give the board's "
                       "board's port as for every other command: a virtual board's bootloader "
                       "listens on ttyBOOT beside its ttyEYE, and either works here.")
    add_port_arg(p, help=PORT_HELP + "; esptool resets the board into its ROM bootloader "
                 "there", role="boot")
    p.add_argument("--firmware", type=Path, help="image file (.bin); default: build the app image")
    p.add_argument("--address", type=lambda s: int(s, 0), help="flash offset (default: board config)")
    add_board_arg(p)
    p.add_argument("--baud", type=int, default=460800, help="esptool's baud rate (460800)")
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
