"""Emulated serial hardware on a pseudo-terminal.

A simulator owns the pty master and speaks the device's real byte protocol;
the real driver opens the slave path (``/dev/pts/N``) exactly as it opens
``/dev/ttyUSB0``. Subclasses implement :meth:`PtySimulator.on_bytes` with a
sans-I/O codec and answer through :meth:`PtySimulator.send`.

Wire time is modelled when ``pace`` is on: a byte costs 10 bit times (start +
8 data + stop) at the simulated baud rate in each direction, so benchmarks see
what a real UART would give. Faults common to all serial devices live here:
``silence`` (the device stops answering) and ``unplug`` (the port vanishes).
"""

from __future__ import annotations

import abc
import logging
import os
import select
import termios
import threading
import time
import tty

log = logging.getLogger(__name__)

#: Bits on the wire per byte at 8N1.
BITS_PER_BYTE = 10


class PtySimulator(abc.ABC):
    """Base for a device simulator behind a pseudo-terminal."""

    #: Shown in logs and ``rekam sim``: "ZhianTec R307 simulator".
    description = "serial device simulator"

    def __init__(self, *, baud: int, pace: bool = False, chunk: int = 32) -> None:
        self.baud = baud
        self.pace = pace
        self._chunk = chunk
        self._master: int | None = None
        self._slave: int | None = None
        self._port: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._tx_free_at = 0.0
        self._rx_free_at = 0.0
        self.silent = False
        self.unplugged = False
        #: Bytes seen on the wire in each direction (for benchmarks).
        self.bytes_in = 0
        self.bytes_out = 0

    # -- lifecycle ---------------------------------------------------------
    @property
    def port(self) -> str:
        if self._port is None:
            raise RuntimeError("simulator not started")
        return self._port

    def start(self) -> "PtySimulator":
        if self._thread is not None:
            return self
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)  # no echo, no line discipline: bytes pass untouched
        # Keep our slave fd open so the driver closing and reopening the port
        # does not leave the master reading EIO in between.
        self._master, self._slave = master, slave
        self._port = os.ttyname(slave)
        self._thread = threading.Thread(target=self._run, name=f"sim:{self._port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        t, self._thread = self._thread, None
        if t is not None and t is not threading.current_thread():
            t.join(timeout=2)
        self._close_fds()

    def __enter__(self) -> "PtySimulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- faults ------------------------------------------------------------
    def unplug(self) -> None:
        """Make the port vanish, as pulling the USB adapter does."""
        self.unplugged = True
        self._stop.set()
        # Let the reader leave select() first: a closed fd number can be reused at once.
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=2)
        self._close_fds()

    def set_silent(self, silent: bool = True) -> None:
        """Keep reading but never answer."""
        self.silent = silent

    # -- for subclasses ----------------------------------------------------
    @abc.abstractmethod
    def on_bytes(self, data: bytes) -> None:
        """Bytes arrived from the driver; feed them to the codec and answer."""

    def send(self, data: bytes) -> None:
        """Put ``data`` on the wire towards the driver (paced if asked)."""
        if self.silent or self.unplugged or not data:
            return
        with self._write_lock:
            for i in range(0, len(data), self._chunk if self.pace else len(data)):
                piece = data[i : i + (self._chunk if self.pace else len(data))]
                if self.pace:
                    now = time.monotonic()
                    self._tx_free_at = max(now, self._tx_free_at) + len(piece) * BITS_PER_BYTE / self.baud
                    _sleep_until(self._tx_free_at)
                self._write_all(piece)
            self.bytes_out += len(data)

    def driver_baud(self) -> int | None:
        """The baud rate the driver set on its end of the pty, if readable."""
        if self._master is None:
            return None
        try:
            speed = termios.tcgetattr(self._master)[5]  # ospeed
        except termios.error:
            return None
        return _SPEEDS.get(speed)

    # -- internals ---------------------------------------------------------
    def _run(self) -> None:
        master = self._master
        while not self._stop.is_set() and master is not None:
            try:
                ready, _, _ = select.select([master], [], [], 0.1)
                if not ready:
                    continue
                data = os.read(master, 4096)
            except OSError:
                if self._stop.is_set():
                    return
                time.sleep(0.01)  # EIO while no one holds the slave: wait for a reopen
                continue
            if not data:
                continue
            self.bytes_in += len(data)
            if self.pace:
                now = time.monotonic()
                self._rx_free_at = max(now, self._rx_free_at) + len(data) * BITS_PER_BYTE / self.baud
                _sleep_until(self._rx_free_at)
            if self.silent:
                continue
            try:
                self.on_bytes(data)
            except Exception:  # a simulator bug must not kill the port silently
                log.exception("%s failed handling %d bytes", self.description, len(data))

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view and self._master is not None:
            try:
                n = os.write(self._master, view)
            except BlockingIOError:
                select.select([], [self._master], [], 0.1)
                continue
            except OSError:
                return  # unplugged mid-write
            view = view[n:]

    def _close_fds(self) -> None:
        for name in ("_master", "_slave"):
            fd = getattr(self, name)
            setattr(self, name, None)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass


def _sleep_until(t: float) -> None:
    while True:
        remaining = t - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(remaining)


_SPEEDS = {
    getattr(termios, f"B{rate}"): rate
    for rate in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
    if hasattr(termios, f"B{rate}")
}
