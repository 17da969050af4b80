"""A ZhianTec/Grow fingerprint module (R307, R503, AS608, FPM10A) on a pseudo-terminal.

Owns the module as a driver sees it through the UART: the wire (frames in,
replies out, address and baud checks), the image buffer and GenImg, fault
injection, the history tests wait on, and :func:`emulated_scanner`, the
registry factory that starts one and hands back the real driver on its port.
What the module does for each instruction (passwords, system parameters,
char buffers, the template library, product info, the R503's LED ring) is
:class:`~drivers.fingerprint.zhiantec.sim_instructions.InstructionSet`'s,
mixed in.

Rules:
* Pixels come from the :class:`~drivers.scene.Scene` through
  :func:`drivers.synthetic.fingerprint.render`; features and matching from the
  same module's template and score functions. Nobody tells the simulator a
  capture is bad: it judges the pixels, as the module does (:func:`judge`).
* Wire time is the base class's job (``pace=True``), in 128-byte pieces; this
  class adds none. The module's own compute is not wire time either: while the
  link is idle the next capture of the finger on the glass is rendered and its
  features computed in the background, and GenImg takes it if the scene still
  shows that finger.
* With a password set, every instruction but VfyPwd answers 0x21 until the
  password is verified. A packet for another address is answered 0x20 from the
  module's own address (``answer_wrong_address=False``: ignored, as the manual
  describes). Bytes sent at a baud rate other than the module's are dropped,
  as a UART would see garbage.
* Instructions a model lacks get its ``unknown_code``: 0xFC on the R503 as its
  manual documents; 0x01 on the R30x/AS608/FPM10A (an assumption: their
  manuals define no unsupported-command code).
"""

from __future__ import annotations

import collections
import enum
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from drivers.errors import BadChecksum
from drivers.fingerprint.zhiantec import codec, messages
from drivers.fingerprint.zhiantec.codes import BAUD_RATES, MODELS, Confirmation, ModelSpec, PacketId
from drivers.fingerprint.zhiantec.driver import ZhianTecScanner
from drivers.fingerprint.zhiantec.options import EmulatedZhianTecOptions
from drivers.fingerprint.zhiantec.sim_instructions import InstructionSet, LedState
from drivers.pty_simulator import PtySimulator
from drivers.registry import DriverContext, parse_options
from drivers.scene import FingerCondition, Scene
from drivers.synthetic import fingerprint as synth
from drivers.synthetic.seed import rng_for

log = logging.getLogger(__name__)

_PACE_CHUNK = 128
# Idle time on the link before the background renderer may use the CPU.
_IDLE_BEFORE_RENDER = 0.03


class Fault(str, enum.Enum):
    NO_FINGER = "no_finger"  # GenImg sees no finger, whatever the scene says
    CAPTURE_FAIL = "capture_fail"  # GenImg answers "failed to image the finger"
    BAD_CHECKSUM = "bad_checksum"  # the next reply leaves with a wrong checksum
    SILENCE = "silence"  # the module stops answering
    UNPLUG = "unplug"  # the port vanishes


@dataclass(frozen=True)
class HistoryEntry:
    at: float  # time.monotonic()
    instruction: str
    code: int | None  # confirmation code sent, None if nothing was sent


@dataclass(frozen=True)
class _Capture:
    """One rendered capture and what the module's feature extractor makes of it."""

    key: tuple[str, int, str, int]  # person, position, condition, capture seed
    image: np.ndarray
    features: tuple[int, bytes | None] | None  # (Img2Tz code, template) once computed

    def __repr__(self) -> str:
        return f"_Capture({self.key[1]}, {self.key[2]}, seed {self.key[3]})"


def judge(image: np.ndarray) -> tuple[int, bytes | None]:
    """The module's verdict on an image: Img2Tz's confirmation code and the char file.

    Too little finger on the glass or too few minutiae gives 0x07; a large
    dark area without ridges (wet, smeared) gives 0x06; no finger at all 0x15.
    """
    analysis = synth.analyse(image)
    if analysis.contact_fraction < 0.05:
        return Confirmation.INVALID_IMAGE, None
    if len(analysis.minutiae) < 10:
        dark = float((image < 0.6 * np.percentile(image, 95)).mean())
        return (Confirmation.IMAGE_MESSY if dark > 0.3 else Confirmation.FEATURE_FAIL), None
    return Confirmation.OK, synth.template_from_analysis(analysis, 512)


class ZhianTecSimulator(InstructionSet, PtySimulator):
    """A module of one model behind ``self.port``; see the module docs."""

    def __init__(
        self,
        scene: Scene | None = None,
        *,
        model: str = "R307",
        baud: int = 57600,
        pace: bool = False,
        address: int = 0xFFFFFFFF,
        password: int = 0,
        packet_size: int | None = None,
        security_level: int = 3,
        serial_number: str = "00000001",
        answer_wrong_address: bool = True,
        check_baud: bool = True,
        prerender: bool = True,
        seed_base: int = 0,
    ) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
        if baud not in BAUD_RATES:
            raise ValueError(f"baud {baud} is not 9600 x 1..12")
        # Pace in 128-byte pieces: each piece costs one sleep, whose overshoot
        # is simulation overhead, not wire time.
        super().__init__(baud=baud, pace=pace, chunk=_PACE_CHUNK)
        self.spec: ModelSpec = MODELS[model]
        self.description = f"ZhianTec {model} simulator"
        self.scene = scene if scene is not None else Scene()
        self.address = address
        self.password = password
        self.packet_size = packet_size or self.spec.packet_size
        self.security_level = security_level
        self.serial_number = serial_number
        self.answer_wrong_address = answer_wrong_address
        self.check_baud = check_baud
        self.seed_base = seed_base
        self._prerender = prerender
        self._rx = codec.Receiver()
        self._cv = threading.Condition()
        self._faults: dict[Fault, int | None] = {}
        self._verified = password == 0
        self._image: np.ndarray | None = None
        self._features: tuple[int, bytes | None] | None = None
        self._buffers: dict[int, bytes] = {}
        self._library: dict[int, bytes] = {}
        self._notepad: dict[int, bytes] = {}
        self._incoming: tuple[str, int, codec.DataAssembler] | None = None
        self._last_search_found = False
        self._pending_baud: int | None = None
        self._pending_packet_size: int | None = None
        self._captures = 0
        self._ready: _Capture | None = None
        self._busy = False
        self._last_io = 0.0
        self._worker: threading.Thread | None = None
        self._history: collections.deque[HistoryEntry] = collections.deque(maxlen=2000)
        self._replies_sent = 0
        self.led: LedState | None = None
        self.resets = 0
        self._random = rng_for("zhiantec-sim-random", serial_number)

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> "ZhianTecSimulator":
        super().start()
        if self._prerender and self._worker is None:
            self._worker = threading.Thread(target=self._render_ahead, name=f"{self.description} renderer", daemon=True)
            self._worker.start()
        return self

    def stop(self) -> None:
        super().stop()
        with self._cv:
            self._cv.notify_all()
        w, self._worker = self._worker, None
        if w is not None and w is not threading.current_thread():
            w.join(timeout=2)

    # -- faults and observation (for tests and demos) -----------------------
    def inject(self, fault: Fault, count: int | None = 1) -> None:
        """Make the next ``count`` affected replies fail (None: until :meth:`clear_faults`).

        SILENCE lasts until :meth:`clear_faults`; UNPLUG is final, as pulling the cable is.
        """
        fault = Fault(fault)
        if fault is Fault.SILENCE:
            self.set_silent(True)
        elif fault is Fault.UNPLUG:
            self.unplug()
        else:
            with self._cv:
                self._faults[fault] = count

    def clear_faults(self) -> None:
        with self._cv:
            self._faults.clear()
        self.set_silent(False)

    @property
    def history(self) -> list[HistoryEntry]:
        with self._cv:
            return list(self._history)

    def commands(self, instruction: str) -> int:
        """How many times ``instruction`` (e.g. ``"GEN_IMG"``) has been answered."""
        with self._cv:
            return sum(1 for h in self._history if h.instruction == instruction)

    def wait_for(self, instruction: str, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until ``instruction`` has been answered ``count`` times in all."""
        with self._cv:
            return self._cv.wait_for(
                lambda: sum(1 for h in self._history if h.instruction == instruction) >= count, timeout
            )

    @property
    def replies_sent(self) -> int:
        """Replies whose last byte has left (and been counted in ``bytes_out``)."""
        with self._cv:
            return self._replies_sent

    def wait_replies_sent(self, count: int, timeout: float = 5.0) -> bool:
        """Block until ``count`` replies have left completely, so byte counts are settled."""
        with self._cv:
            return self._cv.wait_for(lambda: self._replies_sent >= count, timeout)

    def wait_frame_ready(self, timeout: float = 5.0) -> bool:
        """Block until the finger on the glass has its next capture rendered in advance."""
        with self._cv:
            return self._cv.wait_for(lambda: self._ready is not None and self._ready.key == self._next_key(), timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stop.is_set()

    @property
    def image_buffer(self) -> np.ndarray | None:
        """A copy of the module's image buffer (8-bit, before the wire's 4-bit packing)."""
        with self._cv:
            return None if self._image is None else self._image.copy()

    @property
    def library(self) -> dict[int, bytes]:
        with self._cv:
            return dict(self._library)

    @property
    def captures(self) -> int:
        return self._captures

    # -- the wire ----------------------------------------------------------
    def on_bytes(self, data: bytes) -> None:
        if self.check_baud:
            theirs = self.driver_baud()
            if theirs is not None and theirs != self.baud:
                self._rx.clear()  # a UART at the wrong rate sees only garbage
                with self._cv:
                    self._history.append(HistoryEntry(time.monotonic(), "GARBLED", None))
                    self._cv.notify_all()
                return
        self._busy = True
        try:
            self._rx.receive_data(data)
            while True:
                try:
                    frame = self._rx.next_frame()
                except BadChecksum:
                    self._reply("BAD_PACKET", messages.Ack(Confirmation.PACKET_RECEIVE_ERROR).encode(self.address))
                    continue
                if frame is None:
                    break
                self._on_frame(frame)
        finally:
            self._busy = False
            self._last_io = time.monotonic()

    def _on_frame(self, frame: codec.Frame) -> None:
        if frame.address != self.address:
            if self.answer_wrong_address:
                self._reply("WRONG_ADDRESS", messages.Ack(Confirmation.ADDRESS_WRONG).encode(self.address))
            return
        if frame.pid in (PacketId.DATA, PacketId.END_DATA):
            self._on_data(frame)
            return
        if frame.pid != PacketId.COMMAND or not frame.content:
            return  # the module ignores acknowledges and empty packets from the host
        self._incoming = None  # a command ends any unfinished download
        command = messages.parse_command(frame)
        reply = self._dispatch(command)
        self._reply(command.name, reply)
        if self._pending_baud is not None:
            self.baud, self._pending_baud = self._pending_baud, None
        if self._pending_packet_size is not None:
            self.packet_size, self._pending_packet_size = self._pending_packet_size, None

    def _reply(self, name: str, data: bytes) -> None:
        code = data[codec.HEADER_SIZE] if len(data) > codec.HEADER_SIZE else None
        with self._cv:
            if self._take(Fault.BAD_CHECKSUM):
                first = codec.HEADER_SIZE + ((data[7] << 8) | data[8])
                data = data[: first - 1] + bytes([data[first - 1] ^ 0x5A]) + data[first:]
            # Recorded before the first byte leaves: whoever has the reply can see its entry.
            self._history.append(HistoryEntry(time.monotonic(), name, None if self.silent else code))
            self._cv.notify_all()
        self.send(data)
        with self._cv:
            self._replies_sent += 1
            self._cv.notify_all()

    def _take(self, fault: Fault) -> bool:
        left = self._faults.get(fault, 0)
        if left is None:
            return True
        if left <= 0:
            return False
        if left == 1:
            del self._faults[fault]
        else:
            self._faults[fault] = left - 1
        return True

    # -- GenImg and the pixels --------------------------------------------
    def _do_gen_img(self, p: bytes, *, strict: bool = False) -> bytes:
        with self._cv:
            if self._take(Fault.NO_FINGER):
                return self._ack(Confirmation.NO_FINGER)
            if self._take(Fault.CAPTURE_FAIL):
                return self._ack(Confirmation.IMAGE_FAIL)
            key = self._next_key()
            if key is None:
                return self._ack(Confirmation.NO_FINGER)
            ready, self._ready = self._ready, None
        if ready is not None and ready.key == key:
            image, features = ready.image, ready.features
        else:
            image, features = self._render(key), None
        with self._cv:
            self._captures += 1
            self._image, self._features = image, features
            self._cv.notify_all()
        if strict and self._image_features()[0] != Confirmation.OK:
            return self._ack(Confirmation.FEATURE_FAIL)
        return self._ack(Confirmation.OK)

    def _do_get_image_ex(self, p: bytes) -> bytes:
        return self._do_gen_img(p, strict=True)

    def _next_key(self) -> tuple[str, int, str, int] | None:
        view = self.scene.finger
        if view is None:
            return None
        seed = self.seed_base + self._captures + 1
        return (view.person.person_id, view.position, FingerCondition(view.condition).value, seed)

    def _render(self, key: tuple[str, int, str, int]) -> np.ndarray:
        person, position, condition, seed = key
        return synth.render(
            person,
            position,
            FingerCondition(condition),
            width=self.spec.width,
            height=self.spec.height,
            capture_seed=seed,
        )

    def _image_features(self) -> tuple[int, bytes | None]:
        with self._cv:
            image, features = self._image, self._features
        if features is None:
            assert image is not None
            features = judge(image)
            with self._cv:
                if self._image is image:
                    self._features = features
        return features

    def _render_ahead(self) -> None:
        """Background: keep the next capture of the finger on the glass ready, when the link is idle."""
        version = -1
        while not self._stop.is_set():
            version = self.scene.wait_change(version, timeout=0.05)
            idle = not self._busy and time.monotonic() - self._last_io >= _IDLE_BEFORE_RENDER
            with self._cv:
                key = self._next_key()
                wanted = key is not None and (self._ready is None or self._ready.key != key)
            if not wanted or not idle:
                continue
            try:
                image = self._render(key)
                features = judge(image)
            except Exception:  # a rendering bug must not kill the port
                log.exception("%s: rendering ahead failed", self.description)
                continue
            with self._cv:
                if self._next_key() == key:
                    self._ready = _Capture(key, image, features)
                    self._cv.notify_all()


class EmulatedZhianTecScanner(ZhianTecScanner):
    """The real driver, on the port of a simulator it owns and stops when closed."""

    driver_name = "zhiantec-emulated"
    simulator: ZhianTecSimulator


def emulated_scanner(options: Mapping[str, Any], context: DriverContext) -> ZhianTecScanner:
    """Registry factory: start a simulator on ``context.scene`` and return the driver on its port."""
    o = parse_options(EmulatedZhianTecOptions, options, device="fingerprint zhiantec-emulated")
    sim = ZhianTecSimulator(
        context.scene,
        model=o.model,
        baud=o.baud,
        pace=o.pace,
        address=o.address,
        password=o.password,
        packet_size=o.packet_size,
    ).start()
    try:
        scanner = EmulatedZhianTecScanner(
            sim.port,
            baud=o.baud,
            address=o.address,
            password=o.password,
            model=o.model,
            timeout=o.timeout,
            poll_interval=o.poll_interval,
        )
    except BaseException:
        sim.stop()
        raise
    scanner.simulator = sim
    scanner.call_after_close(sim.stop)
    return scanner
