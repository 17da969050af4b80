"""The face step's live preview: frames from the camera to the screen while the operator frames the shot.

Runs only while the face question is on screen, on its own thread, at
``[kiosk] preview_fps``. A driver with a cheap preview stream offers
``preview()`` (picamera2's lores stream would); otherwise each frame is a
``capture()``, as with the emulated camera (about 20 ms at 480x640). Frames
go to the live channel and nowhere else; the pump stops before the workflow
takes the real photo, so the two never share the camera.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from drivers.errors import DeviceError
from drivers.types import Image
from station.kiosk.live import Hub

log = logging.getLogger(__name__)


class PreviewPump:
    def __init__(self, grab: Callable[[], Image], hub: Hub, fps: float) -> None:
        self._grab = grab
        self._hub = hub
        self._period = 1.0 / fps
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self.frames = 0

    def start(self) -> None:
        with self._lock:
            if self._stop is not None:
                return
            stop = self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(stop,), name="kiosk-preview", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            stop, thread = self._stop, self._thread
            self._stop = self._thread = None
        if stop is not None:
            stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)

    @property
    def running(self) -> bool:
        return self._stop is not None

    def _run(self, stop: threading.Event) -> None:
        next_at = time.monotonic()
        while not stop.is_set():
            if self._hub.clients:
                try:
                    frame = self._grab()
                except DeviceError as exc:
                    log.warning("preview stopped: %s", exc)
                    return
                self._hub.publish_frame(frame.data, frame.captured_at)
                self.frames += 1
            next_at = max(next_at + self._period, time.monotonic())
            stop.wait(next_at - time.monotonic())


def grabber(camera_getter: Callable[[], object]) -> Callable[[], Image]:
    def grab() -> Image:
        camera = camera_getter()
        preview = getattr(camera, "preview", None)
        return preview() if callable(preview) else camera.capture()  # type: ignore[attr-defined]
    return grab
