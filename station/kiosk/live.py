"""The live channel: one WebSocket per open kiosk page, fed from any thread.

Owns fan-out from the station's threads (workflow, preview, status ticker)
to the browser. Rules:

* Publishers never block: :meth:`Hub.publish` hands the message to the event
  loop and returns. Each client has a small queue; preview frames replace an
  unsent frame instead of queueing behind it (a slow screen skips frames, it
  never falls seconds behind), other messages queue in order.
* Text messages are JSON: ``status`` (online, outbox...), ``screen`` (the
  enrollment screen changed: fetch it again), ``stroke`` (pen samples),
  ``logout``. Binary messages are preview frames: 8 bytes of capture time
  (ms since the epoch, float64 little-endian), then the JPEG.
* Frames and strokes live only in these queues and in the page's memory, and
  go only to a page of the logged-in operator (``may_see``): the login page's
  channel gets the station's status, never a face or a signature.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import time
from dataclasses import dataclass, field
from typing import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

log = logging.getLogger(__name__)

_FRAME_HEAD = struct.Struct("<d")
#: Live messages that carry biometrics (besides the binary preview frames).
PRIVATE_KINDS = frozenset({"stroke"})


@dataclass(eq=False)
class _Client:
    ws: WebSocket
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=256))
    frame: bytes | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    #: Is this page the logged-in operator's (asked at each private message)?
    may_see: Callable[[], bool] = lambda: False


class Hub:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: set[_Client] = set()
        self.frames_sent = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def clients(self) -> int:
        return len(self._clients)

    # -- from any thread ------------------------------------------------------
    def publish(self, kind: str, **data: object) -> None:
        text = json.dumps({"kind": kind, **data}, separators=(",", ":"))
        self._call(self._fan_text, (text, kind in PRIVATE_KINDS))

    def publish_frame(self, jpeg: bytes, captured_at: float | None = None) -> None:
        head = _FRAME_HEAD.pack((captured_at if captured_at is not None else time.time()) * 1000.0)
        self._call(self._fan_frame, head + jpeg)

    def _call(self, fn, arg) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(fn, arg)
        except RuntimeError:  # the loop is shutting down
            pass

    # -- on the loop ------------------------------------------------------------
    def _fan_text(self, message: tuple[str, bool]) -> None:
        text, private = message
        for c in list(self._clients):
            if private and not c.may_see():
                continue
            try:
                c.queue.put_nowait(text)
            except asyncio.QueueFull:
                log.warning("kiosk client not reading; dropping a live message")
            c.wake.set()

    def _fan_frame(self, data: bytes) -> None:
        for c in list(self._clients):
            if not c.may_see():
                continue
            c.frame = data  # the newest frame wins
            c.wake.set()

    async def serve(self, ws: WebSocket, may_see: Callable[[], bool] = lambda: False) -> None:
        await ws.accept()
        client = _Client(ws, may_see=may_see)
        self._clients.add(client)
        receiver = asyncio.create_task(self._drain(ws))
        try:
            while not receiver.done():
                await client.wake.wait()
                client.wake.clear()
                while not client.queue.empty():
                    await ws.send_text(client.queue.get_nowait())
                frame, client.frame = client.frame, None
                if frame is not None:
                    await ws.send_bytes(frame)
                    self.frames_sent += 1
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            self._clients.discard(client)
            receiver.cancel()

    async def _drain(self, ws: WebSocket) -> None:
        """Read until the page goes away, then wake the sender so it ends."""
        try:
            while True:
                msg = await ws.receive()
                if msg.get("type") == "websocket.disconnect":
                    break
        finally:
            for c in list(self._clients):
                if c.ws is ws:
                    c.wake.set()
