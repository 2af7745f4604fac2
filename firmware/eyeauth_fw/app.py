# The app loop: read command frames from the serial line, answer each with one reply frame.
# Handlers are a table (name -> function(app, args) -> dict); other modules add theirs with
# register(). Errors: raise AppError(code, msg) -> {"ok": false, "err": code, "msg": msg}.
# Nothing a host sends may stop the app: every failure costs one reply at most (one-line
# messages, bounded length), and the loop itself survives anything but Ctrl-C.
import gc
import time
from binascii import hexlify

from micropython import const

from eyeauth_fw import VERSION, protocol
from eyeauth_fw.registry import (END_HOOKS, HANDLERS, HELLO_HOOKS, SERIAL, AppError,  # noqa: F401
                                 arg_int, arg_str, lock_serial, one_line, register)
from eyeauth_fw.telemetry import Telemetry
import hal


class App:
    def __init__(self, board):
        self.board = board
        self.write = board.serial_write
        self.boot = hexlify(board.urandom(4)).decode()
        self.t0 = time.ticks_ms()
        self.tel = Telemetry(self.write, self.boot)

    def uptime_ms(self):
        return time.ticks_diff(time.ticks_ms(), self.t0)

    def hello(self):
        h = {"fw": VERSION, "proto": 1, "board": self.board.NAME, "boot": self.boot,
             "uptime_ms": self.uptime_ms()}
        if getattr(self.board, "VIRTUAL", False):
            h["virtual"] = True  # a virtual board: its telemetry is labelled so
        for fn in HELLO_HOOKS:
            try:
                h.update(fn(self))
            except Exception:  # a hello without the extras beats no hello
                pass
        return h

    def reply(self, seq, obj):
        try:
            frame = protocol.encode("R", seq, obj)
        except Exception as e:  # an unencodable result (too deep, a bug): say so, in one line
            frame = protocol.encode("R", seq, {"ok": False, "err": "internal",
                                               "msg": one_line("reply not encodable: %s" % type(e).__name__)})
        self.write(frame)

    def log(self, level, msg):
        self.write(protocol.encode("L", 0, {"level": level, "msg": one_line(msg)}))

    def handle(self, line):
        try:
            kind, seq, msg = protocol.decode(line)
        except Exception as e:
            seq = protocol.peek_seq(line)
            if seq >= 0:
                self.reply(seq, {"ok": False, "err": "bad_frame",
                                 "msg": one_line("bad checksum, header or JSON (%s)" % e)})
            return
        if kind != "C" or not isinstance(msg, dict):
            self.reply(seq, {"ok": False, "err": "bad_frame", "msg": "expected a command"})
            return
        cmd = msg.get("cmd")
        fn = HANDLERS.get(cmd) if type(cmd) is str else None
        if fn is None:
            self.reply(seq, {"ok": False, "err": "unknown_cmd",
                             "msg": one_line(cmd) if type(cmd) is str else "cmd must be a string"})
            return
        res = None
        try:
            res = fn(self, msg)
            out = {"ok": True}
            if res:
                out.update(res)
        except AppError as e:
            out = {"ok": False, "err": e.code, "msg": one_line(e.msg)}
        except (KeyError, TypeError, ValueError, IndexError) as e:
            out = {"ok": False, "err": "bad_args", "msg": one_line("%s: %s" % (type(e).__name__, e))}
        except MemoryError:
            res = None
            gc.collect()
            out = {"ok": False, "err": "no_memory", "msg": "out of heap"}
        except Exception as e:  # a bug must cost one command, not the app
            out = {"ok": False, "err": "internal", "msg": one_line("%s: %s" % (type(e).__name__, e))}
        for fn in END_HOOKS:  # inputs named by the command are gone now, whatever happened
            try:
                fn(self, msg)
            except Exception:
                pass
        self.tel.sample_heap()  # before collecting: what the command held live plus its garbage
        self.reply(seq, out)
        gc.collect()
        if res and res.get("_reset"):
            self.board.soft_reset()

    def loop(self):
        # a line of its own: whatever was on the line before the reset (a REPL prompt) ends here
        self.write(b"\n" + protocol.encode("H", 0, self.hello()))
        while True:  # a line reader that failed (out of heap mid-line) is replaced, not fatal
            try:
                self._serve(self.board.serial_lines(protocol.MAX_LINE))
            except (KeyboardInterrupt, SystemExit):
                raise  # Ctrl-C (mpremote) and soft reset leave the app on purpose
            except Exception:
                gc.collect()
                time.sleep_ms(10)  # a line that keeps failing must not spin the CPU

    def _serve(self, lines):
        for line in lines:
            try:
                if line and line[0] != 67:  # not "C": drop control bytes before a frame (Ctrl-C, ...)
                    k = len(line) - 2
                    while k >= 0 and line[k] >= 32:
                        k -= 1
                    if k >= 0:
                        line = line[k + 1:]
                if line is None:
                    self.reply(0, {"ok": False, "err": "too_long", "msg": "line over %d bytes" % protocol.MAX_LINE})
                elif line:
                    self.handle(line)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception:  # nothing on the line may drop the board to the REPL
                gc.collect()


@register("hello")
def _hello(app, args):
    return app.hello()


@register("status")
def _status(app, args):
    gc.collect()
    return {"boot": app.boot, "uptime_ms": app.uptime_ms(), "heap_free": gc.mem_free(),
            "heap_min": app.tel.heap_min, "fs_free": app.board.fs_free(), "tseq": app.tel.seq}


@register("ping")
def _ping(app, args):
    return {"data": arg_str(args, "data", 4096, "")}


@register("telemetry")
def _telemetry(app, args):
    on = args["on"]
    if type(on) is not bool:
        raise AppError("bad_args", "on must be true or false")
    app.tel.on = on
    return {"on": on}


_BENCH_MS = const(120000)  # longest a bench_link may keep the app busy


@register("bench_link")
def _bench_link(app, args):
    n = arg_int(args, "n", 1, 100000, 1000)
    gap = arg_int(args, "interval_ms", 0, 1000, 0)
    pad = "x" * arg_int(args, "pad", 0, 4096, 0)
    if n * gap > _BENCH_MS:
        raise AppError("bad_args", "n * interval_ms must be at most %d ms" % _BENCH_MS)
    extra = {"pad": pad} if pad else None
    first = app.tel.seq
    t0 = time.ticks_us()
    rec = app.tel.record
    for i in range(n):
        rec("bench", "link", i, -1, 0, extra)
        if gap:
            time.sleep_ms(gap)
        if not i & 255 and time.ticks_diff(time.ticks_us(), t0) > _BENCH_MS * 1000:
            n = i + 1  # a slow line: stop at the time bound, say how many went
            break
    return {"n": n, "elapsed_us": time.ticks_diff(time.ticks_us(), t0), "first_seq": first,
            "last_seq": app.tel.seq - 1}


@register("reset")
def _reset(app, args):
    return {"_reset": True}


def _paired():
    try:
        with open("/pairing.key") as f:
            return len(f.read(8)) > 0
    except OSError:
        return False


def run():
    board = hal.board()
    held = False
    if _paired():
        try:
            held = board.button_held()
        except Exception:  # no button on this board: locked
            held = False
    lock_serial(_paired() and not held)
    app = App(board)
    try:
        import eyeauth_fw.auth  # noqa: F401  the authentication commands, when installed
        import eyeauth_fw.admin  # noqa: F401  challenge, debug, users, delete, unlock, config
        import eyeauth_fw.challenge  # noqa: F401  say (spoken challenges)
        import eyeauth_fw.capture  # noqa: F401  capture (live camera / microphone inputs)
    except ImportError:
        pass
    if held:
        app.log("warn", "button held at start: Ctrl-C and the REPL are open until the next reboot")
    app.loop()


def main():
    # main.py's entry. On a locked board nothing may end in the REPL: whatever leaves the app
    # (a bug, an exception at start) restarts the board instead.
    try:
        run()
    except SystemExit:
        raise  # soft reset
    except BaseException:
        if SERIAL["locked"]:
            import machine
            machine.reset()
        raise
