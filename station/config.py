"""The station's one TOML config file (/etc/rekam/station.toml on a Pi).

Validated completely at start: a wrong value stops the station with an error
that names the field and the expected form (``mqtt.port must be an integer
1-65535, got "eighty"``), before any device or connection is touched.
Relative paths are relative to the config file's directory, so a config and
its keys can be moved together.

``rekam station init`` writes :data:`EXAMPLE`, which documents every field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

import msgspec
from msgspec import Meta

from adapters import configfile
from drivers.types import DeviceKind
from protocol import topics
from protocol.keys import Suite
from station.errors import ConfigError
from station.quality.thresholds import FaceThresholds, FingerThresholds, QualityThresholds, SignatureThresholds

LANGUAGES = ("id", "en")
_REAL_DRIVERS = {DeviceKind.CAMERA: "picamera2", DeviceKind.FINGERPRINT: "zhiantec",
                 DeviceKind.SIGNATURE: "topaz", DeviceKind.INDICATORS: "gpiozero"}

NonEmpty = Annotated[str, Meta(min_length=1)]
Seconds = Annotated[float, Meta(ge=0.1)]


class DeviceConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[devices.<kind>]``: the driver's registry name and its options (the driver checks those)."""

    driver: NonEmpty
    options: dict[str, Any] = {}


class MqttSettings(configfile.BrokerTable, frozen=True, forbid_unknown_fields=True):
    """``[mqtt]``: where the broker is and how the station delivers to it."""

    #: The broker listener's mount_point ("st/" in deploy/mosquitto); taken off received topics where
    #: the broker does not (Mosquitto 2.0.11). From the provisioning bundle.
    mount_point: Annotated[str, Meta(pattern=r"^([a-z0-9_-]+/)?$")] = ""
    #: Largest packet the broker accepts (Mosquitto's max_packet_size); bigger ones are quarantined.
    max_packet_bytes: Annotated[int, Meta(ge=64 * 1024, le=256 * 1024 * 1024)] = 4 * 1024 * 1024
    #: Packets published and not yet acked by the controller, at most.
    window: Annotated[int, Meta(ge=1, le=1000)] = 8
    window_bytes: Annotated[int, Meta(ge=64 * 1024)] = 8 * 1024 * 1024
    ack_timeout_s: Seconds = 60.0
    telemetry_interval_s: Seconds = 60.0
    reconnect_min_s: Seconds = 1.0
    reconnect_max_s: Seconds = 60.0
    #: Cap on upload rate while draining a backlog (0 = no cap), to spare a shared uplink.
    drain_bytes_per_s: Annotated[int, Meta(ge=0)] = 0


class _StationTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    data_dir: Path = Path("/var/lib/rekam")
    language: Literal["id", "en"] = "id"


class _KeysTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    signing_key: Path | None = None
    controller_public_key: Path | None = None
    suite: Suite = Suite.MLKEM768_X25519


class _OutboxTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    path: Path | None = None
    min_free_mb: Annotated[int, Meta(ge=0)] = 200


class _QualityTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    #: Attempts per capture; the gates' own tables are their threshold models (station.quality.thresholds).
    retries: Annotated[int, Meta(ge=1, le=10)] = 3
    face: FaceThresholds = FaceThresholds()
    finger: FingerThresholds = FingerThresholds()
    signature: SignatureThresholds = SignatureThresholds()


class _DevicesTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    camera: DeviceConfig | None = None
    fingerprint: DeviceConfig | None = None
    signature: DeviceConfig | None = None
    indicators: DeviceConfig | None = None


class KioskSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[kiosk]``: where the touchscreen app (station/kiosk/) listens and how it guards itself."""

    #: Listen address; the kiosk is for the station's own screen, so loopback.
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8780
    #: Client addresses that may use the kiosk; any other request is refused (403).
    allow: tuple[str, ...] = ("127.0.0.1", "::1")
    #: Log the operator out after this long without a touch (an enrollment in progress is cancelled).
    idle_logout_s: Annotated[float, Meta(ge=10)] = 300.0
    #: Wrong PINs in a row before an id is locked, and for how long.
    max_failures: Annotated[int, Meta(ge=1, le=20)] = 5
    lockout_s: Annotated[float, Meta(ge=10)] = 300.0
    #: Live face preview rate.
    preview_fps: Annotated[float, Meta(ge=1, le=30)] = 12.0
    #: Kelurahan to record for when the controller has sent no assignment (e.g. a training room).
    kelurahan: str | None = None
    #: Seconds a finger may take to arrive once the operator taps "scan".
    finger_timeout_s: Annotated[float, Meta(gt=0, le=60)] = 10.0
    signature_timeout_s: Annotated[float, Meta(gt=0, le=300)] = 60.0
    signature_idle_s: Annotated[float, Meta(gt=0, le=10)] = 2.0


class _StationFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    station: _StationTable
    keys: _KeysTable = _KeysTable()
    mqtt: MqttSettings = MqttSettings()
    outbox: _OutboxTable = _OutboxTable()
    quality: _QualityTable = _QualityTable()
    devices: _DevicesTable = _DevicesTable()
    kiosk: KioskSettings = KioskSettings()


@dataclass(frozen=True)
class StationConfig:
    """The whole station config, checked and with every path absolute."""

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
    quality: QualityThresholds
    retries: int
    source: Path | None = None
    kiosk: KioskSettings = KioskSettings()


def default_path() -> Path:
    """$REKAM_STATION_CONFIG, else /etc/rekam/station.toml if it exists, else ./station.toml."""
    return configfile.default_path("REKAM_STATION_CONFIG", "station.toml")


def load(path: str | Path) -> StationConfig:
    p = Path(path)
    raw = configfile.read_toml(p, error=ConfigError, missing_hint=f"create one with: rekam station init {p}")
    return from_mapping(raw, base_dir=p.resolve().parent, source=p)


def parse(text: str, *, base_dir: Path, source: Path | None = None) -> StationConfig:
    return from_mapping(configfile.parse_toml(text, error=ConfigError, source=source), base_dir=base_dir,
                        source=source)


def from_mapping(raw: Mapping[str, Any], *, base_dir: Path, source: Path | None = None) -> StationConfig:
    if "station" not in raw:
        raise ConfigError("station.id is required")
    f = configfile.convert(raw, _StationFile, error=ConfigError)
    try:
        topics.check_station_id(f.station.id)
    except topics.TopicError as exc:
        raise ConfigError(f"station.id: {exc}") from None

    def at(p: Path | None, default: Path) -> Path:
        return configfile.resolve(p, default, base_dir)

    data_dir = at(f.station.data_dir, Path("/var/lib/rekam"))
    mqtt = configfile.resolve_broker(f.mqtt, base_dir, error=ConfigError)
    if mqtt.reconnect_max_s < mqtt.reconnect_min_s:
        raise ConfigError("mqtt.reconnect_max_s must not be smaller than mqtt.reconnect_min_s")
    devices = {}
    for kind in DeviceKind:
        dc = getattr(f.devices, kind.value)
        # No default driver: a station missing a section must not quietly record
        # synthetic biometrics from an emulator as a real resident's.
        if dc is None:
            raise ConfigError(f"devices.{kind.value}.driver is required: a driver name from `rekam drivers list` "
                              f"(on a Pi e.g. {_REAL_DRIVERS[kind]!r})")
        devices[kind] = dc
    quality = QualityThresholds(f.quality.face, f.quality.finger, f.quality.signature)  # checked as decoded
    return StationConfig(
        station_id=f.station.id,
        data_dir=data_dir,
        language=f.station.language,
        signing_key=at(f.keys.signing_key, data_dir / "keys" / "station-signing.key"),
        controller_public_key=at(f.keys.controller_public_key, data_dir / "keys" / "controller.pub"),
        suite=f.keys.suite,
        outbox_path=at(f.outbox.path, data_dir / "outbox.db"),
        min_free_bytes=f.outbox.min_free_mb * 1024 * 1024,
        mqtt=mqtt,
        devices=devices,
        quality=quality,
        retries=f.quality.retries,
        source=source,
        kiosk=f.kiosk,
    )


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
# The broker listener's mount_point (deploy/mosquitto: "st/"); the provisioning bundle sets it.
mount_point = "st/"
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
