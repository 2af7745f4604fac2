"""Progress on stderr for long work: one mechanism (rich's live progress display), with rate,
elapsed time and ETA. The one place library code may write to the terminal.

* :class:`Steps` is a counted job: ``with Steps("embedding", n) as st: st.tick()``; ``total``
  may be unknown (None) or set later (:meth:`Steps.set_total`), ``unit="B"`` shows bytes.
* :func:`note` is one log line (``[eyeauth] ...``), printed above any running bar.

Bars are drawn only when stderr is a terminal; :func:`enable` (False) silences bars and notes
alike: the CLI does that under ``--json``, so stdout carries the JSON and stderr stays empty.
Nested or concurrent jobs share one display (one line each). Worker processes draw nothing:
the parent reports their chunks.
"""
from __future__ import annotations

import sys
import threading

_lock = threading.RLock()
_state = {"enabled": True, "live": None, "open": 0}
_HIDDEN_EVERY = 1e6  # the old interface's way to silence a job: Steps(..., every=1e9)


def enable(flag: bool = True) -> None:
    """Turn every bar and note on or off (the CLI turns them off under --json)."""
    _state["enabled"] = bool(flag)


def enabled() -> bool:
    return _state["enabled"]


def bars_shown() -> bool:
    """True when a bar would be drawn: enabled, and stderr is a terminal."""
    return _state["enabled"] and _isatty(sys.stderr)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def note(message: str) -> None:
    """One line on stderr (``[eyeauth] message``), above a running bar; nothing when disabled."""
    if not _state["enabled"]:
        return
    with _lock:
        live = _state["live"]
        if live is not None:
            live.console.print(f"[eyeauth] {message}", markup=False, highlight=False)
            return
    try:
        print(f"[eyeauth] {message}", file=sys.stderr, flush=True)
    except (BrokenPipeError, ValueError):
        pass


def _columns():
    from rich.progress import (BarColumn, MofNCompleteColumn, ProgressColumn, TaskProgressColumn,
                               TextColumn, TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text

    class Rate(ProgressColumn):
        """Items (or KiB) per second over rich's recent window."""

        def render(self, task):
            speed = task.finished_speed or task.speed
            if speed is None:
                return Text("-- /s", style="progress.data.speed")
            unit = task.fields.get("unit", "it")
            if unit == "B":
                return Text(f"{speed / 1024:.1f} KiB/s", style="progress.data.speed")
            return Text(f"{speed:.3g} {unit}/s", style="progress.data.speed")

    return (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
            MofNCompleteColumn(), Rate(), TimeElapsedColumn(), TextColumn("eta"),
            TimeRemainingColumn())


def _stop_at_exit():
    with _lock:
        if _state["live"] is not None:
            _state["live"].stop()
            _state["live"], _state["open"] = None, 0


def _live():
    """The shared display, started on the first job (under _lock)."""
    if _state["live"] is None:
        import atexit

        atexit.register(_stop_at_exit)
        from rich.console import Console
        from rich.progress import Progress

        live = Progress(*_columns(), console=Console(file=sys.stderr), transient=False,
                        refresh_per_second=8)
        live.start()
        _state["live"] = live
    _state["open"] += 1
    return _state["live"]


def _release():
    _state["open"] -= 1
    if _state["open"] <= 0 and _state["live"] is not None:
        _state["live"].stop()
        _state["live"], _state["open"] = None, 0


class Steps:
    """A counted job on the shared display: ``tick(n)`` or ``update(done)``; closed on exit.

    ``every`` is accepted for the older interface (seconds between printed lines); a value of
    1e6 or more hides the job (what callers pass for ``progress=False``)."""

    def __init__(self, label: str, total: float | None = None, every: float | None = None,
                 unit: str = "it", show: bool = True):
        self.label, self.total, self.unit = label, total, unit
        self.done = 0
        self._task = None
        self._live = None
        self._show = show and (every is None or every < _HIDDEN_EVERY)
        self._closed = False

    def __enter__(self):
        self._open()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _open(self):
        if self._task is not None or self._closed or not (self._show and bars_shown()):
            return
        with _lock:
            self._live = _live()
            self._task = self._live.add_task(self.label, total=self.total, unit=self.unit)

    def tick(self, n: float = 1) -> None:
        self.done += n
        self._open()
        if self._task is not None:
            self._live.update(self._task, completed=self.done)

    advance = tick

    def update(self, done: float) -> None:
        self.done = done
        self.tick(0)

    def set_total(self, total: float | None) -> None:
        self.total = total
        self._open()
        if self._task is not None:
            self._live.update(self._task, total=total)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            with _lock:
                self._live.update(self._task, completed=self.done, refresh=True)
                _release()
            self._task = None
