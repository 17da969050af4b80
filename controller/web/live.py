"""The live channel: server-sent events from the controller's threads to every open page.

Producers (the fleet thread, ingest workers, the command tracker, the alarm
check) call the hub from their own threads and never wait: a station change
only marks the station dirty; the hub's flusher thread reads the dirty
stations from the store every ``interval`` seconds (one query however many
changed) and hands the rows to each subscriber's asyncio queue on that
subscriber's event loop. A subscriber that falls ``QUEUE`` events behind is
dropped (its browser reconnects and refreshes), so a slow client never holds
up the others or the controller.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)

QUEUE = 512


@dataclass(eq=False)
class Subscription:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE))
    dropped: bool = False


class LiveHub:
    def __init__(self, load_rows: Callable[[list[str]], list[Any]], *, interval: float = 0.25) -> None:
        self._load_rows = load_rows
        self.interval = interval
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()
        self._dirty: set[str] = set()
        self._pending: dict[str, Any] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.published = 0

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "LiveHub":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="web-live", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """End every stream (so the web server can stop) and the flusher."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        with self._lock:
            subs, self._subs = list(self._subs), set()
        for s in subs:
            self._deliver(s, None)

    # -- subscribers (event loop side) ----------------------------------------------------------
    def subscribe(self, loop: asyncio.AbstractEventLoop) -> Subscription:
        sub = Subscription(loop)
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    # -- producers (any thread, never blocking) ---------------------------------------------------
    def station_changed(self, station_id: str, *_: Any) -> None:
        with self._lock:
            self._dirty.add(station_id)
        self._wake.set()

    def notify(self, event: str, data: Any = None) -> None:
        """Send ``event`` at the next flush; several of one kind before then are sent once, the latest data."""
        with self._lock:
            self._pending[event] = data
        self._wake.set()

    def publish(self, event: str, data: Any) -> None:
        with self._lock:
            subs = list(self._subs)
        for s in subs:
            self._deliver(s, (event, data))
        self.published += 1

    def _deliver(self, sub: Subscription, item: tuple[str, Any] | None) -> None:
        def put() -> None:
            if sub.dropped:
                return
            try:
                sub.queue.put_nowait(item)
            except asyncio.QueueFull:
                sub.dropped = True
                self.unsubscribe(sub)
                sub.queue.get_nowait()
                sub.queue.put_nowait(None)  # end the stream: the browser reconnects and refreshes
        try:
            sub.loop.call_soon_threadsafe(put)
        except RuntimeError:  # its loop is closed: the page is gone
            self.unsubscribe(sub)

    # -- the flusher thread --------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.wait(self.interval):  # gather what else changes meanwhile
                return
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        with self._lock:
            dirty, self._dirty = sorted(self._dirty), set()
            pending, self._pending = self._pending, {}
        if dirty and self.subscribers:
            try:
                rows = self._load_rows(dirty)
            except Exception:  # the store may be busy or closing; the next change brings the row again
                log.exception("live: cannot read %d station rows", len(dirty))
                rows = []
            if rows:
                self.publish("station", rows)
        for event, data in pending.items():
            self.publish(event, data)


def sse(event: str, data: str) -> str:
    """One server-sent event; every line of ``data`` gets its own ``data:`` field."""
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"
