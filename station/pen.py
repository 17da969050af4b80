"""Watching the signature pen while it writes: live strokes, a stuck pen, clear and done.

A pen resting on the pad (or a pad whose pen switch sticks) looks to the pad
driver like one endless stroke: it records until its ``max_duration`` (60 s)
and fails, and with the workflow's retries that was minutes of silence
before anyone learnt why. :class:`PenWatch` sits between the driver and the
workflow and says so within seconds:

* the pen has been down without moving more than ``still_units`` for
  ``stuck_s`` seconds, or down without a lift for ``stroke_s`` seconds (no
  signature is one stroke that long): :class:`PenStuck`, a device fault the
  operator is told about at once (``e.pen_stuck``: lift the pen, wipe the pad);
* every sample goes on to a :class:`PenListener` (the kiosk draws it);
* the listener's "clear" ends the attempt with :class:`SignatureCleared`
  (the workflow starts it again, uncounted); its "done" ends the recording
  at once instead of after the idle time.

Samples pass through memory only; nothing here logs a position.
"""

from __future__ import annotations

import inspect
from typing import Callable, Protocol

from drivers.errors import CaptureFailed
from drivers.interfaces import SignaturePad
from drivers.types import PenSample, SignatureCapture


class PenStuck(CaptureFailed):
    """The pen stays down without writing: resting on the pad, or a stuck switch."""

    reason_id = "pen_stuck"


class SignatureCleared(Exception):
    """The operator cleared the pad mid-signature; the attempt starts again."""


class PenListener(Protocol):
    def pen_sample(self, sample: PenSample) -> None:
        """A sample as the pad reported it (called on the workflow's thread)."""

    def pen_command(self) -> str | None:
        """"clear", "done" or None; polled while the pad records."""


class PenWatch:
    def __init__(self, listener: PenListener | None = None, *, stuck_s: float = 3.0, stroke_s: float = 20.0,
                 still_units: float = 8.0) -> None:
        self.listener = listener
        self.stuck_s = stuck_s
        self.stroke_s = stroke_s
        self.still_units = still_units
        self._anchor: PenSample | None = None  # where the pen came to rest
        self._stroke_start: int | None = None  # t_ms of the current pen-down run
        self.samples = 0

    def on_sample(self, s: PenSample) -> None:
        self.samples += 1
        if self.listener is not None:
            self.listener.pen_sample(s)
        if not s.pen_down:
            self._anchor = None
            self._stroke_start = None
            return
        if self._stroke_start is None:
            self._stroke_start = s.t_ms
        a = self._anchor
        if a is None or abs(s.x - a.x) > self.still_units or abs(s.y - a.y) > self.still_units:
            self._anchor = s
        elif (s.t_ms - a.t_ms) / 1000 >= self.stuck_s:
            raise PenStuck(f"the pen has not moved for {self.stuck_s:g} s while down")
        if (s.t_ms - self._stroke_start) / 1000 >= self.stroke_s:
            raise PenStuck(f"the pen has stayed down for {self.stroke_s:g} s without a lift")

    def until(self) -> bool:
        command = self.listener.pen_command() if self.listener is not None else None
        if command == "clear":
            raise SignatureCleared()
        return command == "done" and self.samples > 0

    def capture(self, pad: SignaturePad, timeout: float, idle_end: float) -> SignatureCapture:
        """``pad.capture`` with this watch attached (live samples only where the driver offers them)."""
        if accepts_on_sample(pad):
            return pad.capture(timeout, idle_end=idle_end, until=self.until, on_sample=self.on_sample)
        return pad.capture(timeout, idle_end=idle_end, until=self.until)


def accepts_on_sample(pad: SignaturePad) -> bool:
    """Third-party pads written before ``on_sample`` existed do not take it."""
    capture: Callable = pad.capture
    try:
        params = inspect.signature(capture).parameters
    except (TypeError, ValueError):
        return False
    return "on_sample" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
