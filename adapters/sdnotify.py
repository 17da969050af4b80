"""sd_notify for units with Type=notify and WatchdogSec=.

The protocol is one datagram to $NOTIFY_SOCKET (a dozen lines, so no library).
The watchdog is fed only while the caller says it is healthy (the station: its
uplink worker is alive), so a hung process is restarted by systemd instead of
sitting silent in a market all afternoon.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Callable


def notify(message: str) -> bool:
    """Send ``READY=1``, ``WATCHDOG=1``, ``STATUS=...``; False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(address)
            s.sendall(message.encode())
    except OSError:
        return False
    return True


def watchdog_interval() -> float | None:
    """Half of WatchdogSec, as systemd recommends; None when no watchdog is set."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1e6 / 2
    except ValueError:
        return None


class Watchdog:
    def __init__(self, healthy: Callable[[], bool], interval: float) -> None:
        self._healthy = healthy
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)

    def start(self) -> "Watchdog":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            if self._healthy():
                notify("WATCHDOG=1")
