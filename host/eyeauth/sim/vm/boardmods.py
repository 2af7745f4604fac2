# The virtual ESP-EYE's built-in modules, as an ESP32 MicroPython user meets them: `sys`, `os`,
# `machine` and `micropython` stand-ins installed into sys.modules by supervisor.py before boot.py
# runs, plus `_vboard` (what only the virtual board has: the host service address, its board
# name and Python speed factor; hal/__init__.py picks the sim backend when it imports).
#
# What answers as on an ESP32 (MicroPython ports/esp32: modos.c/uname, modmachine.c,
# mpconfigport.h): sys.platform 'esp32', os.uname() (sysname 'esp32', machine
# '<board> with <MCU>'), machine.freq() in Hz and freq(hz) with the ESP32's allowed values,
# machine.unique_id() (6 bytes, the base MAC), reset_cause() and its constants, reset(),
# soft_reset(), micropython.kbd_intr(-1) letting 0x03 through the serial line.
# What stays the host's on purpose: sys.implementation._mpy (native .mpy code must match the VM's
# real x86-64/arm64 architecture), sys.version, the VM's MicroPython version; there is no GPIO
# (machine.Pin, I2S, ...), the camera and mic are hal/sim's host service.
#
# Inputs (environment of the VM, set by eyeauth.sim.board): EYEAUTH_SIM_MACHINE, EYEAUTH_SIM_CPU_HZ,
# EYEAUTH_SIM_UID (12 hex), EYEAUTH_SIM_RESET_CAUSE, EYEAUTH_SIM_SERVICE, EYEAUTH_SIM_BOARD,
# EYEAUTH_SIM_PY_FACTOR.
import sys
import os
import micropython
import machine as _hmachine
import termios
from collections import namedtuple

_EXIT_SOFT, _EXIT_HARD = 10, 12
_ISIG = 0o000001  # termios c_lflag bits (Linux values)
_NOFLSH = 0o000200  # keep the queued bytes around a Ctrl-C (a board's UART does not drop them)
_VINTR = 0
_FREQS = (20000000, 40000000, 80000000, 160000000, 240000000)


class _Mod:
    # A module stand-in: attribute bag with a module-like repr.
    def __init__(self, name):
        self.__name__ = name

    def __repr__(self):
        return "<module '%s'>" % self.__name__


def _copy(src, dst, skip=()):
    for k in dir(src):
        if not k.startswith("__") and k not in skip:
            setattr(dst, k, getattr(src, k))
    return dst


def _env(name, default):
    v = os.getenv(name)
    return v if v else default


MACHINE = _env("EYEAUTH_SIM_MACHINE", "Espressif ESP-EYE (spiram) with ESP32")
_v = sys.implementation.version
RELEASE = "%d.%d.%d" % (_v[0], _v[1], _v[2]) + ("-" + _v[3] if len(_v) > 3 and _v[3] else "")
VERSION = "v" + RELEASE + " (eyeauth virtual board)"


# -- sys ---------------------------------------------------------------------------------------
def make_sys():
    s = _copy(sys, _Mod("sys"), skip=("platform", "argv", "implementation"))
    s.platform = "esp32"
    s.argv = []
    impl = sys.implementation
    fields = [f for f in ("name", "version", "_machine", "_mpy", "_build", "_thread")
              if hasattr(impl, f)]
    T = namedtuple("implementation", fields)
    vals = [MACHINE if f == "_machine" else getattr(impl, f) for f in fields]
    s.implementation = T(*vals)
    return s


# -- os ----------------------------------------------------------------------------------------
_uname_t = namedtuple("uname_result", ("sysname", "nodename", "release", "version", "machine"))


def _uname():
    return _uname_t("esp32", "esp32", RELEASE, VERSION, MACHINE)


def make_os(rename):
    # The ESP32's os has no environment or shell: getenv/putenv/unsetenv/system are the host's.
    o = _copy(os, _Mod("os"), skip=("getenv", "putenv", "unsetenv", "system", "errno"))
    o.rename = rename
    o.uname = _uname
    real_ilistdir = os.ilistdir

    def ilistdir(path="."):
        # The frozen modules' folder is mounted at /.frozen here; on a board ".frozen" is a
        # sys.path entry, not a directory anyone lists.
        at_root = path == "/" or (path in ("", ".") and os.getcwd() == "/")
        for e in real_ilistdir(path):
            if not (at_root and e[0] == ".frozen"):
                yield e

    o.ilistdir = ilistdir
    o.listdir = lambda path=".": [e[0] for e in ilistdir(path)]
    o.sync = lambda: None
    return o


# -- micropython -------------------------------------------------------------------------------
def _set_isig(c):
    # A real board's UART stops treating c as an interrupt at the C level; here the tty's line
    # discipline turns 0x03 into SIGINT, so switch ISIG off (binary data passes) or back on.
    try:
        a = termios.tcgetattr(0)
    except OSError:
        return
    if c < 0:
        a[3] &= ~_ISIG
    else:
        a[3] |= _ISIG | _NOFLSH
        a[6][_VINTR] = bytes((c,))
    termios.tcsetattr(0, termios.TCSANOW, a)


def make_micropython():
    m = _copy(micropython, _Mod("micropython"))
    real = micropython.kbd_intr

    def kbd_intr(c):
        # the VM's handler goes in before the tty may signal, and the tty stops signalling
        # before the handler goes (a SIGINT with no handler would kill the VM)
        if c < 0:
            _set_isig(c)
            real(c)
        else:
            real(c)
            _set_isig(c)

    m.kbd_intr = kbd_intr
    return m


# -- machine -----------------------------------------------------------------------------------
PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5
PIN_WAKE, EXT0_WAKE, EXT1_WAKE, TIMER_WAKE, TOUCHPAD_WAKE, ULP_WAKE = 2, 2, 3, 4, 5, 6


def make_machine(reset_exit):
    m = _copy(_hmachine, _Mod("machine"), skip=("soft_reset",))
    st = {"freq": int(_env("EYEAUTH_SIM_CPU_HZ", "240000000"))}
    uid = bytes.fromhex(_env("EYEAUTH_SIM_UID", "240ac4000001"))
    cause = int(_env("EYEAUTH_SIM_RESET_CAUSE", str(PWRON_RESET)))

    def freq(hz=None):
        if hz is None:
            return st["freq"]
        if hz not in _FREQS:
            raise ValueError("frequency must be 20MHz, 40MHz, 80Mhz, 160MHz or 240MHz")
        st["freq"] = hz

    def deepsleep(ms=0):
        reset_exit(_EXIT_HARD)

    m.freq = freq
    m.unique_id = lambda: uid
    m.reset = lambda: reset_exit(_EXIT_HARD)
    m.soft_reset = lambda: reset_exit(_EXIT_SOFT)
    m.reset_cause = lambda: cause
    m.wake_reason = lambda: 0
    m.disable_irq = lambda: 0
    m.enable_irq = lambda state=0: None
    m.lightsleep = lambda ms=0: _hmachine.idle()
    m.deepsleep = deepsleep
    for k in ("PWRON_RESET", "HARD_RESET", "WDT_RESET", "DEEPSLEEP_RESET", "SOFT_RESET",
              "PIN_WAKE", "EXT0_WAKE", "EXT1_WAKE", "TIMER_WAKE", "TOUCHPAD_WAKE", "ULP_WAKE"):
        setattr(m, k, globals()[k])
    return m


# -- _vboard -----------------------------------------------------------------------------------
def make_vboard():
    v = _Mod("_vboard")
    v.service = _env("EYEAUTH_SIM_SERVICE", "")
    v.board = _env("EYEAUTH_SIM_BOARD", "esp-eye")
    v.py_factor = float(_env("EYEAUTH_SIM_PY_FACTOR", "1.0"))
    return v


def install(rename, reset_exit):
    # Replace the host VM's modules with the board's (import finds sys.modules first).
    vb = make_vboard()  # reads the environment before os loses getenv
    sys.modules["micropython"] = make_micropython()
    sys.modules["machine"] = make_machine(reset_exit)
    sys.modules["os"] = make_os(rename)
    sys.modules["_vboard"] = vb
    sys.modules["sys"] = make_sys()
