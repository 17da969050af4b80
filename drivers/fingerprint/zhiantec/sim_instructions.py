"""What the emulated ZhianTec/Grow module does for each instruction.

Owns the instruction set as the module's firmware runs it: the parameter
length each instruction takes, password and address settings, system
parameters, the notepad, the char buffers and the template library in
memory (Store, LoadChar, DeletChar, Empty, RegModel, Match, Search), image
and template transfers, the R503's product info, LED ring and SoftRst. A
mixin of :class:`~drivers.fingerprint.zhiantec.simulator.ZhianTecSimulator`,
which owns the wire, the faults, the history and the pixels (GenImg,
GetImageEx and the features of the image buffer).

Rules:
* :meth:`InstructionSet._dispatch` answers an instruction the model lacks
  with its ``unknown_code``, a wrong parameter length with 0x01, and, until
  the password is verified, everything but VfyPwd with 0x21.
* Each ``_do_<instruction>`` takes the parameter bytes and returns the whole
  reply on the wire (acknowledge, then any data packets).
* Templates are compared with :func:`drivers.synthetic.fingerprint.match_score`
  against a threshold scaled by the security level; nothing here reads the
  scene.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np

from drivers.errors import DeviceProtocolError
from drivers.fingerprint.zhiantec import codec, messages
from drivers.fingerprint.zhiantec.codes import R50X_ONLY, READY_BYTE, Confirmation, Instruction, ModelSpec, SysParam
from drivers.synthetic import fingerprint as synth

#: Parameter bytes each instruction takes; anything else is a malformed packet.
_PARAM_LENGTHS: Mapping[int, int] = {
    Instruction.GEN_IMG: 0,
    Instruction.IMG2TZ: 1,
    Instruction.MATCH: 0,
    Instruction.SEARCH: 5,
    Instruction.REG_MODEL: 0,
    Instruction.STORE: 3,
    Instruction.LOAD_CHAR: 3,
    Instruction.UP_CHAR: 1,
    Instruction.DOWN_CHAR: 1,
    Instruction.UP_IMAGE: 0,
    Instruction.DOWN_IMAGE: 0,
    Instruction.DELET_CHAR: 4,
    Instruction.EMPTY: 0,
    Instruction.SET_SYS_PARA: 2,
    Instruction.READ_SYS_PARA: 0,
    Instruction.SET_PWD: 4,
    Instruction.VFY_PWD: 4,
    Instruction.GET_RANDOM_CODE: 0,
    Instruction.SET_ADDER: 4,
    Instruction.WRITE_NOTEPAD: 33,
    Instruction.READ_NOTEPAD: 1,
    Instruction.HIGH_SPEED_SEARCH: 5,
    Instruction.TEMPLATE_NUM: 0,
    Instruction.READ_INDEX_TABLE: 1,
    Instruction.GET_IMAGE_EX: 0,
    Instruction.CANCEL: 0,
    Instruction.AURA_LED_CONFIG: 4,
    Instruction.CHECK_SENSOR: 0,
    Instruction.GET_ALG_VER: 0,
    Instruction.GET_FW_VER: 0,
    Instruction.READ_PROD_INFO: 0,
    Instruction.SOFT_RST: 0,
    Instruction.HANDSHAKE: 0,
}

# Search thresholds by security level, relative to the synthetic MATCH_THRESHOLD.
_LEVEL_FACTOR = {1: 0.8, 2: 0.9, 3: 1.0, 4: 1.1, 5: 1.2}


@dataclass(frozen=True)
class LedState:
    mode: int
    speed: int
    color: int
    cycles: int

class InstructionSet:
    """The module's answers to instructions (see the module docs)."""

    # State supplied by ZhianTecSimulator.
    spec: ModelSpec
    address: int
    password: int
    baud: int
    packet_size: int
    security_level: int
    serial_number: str
    led: LedState | None
    resets: int
    _cv: threading.Condition
    _verified: bool
    _image: np.ndarray | None
    _features: tuple[int, bytes | None] | None
    _ready: object | None
    _buffers: dict[int, bytes]
    _library: dict[int, bytes]
    _notepad: dict[int, bytes]
    _incoming: tuple[str, int, codec.DataAssembler] | None
    _last_search_found: bool
    _pending_baud: int | None
    _pending_packet_size: int | None
    _random: np.random.Generator

    if TYPE_CHECKING:

        def _image_features(self) -> tuple[int, bytes | None]: ...

    def _dispatch(self, command: messages.Command) -> bytes:
        ins = command.instruction
        known = ins in _PARAM_LENGTHS and (self.spec.prod_info or ins not in R50X_ONLY)
        if not known:
            return self._ack(self.spec.unknown_code)
        if len(command.params) != _PARAM_LENGTHS[ins]:
            return self._ack(Confirmation.PACKET_RECEIVE_ERROR)
        if not self._verified and ins != Instruction.VFY_PWD:
            return self._ack(Confirmation.PASSWORD_REQUIRED)
        handler: Callable[[bytes], bytes] = getattr(self, f"_do_{Instruction(ins).name.lower()}")
        return handler(command.params)

    def _ack(self, code: int, params: bytes = b"") -> bytes:
        return messages.Ack(code, params).encode(self.address)

    def _buffer(self, params: bytes) -> int | None:
        b = params[0]
        return b if 1 <= b <= self.spec.char_buffers else None

    def _do_vfy_pwd(self, p: bytes) -> bytes:
        if int.from_bytes(p, "big") != self.password:
            return self._ack(Confirmation.WRONG_PASSWORD)
        self._verified = True
        return self._ack(Confirmation.OK)

    def _do_set_pwd(self, p: bytes) -> bytes:
        self.password = int.from_bytes(p, "big")
        return self._ack(Confirmation.OK)

    def _do_set_adder(self, p: bytes) -> bytes:
        self.address = int.from_bytes(p, "big")
        return self._ack(Confirmation.OK)  # already from the new address

    def _do_set_sys_para(self, p: bytes) -> bytes:
        try:
            param, value = messages.sys_param_value(p[0], p[1])
        except ValueError as exc:
            invalid_register = "is not a valid SysParam" in str(exc)
            return self._ack(Confirmation.INVALID_REGISTER if invalid_register else Confirmation.BAD_REGISTER_VALUE)
        if param is SysParam.BAUD:
            self._pending_baud = value
        elif param is SysParam.SECURITY:
            self.security_level = value
        else:
            self._pending_packet_size = value
        return self._ack(Confirmation.OK)

    def _do_read_sys_para(self, p: bytes) -> bytes:
        status = (
            (2 if self._last_search_found else 0) | (4 if self._verified else 0) | (8 if self._image is not None else 0)
        )
        para = messages.SysPara(
            status,
            self.spec.system_id,
            self.spec.capacity,
            self.security_level,
            self.address,
            self.packet_size,
            self.baud,
        )
        return self._ack(Confirmation.OK, para.to_bytes())

    def _do_template_num(self, p: bytes) -> bytes:
        return self._ack(Confirmation.OK, len(self._library).to_bytes(2, "big"))

    def _do_read_index_table(self, p: bytes) -> bytes:
        if p[0] > 3:
            return self._ack(Confirmation.BAD_LOCATION)
        return self._ack(Confirmation.OK, messages.index_table_bytes(self._library, p[0]))

    def _do_get_random_code(self, p: bytes) -> bytes:
        return self._ack(Confirmation.OK, int(self._random.integers(0, 2**32)).to_bytes(4, "big"))

    def _do_write_notepad(self, p: bytes) -> bytes:
        if p[0] > 15:
            return self._ack(Confirmation.BAD_NOTEPAD_PAGE)
        self._notepad[p[0]] = bytes(p[1:33])
        return self._ack(Confirmation.OK)

    def _do_read_notepad(self, p: bytes) -> bytes:
        if p[0] > 15:
            return self._ack(Confirmation.BAD_NOTEPAD_PAGE)
        return self._ack(Confirmation.OK, self._notepad.get(p[0], bytes(32)))

    def _do_img2tz(self, p: bytes) -> bytes:
        buffer = self._buffer(p)
        if buffer is None:
            return self._ack(Confirmation.PACKET_RECEIVE_ERROR)
        if self._image is None:
            return self._ack(Confirmation.INVALID_IMAGE)
        code, template = self._image_features()
        if template is None:
            return self._ack(code)
        self._buffers[buffer] = template
        return self._ack(Confirmation.OK)

    def _do_up_image(self, p: bytes) -> bytes:
        if self._image is None:
            return self._ack(Confirmation.UPLOAD_FAIL)
        payload = codec.pack_image(self._image)
        return self._ack(Confirmation.OK) + codec.encode_data(self.address, payload, self.packet_size)

    def _do_down_image(self, p: bytes) -> bytes:
        n = self.spec.width * self.spec.height // 2
        self._incoming = ("image", 0, codec.DataAssembler(n))
        return self._ack(Confirmation.OK)

    def _do_up_char(self, p: bytes) -> bytes:
        buffer = self._buffer(p)
        if buffer is None or buffer not in self._buffers:
            return self._ack(Confirmation.UPLOAD_FEATURE_FAIL)
        return self._ack(Confirmation.OK) + codec.encode_data(self.address, self._buffers[buffer], self.packet_size)

    def _do_down_char(self, p: bytes) -> bytes:
        buffer = self._buffer(p)
        if buffer is None:
            return self._ack(Confirmation.PACKET_RESPONSE_FAIL)
        self._incoming = ("char", buffer, codec.DataAssembler(512))
        return self._ack(Confirmation.OK)

    def _on_data(self, frame: codec.Frame) -> None:
        if self._incoming is None:
            return  # data nobody asked for: the module drops it
        kind, buffer, assembler = self._incoming
        try:
            payload = assembler.feed(frame)
        except DeviceProtocolError:
            self._incoming = None
            return
        if payload is None:
            return
        self._incoming = None
        if kind == "char":
            self._buffers[buffer] = payload.ljust(512, b"\0")[:512]
        elif len(payload) == self.spec.width * self.spec.height // 2:
            image = codec.unpack_image(payload, self.spec.width, self.spec.height)
            with self._cv:
                self._image, self._features = image, None

    def _do_reg_model(self, p: bytes) -> bytes:
        a, b = self._buffers.get(1), self._buffers.get(2)
        if a is None or b is None or synth.match_score(a, b) < self._threshold():
            return self._ack(Confirmation.ENROLL_MISMATCH)
        # Keep the richer of the two as the model; both buffers hold it after.
        merged = max(a, b, key=lambda t: t[3])
        self._buffers[1] = self._buffers[2] = merged
        return self._ack(Confirmation.OK)

    def _do_store(self, p: bytes) -> bytes:
        buffer, page = self._buffer(p), int.from_bytes(p[1:3], "big")
        if page >= self.spec.capacity:
            return self._ack(Confirmation.BAD_LOCATION)
        if buffer is None or buffer not in self._buffers:
            return self._ack(Confirmation.TEMPLATE_EMPTY)
        with self._cv:
            self._library[page] = self._buffers[buffer]
        return self._ack(Confirmation.OK)

    def _do_load_char(self, p: bytes) -> bytes:
        buffer, page = self._buffer(p), int.from_bytes(p[1:3], "big")
        if page >= self.spec.capacity or buffer is None:
            return self._ack(Confirmation.BAD_LOCATION)
        if page not in self._library:
            return self._ack(Confirmation.DB_READ_FAIL)
        self._buffers[buffer] = self._library[page]
        return self._ack(Confirmation.OK)

    def _do_delet_char(self, p: bytes) -> bytes:
        start, count = int.from_bytes(p[0:2], "big"), int.from_bytes(p[2:4], "big")
        if count == 0 or start + count > self.spec.capacity:
            return self._ack(Confirmation.DELETE_FAIL)
        with self._cv:
            for page in range(start, start + count):
                self._library.pop(page, None)
        return self._ack(Confirmation.OK)

    def _do_empty(self, p: bytes) -> bytes:
        with self._cv:
            self._library.clear()
        return self._ack(Confirmation.OK)

    def _do_match(self, p: bytes) -> bytes:
        a, b = self._buffers.get(1), self._buffers.get(2)
        score = synth.match_score(a, b) if a is not None and b is not None else 0
        code = Confirmation.OK if score >= self._threshold() else Confirmation.NO_MATCH
        return self._ack(code, min(score, 0xFFFF).to_bytes(2, "big"))

    def _do_search(self, p: bytes) -> bytes:
        buffer = self._buffer(p)
        start, count = int.from_bytes(p[1:3], "big"), int.from_bytes(p[3:5], "big")
        probe = self._buffers.get(buffer) if buffer is not None else None
        best = messages.SearchResult(0, 0)
        if probe is not None:
            with self._cv:
                candidates = sorted((k, v) for k, v in self._library.items() if start <= k < start + count)
            for page, template in candidates:
                score = synth.match_score(probe, template)
                if score > best.score:
                    best = messages.SearchResult(page, score)
        self._last_search_found = best.score >= self._threshold()
        if not self._last_search_found:
            return self._ack(Confirmation.NOT_FOUND, messages.SearchResult(0, 0).to_bytes())
        return self._ack(Confirmation.OK, best.to_bytes())

    _do_high_speed_search = _do_search

    def _do_aura_led_config(self, p: bytes) -> bytes:
        if not 1 <= p[0] <= 6 or not 1 <= p[2] <= 7:
            return self._ack(Confirmation.BAD_REGISTER_VALUE)
        with self._cv:
            self.led = LedState(mode=p[0], speed=p[1], color=p[2], cycles=p[3])
        return self._ack(Confirmation.OK)

    def _do_read_prod_info(self, p: bytes) -> bytes:
        info = messages.ProductInfo(
            model=self.spec.name,
            batch="0001",
            serial=self.serial_number,
            hardware=(1, 2),
            sensor=self.spec.sensor[:8],
            width=self.spec.width,
            height=self.spec.height,
            template_size=512,
            capacity=self.spec.capacity,
        )
        return self._ack(Confirmation.OK, info.to_bytes())

    def _do_get_fw_ver(self, p: bytes) -> bytes:
        return self._ack(Confirmation.OK, self.spec.firmware.encode("ascii")[:32].ljust(32, b"\0"))

    def _do_get_alg_ver(self, p: bytes) -> bytes:
        return self._ack(Confirmation.OK, b"rekam-synthetic-1".ljust(32, b"\0"))

    def _do_check_sensor(self, p: bytes) -> bytes:
        return self._ack(Confirmation.OK)

    def _do_handshake(self, p: bytes) -> bytes:
        return self._ack(Confirmation.OK)

    def _do_cancel(self, p: bytes) -> bytes:
        return self._ack(Confirmation.OK)

    def _do_soft_rst(self, p: bytes) -> bytes:
        with self._cv:
            self._image, self._features, self._ready = None, None, None
            self._buffers.clear()
            self._verified = self.password == 0
            self.led = None
            self.resets += 1
        return self._ack(Confirmation.OK) + bytes([READY_BYTE])

    def _threshold(self) -> int:
        return int(round(synth.MATCH_THRESHOLD * _LEVEL_FACTOR.get(self.security_level, 1.0)))
