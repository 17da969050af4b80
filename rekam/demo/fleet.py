"""The demo fleet: everything real except the hardware and the residents.

A Mosquitto broker on a free loopback port, the controller
service with its store, planner and fleet watch, and N station runtimes on
emulated devices, each with its own scene. Time runs on a :class:`SimClock`:
one schedule day (15:00-21:00) lasts ``day_seconds``. Each morning the crowd
at every kelurahan is drawn from the turnout model; each resident is enrolled
through the real workflow (quality gates, retries, exceptions), sealed,
stored in the station's outbox and delivered over MQTT. One station loses its
network for a while, keeps enrolling, and catches up when it is back; the
controller re-plans around it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from controller.scheduler.service import Planning
from controller.scheduler import MIN_PER_STATION_DAY, KelurahanTarget, TurnoutModel, solo_2013_targets
from controller.scheduler.state import Field
from controller.service import ControllerService
from controller.store import Store
from drivers.scene import Scene
from station.scripted import ScriptedOperator
from rekam.brokers import MosquittoBroker, find_mosquitto
from rekam.errors import DemoError
from rekam.sandbox import make_controller_dir, make_station_dir
from rekam.demo.population import Population, Resident
from station.runtime import StationRuntime

log = logging.getLogger(__name__)

MARKER = ".rekam-demo"


@dataclass
class DemoOptions:
    stations: int = 10
    days: int = 6
    day_seconds: float = 10.0
    #: One synthetic resident stands for this many of the real backlog (1 = all 32,122).
    scale: int = 100
    planner: str = "backlog"
    workdir: Path = Path("rekam-demo")
    start: dt.date = dt.date(2013, 10, 7)  # when Solo began
    offline_station: int = 3  # 1-based; 0 for none
    offline_day: int = 2  # first day (0-based) without network
    offline_days: int = 2
    seed: int = 2013


class SimClock:
    """Schedule days of ``day_seconds`` each, starting when :meth:`start` is called."""

    def __init__(self, first_day: dt.date, day_seconds: float) -> None:
        self.first_day = first_day
        self.day_seconds = day_seconds
        self._t0: float | None = None

    def start(self) -> None:
        self._t0 = time.monotonic()

    def elapsed_days(self) -> float:
        # A hair past the boundary counts as the new day, whatever the float rounding.
        return 0.0 if self._t0 is None else (time.monotonic() - self._t0) / self.day_seconds + 1e-9

    def day_index(self) -> int:
        return int(self.elapsed_days())

    def today(self) -> dt.date:
        return self.first_day + dt.timedelta(days=self.day_index())

    def wall_time_of_day(self, index: int) -> float:
        assert self._t0 is not None
        return self._t0 + index * self.day_seconds

    def hhmm(self) -> str:
        frac = self.elapsed_days() % 1.0
        minutes = 15 * 60 + int(frac * 6 * 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass
class StationStats:
    enrolled: int = 0
    enrolled_today: int = 0
    forced: int = 0
    exceptions: int = 0
    attempts: int = 0
    kelurahan: str = "-"
    busy: bool = False
    cancelled: int = 0
    errors: int = 0


@dataclass
class OfflineEpisode:
    station_id: str
    went_offline: dt.date | None = None
    came_back: dt.date | None = None
    held_at_return: int = 0
    drained_after_s: float | None = None


@dataclass
class DemoStation:
    station_id: str
    runtime: StationRuntime
    scene: Scene
    stats: StationStats = field(default_factory=StationStats)
    queue: list[Resident] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class DemoFleet:
    def __init__(self, options: DemoOptions, *, say: Callable[[str], None] = print) -> None:
        self.o = options
        self.say = say
        self.workdir = options.workdir.resolve()
        self.clock = SimClock(options.start, options.day_seconds)
        # The fitted model at the demo's scale, no noise: the plan at 1:100 is the real plan's.
        self.model = demo_model(options.scale)
        self.crowds: Crowds | None = None
        self.broker: MosquittoBroker | None = None
        self.broker_name = ""
        self.store: Store | None = None
        self.service: ControllerService | None = None
        self.planning: Planning | None = None
        self.stations: list[DemoStation] = []
        self.targets: tuple[KelurahanTarget, ...] = ()
        self.population: Population | None = None
        self.offline: OfflineEpisode | None = None
        self.duplicate_visit: str | None = None
        self.handoff = None  # rekam.demo.handoff.DemoHandOff: the emulated centre and the hand-off worker
        self._stop = threading.Event()
        self._day_started = threading.Condition()
        self._day = -1
        self._threads: list[threading.Thread] = []

    # -- set-up ----------------------------------------------------------------------
    def setup(self) -> None:
        self._fresh_workdir()
        self._start_broker()
        self._setup_controller()
        self._setup_stations()
        self.planning.make_plan(self.o.planner, [s.station_id for s in self.stations], self.o.start,
                                model=self.model, min_people=demo_min_people(self.o.scale))
        plan = self.planning.active()
        self.say(f"plan: {self.o.planner} planner, {len(plan.assignments)} station-days, "
                 f"expected to finish {plan.end} ({(plan.end - plan.start).days + 1} days)")

    def _fresh_workdir(self) -> None:
        if self.workdir.exists():
            if not (self.workdir / MARKER).exists():
                raise DemoError(f"{self.workdir} exists and is not a rekam demo directory; choose another --workdir")
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True)
        (self.workdir / MARKER).write_text("made by `rekam demo`; deleted at the start of the next demo run\n")

    def _start_broker(self) -> None:
        binary = find_mosquitto()
        if binary is None:
            raise DemoError("mosquitto is not installed: run `sudo apt-get install mosquitto` "
                            "(or `sudo ./run demo`, which installs it)")
        self.broker = MosquittoBroker(workdir=self.workdir / "broker").start()
        self.broker_name = f"Mosquitto ({binary})"
        self.say(f"broker: {self.broker_name} on {self.broker.host}:{self.broker.port}")

    def _setup_controller(self) -> None:
        ctl = make_controller_dir(self.workdir / "controller", self.broker.host, self.broker.port, settings={
            "mqtt": {"keepalive_s": 30},
            "ingest": {"batch_wait_s": 0.02},
            "fleet": {"offline_alarm_s": max(0.3, self.o.day_seconds * 0.1), "check_interval_s": 0.25,
                      "silent_after_s": max(5.0, self.o.day_seconds)},
            "schedule": {"publish_days_ahead": 3}})
        cfg, keys = ctl.config, ctl.keys
        self.store = Store(cfg.store_path).open()
        self.planning = Planning(self.store, cfg.schedule, today=self.clock.today,
                                 silent_after_s=cfg.fleet.silent_after_s)
        self.targets = scaled_targets(self.o.scale)
        self.crowds = Crowds(self.targets, self.model)
        self.planning.load_targets(self.targets)
        self.population = Population({t.code: t.remaining for t in self.targets}, today=self.o.start,
                                     seed=self.o.seed)
        planning = self.planning
        self.service = ControllerService(cfg, self.store, keys, assigned_today=planning.assigned_today,
                                         on_tick=lambda: planning.tick(self.service))
        self.service.start()
        if not self.service.wait_connected(10):
            raise DemoError(f"the controller could not connect to the broker at {self.broker.host}:{self.broker.port}")
        from rekam.demo.handoff import DemoHandOff

        self.handoff = DemoHandOff.start(
            self.workdir, cfg, self.store, keys, lambda t, p: self.service.link.publish(t, p, qos=1),
            day_seconds=self.o.day_seconds, blank_cards=max(1, self.population.total_left() // 3), say=self.say)
        self.say(f"controller: store {cfg.store_path.relative_to(self.workdir.parent)}, "
                 f"{len(self.targets)} kelurahan, {sum(t.remaining for t in self.targets):,} residents to record "
                 f"(1 synthetic resident = {self.o.scale} of Solo's {sum(t.remaining for t in solo_2013_targets()):,})")

    def _setup_stations(self) -> None:
        public = (self.workdir / "controller" / "keys" / "controller.pub").read_bytes()
        for i in range(1, self.o.stations + 1):
            sid = f"st-{i:02d}"
            d = make_station_dir(self.workdir / "stations" / sid, self.broker.host, self.broker.port, public,
                                 station_id=sid, settings=_STATION_SETTINGS)
            self.store.add_station(sid, d.signing_key.public.to_pem(), d.signing_key.public.kid)
            scene = Scene(time_scale=0.0)
            runtime = d.runtime(scene, today=self.clock.today)
            runtime.start()
            self.stations.append(DemoStation(sid, runtime, scene))
        self.say(f"stations: {len(self.stations)} emulated stations (camera, ZhianTec scanner and Topaz pad on "
                 f"pseudo-terminals, gpiozero mock LEDs) in {(self.workdir / 'stations').relative_to(self.workdir.parent)}")

    # -- running -----------------------------------------------------------------------
    def run(self, on_progress: Callable[["DemoFleet"], None] | None = None) -> None:
        for st in self.stations:
            t = threading.Thread(target=self._station_worker, args=(st,), name=f"demo-{st.station_id}", daemon=True)
            t.start()
            self._threads.append(t)
        self.clock.start()
        try:
            for day in range(self.o.days):
                self._wait_until(self.clock.wall_time_of_day(day))
                self._begin_day(day)
                end = self.clock.wall_time_of_day(day + 1)
                while time.monotonic() < end and not self._stop.is_set():
                    if on_progress:
                        on_progress(self)
                    self._wait_until(min(end, time.monotonic() + 1.0))
                self._end_day(day)
        finally:
            self._stop.set()
            with self._day_started:
                self._day_started.notify_all()
            for t in self._threads:
                t.join(timeout=30)

    def _wait_until(self, wall: float) -> None:
        while not self._stop.is_set():
            remaining = wall - time.monotonic()
            if remaining <= 0:
                return
            self._stop.wait(min(remaining, 0.5))

    def _begin_day(self, day: int) -> None:
        today = self.clock.today()
        self._network_events(day, today)
        self._wait_for_assignments(today)
        at: dict[str, list[DemoStation]] = {}
        for st in self.stations:
            a = st.runtime.current_assignment()
            st.stats.kelurahan = a.kelurahan_code if a else "-"
            st.stats.enrolled_today = 0
            if a is not None:
                at.setdefault(a.kelurahan_code, []).append(st)
        for code, group in at.items():
            # The station without network serves first, so its catching up has something to show.
            group.sort(key=lambda st: not (self.offline and st.station_id == self.offline.station_id
                                           and self.offline.came_back is None))
            crowd = self.population.take(code, self.crowds.come(code, len(group), today))
            for i, resident in enumerate(crowd):
                st = group[i % len(group)]
                with st.lock:
                    st.queue.append(resident)
        if day == 2 and self.population.enrolled and self.duplicate_visit is None:
            # A resident who was recorded comes again elsewhere: the controller must flag, not merge.
            again = sorted(self.population.enrolled.values(), key=lambda r: r.nik)[0]
            st = self.stations[-1]
            with st.lock:
                st.queue.insert(0, again)
            self.duplicate_visit = again.nik
        with self._day_started:
            self._day = day
            self._day_started.notify_all()

    def _end_day(self, day: int) -> None:
        for st in self.stations:
            with st.lock:
                left, st.queue = st.queue, []
            self.population.give_back([r for r in left if r.nik not in self.population.enrolled])

    def _wait_for_assignments(self, today: dt.date, timeout: float = 2.0) -> None:
        """Stations learn their day's place over MQTT; give the retained updates a moment to land."""
        deadline = time.monotonic() + min(timeout, self.o.day_seconds * 0.2)
        iso = today.isoformat()
        while time.monotonic() < deadline:
            expected = {a.station_id for a in self.planning.active().on(today)}
            have = {st.station_id for st in self.stations if (a := st.runtime.current_assignment()) and a.date == iso}
            if expected <= have or self._stop.is_set():
                return
            time.sleep(0.05)

    def _network_events(self, day: int, today: dt.date) -> None:
        if not self.o.offline_station or self.o.offline_station > len(self.stations):
            return
        st = self.stations[self.o.offline_station - 1]
        if day == self.o.offline_day:
            st.runtime.set_online(False, abrupt=True)
            self.offline = OfflineEpisode(st.station_id, went_offline=today)
            self.say(f"[{today}] {st.station_id} loses its network; it keeps recording into its outbox")
        elif day == self.o.offline_day + self.o.offline_days and self.offline is not None:
            self.offline.came_back = today
            self.offline.held_at_return = st.runtime.outbox.stats().depth
            st.runtime.set_online(True)
            self.say(f"[{today}] {st.station_id} is back online with {self.offline.held_at_return} sealed "
                     f"packet(s) waiting; catching up")
            threading.Thread(target=self._time_drain, args=(st, time.monotonic()), daemon=True).start()

    def _time_drain(self, st: DemoStation, t0: float) -> None:
        while not self._stop.is_set() and time.monotonic() - t0 < 120:
            if st.runtime.outbox.stats().depth == 0:
                self.offline.drained_after_s = time.monotonic() - t0
                return
            time.sleep(0.1)

    def _station_worker(self, st: DemoStation) -> None:
        seen_day = -1
        while not self._stop.is_set():
            with self._day_started:
                self._day_started.wait_for(lambda: self._day != seen_day or self._stop.is_set())
                seen_day = self._day
            end = self.clock.wall_time_of_day(seen_day + 1) - 0.05
            while time.monotonic() < end and not self._stop.is_set():
                with st.lock:
                    resident = st.queue.pop(0) if st.queue else None
                if resident is None:
                    break
                self._enroll(st, resident)

    def _enroll(self, st: DemoStation, resident: Resident) -> None:
        op = ScriptedOperator(st.scene, resident.script)
        st.stats.busy = True
        try:
            enrollment = st.runtime.enrollment(op, f"op-{st.station_id}", kelurahan_code=resident.kelurahan_code,
                                               signature_idle_s=0.25, finger_timeout_s=5.0)
            outcome = enrollment.run()
        except Exception as exc:  # a demo resident must never take the station down
            st.stats.errors += 1
            log.warning("%s: enrollment failed: %s", st.station_id, exc)
            return
        finally:
            st.stats.busy = False
            st.scene.clear()
        if outcome is None:
            st.stats.cancelled += 1
            return
        self.population.mark_enrolled(resident)
        st.stats.enrolled += 1
        st.stats.enrolled_today += 1
        st.stats.forced += len(outcome.forced)
        st.stats.exceptions += len(outcome.exceptions)
        st.stats.attempts += outcome.attempts

    # -- the end -------------------------------------------------------------------------
    def drain(self, timeout: float = 60.0) -> bool:
        """Bring every station online and wait until every outbox is empty."""
        for st in self.stations:
            st.runtime.set_online(True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(st.runtime.outbox.stats().depth == 0 for st in self.stations):
                return self.service.wait_idle(10)
            time.sleep(0.1)
        return False

    def close(self) -> None:
        self._stop.set()
        for st in self.stations:
            try:
                st.runtime.stop()
            except Exception as exc:  # closing must go on for the others
                log.warning("stopping %s: %s", st.station_id, exc)
        if self.handoff is not None:
            self.handoff.stop()
        if self.service is not None:
            self.service.stop()
        if self.store is not None:
            self.store.close()
        if self.broker is not None:
            self.broker.stop()


def demo_model(scale: int) -> TurnoutModel:
    """The fitted turnout model with one synthetic resident standing for ``scale`` real ones."""
    return TurnoutModel.with_capacity(TurnoutModel().capacity() / scale)


def demo_min_people(scale: int) -> float:
    """The stop rule's 20 a station-day, at the demo's scale."""
    return MIN_PER_STATION_DAY / scale


class Crowds:
    """How many synthetic residents come to a kelurahan's stations today: the model's expectation,
    carried over in whole residents (0.4 today and 0.7 tomorrow make 0 then 1)."""

    def __init__(self, targets, model: TurnoutModel) -> None:
        self.model = model
        self.field = Field(Field.fresh(targets, model.params))
        self.carry: dict[str, float] = {}

    def come(self, code: str, stations: int, today: dt.date) -> int:
        i = self.field.index[code]
        want = float(self.model.expected(self.field.reachable[i], stations, float(self.field.gap(today, i))))
        self.field.record_visit(i, want, today)
        total = self.carry.get(code, 0.0) + want
        whole = int(total + 1e-9)
        self.carry[code] = total - whole
        return whole


def scaled_targets(scale: int) -> tuple[KelurahanTarget, ...]:
    """Solo 2013's targets with every count divided by ``scale`` (each kelurahan keeps at least one left)."""
    out = []
    for t in solo_2013_targets():
        wajib = max(1, round(t.wajib_ktp / scale))
        left = max(1, min(wajib, round(t.remaining / scale)))
        out.append(dataclasses.replace(t, wajib_ktp=wajib, recorded=wajib - left))
    return tuple(out)


_STATION_SETTINGS = {
    "station": {"language": "id"},
    "mqtt": {"keepalive_s": 10, "ack_timeout_s": 10, "reconnect_min_s": 0.2, "reconnect_max_s": 2,
             "telemetry_interval_s": 1},
    "outbox": {"min_free_mb": 50},
    # Ten emulated stations share two cores: give the simulated module time to answer.
    "devices": {"fingerprint": {"driver": "zhiantec-emulated", "options": {"timeout": 10.0}}},
}
