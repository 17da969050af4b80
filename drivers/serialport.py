"""pyserial behind one boundary.

Serial drivers move bytes through a :class:`SerialLink` and nothing else, so
every pyserial and OS error is translated into a :class:`DeviceError` here,
once (the httpx habit), with a reason a technician can act on.
"""

from __future__ import annotations

import errno
import termios
import time
from typing import Any, Callable

import serial

from drivers.errors import DeviceBusy, DeviceError, DeviceNotConnected, DeviceTimeout, DeviceUnplugged

_PARITY = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


class SerialLink:
    """A byte pipe to one serial device, with deadlines instead of hangs."""

    def __init__(
        self,
        port: str,
        baud: int,
        *,
        device: str,
        framing: str = "8N1",
        serial_factory: Callable[..., Any] = serial.Serial,
    ) -> None:
        if len(framing) != 3 or framing[0] not in "5678" or framing[1] not in _PARITY or framing[2] not in "12":
            raise DeviceError(f"serial framing {framing!r} is not like '8N1'", device=device)
        self.port = port
        self.device = device
        self._baud = baud
        self._framing = framing
        self._factory = serial_factory
        self._serial: Any = None

    # -- lifecycle ---------------------------------------------------------
    def open(self) -> None:
        try:
            self._serial = self._factory(
                port=self.port,
                baudrate=self._baud,
                bytesize=int(self._framing[0]),
                parity=_PARITY[self._framing[1]],
                stopbits=int(self._framing[2]),
                timeout=0.02,
                write_timeout=2.0,
                exclusive=True,
            )
        except serial.SerialException as exc:
            raise self._open_error(exc) from exc
        except OSError as exc:
            raise self._open_error(exc) from exc

    def close(self) -> None:
        s, self._serial = self._serial, None
        if s is not None:
            try:
                s.close()
            except (serial.SerialException, OSError):
                pass  # already gone; closing must not fail

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    @property
    def baud(self) -> int:
        return self._baud

    @baud.setter
    def baud(self, value: int) -> None:
        self._baud = value
        if self._serial is not None:
            try:
                self._serial.baudrate = value
            except (serial.SerialException, OSError, ValueError, termios.error) as exc:
                raise self._io_error(exc) from exc

    # -- bytes -------------------------------------------------------------
    def write(self, data: bytes) -> None:
        s = self._live()
        try:
            s.write(data)
            s.flush()
        except serial.SerialTimeoutException as exc:
            raise DeviceTimeout(f"write to {self.port} timed out", device=self.device) from exc
        except (serial.SerialException, OSError, termios.error) as exc:  # flush() is tcdrain
            raise self._io_error(exc) from exc

    def read_some(self, deadline: float, max_bytes: int = 4096) -> bytes:
        """Return whatever arrives next (at least one byte), or raise DeviceTimeout at ``deadline``."""
        s = self._live()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout(f"no answer on {self.port}", device=self.device)
            try:
                # The port keeps its short open-time timeout: setting it here would
                # cost a tcsetattr per read.
                waiting = s.in_waiting
                data = s.read(min(max(waiting, 1), max_bytes))
            except (serial.SerialException, OSError, TypeError, termios.error) as exc:
                # pyserial raises TypeError when the fd vanished underneath it,
                # and lets termios.error (not an OSError) out of tcsetattr/tcflush
                raise self._io_error(exc) from exc
            if data:
                return data

    def discard_input(self) -> None:
        s = self._live()
        try:
            s.reset_input_buffer()
        except (serial.SerialException, OSError, termios.error) as exc:
            raise self._io_error(exc) from exc

    # -- error mapping -----------------------------------------------------
    def _live(self) -> Any:
        if self._serial is None:
            raise DeviceNotConnected(f"serial port {self.port} is not open", device=self.device)
        return self._serial

    def _open_error(self, exc: BaseException) -> DeviceError:
        code = getattr(exc, "errno", None)
        if code == errno.ENOENT or "No such file" in str(exc):
            return DeviceNotConnected(
                f"serial port {self.port} does not exist: is the device plugged in?", device=self.device
            )
        if code == errno.EACCES or "Permission denied" in str(exc):
            return DeviceNotConnected(
                f"permission denied on {self.port}: add the station user to group 'dialout'",
                device=self.device,
            )
        if code in (errno.EBUSY, errno.EAGAIN) or "locked" in str(exc).lower():
            return DeviceBusy(f"{self.port} is in use by another program", device=self.device)
        return DeviceNotConnected(f"cannot open {self.port}: {exc}", device=self.device)

    def _io_error(self, exc: BaseException) -> DeviceError:
        self.close()
        return DeviceUnplugged(f"lost {self.port} ({exc.__class__.__name__}): unplugged?", device=self.device)
