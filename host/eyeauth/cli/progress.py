"""A progress bar on stderr for long work (only when stderr is a terminal)."""
import sys
import time


class Bar:
    def __init__(self, label: str, total: float | None = None, unit: str = "", enabled: bool | None = None):
        self.label, self.total, self.unit = label, total, unit
        self.done = 0.0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._last = 0.0

    def set_total(self, total):
        self.total = total

    def advance(self, n: float = 1):
        self.done += n
        self._draw()

    def update(self, done: float):
        self.done = done
        self._draw()

    def _draw(self, force: bool = False):
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        if self.total:
            frac = min(1.0, self.done / self.total)
            fill = int(frac * 30)
            text = f"\r{self.label} [{'#' * fill}{'.' * (30 - fill)}] {frac * 100:5.1f}%"
        else:
            text = f"\r{self.label} {self.done:.0f}{self.unit}"
        sys.stderr.write(text)
        sys.stderr.flush()

    def close(self):
        if self.enabled:
            self._draw(force=True)
            sys.stderr.write("\n")
            sys.stderr.flush()
