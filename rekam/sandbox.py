"""Throwaway installations on one machine: a controller and stations wired to a loopback broker.

The demo runs on these, and so do the benchmarks and the tests: the same
config files, keys and store that ``rekam controller init`` and ``rekam
station init`` plus provisioning would make, with settings for a broker on
loopback and emulated devices. Config files are written from plain tables
(``tomli_w``), and every section can be overridden.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from adapters.files import write_atomic
from controller import config as controller_config
from controller import keyfiles as controller_keys
from controller.store import Store
from drivers.registry import DriverContext
from drivers.scene import Scene
from protocol import nik as nik_mod
from protocol import packet
from protocol.keys import ControllerKeys, SigningKey
from protocol.record import (
    ChainBuilder,
    DeviceInfo,
    EnrollmentRecord,
    FaceEntry,
    FingerEntry,
    FingerException,
    Quality,
    SignatureEntry,
    pack_samples,
)
from station import config as station_config
from station.outbox import Outbox
from station.runtime import StationRuntime

Tables = dict[str, dict[str, Any]]


def _merge(base: Tables, overrides: Tables | None) -> Tables:
    out = {k: dict(v) for k, v in base.items()}
    for section, values in (overrides or {}).items():
        out.setdefault(section, {}).update(values)
    return out


# -- the controller --------------------------------------------------------------------
@dataclass
class ControllerDir:
    path: Path
    config_path: Path
    keys: ControllerKeys

    @property
    def config(self) -> controller_config.ControllerConfig:
        return controller_config.load(self.config_path)

    def store(self) -> Store:
        return Store(self.config.store_path)

    def register(self, station_id: str, key: SigningKey) -> None:
        with self.store() as s:
            s.add_station(station_id, key.public.to_pem(), key.public.kid)

    def spawn(self, controller_id: str | None = None, log: Path | None = None) -> subprocess.Popen:
        """``rekam controller run`` in its own process (optionally as another replica id)."""
        conf = self.config_path
        if controller_id is not None:
            conf = self.path / f"{controller_id}.toml"
            text = self.config_path.read_text().replace('id = "controller-1"', f'id = "{controller_id}"')
            conf.write_text(text)
        out = open(log or self.path / f"{controller_id or 'controller'}.log", "ab")
        return subprocess.Popen([sys.executable, "-m", "rekam.cli", "controller", "run", "--config", str(conf)],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def make_controller_dir(path: Path, host: str, port: int, *, settings: Tables | None = None,
                        keys: ControllerKeys | None = None) -> ControllerDir:
    path.mkdir(parents=True, exist_ok=True)
    conf = path / "controller.toml"
    tables = _merge({"controller": {"id": "controller-1"}, "mqtt": {"host": host, "port": port, "keepalive_s": 5},
                     "ingest": {"batch_wait_s": 0.01}, "fleet": {"check_interval_s": 0.2}}, settings)
    conf.write_text("# made by rekam.sandbox\n" + tomli_w.dumps(tables))
    cfg = controller_config.load(conf)
    if keys is None:
        keys = controller_keys.create_keys(cfg.private_key, cfg.public_key)
    else:
        write_atomic(cfg.private_key, keys.to_pem(), 0o600)
        write_atomic(cfg.public_key, keys.public.to_pem(), 0o644)
    Store(cfg.store_path).open().close()
    return ControllerDir(path, conf, keys)


# -- a station -----------------------------------------------------------------------------
@dataclass
class StationDir:
    path: Path
    config_path: Path
    signing_key: SigningKey

    @property
    def config(self) -> station_config.StationConfig:
        return station_config.load(self.config_path)

    def runtime(self, scene: Scene | None = None, **kw: Any) -> StationRuntime:
        return StationRuntime(self.config, context=DriverContext(scene=scene or Scene(time_scale=0.0)), **kw)


def make_station_dir(path: Path, host: str, port: int, controller_public_pem: bytes, *,
                     station_id: str = "st-01", settings: Tables | None = None,
                     fingerprint: str = "zhiantec-emulated") -> StationDir:
    path.mkdir(parents=True, exist_ok=True)
    key = SigningKey.generate()
    write_atomic(path / "keys" / "station-signing.key", key.to_pem(), 0o600)
    write_atomic(path / "keys" / "controller.pub", controller_public_pem, 0o644)
    tables = _merge({
        "station": {"id": station_id, "data_dir": "data", "language": "en"},
        "keys": {"signing_key": "keys/station-signing.key", "controller_public_key": "keys/controller.pub"},
        "mqtt": {"host": host, "port": port, "keepalive_s": 5, "ack_timeout_s": 5, "reconnect_min_s": 0.1,
                 "reconnect_max_s": 1, "telemetry_interval_s": 0.5},
        "outbox": {"path": "data/outbox.db", "min_free_mb": 1},
    }, settings)
    devices = {"camera": {"driver": "emulated"}, "fingerprint": {"driver": fingerprint},
               "signature": {"driver": "topaz-emulated"}, "indicators": {"driver": "emulated"}}
    for kind, table in (settings or {}).get("devices", {}).items():
        devices[kind] = table
    tables["devices"] = devices
    conf = path / "station.toml"
    conf.write_text("# made by rekam.sandbox\n" + tomli_w.dumps(tables))
    return StationDir(path, conf, key)


# -- synthetic records (no devices) -------------------------------------------------------------
GOOD = Quality(passed=True, forced=False, attempts=1, measures={"score": 1.0})


def synthetic_niks(count: int, kecamatan: str = "33.72.05") -> list[str]:
    """Valid, distinct NIKs of one kecamatan (Banjarsari, Kota Surakarta, by default)."""
    import datetime

    return [nik_mod.make(kecamatan, "F" if i % 2 else "M", datetime.date(1980 + i % 30, 1 + i % 12, 1 + i % 28),
                         1 + i % 9999) for i in range(count)]


def synthetic_record(nik: str, *, station_id: str = "st-01", kelurahan_code: str = "33.72.05.1001",
                     excepted: dict[int, FingerException] | None = None, face_bytes: int = 64,
                     finger_bytes: int = 64, signature_bytes: int = 8, samples: int = 2,
                     started_at: float | None = None, filler: bytes = b"f") -> EnrollmentRecord:
    """A valid record whose captures are filler bytes of the given sizes (a real one: 55 KB, 23 KB, 8 KB, 400)."""
    started = time.time() if started_at is None else started_at

    def fill(n: int) -> bytes:
        return (filler * (n // len(filler) + 1))[:n]

    chain = ChainBuilder(nik, station_id, started)
    face = chain.add(FaceEntry(b"\xff\xd8" + fill(face_bytes), 480, 640, started + 1, GOOD))
    fingers = []
    for pos in range(1, 11):
        if excepted and pos in excepted:
            entry = FingerEntry(pos, started + 2, exception=excepted[pos], exception_note="")
        else:
            entry = FingerEntry(pos, started + 2, image=b"\x89PNG" + bytes([pos]) + fill(finger_bytes),
                                width=256, height=288, dpi=500, template=bytes([pos]) * 32, template_format="test",
                                quality=GOOD)
        fingers.append(chain.add(entry))
    pen = pack_samples((i * 8, float(i % 2000), float(i % 700), 1.0, True) for i in range(samples))
    sig = chain.add(SignatureEntry(b"\x89PNG" + fill(signature_bytes), pen, (2000, 600), started + 3, GOOD))
    return EnrollmentRecord(nik=nik, kelurahan_code=kelurahan_code, station_id=station_id, operator_id="op-7",
                            assignment_id="a-1", started_at=started, finished_at=started + 4, face=face,
                            fingers=tuple(fingers), signature=sig,
                            devices=(DeviceInfo("camera", "emulated", "rekam", "emulated camera", "cam-1", "1.0"),))


def seal_backlog(outbox_path: Path, station_id: str, station_key: SigningKey, controller: ControllerKeys,
                 niks: list[str]) -> list[str]:
    """Seal one small valid record per NIK into a station outbox (durably, before this returns): packet ids."""
    ids = []
    with Outbox(outbox_path, recover_in_flight=False) as ob:
        for nik in niks:
            record = synthetic_record(nik, station_id=station_id, face_bytes=2_000, finger_bytes=1_000)
            env = packet.seal(record.to_cbor(), station_id=station_id, seq=ob.next_seq(),
                              controller_key=controller.public.keys[0], station_key=station_key)
            ob.add(env)
            ids.append(env.packet_id)
    return ids
