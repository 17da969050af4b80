"""The Topaz serial signature pad driver.

Moves bytes from a :class:`~drivers.serialport.SerialLink` into the sans-I/O
:class:`~drivers.signature.topaz_codec.TopazDecoder`, timestamps reports with
the driver's monotonic clock, calibrates them and cuts them into strokes.

Rules:
- Every wait has a deadline: the pen must touch within ``timeout``, a
  recording ends ``idle_end`` seconds after the last pen-down report (or when
  ``until()`` says so), and a pen resting on the pad for ``max_duration`` is a
  failed capture, not an endless one.
- Reports that arrive in one read are back-dated by the wire time of the
  bytes behind them, so a burst keeps its spacing instead of sharing one time.
- Serial pads cannot report their serial number or firmware: identity takes
  the model and serial from config and says "not reported" otherwise.
- Pen samples never reach a log line, a repr or an exception message.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Callable, Mapping

import msgspec
import serial

from drivers.errors import CaptureFailed, DeviceTimeout, DriverConfigError
from drivers.interfaces import SignaturePad
from drivers.registry import DriverContext, parse_options
from drivers.serialport import SerialLink
from drivers.signature.calibration import DEFAULT_MODEL, PadModel, resolve_model
from drivers.signature.render import render_strokes
from drivers.signature.topaz_codec import REPORT_LEN, TopazDecoder
from drivers.types import DeviceIdentity, DeviceKind, PenSample, SignatureCapture

_FRAMING_FORM = "like '8N1' or '8O1' (8 data bits: the report's sync bit is bit 7)"

#: How often a waiting capture looks at ``until()`` and its deadlines.
POLL_S = 0.05
NOT_REPORTED = "not reported"


class TopazPad(SignaturePad):
    """A Topaz (or protocol-compatible) pad on a serial port."""

    driver_name = "topaz"

    def __init__(
        self,
        port: str,
        *,
        model: PadModel,
        baud: int | None = None,
        framing: str | None = None,
        idle_end: float = 2.0,
        max_duration: float = 60.0,
        serial_number: str | None = None,
        serial_factory: Callable[..., Any] = serial.Serial,
        clock: Callable[[], float] = time.monotonic,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.port = port
        self.model = model
        self.calibration = model.calibration
        self._idle_end = idle_end
        self._max_duration = max_duration
        self._serial_number = serial_number
        self._clock = clock
        self._on_close = on_close
        framing = framing or model.framing
        self._framing = framing
        self._link = SerialLink(
            port, baud or model.baud, device=self.label, framing=framing, serial_factory=serial_factory
        )
        # start + data + parity + stop bits: the wire time of one character
        self._byte_s = (1 + int(framing[0]) + (framing[1] != "N") + int(framing[2])) / self._link.baud
        self._decoder = TopazDecoder(bits=model.bits)

    @classmethod
    def from_config(cls, options: Mapping[str, Any], context: DriverContext | None = None) -> "TopazPad":
        """Build from the station config's ``[devices.signature]`` options (:class:`TopazOptions`)."""
        label = f"{DeviceKind.SIGNATURE.value} {cls.driver_name}"
        o = parse_options(TopazOptions, options, device=label)
        return cls(o.port, **pad_options(o, label))

    # -- lifecycle -----------------------------------------------------------
    def _open(self) -> DeviceIdentity:
        self._link.open()
        self._link.discard_input()
        return DeviceIdentity(
            kind=DeviceKind.SIGNATURE,
            driver=self.driver_name,
            make="Topaz",
            model=f"{self.model.name} ({self.model.description})",
            serial=self._serial_number or NOT_REPORTED,
            firmware=NOT_REPORTED,
        )

    def _close(self) -> None:
        self._link.close()
        self._run_on_close()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._run_on_close()  # also when the pad was never opened

    def _run_on_close(self) -> None:
        hook, self._on_close = self._on_close, None
        if hook is not None:
            hook()

    def _self_test(self) -> str:
        self._link.discard_input()  # raises if the port has gone
        return (
            f"{self.port} open at {self._link.baud} {self._framing}; a serial pad is silent "
            "until the pen is near, so only the port was checked"
        )

    @property
    def discarded_bytes(self) -> int:
        """Bytes the decoder threw away (line noise, torn reports) since open."""
        return self._decoder.discarded

    # -- capture -------------------------------------------------------------
    def clear(self) -> None:
        self._require_open()
        self._link.discard_input()
        self._decoder.reset()

    def capture(
        self,
        timeout: float = 30.0,
        *,
        idle_end: float | None = None,
        until: Callable[[], bool] | None = None,
        on_sample: Callable[[PenSample], None] | None = None,
    ) -> SignatureCapture:
        self._require_open()
        idle = self._idle_end if idle_end is None else idle_end
        if timeout <= 0 or idle <= 0:
            raise DriverConfigError("capture timeout and idle_end must be positive", device=self.label)
        self._decoder.reset()
        samples: list[PenSample] = []
        first_down: float | None = None
        last_down = 0.0
        last_t = float("-inf")
        wait_deadline = self._clock() + timeout
        while True:
            now = self._clock()
            if first_down is None:
                if now >= wait_deadline:
                    raise DeviceTimeout(
                        f"the pen did not touch the pad within {timeout:g} s", device=self.label
                    )
                if until is not None and until():
                    raise CaptureFailed("capture was stopped before the pen touched the pad", device=self.label)
                poll_deadline = min(wait_deadline, now + POLL_S)
            else:
                if now - last_down >= idle or (until is not None and until()):
                    break
                if now - first_down >= self._max_duration:
                    raise CaptureFailed(
                        f"the pen stayed on the pad for over {self._max_duration:g} s: "
                        "is it resting on the pad?",
                        device=self.label,
                    )
                poll_deadline = min(last_down + idle, now + POLL_S)
            try:
                chunk = self._link.read_some(poll_deadline)
            except DeviceTimeout:
                continue  # nothing this poll; the checks above decide
            arrived = self._clock()
            reports = self._decoder.feed(chunk)
            # report i ended this many characters before the read returned
            behind = self._decoder.pending_bytes + REPORT_LEN * len(reports)
            for report in reports:
                behind -= REPORT_LEN
                t = max(arrived - behind * self._byte_s, last_t)
                last_t = t
                if not report.in_proximity:
                    continue  # the pen left: no position worth keeping
                if first_down is None:
                    if not report.pen_down:
                        continue  # hovering before the signature starts
                    first_down = t
                if report.pen_down:
                    last_down = t
                x, y = self.calibration.to_logical(report.x, report.y)
                sample = PenSample(
                    t_ms=round((t - first_down) * 1000),
                    x=x,
                    y=y,
                    pressure=1.0 if report.pen_down else 0.0,
                    pen_down=report.pen_down,
                )
                samples.append(sample)
                if on_sample is not None:
                    on_sample(sample)  # live strokes on a screen; what it raises ends the capture
        strokes = split_strokes(samples)
        return SignatureCapture(
            samples=tuple(samples),
            strokes=strokes,
            image=render_strokes(strokes, self.calibration.extent),
            extent=self.calibration.extent,
        )


def split_strokes(samples: list[PenSample] | tuple[PenSample, ...]) -> tuple[tuple[PenSample, ...], ...]:
    """Runs of pen-down samples; a pen-up sample ends a stroke."""
    strokes: list[tuple[PenSample, ...]] = []
    run: list[PenSample] = []
    for s in samples:
        if s.pen_down:
            run.append(s)
        elif run:
            strokes.append(tuple(run))
            run = []
    if run:
        strokes.append(tuple(run))
    return tuple(strokes)


class PadOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The options the real and the emulated pad share."""

    #: A known model (its calibration and line settings), or any name with a full ``calibration``.
    model: str = DEFAULT_MODEL
    #: Keys of :class:`~drivers.signature.calibration.Calibration` laid over the model's.
    calibration: dict[str, Any] | None = None
    #: None: the model's.
    baud: Annotated[int, msgspec.Meta(gt=0)] | None = None
    #: None: the model's.
    framing: Annotated[str, msgspec.Meta(pattern=r"^8[NEOneo][12]$", description=_FRAMING_FORM)] | None = None
    idle_end: Annotated[float, msgspec.Meta(gt=0)] = 2.0
    max_duration: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    serial: str | None = None


class TopazOptions(PadOptions):
    """``[devices.signature] options`` of the ``topaz`` driver."""

    port: str


def pad_options(options: PadOptions, label: str) -> dict[str, Any]:
    """Keyword arguments for :class:`TopazPad` from the shared options, with the model resolved."""
    model = resolve_model(options.model, options.calibration, device=label)
    return dict(
        model=model,
        baud=options.baud or model.baud,
        framing=(options.framing or model.framing).upper(),
        idle_end=options.idle_end,
        max_duration=options.max_duration,
        serial_number=options.serial,
    )
