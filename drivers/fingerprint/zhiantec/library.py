"""The ZhianTec/Grow module's own template library, as the driver drives it.

Owns the instructions that keep templates on the module: count and index
table, RegModel, Store, LoadChar, DeletChar, Empty, Match, Search, and
enrolling and identifying a finger with them. A mixin of
:class:`~drivers.fingerprint.zhiantec.driver.ZhianTecScanner`, which supplies
the wire (``_command``, ``_expect_ok``), the capture steps and the errors.
The station's enrollment does not use it: its templates travel sealed in the
record. Third-party flows, tests and benchmarks do.

Rules: as the driver's; every confirmation code other than the expected
"no match" and "not found" becomes a DeviceError through ``error_for``.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from drivers.errors import DeviceCommandFailed, DeviceError, DeviceTimeout
from drivers.fingerprint.zhiantec import messages
from drivers.fingerprint.zhiantec.codes import Confirmation, ModelSpec


class TemplateLibrary:
    """The library instructions of a ZhianTec scanner (see the module docs)."""

    # Supplied by ZhianTecScanner.
    spec: ModelSpec
    sys_para: messages.SysPara | None
    poll_interval: float
    _lock: threading.RLock
    _closing: threading.Event

    if TYPE_CHECKING:

        @property
        def label(self) -> str: ...

        def _require_open(self) -> None: ...

        def _command(self, command: messages.Command) -> messages.Ack: ...

        def _expect_ok(self, command: messages.Command, what: str) -> messages.Ack: ...

        def error_for(self, code: int, what: str) -> DeviceError: ...

        def take_image(self, timeout: float = 10.0) -> None: ...

        def image_to_template(self, buffer: int = 1) -> None: ...

        def finger_present(self) -> bool: ...

    def template_count(self) -> int:
        return messages.parse_template_count(self._expect_ok(messages.template_num(), "template count"))

    def index_table(self) -> frozenset[int]:
        """Slots holding a template (ReadIndexTable over every page the library has)."""
        capacity = (self.sys_para.capacity if self.sys_para else self.spec.capacity) or 256
        used: set[int] = set()
        for page in range(min(4, -(-capacity // 256))):
            used |= messages.parse_index_table(self._expect_ok(messages.read_index_table(page), "index table"), page)
        return frozenset(used)

    def create_model(self) -> None:
        """RegModel: merge char buffers 1 and 2 into one template."""
        self._expect_ok(messages.reg_model(), "template merge")

    def store(self, slot: int, buffer: int = 1) -> None:
        self._expect_ok(messages.store(buffer, slot), f"storing slot {slot}")

    def load(self, slot: int, buffer: int = 1) -> None:
        self._expect_ok(messages.load_char(buffer, slot), f"loading slot {slot}")

    def delete(self, slot: int, count: int = 1) -> None:
        self._expect_ok(messages.delet_char(slot, count), f"deleting slot {slot}")

    def empty(self) -> None:
        self._expect_ok(messages.empty(), "emptying the library")

    def compare(self) -> int:
        """Match char buffers 1 and 2; the module's score (0 when they do not match)."""
        ack = self._command(messages.match())
        if ack.code == Confirmation.NO_MATCH:
            return 0
        if not ack.ok:
            raise self.error_for(ack.code, "template comparison")
        return messages.parse_match(ack)

    def search(self, buffer: int = 1, start: int = 0, count: int | None = None) -> messages.SearchResult | None:
        """Search the library for char buffer ``buffer``; None when nothing matches."""
        if count is None:
            count = (self.sys_para.capacity if self.sys_para else self.spec.capacity) - start
        ack = self._command(messages.search(buffer, start, count))
        if ack.code == Confirmation.NOT_FOUND:
            return None
        if not ack.ok:
            raise self.error_for(ack.code, "library search")
        return messages.parse_search(ack)

    def enroll(self, slot: int | None = None, *, timeout: float = 10.0, presses: int = 2) -> int:
        """Enroll one finger into the module's library from ``presses`` placements.

        Between placements the finger must leave the glass. Returns the slot
        (the first free one when ``slot`` is None).
        """
        if not 2 <= presses <= self.spec.char_buffers:
            raise ValueError(f"{self.spec.name} merges 2..{self.spec.char_buffers} presses")
        self._require_open()
        with self._lock:
            if slot is None:
                used = self.index_table()
                free = [
                    s for s in range(self.sys_para.capacity if self.sys_para else self.spec.capacity) if s not in used
                ]
                if not free:
                    raise DeviceCommandFailed("the library is full", code=Confirmation.LIBRARY_FULL, device=self.label)
                slot = free[0]
            for press in range(presses):
                if press and not self._wait_clear(timeout):
                    raise DeviceTimeout("the finger was not lifted between presses", device=self.label)
                self.take_image(timeout)
                self.image_to_template(press + 1)
            self.create_model()
            self.store(slot, 1)
            return slot

    def identify(self, timeout: float = 10.0) -> messages.SearchResult | None:
        """Capture a finger and search the library for it."""
        with self._lock:
            self.take_image(timeout)
            self.image_to_template(1)
            return self.search(1)

    def _wait_clear(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.finger_present():
                return True
            if self._closing.wait(self.poll_interval):
                return False
        return False
