# MicroPython speed kernels: the loops of the published cross-board table of Shao Ziyang's
# micropython_benchmarks (github.com/shaoziyang/micropython_benchmarks, folder 1.9.4-479:
# "Integer addition 1000,000 times", ..., "5000 digit Pi calculation"; each a function-local
# `for i in range(n)` loop, best of 3), written again here (timed in ticks_us, not ticks_ms: the
# host runs a loop in ~50 ms), plus the
# integer-add loop as @micropython.native and @micropython.viper (not in that table).
# Runs unchanged on the unix port (the virtual board's VM) and on a board:
#     micropython bench/pyspeed_kernels.py            (what bench/pyspeed.py does)
#     mpremote connect /dev/ttyUSB0 run bench/pyspeed_kernels.py
# Prints one JSON object: {kernel: seconds, best of 3}.
import time
import json
import gc
import micropython

N = 1000000


def int_add(n=N, a=12345, b=56789):
    for i in range(n):
        s = a + b


def float_add(n=N, a=1234.5678, b=5678.1234):
    for i in range(n):
        s = a + b


def int_mul(n=N, a=12345, b=56789):
    for i in range(n):
        s = a * b


def float_mul(n=N, a=1234.5678, b=5678.1234):
    for i in range(n):
        s = a * b


def int_div(n=N, a=123456, b=567):
    for i in range(n):
        s = a // b


def float_div(n=N, a=12345.678, b=56.789):
    for i in range(n):
        s = a / b


def pi_5000(places=5000):
    # Series 3 + 3/24 + 3/24*9/80 + ...: numerators (2x+1)^2, denominators 16x^2-24x+8.
    extra = 8
    one = 10 ** (places + extra)
    t, c, n, na, d, da = 3 * one, 3 * one, 1, 0, 0, 24
    while t > 1:
        n, na, d, da = n + na, na + 8, d + da, da + 32
        t = t * n // d
        c += t
    return c // (10 ** extra)


@micropython.native
def int_add_native(n=N, a=12345, b=56789):
    for i in range(n):
        s = a + b


@micropython.viper
def int_add_viper(n: int, a: int, b: int):
    for i in range(n):
        s = a + b


def _time(f):
    best = None
    for _ in range(3):
        gc.collect()
        t0 = time.ticks_us()
        f()
        dt = time.ticks_diff(time.ticks_us(), t0) / 1e6
        best = dt if best is None or dt < best else best
    return best


KERNELS = (("int_add", int_add), ("float_add", float_add), ("int_mul", int_mul),
           ("float_mul", float_mul), ("int_div", int_div), ("float_div", float_div),
           ("pi_5000", pi_5000), ("int_add_native", int_add_native),
           ("int_add_viper", lambda: int_add_viper(N, 12345, 56789)))


def main(only=None):
    # only: one kernel name, run 3 times untimed (the host times the process's CPU, which a
    # machine shared with other jobs does not inflate as it does wall time); "none": nothing.
    out = {}
    for name, f in KERNELS:
        if only is None:
            out[name] = _time(f)
        elif name == only:
            for _ in range(3):
                f()
    print(json.dumps(out))


try:
    import sys
    _only = sys.argv[1] if len(sys.argv) > 1 else None
except (ImportError, AttributeError):  # no argv on a board (mpremote run)
    _only = None
main(_only)
