# The virtual ESP-EYE's "C firmware": what MicroPython's pyexec does on a real board, written in
# MicroPython so that it runs inside the real VM (unix port). It mounts the board filesystem at
# "/", runs boot.py and main.py like a board, and speaks the friendly REPL, the raw REPL and the
# raw-paste protocol that mpremote uses. Resets are exits with a code; the host side restarts the
# VM, so a soft reset really starts from a fresh heap.
#
# argv: supervisor.py FS_DIR FROZEN_DIR MODE BOARD_NAME   (MODE: "friendly" | "raw")
import sys
import os
import gc
import boardmods  # beside this file (sys.path[0] is still the script's folder)

_SOFT_FRIENDLY = 10
_SOFT_RAW = 11
_HARD = 12

_fs, _frozen, _mode, _board = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

os.umount("/")
os.mount(os.VfsPosix(_fs), "/")
try:
    os.mount(os.VfsPosix(_frozen), "/.frozen")
except OSError:
    pass
os.chdir("/")
_rename = os.rename


def _abs(p):
    if p.startswith("/"):
        return p
    c = os.getcwd()
    return (c if c != "/" else "") + "/" + p


def _vfs_rename(a, b):
    # VfsPosix mounted at "/" mistranslates a rename whose both paths are absolute (ESP32's
    # littlefs does not); the board's os.rename must behave, so do it relative to "/".
    a, b = _abs(a), _abs(b)
    cwd = os.getcwd()
    os.chdir("/")
    try:
        _rename(a[1:], b[1:])
    finally:
        os.chdir(cwd)


sys.path[:] = ["", ".frozen", "/lib"]
_out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else sys.stdout
_in = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin


def w(s):
    if isinstance(s, str):
        s = s.encode()
    _out.write(s)


def rd():
    # One byte from the serial line; Ctrl-C arrives as KeyboardInterrupt (the tty's ISIG).
    while True:
        try:
            b = _in.read(1)
        except KeyboardInterrupt:
            return 3
        if not b:
            # Line closed for good: power off.
            sys.exit(0)
        return b[0]


def reset_exit(code):
    try:
        _out.flush()
    except Exception:
        pass
    sys.exit(code)


_glob = {"__name__": "__main__"}


def run_code(src):
    # -> the exception the code raised, or None (reset requests pass through).
    try:
        exec(compile(src, "<stdin>", "exec"), _glob)
    except SystemExit as e:
        code = e.args[0] if e.args else 0
        if code in (_SOFT_FRIENDLY, _SOFT_RAW, _HARD):
            raise
    except BaseException as e:
        return e
    return None


def print_exc(e):
    # As the board prints it: without this supervisor's own frames (a real board's pyexec is C).
    import io
    buf = io.StringIO()
    sys.print_exception(e, buf)
    for line in buf.getvalue().split("\n"):
        if line and not (line.startswith('  File "') and _HERE in line):
            w(line + "\r\n")


_HERE = __file__.rsplit("/", 1)[0] + "/"


def run_file(path):
    # -> True when the file ran to its end or is missing, False when it raised: what pyexec's
    # parse_compile_execute returns (shared/runtime/pyexec.c). Ctrl-C is on only while the
    # file's code runs (data while it is read and compiled), whatever an earlier file set; a
    # paired app turns it off as its first instruction (firmware/main.py).
    try:
        os.stat(path)
    except OSError:
        return True  # "no file is the same as an empty file executing without fail"
    g = {"__name__": "__main__", "__file__": path}
    mp = sys.modules["micropython"]
    try:
        with open(path) as f:
            code = compile(f.read(), path, "exec")
        mp.kbd_intr(3)
        exec(code, g)
        mp.kbd_intr(-1)  # pyexec: Ctrl-C off again once the file returns
    except SystemExit as e:
        code = e.args[0] if e.args else 0
        if code in (_SOFT_FRIENDLY, _SOFT_RAW, _HARD):
            raise
    except BaseException as e:
        mp.kbd_intr(-1)
        print_exc(e)
        return False
    return True


def raw_repl():
    w("raw REPL; CTRL-B to exit\r\n")
    while True:
        w(">")
        buf = bytearray()
        while True:
            c = rd()
            if c == 1:  # Ctrl-A: banner again
                w("\r\nraw REPL; CTRL-B to exit\r\n>")
                buf = bytearray()
                continue
            if c == 2:  # Ctrl-B: friendly REPL
                w("\r\n")
                return
            if c == 3:  # Ctrl-C: clear
                buf = bytearray()
                continue
            if c == 5 and not buf:  # Ctrl-E: raw paste request
                a = rd()
                b = rd()
                if a == 65 and b == 1:
                    src = raw_paste()
                    if src is None:
                        break
                    run_and_report(src)
                    break
                buf.extend(bytes((5, a, b)))
                continue
            if c == 4:  # Ctrl-D
                if not buf:
                    w("MPY: soft reboot\r\n")
                    reset_exit(_SOFT_RAW)
                w("OK")
                run_and_report(bytes(buf))
                break
            buf.append(c)


def run_and_report(src):
    e = run_code(src)
    w("\x04")
    if e is not None:
        print_exc(e)
    w("\x04")
    gc.collect()


_WINDOW = 256


def raw_paste():
    w(b"R\x01" + bytes((_WINDOW & 0xFF, _WINDOW >> 8)) + b"\x01")
    buf = bytearray()
    remain = _WINDOW
    while True:
        c = rd()
        if c == 4:
            w("\x04")
            return bytes(buf)
        if c == 3:
            w("\x04")
            return None
        buf.append(c)
        remain -= 1
        if remain == 0:
            remain = _WINDOW
            w("\x01")


def banner():
    w("MicroPython %s on eyeauth virtual board; %s\r\n" % (boardmods.VERSION.split(" ")[0],
                                                          boardmods.MACHINE))
    w('Type "help()" for more information.\r\n')


def friendly_repl():
    banner()
    line = bytearray()
    w(">>> ")
    while True:
        c = rd()
        if c == 1:
            w("\r\n")
            raw_repl()
            banner()
            line = bytearray()
            w(">>> ")
        elif c == 2:
            w("\r\n")
            banner()
            w(">>> ")
        elif c == 3:
            w("\r\nKeyboardInterrupt\r\n>>> ")
            line = bytearray()
        elif c == 4:
            if not line:
                w("\r\nMPY: soft reboot\r\n")
                reset_exit(_SOFT_FRIENDLY)
        elif c in (13, 10):
            w("\r\n")
            src = bytes(line).decode()
            line = bytearray()
            if src.strip():
                try:
                    r = eval(src, _glob)
                    if r is not None:
                        w(repr(r) + "\r\n")
                except SyntaxError:
                    e = run_code(src)
                    if e is not None:
                        print_exc(e)
                except SystemExit:
                    raise
                except BaseException as e:
                    print_exc(e)
            w(">>> ")
        elif c in (8, 127):
            if line:
                line.pop()
                w("\x08 \x08")
        else:
            line.append(c)
            w(bytes((c,)))


def main():
    # The ESP32 port's order (ports/esp32/main.c, MicroPython 1.22 on): boot.py, then main.py
    # only in friendly-REPL mode and only when boot.py ended without an exception (a Ctrl-C
    # that stops boot.py leaves the board in the REPL); then the REPL.
    boardmods.install(_vfs_rename, reset_exit)
    raw = _mode == "raw"
    ok = run_file("boot.py")
    if not raw and ok:
        run_file("main.py")
    sys.modules["micropython"].kbd_intr(3)  # the REPL: Ctrl-C interrupts what it runs
    while True:
        try:
            if raw:
                raw_repl()
            raw = False
            friendly_repl()
        except KeyboardInterrupt:
            w("\r\nKeyboardInterrupt\r\n")


main()
