"""The station's four devices, opened from config through the driver registry.

A device that fails to open does not stop the station: its error is kept and
reported (telemetry, ``rekam drivers check``, the operator screen), and the
enrollment refuses to start until it is back. A technician swaps a driver by
changing one line of config, or remotely with the ``driver_swap`` command;
a swap that fails puts the previous driver back.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping

from drivers import registry
from drivers.errors import DeviceError, DeviceNotConnected
from drivers.interfaces import (
    Camera,
    Device,
    FingerprintScanner,
    Indicators,
    SignaturePad,
)
from drivers.registry import DriverContext
from drivers.types import DeviceIdentity, DeviceKind, SelfTestResult
from protocol.messages import DriverHealth
from station.config import DeviceConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckRow:
    """One line of ``rekam drivers check``."""

    kind: DeviceKind
    driver: str
    identity: DeviceIdentity | None
    ok: bool
    detail: str
    seconds: float


class Devices:
    def __init__(self, config: Mapping[DeviceKind, DeviceConfig], context: DriverContext | None = None) -> None:
        self._config = dict(config)
        self.context = context or DriverContext()
        self._devices: dict[DeviceKind, Device] = {}
        self._errors: dict[DeviceKind, DeviceError] = {}
        self._lock = threading.RLock()

    # -- lifecycle -----------------------------------------------------------
    def open_all(self) -> dict[DeviceKind, DeviceError]:
        for kind in DeviceKind:
            self._open(kind)
        return dict(self._errors)

    def close_all(self) -> None:
        with self._lock:
            for dev in self._devices.values():
                try:
                    dev.close()
                except DeviceError as exc:
                    log.warning("closing %s: %s", dev.label, exc)
            self._devices.clear()

    def __enter__(self) -> "Devices":
        self.open_all()
        return self

    def __exit__(self, *exc) -> None:
        self.close_all()

    def _open(self, kind: DeviceKind) -> Device | None:
        cfg = self._config.get(kind)
        with self._lock:
            self._errors.pop(kind, None)
            if cfg is None:
                self._errors[kind] = DeviceNotConnected(f"no {kind.value} configured")
                return None
            try:
                dev = registry.create(kind, cfg.driver, cfg.options, self.context)
                dev.open()
            except DeviceError as exc:
                log.error("%s driver %s: %s", kind.value, cfg.driver, exc)
                self._errors[kind] = exc
                return None
            self._devices[kind] = dev
            log.info("%s: %s (%s)", kind.value, cfg.driver, dev.identity.describe())
            return dev

    # -- access --------------------------------------------------------------------
    def get(self, kind: DeviceKind) -> Device:
        with self._lock:
            dev = self._devices.get(kind)
            if dev is None or not dev.is_open:
                err = self._errors.get(kind)
                if err is not None:
                    raise err
                raise DeviceNotConnected(f"{kind.value} is not open")
            return dev

    def reopen(self, kind: DeviceKind) -> Device:
        """Close and open one device again (after an unplug, say)."""
        with self._lock:
            old = self._devices.pop(kind, None)
            if old is not None:
                old.close()
            dev = self._open(kind)
            if dev is None:
                raise self._errors[kind]
            return dev

    @property
    def camera(self) -> Camera:
        return self.get(DeviceKind.CAMERA)  # type: ignore[return-value]

    @property
    def scanner(self) -> FingerprintScanner:
        return self.get(DeviceKind.FINGERPRINT)  # type: ignore[return-value]

    @property
    def pad(self) -> SignaturePad:
        return self.get(DeviceKind.SIGNATURE)  # type: ignore[return-value]

    @property
    def indicators(self) -> Indicators | None:
        """Lights and buttons are a help, not a requirement: None when absent."""
        with self._lock:
            dev = self._devices.get(DeviceKind.INDICATORS)
            return dev if dev is not None and dev.is_open else None  # type: ignore[return-value]

    def identities(self) -> list[DeviceIdentity]:
        with self._lock:
            return [d.identity for d in self._devices.values() if d.is_open]

    def driver_names(self) -> dict[str, str]:
        return {k.value: c.driver for k, c in self._config.items()}

    def health(self) -> dict[str, DriverHealth]:
        with self._lock:
            out = {}
            for kind, cfg in self._config.items():
                err = self._errors.get(kind)
                out[kind.value] = DriverHealth(cfg.driver, err is None and kind in self._devices,
                                               err.reason_id if err else "")
            return out

    def mark_failed(self, kind: DeviceKind, error: DeviceError) -> None:
        """Remember a failure seen during use, so telemetry reports it until a reopen works."""
        with self._lock:
            self._errors[kind] = error

    # -- technician operations ----------------------------------------------------------
    def check(self) -> list[CheckRow]:
        """Open (if needed) and self-test each device; never raises."""
        rows = []
        for kind in DeviceKind:
            cfg = self._config.get(kind)
            t0 = time.monotonic()
            try:
                dev = self._devices.get(kind) or self._open(kind)
                if dev is None:
                    raise self._errors[kind]
                result: SelfTestResult = dev.self_test()
                rows.append(CheckRow(kind, cfg.driver if cfg else "-", result.identity, True, result.detail,
                                     time.monotonic() - t0))
            except DeviceError as exc:
                with self._lock:
                    self._errors[kind] = exc
                rows.append(CheckRow(kind, cfg.driver if cfg else "-", None, False, str(exc), time.monotonic() - t0))
        return rows

    def swap(self, kind: DeviceKind, driver: str, options: Mapping[str, Any]) -> SelfTestResult:
        """Replace one device's driver; on failure the previous one is reopened."""
        with self._lock:
            previous = self._config.get(kind)
            old = self._devices.pop(kind, None)
            if old is not None:
                old.close()
            self._config[kind] = DeviceConfig(driver, dict(options))
            dev = self._open(kind)
            try:
                if dev is None:
                    raise self._errors[kind]
                return dev.self_test()
            except DeviceError:
                if dev is not None:
                    dev.close()
                    self._devices.pop(kind, None)
                if previous is not None:
                    self._config[kind] = previous
                    self._open(kind)
                raise
