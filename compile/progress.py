"""What ``kfp-mlops run`` prints while a pipeline runs.

Each step as it starts, its elapsed time while it runs, and (when following) the step's own lines,
each prefixed by the step's name.

On a terminal the running step's line is redrawn in place twice a second ("running  train-sklearn
12.5 s"); elsewhere (a pipe, a CI log) each step gets one line when it starts and one when it ends,
so that logs stay readable. Everything goes to standard error: standard output keeps the summary
(or the one ``--json`` object) alone.
"""

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import TextIO

from kfp_mlops.compile.local_run import Step

_CLEAR_LINE = "\r\x1b[K"
_EXECUTOR_INPUT = "Got executor_input:"


class Progress:
    """Reports a local run's steps on ``stream`` as they start, run and finish.

    Args:
        stream: Where to write (standard error).
        follow: Also print each line a step writes, as ``[step-name] line``.
        live: Redraw the running step's elapsed time in place (for a terminal).
        interval: Seconds between redraws when ``live``.
    """

    def __init__(self, stream: TextIO, follow: bool, live: bool, interval: float = 0.5) -> None:
        self._stream = stream
        self._follow = follow
        self._live = live
        self._interval = interval
        self._lock = threading.Lock()
        self._running: Step | None = None
        self._since = 0.0
        self._drawn = False
        self._in_executor_input = False
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def started(self, step: Step) -> None:
        """A step has started: say so, and (live) start counting its seconds."""
        with self._lock:
            self._clear()
            self._running, self._since = step, time.perf_counter()
            if self._live:
                self._draw()
            else:
                self._write(f"  {'running':<9} {step.name}\n")
        if self._live and self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def line(self, step: Step, text: str) -> None:
        """A line the running step wrote; printed with its step's name when following."""
        if not self._follow or self._kfp_noise(text):
            return
        with self._lock:
            self._clear()
            self._write(f"  [{step.name}] {text.strip()}\n")
            if self._live and self._running is not None:
                self._draw()

    def finished(self, step: Step) -> None:
        """A step has finished (or was taken from the cache): its status and seconds."""
        with self._lock:
            self._clear()
            if self._running is step:
                self._running = None
            seconds = "" if step.seconds is None else f" {step.seconds:.1f} s"
            self._write(f"  {step.status:<9} {step.name}{seconds}\n")

    def close(self) -> None:
        """Stops redrawing and clears the running line."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            self._clear()

    def _kfp_noise(self, text: str) -> bool:
        """kfp.local's and the KFP executor's own lines, and blank lines.

        The executor's lines include the executor input, a JSON block that closes with a
        four-space-indented brace.
        """
        if self._in_executor_input:
            self._in_executor_input = text.rstrip() != "    }"
            return True
        if _EXECUTOR_INPUT in text:
            self._in_executor_input = True
            return True
        return not text.strip() or "[KFP Executor" in text or "Streamed logs:" in text

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                if self._running is not None:
                    self._clear()
                    self._draw()

    def _draw(self) -> None:
        assert self._running is not None
        elapsed = time.perf_counter() - self._since
        self._write(f"  {'running':<9} {self._running.name} {elapsed:.1f} s")
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self._write(_CLEAR_LINE)
            self._drawn = False

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


@contextlib.contextmanager
def unbuffered_steps() -> Iterator[None]:
    """Makes the steps' Python processes write each line as they print it.

    With ``PYTHONUNBUFFERED``, a followed step's lines arrive while it runs rather than when it
    exits.

    kfp.local's SubprocessRunner starts each task with this process's environment and reads its
    output line by line (kfp 2.x ``local/subprocess_task_handler.py``, ``run_local_subprocess``).
    """
    previous = os.environ.get("PYTHONUNBUFFERED")
    os.environ["PYTHONUNBUFFERED"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("PYTHONUNBUFFERED", None)
        else:
            os.environ["PYTHONUNBUFFERED"] = previous
