"""The Topaz serial pad report format, without I/O.

Bytes in, :class:`PenReport` out (:class:`TopazDecoder`); reports in, bytes out
(:func:`encode_report`). Nothing here touches a port, a clock or a thread.

Wire format (what an open-source Topaz serial reader decodes, and what the
simulator sends; the pad streams reports unasked while the pen is near):

    byte 0  1 P 0 0 0 0 0 T   sync: bit 7 set; P = pen in proximity, T = tip down
    byte 1  0 x6 .. x0        x, low 7 bits
    byte 2  0 . x13 .. x7     x, high bits (5 on a 12-bit pad, up to 7 for 14 bits)
    byte 3  0 y6 .. y0        y, low 7 bits
    byte 4  0 . y13 .. y7     y, high bits

Only byte 0 has bit 7 set, so the decoder finds report boundaries by it:

- a sync byte always starts a new report, dropping any unfinished one;
- a data byte with no report started is garbage and is skipped;
- a complete report whose high bytes use bits above ``bits`` is malformed
  (line noise that happened to look like a frame) and is dropped.

Bits 1-5 of the sync byte are ignored: pads we do not know may use them.
Dropped bytes are counted in :attr:`TopazDecoder.discarded`, never shown:
a report is a piece of someone's signature.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

REPORT_LEN = 5
SYNC = 0x80
PROXIMITY = 0x40
TIP = 0x01
MIN_BITS, MAX_BITS = 8, 14


@dataclass(frozen=True)
class PenReport:
    """One raw pad report. Coordinates stay out of the repr (biometric data)."""

    x: int = field(repr=False)
    y: int = field(repr=False)
    pen_down: bool
    in_proximity: bool

    def __post_init__(self) -> None:
        limit = 1 << MAX_BITS
        if not (0 <= self.x < limit and 0 <= self.y < limit):
            raise ValueError(f"report coordinates must be 0..{limit - 1}")


def _check_bits(bits: int) -> int:
    if not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"coordinate bits must be {MIN_BITS}..{MAX_BITS}, got {bits}")
    return bits


def encode_report(report: PenReport, *, bits: int = 12) -> bytes:
    """The five bytes a pad sends for ``report``."""
    _check_bits(bits)
    limit = 1 << bits
    if report.x >= limit or report.y >= limit:
        raise ValueError(f"report coordinates do not fit in {bits} bits")
    status = SYNC | (PROXIMITY if report.in_proximity else 0) | (TIP if report.pen_down else 0)
    return bytes(
        (status, report.x & 0x7F, report.x >> 7, report.y & 0x7F, report.y >> 7)
    )


class TopazDecoder:
    """Turns a byte stream into reports, resynchronising on the next sync byte.

    h11-style: :meth:`receive_data` takes whatever arrived, :meth:`next_event`
    returns a report or ``None`` when more bytes are needed. :meth:`feed` does
    both for callers that want all complete reports at once.
    """

    def __init__(self, *, bits: int = 12) -> None:
        self._high_mask = ~((1 << (_check_bits(bits) - 7)) - 1) & 0x7F
        self._frame = bytearray()
        self._events: deque[PenReport] = deque()
        #: Bytes thrown away: garbage, torn reports, malformed reports.
        self.discarded = 0
        #: Complete reports dropped because their values were out of range.
        self.malformed = 0

    def receive_data(self, data: bytes) -> None:
        frame = self._frame
        for byte in data:
            if byte & SYNC:
                self.discarded += len(frame)
                frame.clear()
                frame.append(byte)
            elif frame:
                frame.append(byte)
                if len(frame) == REPORT_LEN:
                    self._complete(bytes(frame))
                    frame.clear()
            else:
                self.discarded += 1

    def next_event(self) -> PenReport | None:
        return self._events.popleft() if self._events else None

    def feed(self, data: bytes) -> list[PenReport]:
        self.receive_data(data)
        out = list(self._events)
        self._events.clear()
        return out

    def reset(self) -> None:
        """Forget any unfinished report and any undelivered ones."""
        self.discarded += len(self._frame)
        self._frame.clear()
        self._events.clear()

    @property
    def pending_bytes(self) -> int:
        """Bytes of an unfinished report held back for the next read."""
        return len(self._frame)

    def _complete(self, frame: bytes) -> None:
        status, xl, xh, yl, yh = frame
        if (xh | yh) & self._high_mask:
            self.malformed += 1
            self.discarded += REPORT_LEN
            return
        self._events.append(
            PenReport(
                x=(xh << 7) | xl,
                y=(yh << 7) | yl,
                pen_down=bool(status & TIP),
                in_proximity=bool(status & PROXIMITY),
            )
        )
