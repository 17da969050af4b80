"""Driver for the ZhianTec/Grow UART fingerprint family (R307, R503, AS608, FPM10A).

Owns the conversation with one module: open (verify password, read system
parameters and, where the module has it, product information), capture
(GenImg until a finger, UpImage, Img2Tz, UpChar), the R503 LED ring, and
baud/packet-size changes. The module's own template library is
:class:`~drivers.fingerprint.zhiantec.library.TemplateLibrary`'s, mixed in.

Rules:
* Bytes move only through :class:`drivers.serialport.SerialLink`; frames are
  made and read by :mod:`~drivers.fingerprint.zhiantec.codec` and
  :mod:`~drivers.fingerprint.zhiantec.messages`.
* Every wait has a deadline: a reply within ``timeout`` (plus the module's
  documented working time for imaging, features, search and flash erase), a
  data phase within ``timeout`` plus twice its wire time, a capture within the
  caller's timeout.
* Every confirmation code becomes a :class:`~drivers.errors.DeviceError`
  subclass naming the device (see :meth:`ZhianTecScanner.error_for`).
* Images and templates never reach a log line, repr or exception message.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, Callable, Mapping

import serial

from drivers.errors import (
    BadAddress,
    BadChecksum,
    CaptureFailed,
    DeviceCommandFailed,
    DeviceError,
    DeviceProtocolError,
    DeviceTimeout,
    DriverConfigError,
    NoFinger,
    WrongPassword,
)
from drivers.fingerprint.zhiantec import codec, messages
from drivers.fingerprint.zhiantec.codes import (
    BAUD_RATES,
    MODELS,
    AuraColor,
    AuraMode,
    Confirmation,
    Instruction,
    ModelSpec,
    SysParam,
    meaning,
    packet_size_code,
)
from drivers.fingerprint.zhiantec.library import TemplateLibrary
from drivers.fingerprint.zhiantec.options import ZhianTecOptions
from drivers.interfaces import FingerprintScanner, Lifecycle
from drivers.registry import DriverContext, parse_options
from drivers.serialport import SerialLink
from drivers.types import DeviceIdentity, DeviceKind, FingerCapture, Image, ImageFormat

#: The module's char file as UpChar gives it (512 bytes on this family).
TEMPLATE_FORMAT = "zhiantec-char"
TEMPLATE_SIZE = 512

# Codes that mean "the module does not have this instruction".
_UNSUPPORTED = frozenset({Confirmation.UNSUPPORTED, Confirmation.PACKET_RECEIVE_ERROR, Confirmation.NO_DEFINITION})
# The module's own working time on top of the reply timeout: imaging and feature
# extraction take up to ~0.5 s, a 1:1000 search up to ~1 s, erasing flash longer.
_WORK_TIME: Mapping[int, float] = {
    Instruction.GEN_IMG: 0.5,
    Instruction.GET_IMAGE_EX: 0.5,
    Instruction.IMG2TZ: 0.5,
    Instruction.REG_MODEL: 0.5,
    Instruction.STORE: 0.3,
    Instruction.DELET_CHAR: 0.5,
    Instruction.EMPTY: 1.0,
    Instruction.SEARCH: 2.0,
    Instruction.HIGH_SPEED_SEARCH: 2.0,
}
# Img2Tz codes that mean the image was too poor, not that the module failed.
_POOR_IMAGE = frozenset({Confirmation.IMAGE_MESSY, Confirmation.FEATURE_FAIL, Confirmation.INVALID_IMAGE})


class ZhianTecScanner(TemplateLibrary, FingerprintScanner):
    """One ZhianTec/Grow module on a serial port."""

    driver_name = "zhiantec"

    def __init__(
        self,
        port: str,
        *,
        baud: int = 57600,
        address: int = 0xFFFFFFFF,
        password: int = 0,
        model: str | None = None,
        timeout: float = 1.0,
        poll_interval: float = 0.02,
        serial_factory: Callable[..., Any] = serial.Serial,
    ) -> None:
        super().__init__()
        if baud not in BAUD_RATES:
            raise DriverConfigError(f"baud {baud} is not 9600 x 1..12", device=self.label)
        if not 0 <= address <= 0xFFFFFFFF or not 0 <= password <= 0xFFFFFFFF:
            raise DriverConfigError("address and password must be 32-bit unsigned", device=self.label)
        if model is not None and model not in MODELS:
            raise DriverConfigError(f"model {model!r} is not one of {', '.join(MODELS)}", device=self.label)
        if not 0 < timeout <= 60 or not 0 <= poll_interval <= 1:
            raise DriverConfigError("timeout must be 0..60 s and poll_interval 0..1 s", device=self.label)
        self.port = port
        self.address = address
        self._password = password
        self._model_option = model
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._link = SerialLink(port, baud, device=self.label, serial_factory=serial_factory)
        self._rx = codec.Receiver()
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._after_close: list[Callable[[], None]] = []
        self.spec: ModelSpec = MODELS[model or "R307"]
        self.sys_para: messages.SysPara | None = None
        self.product_info: messages.ProductInfo | None = None

    @classmethod
    def from_config(cls, options: Mapping[str, Any], context: DriverContext | None = None) -> "ZhianTecScanner":
        """Build from the station config's ``[devices.fingerprint]`` options (:class:`ZhianTecOptions`)."""
        o = parse_options(ZhianTecOptions, options, device=f"{DeviceKind.FINGERPRINT.value} {cls.driver_name}")
        return cls(
            o.port,
            baud=o.baud,
            address=o.address,
            password=o.password,
            model=o.model,
            timeout=o.timeout,
            poll_interval=o.poll_interval,
        )

    def __repr__(self) -> str:
        return f"ZhianTecScanner({self.port}, {self.spec.name}, {self._lifecycle.value})"

    # -- lifecycle ---------------------------------------------------------
    def _open(self) -> DeviceIdentity:
        self._link.open()
        try:
            self._verify_password()
        except DeviceTimeout as exc:
            raise DeviceTimeout(
                f"no answer on {self.port} at {self._link.baud} baud from address 0x{self.address:08X}: "
                "check wiring, baud rate and module address",
                device=self.label,
            ) from exc
        self.sys_para = self.system_parameters()
        self.product_info = self._read_product_info()
        info = self.product_info
        if info is not None:
            named = MODELS.get(info.model.split()[0] if info.model else "")
            # The module knows its own sensor: trust its size over our table.
            self.spec = dataclasses.replace(
                named or self.spec,
                name=info.model or self.spec.name,
                width=info.width or self.spec.width,
                height=info.height or self.spec.height,
                prod_info=True,
            )
            firmware = self._firmware_version() or f"hw {info.hardware[0]}.{info.hardware[1]}"
            return DeviceIdentity(
                kind=DeviceKind.FINGERPRINT,
                driver=self.driver_name,
                make=self.spec.make,
                model=info.model or self.spec.name,
                serial=info.serial or "unknown",
                firmware=firmware,
            )
        # Older modules cannot say who they are: name what the config says.
        return DeviceIdentity(
            kind=DeviceKind.FINGERPRINT,
            driver=self.driver_name,
            make=self.spec.make,
            model=self._model_option or "R30x/AS608 compatible",
            serial="unknown",
            firmware=f"system id 0x{self.sys_para.system_id:04X}",
        )

    def _close(self) -> None:
        self._link.close()

    def close(self) -> None:
        self._closing.set()  # wake a capture waiting between polls
        with self._lock:
            super().close()
        hooks, self._after_close = self._after_close, []
        for hook in hooks:
            hook()

    def call_after_close(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once this driver is closed (the emulator stops its simulator here)."""
        self._after_close.append(hook)

    def _self_test(self) -> str:
        self._verify_password()
        para = self.system_parameters()
        count = self.template_count()
        ack = self._command(messages.gen_img())
        if ack.code == Confirmation.OK:
            glass = "finger on the glass"
        elif ack.code == Confirmation.NO_FINGER:
            glass = "sensor clear"
        else:
            raise self.error_for(ack.code, "self-test image capture")
        parts = [
            f"{self.spec.name}",
            f"library {count}/{para.capacity}",
            f"security {para.security_level}",
            f"{self._link.baud} baud",
            f"packet {para.packet_size}",
            glass,
        ]
        if self.spec.prod_info:
            self._expect_ok(messages.check_sensor(), "sensor check")
            parts.append("sensor check ok")
        return ", ".join(parts)

    # -- FingerprintScanner ------------------------------------------------
    def finger_present(self) -> bool:
        self._require_open()
        ack = self._command(messages.gen_img())
        if ack.code == Confirmation.OK:
            return True
        if ack.code == Confirmation.NO_FINGER:
            return False
        raise self.error_for(ack.code, "finger detection")

    def capture(self, timeout: float = 10.0) -> FingerCapture:
        """GenImg until a finger (NoFinger after ``timeout``), UpImage, Img2Tz(1), UpChar(1).

        A print too poor for the module to make features from still comes back,
        with ``template=None`` and ``image.metadata["template_error"]`` saying why,
        so the station's quality gate judges the pixels itself.
        """
        self._require_open()
        with self._lock:
            self.take_image(timeout)
            pixels = self._upload_image_bytes()
            captured_at = time.time()
            ack = self._command(messages.img2tz(1))
            template = None
            metadata: dict[str, Any] = self._image_metadata()
            if ack.ok:
                template = self.upload_template(1)
            elif ack.code in _POOR_IMAGE:
                metadata["template_error"] = meaning(ack.code)
            else:
                raise self.error_for(ack.code, "feature extraction")
            image = Image(
                pixels, self.spec.width, self.spec.height, ImageFormat.GRAY8, captured_at=captured_at, metadata=metadata
            )
            return FingerCapture(image, template, TEMPLATE_FORMAT if template is not None else None)

    # -- capture steps (public for enrollment flows and benchmarks) ---------
    def take_image(self, timeout: float = 10.0) -> None:
        """Poll GenImg until the module has imaged a finger; NoFinger after ``timeout``."""
        self._require_open()
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                ack = self._command(messages.gen_img())
                if ack.ok:
                    return
                if ack.code != Confirmation.NO_FINGER:
                    raise self.error_for(ack.code, "image capture")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise NoFinger(f"no finger on the sensor within {timeout:.1f} s", device=self.label)
                if self._closing.wait(min(self.poll_interval, remaining)):
                    raise DeviceError("closed while waiting for a finger", device=self.label)

    def upload_image(self) -> Image:
        """UpImage: the image buffer as 8-bit greyscale (16 grey levels on the wire)."""
        self._require_open()
        with self._lock:
            pixels = self._upload_image_bytes()
        return Image(pixels, self.spec.width, self.spec.height, ImageFormat.GRAY8, metadata=self._image_metadata())

    def image_to_template(self, buffer: int = 1) -> None:
        """Img2Tz: features of the image buffer into char buffer ``buffer``."""
        self._expect_ok(messages.img2tz(buffer), "feature extraction")

    def upload_template(self, buffer: int = 1) -> bytes:
        """UpChar: the char buffer's template."""
        self._require_open()
        with self._lock:
            self._expect_ok(messages.up_char(buffer), "template upload")
            return self._receive_data(4 * TEMPLATE_SIZE, TEMPLATE_SIZE)

    def download_template(self, template: bytes, buffer: int = 1) -> None:
        """DownChar: put ``template`` into char buffer ``buffer``."""
        self._require_open()
        with self._lock:
            self._expect_ok(messages.down_char(buffer), "template download")
            size = self.sys_para.packet_size if self.sys_para else 128
            self._link.write(codec.encode_data(self.address, template, size))

    # -- settings ----------------------------------------------------------
    def system_parameters(self) -> messages.SysPara:
        return messages.parse_sys_para(self._expect_ok(messages.read_sys_para(), "reading system parameters"))

    def set_baud(self, baud: int) -> None:
        """SetSysPara baud; the module switches after its reply, then so do we."""
        if baud not in BAUD_RATES:
            raise ValueError(f"baud must be one of {BAUD_RATES}")
        with self._lock:
            self._expect_ok(messages.set_sys_para(SysParam.BAUD, baud // 9600), "setting the baud rate")
            self._link.baud = baud
        self.sys_para = self.system_parameters()

    def set_packet_size(self, size: int) -> None:
        self._expect_ok(messages.set_sys_para(SysParam.PACKET_SIZE, packet_size_code(size)), "setting the packet size")
        self.sys_para = self.system_parameters()

    def set_security_level(self, level: int) -> None:
        if not 1 <= level <= 5:
            raise ValueError("security level must be 1..5")
        self._expect_ok(messages.set_sys_para(SysParam.SECURITY, level), "setting the security level")
        self.sys_para = self.system_parameters()

    @property
    def baud(self) -> int:
        return self._link.baud

    def set_led(self, mode: AuraMode, color: AuraColor = AuraColor.BLUE, *, speed: int = 0x80, cycles: int = 0) -> None:
        """Drive the R503's LED ring (AuraLedConfig)."""
        self._require_open()
        if not self.spec.led_ring:
            raise DeviceCommandFailed(
                f"the {self.spec.name} has no LED ring", code=Confirmation.UNSUPPORTED, device=self.label
            )
        self._expect_ok(messages.aura_led_config(mode, speed, color, cycles), "LED ring")

    # -- errors ------------------------------------------------------------
    def error_for(self, code: int, what: str) -> DeviceError:
        """The DeviceError for a confirmation code, naming the device and the step."""
        text = f"{what}: {meaning(code)} (code 0x{code:02X})"
        if code == Confirmation.NO_FINGER:
            return NoFinger(text, device=self.label)
        if code == Confirmation.IMAGE_FAIL:
            return CaptureFailed(f"{text}; clean the glass and place the finger again", device=self.label)
        if code in _POOR_IMAGE:
            return CaptureFailed(text, device=self.label)
        if code in (Confirmation.WRONG_PASSWORD, Confirmation.PASSWORD_REQUIRED):
            return WrongPassword(f"{text}; check the configured module password", device=self.label)
        if code == Confirmation.ADDRESS_WRONG:
            return BadAddress(f"{text}; check the configured module address", device=self.label)
        if code == Confirmation.PACKET_RECEIVE_ERROR:
            return BadChecksum(f"{text}: the module received a damaged packet; check the cable", device=self.label)
        return DeviceCommandFailed(text, code=code, device=self.label)

    # -- wire --------------------------------------------------------------
    def _verify_password(self) -> None:
        self._expect_ok(messages.vfy_pwd(self._password), "password check")

    def _read_product_info(self) -> messages.ProductInfo | None:
        ack = self._command(messages.read_prod_info())
        if ack.code in _UNSUPPORTED:
            return None
        if not ack.ok:
            raise self.error_for(ack.code, "reading product information")
        return messages.parse_prod_info(ack)

    def _firmware_version(self) -> str | None:
        ack = self._command(messages.get_fw_ver())
        if not ack.ok:
            return None
        return messages.parse_text(ack) or None

    def _image_metadata(self) -> dict[str, Any]:
        return {"dpi": self.spec.dpi, "bits_per_pixel": 4, "sensor": self.spec.name}

    def _upload_image_bytes(self) -> bytes:
        self._expect_ok(messages.up_image(), "image upload")
        n = self.spec.width * self.spec.height // 2
        return codec.unpack_image(self._receive_data(n, n), self.spec.width, self.spec.height).tobytes()

    def _expect_ok(self, command: messages.Command, what: str) -> messages.Ack:
        ack = self._command(command)
        if not ack.ok:
            raise self.error_for(ack.code, what)
        return ack

    def _command(self, command: messages.Command) -> messages.Ack:
        """Send one command and return its acknowledge (any confirmation code)."""
        self._require_link()
        with self._lock:
            # A late reply to an earlier, timed-out command must not answer this one.
            self._link.discard_input()
            self._rx.clear()
            self._link.write(command.encode(self.address))
            deadline = time.monotonic() + self.timeout + _WORK_TIME.get(command.instruction, 0.0)
            frame = self._read_frame(deadline, command.name)
            try:
                return messages.parse_ack(frame)
            except DeviceProtocolError as exc:
                raise DeviceProtocolError(f"{command.name}: {exc}", device=self.label) from exc

    def _receive_data(self, limit: int, expected: int | None) -> bytes:
        """Read data packets up to the end packet; bounded by the wire time of ``limit`` bytes."""
        size = self.sys_para.packet_size if self.sys_para else 128
        wire = limit + -(-limit // size) * (codec.HEADER_SIZE + 2)
        deadline = time.monotonic() + self.timeout + 2.0 * wire * 10 / self._link.baud
        assembler = codec.DataAssembler(limit)
        while True:
            frame = self._read_frame(deadline, "data transfer")
            try:
                payload = assembler.feed(frame)
            except DeviceProtocolError as exc:
                raise DeviceProtocolError(str(exc), device=self.label) from exc
            if payload is not None:
                if expected is not None and len(payload) != expected:
                    raise DeviceProtocolError(
                        f"data transfer gave {len(payload)} bytes, expected {expected}", device=self.label
                    )
                return payload

    def _read_frame(self, deadline: float, what: str) -> codec.Frame:
        while True:
            try:
                frame = self._rx.next_frame()
            except BadChecksum as exc:
                raise BadChecksum(f"{what}: {exc}; check the cable", device=self.label) from exc
            if frame is not None:
                if frame.address != self.address:
                    raise BadAddress(
                        f"{what}: reply from module address 0x{frame.address:08X}, " f"configured 0x{self.address:08X}",
                        device=self.label,
                    )
                return frame
            try:
                self._rx.receive_data(self._link.read_some(deadline))
            except DeviceTimeout as exc:
                raise DeviceTimeout(f"{what}: no complete reply on {self.port} in time", device=self.label) from exc

    def _require_link(self) -> None:
        # During _open the lifecycle is not OPEN yet; after close it is CLOSED.
        if self._lifecycle is Lifecycle.CLOSED:
            self._require_open()
