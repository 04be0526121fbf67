"""A transfer's progress on one line of a terminal: objects, bytes, rate and time left.

Shown only on a terminal (a log or a pipe gets the final summary alone), redrawn at
most ten times a second, and erased when the transfer ends.
"""

from __future__ import annotations

import time
from typing import TextIO


def human_size(n: float) -> str:
    """``n`` bytes as people read them: ``512 B``, ``3.4 KiB``, ``1.2 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{int(n)} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class TransferBar:
    """Follows a transfer (:class:`mlrepro.remote.transfer.Progress`) on ``stream``."""

    def __init__(self, verb: str, stream: TextIO, *, enabled: bool) -> None:
        self.verb = verb
        self.stream = stream
        self.enabled = enabled
        self.objects = self.nbytes = 0
        self.done_objects = self.done_bytes = 0
        self._start = time.monotonic()
        self._drawn = 0.0
        self._width = 0

    def total(self, objects: int, nbytes: int) -> None:
        self.objects += objects
        self.nbytes += nbytes
        self._draw()

    def advance(self, objects: int, nbytes: int) -> None:
        self.done_objects += objects
        self.done_bytes += nbytes
        self._draw()

    def line(self, now: float) -> str:
        elapsed = max(now - self._start, 1e-9)
        rate = self.done_bytes / elapsed
        text = (
            f"{self.verb} {self.done_objects:,}/{self.objects:,} objects, "
            f"{human_size(self.done_bytes)}/{human_size(self.nbytes)}, "
            f"{human_size(rate)}/s"
        )
        left = self.nbytes - self.done_bytes
        if self.done_bytes and left > 0:
            text += f", {_clock(left / rate)} left"
        return text

    def _draw(self) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn < 0.1 and self.done_objects < self.objects:
            return
        self._drawn = now
        text = self.line(now)
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def close(self) -> None:
        """Erase the line."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
