"""A Topaz serial pad on a pseudo-terminal, driven by the scene.

When a new signing appears in the scene (a new ``SigningView.serial``), the
simulator renders that person's synthetic trajectory at the pad's report
rate, maps it to raw counts through the model's calibration, and streams it
as real 5-byte reports: pen-down reports along each stroke, proximity-only
reports while the pen hovers between strokes, one out-of-proximity report as
the pen leaves. Then it tells the scene the signing is done.

Rules:
- Time follows the trajectory scaled by ``scene.time_scale`` (0 sends as
  fast as the line allows); with ``pace=True`` the base class also holds the
  bytes to the baud rate.
- Waits are on the stop event, so ``stop()`` and ``unplug()`` end a signing
  at once.
- The pad answers no commands in this mode: bytes from the driver are read
  and ignored, as a real pad in its streaming mode does.
- Faults: ``set_silent()`` and ``unplug()`` from the base class,
  ``inject_garbage()`` to put line noise before the next report, and
  ``set_noise()`` to put it after every n-th report.
- The master end is non-blocking, so a host that stops reading can fill the
  line but can never wedge ``stop()``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Annotated, Any, Mapping

import msgspec

from drivers.errors import DriverConfigError
from drivers.pty_simulator import PtySimulator
from drivers.registry import DriverContext, parse_options
from drivers.scene import Scene, SigningView
from drivers.signature.calibration import DEFAULT_MODEL, PadModel, resolve_model
from drivers.signature.topaz import PadOptions, TopazPad, pad_options
from drivers.signature.topaz_codec import PenReport, encode_report
from drivers.synthetic.signature import trajectory
from drivers.types import DeviceKind

log = logging.getLogger(__name__)

#: Reports per second while the pen is near; an assumption, not a datasheet value.
DEFAULT_REPORT_HZ = 120.0


class TopazSimulator(PtySimulator):
    """Plays the scene's signings as a Topaz pad would send them."""

    description = "Topaz serial signature pad simulator"

    def __init__(
        self,
        scene: Scene,
        *,
        model: PadModel | None = None,
        baud: int | None = None,
        pace: bool = False,
        report_hz: float = DEFAULT_REPORT_HZ,
    ) -> None:
        self.model = model or resolve_model(DEFAULT_MODEL, None, device="topaz simulator")
        super().__init__(baud=baud or self.model.baud, pace=pace, chunk=5)
        if report_hz <= 0:
            raise ValueError("report_hz must be positive")
        self.scene = scene
        self.report_hz = report_hz
        self._player: threading.Thread | None = None
        self._garbage = bytearray()
        self._garbage_lock = threading.Lock()
        self._noise = b""
        self._noise_every = 0
        self._last_serial = 0
        #: Reports put on the wire (not counting injected garbage).
        self.reports_sent = 0
        #: Signings streamed to the end and handed back to the scene.
        self.signings_done = 0

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> "TopazSimulator":
        if self._player is not None:
            return self
        super().start()
        assert self._master is not None
        os.set_blocking(self._master, False)
        self._player = threading.Thread(target=self._watch, name=f"topaz-sim:{self.port}", daemon=True)
        self._player.start()
        return self

    def stop(self) -> None:
        # Close the line first: a player blocked on a full line then returns at once.
        super().stop()
        player, self._player = self._player, None
        if player is not None and player is not threading.current_thread():
            player.join(timeout=2)

    # -- faults ---------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Is the pad still watching the scene (not stopped, not unplugged)?"""
        return self._player is not None and self._player.is_alive() and not self._stop.is_set()

    def inject_garbage(self, data: bytes) -> None:
        """Send ``data`` as line noise just before the next report."""
        with self._garbage_lock:
            self._garbage += data

    def set_noise(self, data: bytes, every: int) -> None:
        """Put ``data`` on the line after every ``every``-th report (0 turns it off)."""
        if every < 0:
            raise ValueError("every must be >= 0")
        with self._garbage_lock:
            self._noise, self._noise_every = bytes(data), every

    # -- the pad -------------------------------------------------------------
    def on_bytes(self, data: bytes) -> None:
        """The pad streams unasked; what the host sends is read and ignored."""

    def reports_for(self, signing: SigningView) -> list[tuple[float, bytes]]:
        """(time in s, 5 bytes) for each report of ``signing``, at the report rate."""
        cal = self.model.calibration
        points = trajectory(
            signing.person,
            signing.condition,
            capture_seed=signing.serial,
            rate_hz=self.report_hz,
            aspect=cal.width / cal.height,
        )
        out = []
        for p in points:
            x, y = cal.normalised_to_raw(p.x, p.y)
            report = PenReport(x=x, y=y, pen_down=p.pen_down, in_proximity=p.in_proximity)
            out.append((p.t_s, encode_report(report, bits=self.model.bits)))
        return out

    def _watch(self) -> None:
        while not self._stop.is_set():
            version = self.scene.version
            signing = self.scene.signing
            if signing is not None and signing.serial > self._last_serial:
                self._last_serial = signing.serial
                try:
                    finished = self._play(signing)
                except Exception:  # a simulator bug must not leave the scene waiting silently
                    log.exception("%s failed playing a signing", self.description)
                    finished = False
                if finished:
                    self.signings_done += 1
                    self.scene.finish_signing(signing.serial)
                continue
            self.scene.wait_change(version, timeout=0.1)

    def _play(self, signing: SigningView) -> bool:
        """Stream one signing; False if stopped or unplugged on the way."""
        reports = self.reports_for(signing)
        start = time.monotonic()
        i = 0
        while i < len(reports):
            if self._stop.is_set() or self.unplugged:
                return False
            scale = max(0.0, self.scene.time_scale)
            now = time.monotonic()
            # everything already due goes out in one write, as a UART backlog would
            batch = bytearray(self._take_garbage())
            while i < len(reports) and start + reports[i][0] * scale <= now:
                batch += reports[i][1]
                i += 1
                self.reports_sent += 1
                if self._noise_every and self.reports_sent % self._noise_every == 0:
                    batch += self._noise
            if len(batch):
                self.send(bytes(batch))
            if i < len(reports):
                due = start + reports[i][0] * scale
                self._stop.wait(max(0.0, due - time.monotonic()))
        return not (self._stop.is_set() or self.unplugged)

    def _take_garbage(self) -> bytes:
        with self._garbage_lock:
            data = bytes(self._garbage)
            self._garbage.clear()
        return data


class EmulatedTopazPad(TopazPad):
    """The real pad driver on a simulator's port; closing it stops the simulator."""

    driver_name = "topaz-emulated"

    def __init__(self, simulator: TopazSimulator, **kwargs: Any) -> None:
        self.simulator = simulator
        super().__init__(simulator.port, on_close=simulator.stop, **kwargs)


class EmulatedPadOptions(PadOptions):
    """``[devices.signature] options`` of the ``topaz-emulated`` driver."""

    #: Model wire time at the pad's baud rate, as benchmarks need.
    pace: bool = False
    report_hz: Annotated[float, msgspec.Meta(gt=0)] = DEFAULT_REPORT_HZ


def emulated_pad(options: Mapping[str, Any], context: DriverContext) -> EmulatedTopazPad:
    """Start a simulator on ``context.scene`` and return the pad driver on its port.

    Options (:class:`EmulatedPadOptions`): those of the real pad except ``port``
    (``serial`` defaults to "emulated"; ``framing`` to 8N1, the only framing a
    pty keeps), plus ``pace`` and ``report_hz``. Open the pad before the
    resident signs: opening drops whatever the line held.
    """
    label = f"{DeviceKind.SIGNATURE.value} {EmulatedTopazPad.driver_name}"
    o = parse_options(EmulatedPadOptions, options, device=label)
    common = pad_options(o, label)
    if o.framing is None:
        common["framing"] = "8N1"
    elif common["framing"][1] != "N":
        raise DriverConfigError(
            f"framing {common['framing']!r} cannot be emulated: a pseudo-terminal drops the parity "
            "setting (Linux clears PARENB and refuses it the next time pyserial sets it); use 8N1",
            device=label,
        )
    if common["serial_number"] is None:
        common["serial_number"] = "emulated"
    sim = TopazSimulator(context.scene, model=common["model"], baud=common["baud"], pace=o.pace, report_hz=o.report_hz)
    sim.start()
    try:
        return EmulatedTopazPad(sim, **common)
    except BaseException:
        sim.stop()
        raise
