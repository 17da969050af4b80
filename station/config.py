"""The station's one TOML config file (/etc/rekam/station.toml on a Pi).

Validated completely at start: a wrong value stops the station with an error
that names the field and the expected form (``mqtt.port must be an integer
1-65535, got "eighty"``), before any device or connection is touched.
Relative paths are relative to the config file's directory, so a config and
its keys can be moved together.

``rekam station init`` writes :data:`EXAMPLE`, which documents every field.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from drivers.types import DeviceKind
from protocol import topics
from protocol.keys import Suite
from station.errors import ConfigError

LANGUAGES = ("id", "en")
_REAL_DRIVERS = {DeviceKind.CAMERA: "picamera2", DeviceKind.FINGERPRINT: "zhiantec",
                 DeviceKind.SIGNATURE: "topaz", DeviceKind.INDICATORS: "gpiozero"}


@dataclass(frozen=True)
class DeviceConfig:
    driver: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = 30
    #: Largest packet the broker accepts (Mosquitto's max_packet_size); bigger ones are quarantined.
    max_packet_bytes: int = 4 * 1024 * 1024
    #: Packets published and not yet acked by the controller, at most.
    window: int = 8
    window_bytes: int = 8 * 1024 * 1024
    ack_timeout_s: float = 60.0
    telemetry_interval_s: float = 60.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    #: Cap on upload rate while draining a backlog (0 = no cap), to spare a shared uplink.
    drain_bytes_per_s: int = 0


@dataclass(frozen=True)
class StationConfig:
    station_id: str
    data_dir: Path
    language: str
    signing_key: Path
    controller_public_key: Path
    suite: Suite
    outbox_path: Path
    min_free_bytes: int
    mqtt: MqttSettings
    devices: Mapping[DeviceKind, DeviceConfig]
    quality: Mapping[str, Any]
    retries: int
    source: Path | None = None


def default_path() -> Path:
    """$REKAM_STATION_CONFIG, else /etc/rekam/station.toml if it exists, else ./station.toml."""
    env = os.environ.get("REKAM_STATION_CONFIG")
    if env:
        return Path(env)
    system = Path("/etc/rekam/station.toml")
    return system if system.exists() else Path("station.toml")


def load(path: str | Path) -> StationConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist (create one with: rekam station init {p})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from None
    return parse(text, base_dir=p.resolve().parent, source=p)


def parse(text: str, *, base_dir: Path, source: Path | None = None) -> StationConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source or 'config'} is not valid TOML: {exc}") from None
    r = _Reader(raw, base_dir)
    station_id = r.str("station.id")
    try:
        topics.check_station_id(station_id)
    except topics.TopicError as exc:
        raise ConfigError(f"station.id: {exc}") from None
    data_dir = r.path("station.data_dir", default="/var/lib/rekam")
    language = r.choice("station.language", LANGUAGES, default="id")
    suite_name = r.str("keys.suite", default=Suite.MLKEM768_X25519.value)
    try:
        suite = Suite(suite_name)
    except ValueError:
        allowed = ", ".join(s.value for s in Suite)
        raise ConfigError(f"keys.suite must be one of {allowed}, got {suite_name!r}") from None
    mqtt = MqttSettings(
        host=r.str("mqtt.host", default="127.0.0.1"),
        port=r.int("mqtt.port", default=1883, lo=1, hi=65535),
        tls=r.bool("mqtt.tls", default=False),
        ca_file=r.path("mqtt.ca_file", default=None),
        cert_file=r.path("mqtt.cert_file", default=None),
        key_file=r.path("mqtt.key_file", default=None),
        keepalive_s=r.int("mqtt.keepalive_s", default=30, lo=5, hi=3600),
        max_packet_bytes=r.int("mqtt.max_packet_bytes", default=4 * 1024 * 1024, lo=64 * 1024, hi=256 * 1024 * 1024),
        window=r.int("mqtt.window", default=8, lo=1, hi=1000),
        window_bytes=r.int("mqtt.window_bytes", default=8 * 1024 * 1024, lo=64 * 1024),
        ack_timeout_s=r.float("mqtt.ack_timeout_s", default=60.0, lo=0.1),
        telemetry_interval_s=r.float("mqtt.telemetry_interval_s", default=60.0, lo=0.1),
        reconnect_min_s=r.float("mqtt.reconnect_min_s", default=1.0, lo=0.1),
        reconnect_max_s=r.float("mqtt.reconnect_max_s", default=60.0, lo=0.1),
        drain_bytes_per_s=r.int("mqtt.drain_bytes_per_s", default=0, lo=0),
    )
    if mqtt.tls and not (mqtt.ca_file and mqtt.cert_file and mqtt.key_file):
        raise ConfigError("mqtt.tls is true, so mqtt.ca_file, mqtt.cert_file and mqtt.key_file are all required")
    if mqtt.reconnect_max_s < mqtt.reconnect_min_s:
        raise ConfigError("mqtt.reconnect_max_s must not be smaller than mqtt.reconnect_min_s")
    r.only_known("devices", {k.value for k in DeviceKind})
    devices = {}
    for kind in DeviceKind:
        key = f"devices.{kind.value}"
        # No default driver: a station missing a section must not quietly record
        # synthetic biometrics from an emulator as a real resident's.
        if r._get(f"{key}.driver", None) is None:
            raise ConfigError(f"{key}.driver is required: a driver name from `rekam drivers list` "
                              f"(on a Pi e.g. {_REAL_DRIVERS[kind]!r})")
        driver = r.str(f"{key}.driver")
        options = r.table(f"{key}.options", default={})
        devices[kind] = DeviceConfig(driver, dict(options))
    return StationConfig(
        station_id=station_id,
        data_dir=data_dir,
        language=language,
        signing_key=r.path("keys.signing_key", default=str(data_dir / "keys" / "station-signing.key")),
        controller_public_key=r.path("keys.controller_public_key", default=str(data_dir / "keys" / "controller.pub")),
        suite=suite,
        outbox_path=r.path("outbox.path", default=str(data_dir / "outbox.db")),
        min_free_bytes=r.int("outbox.min_free_mb", default=200, lo=0) * 1024 * 1024,
        mqtt=mqtt,
        devices=devices,
        quality=r.table("quality", default={}),
        retries=r.int("quality.retries", default=3, lo=1, hi=10),
        source=source,
    )


class _Reader:
    """Typed access to dotted TOML keys; every error names the key."""

    def __init__(self, raw: Mapping[str, Any], base_dir: Path) -> None:
        self.raw = raw
        self.base = base_dir

    def _get(self, dotted: str, default: Any) -> Any:
        node: Any = self.raw
        parts = dotted.split(".")
        for i, part in enumerate(parts):
            if not isinstance(node, Mapping):
                raise ConfigError(f"{'.'.join(parts[:i])} must be a table")
            if part not in node:
                if default is ...:
                    raise ConfigError(f"{dotted} is required")
                return default
            node = node[part]
        return node

    def str(self, key: str, default: Any = ...) -> Any:
        v = self._get(key, default)
        if v is None or (v is default and default is not ...):
            return v
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(f"{key} must be a non-empty string, got {v!r}")
        return v

    def choice(self, key: str, allowed: tuple[str, ...], default: Any = ...) -> str:
        v = self.str(key, default)
        if v not in allowed:
            raise ConfigError(f"{key} must be one of {', '.join(allowed)}, got {v!r}")
        return v

    def int(self, key: str, default: Any = ..., lo: int | None = None, hi: int | None = None) -> Any:
        v = self._get(key, default)
        if not isinstance(v, int) or isinstance(v, bool):
            raise ConfigError(f"{key} must be an integer{_range(lo, hi)}, got {v!r}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ConfigError(f"{key} must be an integer{_range(lo, hi)}, got {v}")
        return v

    def float(self, key: str, default: Any = ..., lo: float | None = None) -> Any:
        v = self._get(key, default)
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise ConfigError(f"{key} must be a number, got {v!r}")
        if lo is not None and v < lo:
            raise ConfigError(f"{key} must be at least {lo}, got {v}")
        return float(v)

    def bool(self, key: str, default: Any = ...) -> Any:
        v = self._get(key, default)
        if not isinstance(v, bool):
            raise ConfigError(f"{key} must be true or false, got {v!r}")
        return v

    def path(self, key: str, default: Any = ...) -> Path | None:
        v = self._get(key, default)
        if v is None:
            return None
        if not isinstance(v, str) or not v:
            raise ConfigError(f"{key} must be a path string, got {v!r}")
        p = Path(v).expanduser()
        return p if p.is_absolute() else (self.base / p)

    def table(self, key: str, default: Any = ...) -> Mapping[str, Any]:
        v = self._get(key, default)
        if not isinstance(v, Mapping):
            raise ConfigError(f"{key} must be a table, got {v!r}")
        return v

    def only_known(self, key: str, known: set[str]) -> None:
        v = self._get(key, {})
        unknown = sorted(set(v) - known) if isinstance(v, Mapping) else []
        if unknown:
            raise ConfigError(f"{key} has unknown entries {unknown}; expected some of {sorted(known)}")


def _range(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f" {lo}-{hi}"
    if lo is not None:
        return f" >= {lo}"
    return ""


EXAMPLE = """\
# rekam station configuration.
# Relative paths are relative to this file's directory.

[station]
# Lower-case letters, digits, '-' or '_'; also the MQTT client certificate's CN.
id = "st-01"
# Outbox, keys and state live here.
data_dir = "/var/lib/rekam"
# Operator screens: "id" (Bahasa Indonesia) or "en".
language = "id"

[keys]
# This station's Ed25519 signing key (made by `rekam station keygen`, mode 0600).
signing_key = "/var/lib/rekam/keys/station-signing.key"
# The controller's public sealing keys (from the provisioning bundle).
controller_public_key = "/var/lib/rekam/keys/controller.pub"
# HPKE suite: post-quantum hybrid by default; "x25519-hkdfsha256-aes256gcm" for compatibility.
suite = "mlkem768x25519-hkdfsha256-aes256gcm"

[mqtt]
host = "controller.local"
port = 8883
tls = true
ca_file = "/var/lib/rekam/tls/ca.crt"
cert_file = "/var/lib/rekam/tls/station.crt"
key_file = "/var/lib/rekam/tls/station.key"
keepalive_s = 30
# Must not exceed the broker's max_packet_size; larger packets are quarantined, not sent.
max_packet_bytes = 4194304
# At most this many packets (and bytes) published and waiting for the controller's ack.
window = 8
window_bytes = 8388608
# Re-send a packet when the controller has not acked it in this time.
ack_timeout_s = 60
telemetry_interval_s = 60
reconnect_min_s = 1
reconnect_max_s = 60
# Upload rate cap while draining after days offline (bytes/s, 0 = no cap).
drain_bytes_per_s = 0

[outbox]
path = "/var/lib/rekam/outbox.db"
# Refuse to start an enrollment when less than this is free.
min_free_mb = 200

[quality]
# Attempts per capture before the best one is kept and marked forced.
retries = 3

# One table per device: the driver's registry name and its options.
# `rekam drivers list` shows installed drivers; `rekam drivers check` tests them.
[devices.camera]
driver = "picamera2"
options = { size = [1536, 2048], jpeg_quality = 90 }

[devices.fingerprint]
driver = "zhiantec"
options = { port = "/dev/rekam-fingerprint", baud = 57600 }

[devices.signature]
driver = "topaz"
options = { port = "/dev/rekam-signature", baud = 19200 }

[devices.indicators]
driver = "gpiozero"
# BCM pin numbers of the status LEDs, the buzzer and the two buttons.
options = { pins = { green = 17, amber = 27, red = 22, buzzer = 18, capture = 5, next = 6 } }
"""
