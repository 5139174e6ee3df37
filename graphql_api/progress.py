"""Progress of a long command: a bar on a terminal, plain lines anywhere else.

The bar is tqdm's (a well-kept library: rate, time left, redrawn in place). Where standard
error is not a terminal (a log file, CI, a pipe) a bar's carriage returns would make a
mess, so a plain line is written instead every `PLAIN_EVERY_SECONDS`, and once at the end.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import IO, Any

from tqdm import tqdm

PLAIN_EVERY_SECONDS = 5.0


class Progress:
    """`with Progress(total, "codes", "generating") as progress: progress.update_to(n)`.

    `total` may be None (an export: its size is not known ahead); `unit` names what is
    counted. Writes to `stream` (standard error unless told), never to standard output,
    which is the data's (an export writes its CSV there).
    """

    def __init__(
        self,
        total: int | None,
        unit: str,
        label: str,
        *,
        stream: IO[str] | None = None,
        bar: bool | None = None,
    ) -> None:
        self.total = total
        self.unit = unit
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self._last_line = self.started
        self._closed = False
        on_terminal = bar if bar is not None else self.stream.isatty()
        # A terminal that reports no width (a pseudo-terminal under `script`, some CI
        # runners) would get a bar of no columns: 80 then, as shutil falls back.
        width = _columns(self.stream)
        self._bar: Any = (
            tqdm(
                total=total,
                unit=f" {unit}",
                unit_scale=True,
                desc=label,
                file=self.stream,
                dynamic_ncols=width > 0,
                ncols=None if width > 0 else 80,
                smoothing=0.1,
            )
            if on_terminal
            else None
        )

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def elapsed(self) -> float:
        """Seconds since the progress started."""
        return time.monotonic() - self.started

    def rate(self) -> float:
        """Units a second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def advance(self, count: int) -> None:
        """`count` more units done."""
        self.update_to(self.done + count)

    def update_to(self, done: int) -> None:
        """`done` units done in all (a count read back from the database, say)."""
        if self._bar is not None:
            self._bar.update(done - self.done)
            self.done = done
            return
        self.done = done
        now = time.monotonic()
        if now - self._last_line >= PLAIN_EVERY_SECONDS:
            self._last_line = now
            self._plain_line()

    def close(self) -> None:
        """Stop the bar, or write the last plain line (unless it all took under a second:
        the command's summary says enough). Closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif self.done and self.elapsed >= 1.0:
            self._plain_line()

    def _plain_line(self) -> None:
        of_total = f" of {self.total:,}" if self.total else ""
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        self.stream.write(
            f"{self.label}: {self.done:,}{of_total} {self.unit}{share}, "
            f"{self.rate():,.0f} {self.unit}/s\n"
        )
        self.stream.flush()


def _columns(stream: IO[str]) -> int:
    """The terminal's width behind `stream`; 0 when it reports none or is no terminal."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0
