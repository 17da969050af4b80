"""The controller's TOML config (/etc/rekam/controller.toml).

Validated at start; an error names the field and the expected form. Relative
paths are relative to the config file's directory. ``rekam controller init``
writes :data:`EXAMPLE` next to a fresh key pair and store.
"""

from __future__ import annotations

import datetime as _dt
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from controller.errors import ConfigError

_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class ControllerMqtt:
    host: str = "127.0.0.1"
    port: int = 1883
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = 30
    share_group: str = "controllers"


@dataclass(frozen=True)
class FleetSettings:
    offline_alarm_s: float = 15 * 60
    #: A station "online" but silent (no state or telemetry) this long counts as offline.
    silent_after_s: float = 3 * 60
    outbox_alarm_depth: int = 200
    disk_low_bytes: int = 500 * 1024 * 1024
    check_interval_s: float = 30.0


@dataclass(frozen=True)
class IngestSettings:
    max_packet_bytes: int = 8 * 1024 * 1024
    batch_size: int = 32
    batch_wait_s: float = 0.05
    workers: int = 2


@dataclass(frozen=True)
class ScheduleSettings:
    city_code: str = "33.72"
    start: str = "15:00"
    end: str = "21:00"
    #: Residents a station records in a full day; 0: the fitted turnout model (15 an hour).
    station_capacity: int = 0
    publish_days_ahead: int = 3
    #: First day of the campaign (YYYY-MM-DD); "" plans from today.
    campaign_start: str = ""
    #: The campaign's deadline (YYYY-MM-DD), figures are reported against it; "" for none.
    deadline: str = ""
    #: National holidays off, and cuti bersama with them.
    holidays: bool = True
    cuti_bersama: bool = True
    #: Weekly days off, by name (English or Indonesian) or number (0 Monday .. 6 Sunday).
    weekly_days_off: tuple[str, ...] = ("sunday",)
    #: The stop rule: a station-day expected to record fewer is not planned (group visits need 20).
    min_per_station_day: int = 20
    #: Priority groups (first-time voters, home-bound) count 1 + this much in the planner.
    priority_weight: float = 1.0
    #: Share of each priority group to be recorded by the deadline (reported against).
    priority_target_share: float = 0.95
    #: Station id -> home area (kabupaten/kota "33.72" or kecamatan "33.72.01"); absent: anywhere.
    home_areas: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ControllerConfig:
    controller_id: str
    store_path: Path
    private_key: Path
    public_key: Path
    mqtt: ControllerMqtt
    fleet: FleetSettings
    ingest: IngestSettings
    schedule: ScheduleSettings
    source: Path | None = None


def default_path() -> Path:
    """$REKAM_CONTROLLER_CONFIG, else /etc/rekam/controller.toml if it exists, else ./controller.toml."""
    env = os.environ.get("REKAM_CONTROLLER_CONFIG")
    if env:
        return Path(env)
    system = Path("/etc/rekam/controller.toml")
    return system if system.exists() else Path("controller.toml")


def load(path: str | Path) -> ControllerConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist (create one with: rekam controller init)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {p}: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p} is not valid TOML: {exc}") from None
    return from_mapping(raw, base_dir=p.resolve().parent, source=p)


def from_mapping(raw: Mapping[str, Any], *, base_dir: Path, source: Path | None = None) -> ControllerConfig:
    g = _Get(raw, base_dir)
    cid = g.get("controller.id", str, "controller-1")
    if not cid or set(cid) - _ID_CHARS:
        raise ConfigError(f"controller.id must be lower-case letters, digits, '-' or '_', got {cid!r}")
    mqtt = ControllerMqtt(
        host=g.get("mqtt.host", str, "127.0.0.1"),
        port=g.get("mqtt.port", int, 1883, lo=1, hi=65535),
        tls=g.get("mqtt.tls", bool, False),
        ca_file=g.path("mqtt.ca_file"),
        cert_file=g.path("mqtt.cert_file"),
        key_file=g.path("mqtt.key_file"),
        keepalive_s=g.get("mqtt.keepalive_s", int, 30, lo=5, hi=3600),
        share_group=g.get("mqtt.share_group", str, "controllers"),
    )
    if mqtt.tls and not (mqtt.ca_file and mqtt.cert_file and mqtt.key_file):
        raise ConfigError("mqtt.tls is true, so mqtt.ca_file, mqtt.cert_file and mqtt.key_file are all required")
    return ControllerConfig(
        controller_id=cid,
        store_path=g.path("store.path") or base_dir / "controller.db",
        private_key=g.path("keys.private_key") or base_dir / "keys" / "controller.key",
        public_key=g.path("keys.public_key") or base_dir / "keys" / "controller.pub",
        mqtt=mqtt,
        fleet=FleetSettings(
            offline_alarm_s=g.get("fleet.offline_alarm_s", float, 900.0, lo=0.1),
            silent_after_s=g.get("fleet.silent_after_s", float, 180.0, lo=0.1),
            outbox_alarm_depth=g.get("fleet.outbox_alarm_depth", int, 200, lo=1),
            disk_low_bytes=g.get("fleet.disk_low_mb", int, 500, lo=0) * 1024 * 1024,
            check_interval_s=g.get("fleet.check_interval_s", float, 30.0, lo=0.05),
        ),
        ingest=IngestSettings(
            max_packet_bytes=g.get("ingest.max_packet_bytes", int, 8 * 1024 * 1024, lo=1024),
            batch_size=g.get("ingest.batch_size", int, 32, lo=1, hi=10_000),
            batch_wait_s=g.get("ingest.batch_wait_s", float, 0.05, lo=0),
            workers=g.get("ingest.workers", int, 2, lo=1, hi=64),
        ),
        schedule=ScheduleSettings(
            city_code=g.get("schedule.city_code", str, "33.72"),
            start=g.get("schedule.start", str, "15:00"),
            end=g.get("schedule.end", str, "21:00"),
            station_capacity=g.get("schedule.station_capacity", int, 0, lo=0, hi=1000),
            publish_days_ahead=g.get("schedule.publish_days_ahead", int, 3, lo=0, hi=60),
            campaign_start=g.date("schedule.campaign_start"),
            deadline=g.date("schedule.deadline"),
            holidays=g.get("schedule.holidays", bool, True),
            cuti_bersama=g.get("schedule.cuti_bersama", bool, True),
            weekly_days_off=g.strings("schedule.weekly_days_off", ("sunday",)),
            min_per_station_day=g.get("schedule.min_per_station_day", int, 20, lo=1, hi=1000),
            priority_weight=g.get("schedule.priority_weight", float, 1.0, lo=0.0, hi=100.0),
            priority_target_share=g.get("schedule.priority_target_share", float, 0.95, lo=0.0, hi=1.0),
            home_areas=g.table("schedule.home_areas"),
        ),
        source=source,
    )


class _Get:
    def __init__(self, raw: Mapping[str, Any], base: Path) -> None:
        self.raw, self.base = raw, base

    def _find(self, key: str) -> Any:
        node: Any = self.raw
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node

    def get(self, key: str, tp: type, default: Any, lo: float | None = None, hi: float | None = None) -> Any:
        v = self._find(key)
        if v is None:
            return default
        if tp is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if not isinstance(v, tp) or (tp is not bool and isinstance(v, bool)):
            raise ConfigError(f"{key} must be {_names[tp]}, got {v!r}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            bounds = f"{lo}..{hi}" if hi is not None else f">= {lo}"
            raise ConfigError(f"{key} must be {_names[tp]} {bounds}, got {v!r}")
        return v

    def date(self, key: str) -> str:
        v = self.get(key, str, "")
        if v:
            try:
                _dt.date.fromisoformat(v)
            except ValueError:
                raise ConfigError(f"{key} must be a date YYYY-MM-DD, got {v!r}") from None
        return v

    def strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        v = self._find(key)
        if v is None:
            return default
        if not isinstance(v, list) or not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in v):
            raise ConfigError(f"{key} must be a list of day names or numbers, got {v!r}")
        return tuple(str(x) for x in v)

    def table(self, key: str) -> tuple[tuple[str, str], ...]:
        v = self._find(key)
        if v is None:
            return ()
        if not isinstance(v, Mapping) or not all(isinstance(x, str) for x in v.values()):
            raise ConfigError(f"{key} must be a table of station id = \"area code\", got {v!r}")
        return tuple(sorted(v.items()))

    def path(self, key: str) -> Path | None:
        v = self._find(key)
        if v is None:
            return None
        if not isinstance(v, str) or not v:
            raise ConfigError(f"{key} must be a path string, got {v!r}")
        p = Path(v).expanduser()
        return p if p.is_absolute() else self.base / p


_names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


EXAMPLE = """\
# rekam controller configuration. Relative paths are relative to this file.

[controller]
# Several controllers may share one store and one broker; each needs its own id.
id = "controller-1"

[store]
path = "controller.db"

[keys]
# Written by `rekam controller init`. The private key never leaves this machine (mode 0600).
private_key = "keys/controller.key"
public_key = "keys/controller.pub"

[mqtt]
host = "127.0.0.1"
port = 1883
tls = false
# ca_file = "tls/ca.crt"
# cert_file = "tls/controller.crt"
# key_file = "tls/controller.key"
keepalive_s = 30
# Controllers in one group split the packets between them ($share/<group>/...).
share_group = "controllers"

[ingest]
max_packet_bytes = 8388608
# Packets stored per transaction, and how long to wait to fill a batch.
batch_size = 32
batch_wait_s = 0.05
# Threads verifying and decrypting in parallel (the disk writes are serialised).
workers = 2

[fleet]
# Alarm when a station with an assignment today has been offline this long.
offline_alarm_s = 900
# An "online" station that sends nothing for this long (3 telemetry periods) is treated as offline.
silent_after_s = 180
outbox_alarm_depth = 200
disk_low_mb = 500
check_interval_s = 30

[schedule]
city_code = "33.72"
# Hours residents can come: Solo's safari ran 15:00-21:00, after the working day.
start = "15:00"
end = "21:00"
# Residents one station records in a full day; 0 uses the turnout model fitted
# to Solo 2013 (15 an hour). `rekam controller schedule simulate` shows the fit.
station_capacity = 0
publish_days_ahead = 3
# The campaign: its first day and its deadline (YYYY-MM-DD; "" = from today, no deadline).
campaign_start = ""
deadline = ""
# Days off: national holidays (and cuti bersama) from lokal-id / holidays, and weekly days off.
holidays = true
cuti_bersama = true
weekly_days_off = ["sunday"]
# The stop rule: a station-day expected to record fewer residents is not planned;
# they go to kecamatan office service or home visits (listed by the simulate command).
min_per_station_day = 20
# First-time voters and the home-bound count 1 + priority_weight in the planner;
# the share of each to be recorded by the deadline is reported against this target.
priority_weight = 1.0
priority_target_share = 0.95

# Each station's home area (kabupaten/kota "33.72" or kecamatan "33.72.01"); a station
# leaves it only when it has nothing left, and its assignment then says why.
[schedule.home_areas]
# st-01 = "33.72.01"
"""
