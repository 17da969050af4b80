"""Driver for the ADH-Tech GT-521F32/F52 optical fingerprint module over UART.

Owns the conversation with one module: open (identity, optional switch to a
fast baud rate), capture (LED, wait for the finger, image, template), the
module's own enrolment database, and putting the module back to 9600 baud on
close so the next open finds it. It only moves bytes through
:class:`drivers.serialport.SerialLink`; every byte is understood by
:mod:`drivers.fingerprint.gt521.codec`.

Rules: every wait has a deadline (a reply: ``timeout``; a data packet: that
plus its wire time at the current baud); every failure is a DeviceError naming
the device; the CMOS LED is switched off again on every way out of a capture;
images and templates never reach a log line or a message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from drivers.errors import (
    BadAddress,
    DeviceCommandFailed,
    DeviceError,
    DeviceProtocolError,
    DeviceTimeout,
    DriverConfigError,
    NoFinger,
)
from drivers.fingerprint.gt521 import codec, codes
from drivers.fingerprint.gt521.options import GT521Options
from drivers.interfaces import FingerprintScanner
from drivers.registry import DriverContext, parse_options
from drivers.serialport import SerialLink
from drivers.types import DeviceIdentity, DeviceKind, FingerCapture, Image, ImageFormat

log = logging.getLogger(__name__)

MAKE = "ADH-Tech"
#: UART bits per byte at 8N1 (start + 8 data + stop), for wire-time deadlines.
BITS_PER_BYTE = 10
TEMPLATE_FORMAT = "adh-tech-gt521"


class GT521Scanner(FingerprintScanner):
    """One GT-521F32/F52 module on a serial port."""

    driver_name = "gt521"

    def __init__(
        self,
        port: str,
        *,
        baud: int = codes.DEFAULT_BAUD,
        fast_baud: int | None = None,
        device_id: int = codes.DEFAULT_DEVICE_ID,
        model: str | None = None,
        timeout: float = 2.0,
        poll_interval: float = 0.05,
        serial_factory: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__()
        for name, rate in (("baud", baud), ("fast_baud", fast_baud)):
            if rate is not None and rate not in codes.BAUD_RATES:
                raise DriverConfigError(
                    f"option {name!r} must be one of {', '.join(map(str, codes.BAUD_RATES))}, got {rate}",
                    device=self._label_for(port),
                )
        if model is not None and model not in codes.CAPACITY:
            raise DriverConfigError(
                f"option 'model' must be one of {', '.join(codes.CAPACITY)}, got {model!r}",
                device=self._label_for(port),
            )
        if not 0 <= device_id <= 0xFFFF:
            raise DriverConfigError(f"option 'device_id' must be 0..65535, got {device_id}", device=self._label_for(port))
        if timeout <= 0:
            raise DriverConfigError(f"option 'timeout' must be > 0, got {timeout}", device=self._label_for(port))
        self.port = port
        self.default_baud = baud
        self.fast_baud = fast_baud if fast_baud != baud else None
        self.device_id = device_id
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._configured_model = model
        self.model: str | None = model
        self.capacity: int | None = codes.CAPACITY.get(model) if model else None
        kwargs = {"serial_factory": serial_factory} if serial_factory is not None else {}
        self._link = SerialLink(port, baud, device=self.label, **kwargs)
        self._rx = codec.PacketReceiver(codec.Role.HOST, device=self.label)
        self._lock = threading.RLock()
        #: The module has answered Open: worth asking it to switch off and slow down on close.
        self._talking = False

    @classmethod
    def from_config(cls, options: Mapping[str, Any], context: DriverContext | None = None) -> GT521Scanner:
        """Build from the station config's ``[devices.fingerprint]`` options (:class:`GT521Options`)."""
        port = options.get("port")
        o = parse_options(GT521Options, options, device=cls._label_for(port if isinstance(port, str) else "?"))
        return cls(
            o.port,
            baud=o.baud,
            fast_baud=o.fast_baud,
            device_id=o.device_id,
            model=o.model,
            timeout=o.timeout,
            poll_interval=o.poll_interval,
        )

    # -- naming ---------------------------------------------------------------
    @classmethod
    def _label_for(cls, port: str) -> str:
        return f"{DeviceKind.FINGERPRINT.value} {cls.driver_name} on {port}"

    @property
    def label(self) -> str:
        return self._label_for(self.port)

    @property
    def baud(self) -> int:
        """The rate the link runs at now (the fast rate while open, if configured)."""
        return self._link.baud

    # -- lifecycle ------------------------------------------------------------
    def _open(self) -> DeviceIdentity:
        self._link.open()
        info = self._handshake()
        self._talking = True
        if self.fast_baud is not None and self._link.baud != self.fast_baud:
            self._set_baud(self.fast_baud)
        if self._configured_model is None:
            self.model, self.capacity = self._probe_model()
        if not any(info.serial_number):
            log.warning("%s: module reports an all-zero serial number; ADH-Tech does not vouch for it", self.label)
        return DeviceIdentity(
            kind=DeviceKind.FINGERPRINT,
            driver=self.driver_name,
            make=MAKE,
            model=self.model or "GT-521F",
            serial=info.serial,
            firmware=info.firmware,
        )

    def _handshake(self) -> codec.OpenInfo:
        """Open with extra info; if the module is still at the fast rate (a crash left it so), try there."""
        try:
            data = self._fetch(codec.open_(True, device_id=self.device_id))
        except DeviceTimeout:
            if self.fast_baud is None:
                raise DeviceTimeout(
                    f"no answer to Open at {self._link.baud} baud: is the module powered and wired TX->RX?",
                    device=self.label,
                ) from None
            log.info("%s: no answer at %d baud, trying %d", self.label, self._link.baud, self.fast_baud)
            self._link.baud = self.fast_baud
            try:
                data = self._fetch(codec.open_(True, device_id=self.device_id))
            except DeviceTimeout:
                raise DeviceTimeout(
                    f"no answer to Open at {self.default_baud} or {self.fast_baud} baud: "
                    "is the module powered and wired TX->RX?",
                    device=self.label,
                ) from None
        return self._parse(codec.parse_open_info, data)

    def _probe_model(self) -> tuple[str, int]:
        """Slot 200 exists only on the F52 (3000 slots); the F32 has 200."""
        try:
            self._transact(codec.check_enrolled(codes.CAPACITY["GT-521F32"], device_id=self.device_id))
        except DeviceCommandFailed as exc:
            if exc.code == codes.Nack.INVALID_POS:
                return "GT-521F32", codes.CAPACITY["GT-521F32"]
            if exc.code != codes.Nack.IS_NOT_USED:
                raise
        return "GT-521F52", codes.CAPACITY["GT-521F52"]

    def _close(self) -> None:
        """LED off, back to the configured rate, Close; a vanished module is not an error here.

        The module keeps a changed rate until power-off, so leaving it fast
        would make the next open at ``baud`` meet silence.
        """
        with self._lock:
            try:
                if self._link.is_open and self._talking:
                    short = min(self.timeout, 0.5)
                    self._transact(codec.cmos_led(False, device_id=self.device_id), timeout=short)
                    if self._link.baud != self.default_baud:
                        self._set_baud(self.default_baud, timeout=short)
                    self._transact(codec.close(device_id=self.device_id), timeout=short)
            except DeviceError as exc:
                log.warning("%s: closing: %s", self.label, exc)
            finally:
                self._link.close()

    def _self_test(self) -> str:
        with self._lock:
            self._transact(codec.open_(False, device_id=self.device_id))
            count = codec.parse_count(self._transact(codec.get_enroll_count(device_id=self.device_id))[0])
            self._led(True)
            self._led(False)
        cap = f"/{self.capacity}" if self.capacity else ""
        return f"{self.model} database {count}{cap} enrolled, LED ok, {self._link.baud} baud"

    # -- FingerprintScanner ---------------------------------------------------
    def finger_present(self) -> bool:
        """Lights the CMOS LED for the look: the module is optical and sees nothing in the dark."""
        self._require_open()
        with self._lock:
            try:
                self._led(True)  # inside: a lost reply may still have lit it
                return self._pressed()
            finally:
                self._led_off_quietly()

    def wait_removed(self, timeout: float = 10.0) -> bool:
        """One LED-on stretch for the whole wait, instead of one per look."""
        self._require_open()
        with self._lock:
            try:
                self._led(True)  # inside: a lost reply may still have lit it
                return self._wait_lifted(timeout)
            finally:
                self._led_off_quietly()

    def capture(self, timeout: float = 10.0) -> FingerCapture:
        self._require_open()
        with self._lock:
            try:
                self._led(True)  # inside: a lost reply may still have lit it
                self._wait_pressed(timeout)
                self._transact(codec.capture_finger(True, device_id=self.device_id))
                pixels = self._parse(codec.parse_image, self._fetch(codec.get_image(device_id=self.device_id)))
                template = self._parse(
                    codec.parse_template, self._fetch(codec.make_template(device_id=self.device_id))
                )
            except BaseException:
                self._led_off_quietly()
                raise
            self._led(False)
        image = Image(
            data=pixels,
            width=codes.IMAGE_WIDTH,
            height=codes.IMAGE_HEIGHT,
            format=ImageFormat.GRAY8,
            metadata={"dpi": codes.IMAGE_DPI, "sensor": self.model, "capture": "best"},
        )
        return FingerCapture(image=image, template=template, template_format=TEMPLATE_FORMAT)

    # -- the module's own database -------------------------------------------
    def enroll_count(self) -> int:
        return codec.parse_count(self._locked(codec.get_enroll_count(device_id=self.device_id))[0])

    def is_enrolled(self, slot: int) -> bool:
        try:
            self._locked(codec.check_enrolled(slot, device_id=self.device_id))
        except DeviceCommandFailed as exc:
            if exc.code == codes.Nack.IS_NOT_USED:
                return False
            raise
        return True

    def enroll(self, slot: int, timeout: float = 10.0, *, lift_between: bool = True) -> bytes | None:
        """Enrol the finger three times into ``slot`` (or, for ENROLL_NO_SAVE, return the template).

        Between captures the resident lifts and presses again (``lift_between``),
        as the module's makers advise, so three views of the finger get merged.
        ``timeout`` bounds each wait for the finger. Raises DuplicateFinger if the
        finger is already enrolled elsewhere.
        """
        self._require_open()
        with self._lock:
            self._transact(codec.enroll_start(slot, device_id=self.device_id))
            try:
                self._led(True)  # inside: a lost reply may still have lit it
                template: bytes | None = None
                for stage in (1, 2, 3):
                    if stage > 1 and lift_between and not self._wait_lifted(timeout):
                        raise DeviceTimeout(
                            f"the finger was not lifted within {timeout:g} s between enrolment presses",
                            device=self.label,
                        )
                    self._wait_pressed(timeout)
                    self._transact(codec.capture_finger(True, device_id=self.device_id))
                    if stage == 3 and slot == codes.ENROLL_NO_SAVE:
                        _, data = self._transact(codec.enroll(3, device_id=self.device_id), data_size=codes.TEMPLATE_SIZE)
                        template = self._parse(codec.parse_template, data or b"")
                    else:
                        self._transact(codec.enroll(stage, device_id=self.device_id))
            except BaseException:
                self._led_off_quietly()
                raise
            self._led(False)
            return template

    def verify(self, slot: int, timeout: float = 10.0) -> bool:
        """1:1 — does the finger on the glass match ``slot``?"""
        return self._match(codec.verify(slot, device_id=self.device_id), timeout) is not None

    def identify(self, timeout: float = 10.0) -> int | None:
        """1:N — the slot the finger on the glass matches, or None."""
        return self._match(codec.identify(device_id=self.device_id), timeout)

    def delete(self, slot: int) -> None:
        self._locked(codec.delete_id(slot, device_id=self.device_id))

    def delete_all(self) -> None:
        try:
            self._locked(codec.delete_all(device_id=self.device_id))
        except DeviceCommandFailed as exc:
            if exc.code != codes.Nack.DB_IS_EMPTY:
                raise

    def get_template(self, slot: int) -> bytes:
        data = self._locked(codec.get_template(slot, device_id=self.device_id), data_size=codes.TEMPLATE_SIZE)[1]
        return self._parse(codec.parse_template, data or b"")

    def set_template(self, slot: int, template: bytes, *, check_duplicate: bool = True) -> None:
        if len(template) != codes.TEMPLATE_SIZE:
            raise DeviceError(f"a template is {codes.TEMPLATE_SIZE} bytes, got {len(template)}", device=self.label)
        self._require_open()
        with self._lock:
            self._transact(codec.set_template(slot, check_duplicate=check_duplicate, device_id=self.device_id))
            self._transact(codec.data_packet(template, device_id=self.device_id), fresh=False)

    def raw_image(self) -> Image:
        """A live 160x120 preview (LED on while it is taken), for aiming, not for the record."""
        self._require_open()
        with self._lock:
            try:
                self._led(True)  # inside: a lost reply may still have lit it
                data = self._parse(codec.parse_raw_image, self._fetch(codec.get_raw_image(device_id=self.device_id)))
            except BaseException:
                self._led_off_quietly()
                raise
            self._led(False)
        return Image(data, codes.RAW_IMAGE_WIDTH, codes.RAW_IMAGE_HEIGHT, ImageFormat.GRAY8, metadata={"preview": True})

    # -- steps ------------------------------------------------------------------
    def _match(self, command: codec.CommandPacket, timeout: float) -> int | None:
        self._require_open()
        with self._lock:
            try:
                self._led(True)  # inside: a lost reply may still have lit it
                self._wait_pressed(timeout)
                self._transact(codec.capture_finger(False, device_id=self.device_id))
                try:
                    response, _ = self._transact(command)
                except DeviceCommandFailed as exc:
                    if exc.code in (codes.Nack.VERIFY_FAILED, codes.Nack.IDENTIFY_FAILED, codes.Nack.DB_IS_EMPTY):
                        response = None
                    else:
                        raise
            except BaseException:
                self._led_off_quietly()
                raise
            self._led(False)
        return None if response is None else codec.parse_slot(response)

    def _led(self, on: bool) -> None:
        self._transact(codec.cmos_led(on, device_id=self.device_id))

    def _led_off_quietly(self) -> None:
        """On the way out of a failure: try once, briefly; the first error is the one that matters."""
        if not self._link.is_open:
            return
        try:
            self._transact(codec.cmos_led(False, device_id=self.device_id), timeout=min(self.timeout, 0.5))
        except DeviceError as exc:
            log.info("%s: could not switch the LED off after a failure: %s", self.label, exc)

    def _pressed(self) -> bool:
        return codec.parse_is_press_finger(self._transact(codec.is_press_finger(device_id=self.device_id))[0])

    def _wait_pressed(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._pressed():
            if time.monotonic() >= deadline:
                raise NoFinger(f"no finger placed on the sensor within {timeout:g} s", device=self.label)
            time.sleep(min(self.poll_interval, max(0.0, deadline - time.monotonic())))

    def _wait_lifted(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._pressed():
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(self.poll_interval, max(0.0, deadline - time.monotonic())))
        return True

    def _set_baud(self, baud: int, *, timeout: float | None = None) -> None:
        """The module ACKs at the old rate and then switches; so do we."""
        self._transact(codec.change_baud_rate(baud, device_id=self.device_id), timeout=timeout)
        self._link.baud = baud

    def _fetch(self, command: codec.CommandPacket) -> bytes:
        size = codec.response_data_size(command)
        assert size is not None
        return self._transact(command, data_size=size)[1] or b""

    def _locked(self, command: codec.CommandPacket, *, data_size: int | None = None):
        self._require_open()
        with self._lock:
            return self._transact(command, data_size=data_size)

    def _parse(self, parser: Callable[[bytes], Any], data: bytes) -> Any:
        try:
            return parser(data)
        except DeviceProtocolError as exc:
            raise DeviceProtocolError(str(exc), device=self.label) from exc

    # -- one exchange ----------------------------------------------------------
    def _transact(
        self,
        packet: codec.CommandPacket | codec.DataPacket,
        *,
        data_size: int | None = None,
        timeout: float | None = None,
        fresh: bool = True,
    ) -> tuple[codec.ResponsePacket, bytes | None]:
        """Send one packet, read its reply (and the data packet after an ACK, if any).

        ``fresh``: a new exchange starts from a clean slate, so leftovers of an
        earlier failure (a torn packet, a late reply) cannot be taken for this
        one's answer. Not for the data half of SetTemplate.
        """
        timeout = self.timeout if timeout is None else timeout
        if fresh:
            self._rx.reset()
            self._link.discard_input()
        what = packet.name if isinstance(packet, codec.CommandPacket) else "template data"
        self._link.write(packet.encode())
        response = self._read(time.monotonic() + timeout, what)
        assert isinstance(response, codec.ResponsePacket)
        if not response.ack:
            raise codec.error_for_nack(
                response.parameter,
                packet.command if isinstance(packet, codec.CommandPacket) else codes.Command.SET_TEMPLATE,
                device=self.label,
            )
        if data_size is None:
            return response, None
        self._rx.expect_data(data_size)
        # Wire time of the payload at the current rate, with room for a slow host.
        wire = (data_size + codec.DATA_OVERHEAD) * BITS_PER_BYTE / self._link.baud
        data = self._read(time.monotonic() + timeout + 1.5 * wire, f"{what} data")
        assert isinstance(data, codec.DataPacket)
        return response, data.data

    def _read(self, deadline: float, what: str) -> codec.Packet:
        while True:
            packet = self._rx.next_packet()  # BadChecksum / DeviceProtocolError carry our label already
            if packet is not None:
                if packet.device_id != self.device_id:
                    raise BadAddress(
                        f"reply from device id {packet.device_id}, expected {self.device_id}: check 'device_id'",
                        device=self.label,
                    )
                return packet
            try:
                chunk = self._link.read_some(deadline, 65536)
            except DeviceTimeout:
                self._rx.cancel_data()
                raise DeviceTimeout(
                    f"no complete answer to {what} within the deadline (at {self._link.baud} baud)",
                    device=self.label,
                ) from None
            self._rx.receive_data(chunk)
