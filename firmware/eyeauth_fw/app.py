# The app loop: read command frames from the serial line, answer each with one reply frame.
# Handlers are a table (name -> function(app, args) -> dict); other modules add theirs with
# register(). Errors: raise AppError(code, msg) -> {"ok": false, "err": code, "msg": msg}.
import gc
import time
from binascii import hexlify

from eyeauth_fw import VERSION, protocol
from eyeauth_fw.telemetry import Telemetry
import hal


class AppError(Exception):
    def __init__(self, code, msg=""):
        super().__init__(code)
        self.code = code
        self.msg = msg


HANDLERS = {}


def register(name):
    def deco(fn):
        HANDLERS[name] = fn
        return fn
    return deco


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
        return {"fw": VERSION, "proto": 1, "board": self.board.NAME, "boot": self.boot,
                "uptime_ms": self.uptime_ms()}

    def reply(self, seq, obj):
        self.write(protocol.encode("R", seq, obj))

    def log(self, level, msg):
        self.write(protocol.encode("L", 0, {"level": level, "msg": msg}))

    def handle(self, line):
        try:
            kind, seq, msg = protocol.decode(line)
        except Exception:
            seq = protocol.peek_seq(line)
            if seq >= 0:
                self.reply(seq, {"ok": False, "err": "bad_frame", "msg": "bad checksum or JSON"})
            return
        if kind != "C" or not isinstance(msg, dict):
            self.reply(seq, {"ok": False, "err": "bad_frame", "msg": "expected a command"})
            return
        fn = HANDLERS.get(msg.get("cmd"))
        if fn is None:
            self.reply(seq, {"ok": False, "err": "unknown_cmd", "msg": str(msg.get("cmd"))})
            return
        res = None
        try:
            res = fn(self, msg)
            out = {"ok": True}
            if res:
                out.update(res)
        except AppError as e:
            out = {"ok": False, "err": e.code, "msg": e.msg}
        except (KeyError, TypeError, ValueError) as e:
            out = {"ok": False, "err": "bad_args", "msg": repr(e)}
        except MemoryError:
            gc.collect()
            out = {"ok": False, "err": "no_memory", "msg": "out of heap"}
        except Exception as e:  # a bug must cost one command, not the app
            out = {"ok": False, "err": "internal", "msg": "%s: %s" % (type(e).__name__, e)}
        self.tel.sample_heap()  # before collecting: what the command held live plus its garbage
        self.reply(seq, out)
        gc.collect()
        if res and res.get("_reset"):
            self.board.soft_reset()

    def loop(self):
        self.write(protocol.encode("H", 0, self.hello()))
        for line in self.board.serial_lines(protocol.MAX_LINE):
            if line is None:
                self.reply(0, {"ok": False, "err": "too_long", "msg": "line over %d bytes" % protocol.MAX_LINE})
                continue
            if line:
                self.handle(line)


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
    return {"data": args.get("data", "")}


@register("telemetry")
def _telemetry(app, args):
    app.tel.on = bool(args["on"])
    return {"on": app.tel.on}


@register("bench_link")
def _bench_link(app, args):
    n = int(args.get("n", 1000))
    gap = int(args.get("interval_ms", 0))
    pad = "x" * int(args.get("pad", 0))
    extra = {"pad": pad} if pad else None
    first = app.tel.seq
    t0 = time.ticks_us()
    rec = app.tel.record
    for i in range(n):
        rec("bench", "link", i, -1, 0, extra)
        if gap:
            time.sleep_ms(gap)
    return {"n": n, "elapsed_us": time.ticks_diff(time.ticks_us(), t0), "first_seq": first,
            "last_seq": app.tel.seq - 1}


@register("reset")
def _reset(app, args):
    return {"_reset": True}


def run():
    board = hal.board()
    app = App(board)
    try:
        import eyeauth_fw.auth  # noqa: F401  the authentication commands, when installed
    except ImportError:
        pass
    app.loop()
