"""Progress lines on stderr: the one place library code may write to the terminal."""
import sys
import time

_enabled = True


def enable(flag=True):
    global _enabled
    _enabled = bool(flag)


def note(message):
    if _enabled:
        print(f"[eyeauth] {message}", file=sys.stderr, flush=True)


class Steps:
    """``with Steps("embedding", n) as p: p.tick()`` prints at most every ``every`` seconds."""

    def __init__(self, label, total, every=2.0):
        self.label, self.total, self.every = label, total, every
        self.done, self._last, self._t0 = 0, 0.0, time.monotonic()

    def __enter__(self):
        return self

    def tick(self, n=1):
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.every or self.done == self.total:
            self._last = now
            note(f"{self.label}: {self.done}/{self.total} ({now - self._t0:.0f} s)")

    def __exit__(self, *exc):
        return False
