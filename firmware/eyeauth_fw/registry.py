# The command registry: name -> fn(app, args) -> dict, the hooks the app loop runs, the error a
# handler raises and the argument checks. Its own module, so that the command modules (auth,
# admin) and the app loop (app.py) import it rather than each other.


class AppError(Exception):
    def __init__(self, code, msg=""):
        super().__init__(code)
        self.code = code
        self.msg = msg


HANDLERS = {}
END_HOOKS = []  # fn(app, args) after every command, success or error (drops its inputs)
HELLO_HOOKS = []  # fn(app) -> dict of extra hello fields (the auth module adds board_id)
ATTEMPTS = {}  # kind -> fn(app, s, cfg, policy, users, claimed, fid, vid, fm, vm, arg, base): other
# kinds of authentication attempt (challenge.py adds "spoken"), so auth.py imports none of them
_MSG = 160  # longest error message


def one_line(text):
    text = str(text)
    if len(text) > _MSG:
        text = text[:_MSG - 3] + "..."
    return text.replace("\n", " ").replace("\r", " ")


def arg_int(args, name, lo, hi, default=None):
    # An integer argument in lo..hi (bools and floats refused); default when absent.
    v = args.get(name, default)
    if type(v) is not int or v < lo or v > hi:
        raise AppError("bad_args", "%s must be an integer %d..%d" % (name, lo, hi))
    return v


def arg_str(args, name, maxlen, default=None):
    v = args.get(name, default)
    if type(v) is not str or len(v) > maxlen:
        raise AppError("bad_args", "%s must be a string of at most %d characters" % (name, maxlen))
    return v


def register(name):
    def deco(fn):
        HANDLERS[name] = fn
        return fn
    return deco


SERIAL = {"locked": False}  # True: the app owns the serial line (lock_serial)


def lock_serial(locked):
    # A paired board's app owns the serial line: Ctrl-C (0x03) is data, not an interrupt, and the
    # app never returns to the REPL (app.main). Opened again, until the next reboot, by the signed
    # `maintenance` command (admin.py) or by holding the board's button while the app starts.
    import micropython
    micropython.kbd_intr(-1 if locked else 3)
    SERIAL["locked"] = locked
