"""A controller with its dashboard on a real Mosquitto, and light stations (a real outbox and uplink each).

The controller runs in this process (ControllerService + DashboardRuntime on
a free port) so a test can read its store; stations are
:class:`station.uplink.Uplink` over :class:`station.outbox.Outbox`, sealing
synthetic records, sending telemetry, and answering commands.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

from controller import accounts
from controller.scheduler import KelurahanTarget, solo_2013_targets
from controller.scheduler.service import Planning
from controller.service import ControllerService
from controller.web.wiring import DashboardRuntime
from protocol import packet, wib
from protocol.keys import SigningKey
from protocol.messages import AssignmentUpdate, Command, CommandReply, DriverHealth, Telemetry
from rekam.brokers import MosquittoBroker
from station.config import MqttSettings
from station.outbox import Outbox
from station.uplink import Uplink
from tests.fixtures.controller import make_controller_dir
from tests.fixtures.records import make_record, sample_niks

PASSWORD = "a long test password"
USERS = {"ana": "admin", "opa": "operator", "vic": "viewer"}
NIKS = sample_niks(200)


class LightStation:
    def __init__(self, sid: str, path: Path, broker, ctl, *, register: bool = True) -> None:
        self.sid = sid
        self.key = SigningKey.generate()
        self.ctl = ctl
        if register:
            ctl.register(sid, self.key)
        self.outbox = Outbox(path / f"{sid}.db").open()
        self.settings = MqttSettings(host=broker.host, port=broker.port, keepalive_s=5, window=8, ack_timeout_s=2,
                                     telemetry_interval_s=0.5, reconnect_min_s=0.1, reconnect_max_s=1)
        self.uplink: Uplink | None = None
        self.commands: list[Command] = []
        self.sealed: list[str] = []
        self.temperature = 41.5
        self.disk_free = 20 * 2**30
        self.assignment_id: str | None = None

    def telemetry(self, connection: int) -> Telemetry:
        s = self.outbox.stats()
        return Telemetry(station_id=self.sid, at=time.time(), connection=connection, outbox_depth=s.depth,
                         outbox_bytes=s.bytes, quarantined=s.quarantined, disk_free_bytes=self.disk_free,
                         enrollments_today=len(self.sealed),
                         temperature_c=self.temperature,
                         drivers={"camera": DriverHealth("emulated", True), "fingerprint": DriverHealth("zhiantec", True)},
                         assignment_id=self.assignment_id)

    def assigned(self, update: AssignmentUpdate) -> None:
        self.assignment_id = update.current.assignment_id if update.current else None

    def answer(self, cmd: Command) -> CommandReply:
        self.commands.append(cmd)
        return CommandReply(cmd.command_id, self.sid, True, {"camera": {"ok": True, "detail": "emulated camera ready"},
                                                            "fingerprint": {"ok": True, "detail": "ZhianTec 0x1234"}})

    def seal(self, niks: list[str]) -> list[str]:
        ids = []
        for nik in niks:
            env = packet.seal(make_record(nik, station_id=self.sid).to_cbor(), station_id=self.sid,
                              seq=self.outbox.next_seq(), controller_key=self.ctl.keys.public.keys[0],
                              station_key=self.key)
            self.outbox.add(env)
            ids.append(env.packet_id)
        self.sealed += ids
        if self.uplink:
            self.uplink.wake()
        return ids

    def start(self) -> "LightStation":
        self.uplink = Uplink(self.sid, self.settings, self.outbox, version="0.1.0-test",
                             drivers=lambda: {"camera": "emulated", "fingerprint": "zhiantec"},
                             telemetry=self.telemetry, on_command=self.answer,
                             on_assignment=self.assigned).start()
        return self

    def go_offline(self) -> None:
        """The network dies: the broker publishes the station's will."""
        if self.uplink:
            self.uplink.stop(abrupt=True)
            self.uplink = None

    def stop(self) -> None:
        if self.uplink:
            self.uplink.stop()
            self.uplink = None
        self.outbox.close()

    def drained(self) -> bool:
        return self.outbox.stats().depth == 0


def scaled_targets(scale: int = 200) -> list[KelurahanTarget]:
    out = []
    for t in solo_2013_targets():
        wajib = max(1, round(t.wajib_ktp / scale))
        left = max(1, min(wajib, round(t.remaining / scale)))
        out.append(KelurahanTarget(t.code, t.name, t.kecamatan_code, t.kecamatan, wajib, wajib - left))
    return out


class LiveController:
    """Broker, controller, dashboard and stations for one test module."""

    def __init__(self, path: Path, *, stations: int = 3, offline_alarm_s: float = 0.5, webhook: str = "") -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.broker = MosquittoBroker(workdir=path / "broker").start()
        self.ctl = make_controller_dir(path / "controller", self.broker, settings={
            "fleet": {"check_interval_s": 0.2, "offline_alarm_s": offline_alarm_s, "silent_after_s": 5},
            "web": {"enabled": True, "port": 0, "command_timeout_s": 5},
            "notify": {"webhook_url": webhook, "backoff_s": 0.2, "timeout_s": 2},
            # Today is planned whatever day the tests run on, however few residents the scaled targets leave.
            "schedule": {"weekly_days_off": [], "holidays": False, "cuti_bersama": False, "min_per_station_day": 1},
        })
        cfg = self.ctl.config
        self.store = self.ctl.store().open()
        for name, role in USERS.items():
            accounts.add_user(self.store, name, role, PASSWORD)
        self.stations = [LightStation(f"st-{i:02d}", path, self.broker, self.ctl) for i in range(1, stations + 1)]
        self.planning = Planning(self.store, cfg.schedule, silent_after_s=cfg.fleet.silent_after_s)
        self.planning.load_targets(scaled_targets())
        self.planning.make_plan("backlog", [s.sid for s in self.stations], wib.today())
        planning = self.planning
        self.service = ControllerService(cfg, self.store, self.ctl.keys, assigned_today=planning.assigned_today,
                                         on_tick=lambda: planning.tick(self.service))
        self.dashboard = DashboardRuntime(self.service, planning=planning)
        self.service.start()
        assert self.service.wait_connected(10)
        self.dashboard.start()
        for s in self.stations:
            s.start()
        self.url = self.dashboard.url

    def close(self) -> None:
        for s in self.stations:
            s.stop()
        self.dashboard.stop()
        self.service.stop()
        self.store.close()
        self.broker.close()
        shutil.rmtree(self.path / "broker", ignore_errors=True)

    def today(self) -> dt.date:
        return wib.today()
