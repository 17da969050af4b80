"""The fleet dashboard under a fleet of 1,000 stations: live latency, page load, controller cost, ingest with it open.

Set-up: a real Mosquitto; ``rekam controller run`` in its own process;
1,000 light stations (one MQTT connection each, with a retained state and a
last will, driven from one selector thread) sending telemetry every 10 s.

Measured:

* live-update latency: a station's telemetry changes (or its network dies,
  so the broker publishes its will) -> the row changes in a real headless
  Chromium showing the fleet page (MutationObserver time minus publish time);
* fleet page load: navigation to the load event, 1,000 rows, in Chromium;
* the controller's CPU and peak RSS, with and without the dashboard;
* ingest rate with the dashboard open vs without: the same number of sealed
  ~300 KB packets published at once by the same publishers while the
  telemetry flows, timed from the first publish to the last ack, in
  alternating rounds. An operator's browser runs on the operator's PC, not
  on the controller; here it shares two cores with the controller, so it
  runs at ``nice 19`` (``--browser-nice``) and takes only what the rest
  leaves (the latency and page-load figures above are measured before the
  ingest, with the same niceness).

Targets: update < 2 s, page < 1 s, ingest with the dashboard >= 0.9 x without.

    .venv/bin/python bench/dashboard.py [--stations 1000] [--packets 200] [--samples 20]
"""

from __future__ import annotations

import argparse
import os
import random
import selectors
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from controller import accounts
from controller.store import Store
from protocol import messages, packet, topics
from protocol.keys import SigningKey
from protocol.messages import DriverHealth, State, Telemetry
from rekam.brokers import MosquittoBroker, free_port, wait_for_port
from rekam.sandbox import make_controller_dir, synthetic_niks, synthetic_record

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench password 1"


class LightFleet:
    """Many station connections in one thread: state (retained, with a will) and periodic telemetry."""

    def __init__(self, broker, station_ids: list[str], interval: float) -> None:
        self.broker, self.interval = broker, interval
        self.sel = selectors.DefaultSelector()
        self.clients: dict[str, mqtt.Client] = {}
        self.temperature = {sid: 40.0 for sid in station_ids}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sent = 0
        for sid in station_ids:
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=sid, clean_session=True)
            c.will_set(topics.station(sid, topics.Leaf.STATE), messages.encode(State(sid, False, 1)), qos=1,
                       retain=True)
            c.on_connect = self._connected(sid)
            c.connect(broker.host, broker.port, keepalive=120)
            self.clients[sid] = c
            self.sel.register(c.socket(), selectors.EVENT_READ, c)
        self.thread = threading.Thread(target=self._run, name="light-fleet", daemon=True)

    @staticmethod
    def _connected(sid: str):
        def on_connect(client, userdata, flags, rc, props) -> None:
            client.publish(topics.station(sid, topics.Leaf.STATE),
                           messages.encode(State(sid, True, 1, "0.1.0", {"camera": "emulated"})), qos=1, retain=True)
        return on_connect

    def telemetry(self, sid: str) -> None:
        c = self.clients.get(sid)
        if c is None:
            return
        t = Telemetry(station_id=sid, at=time.time(), connection=1, outbox_depth=random.randint(0, 5),
                      outbox_bytes=0, quarantined=0, disk_free_bytes=30 * 2**30, enrollments_today=random.randint(0, 80),
                      temperature_c=self.temperature[sid],
                      drivers={"camera": DriverHealth("emulated", True), "fingerprint": DriverHealth("zhiantec", True)})
        with self.lock:
            c.publish(topics.station(sid, topics.Leaf.TELEMETRY), messages.encode(t), qos=0)
            c.loop_write()
            self.sent += 1

    def drop(self, sid: str) -> None:
        """The station's network dies: no DISCONNECT, so the broker publishes its will."""
        with self.lock:
            c = self.clients.pop(sid)
            sock = c.socket()
            self.sel.unregister(sock)
            sock.close()

    def _run(self) -> None:
        ids = list(self.clients)
        start = time.monotonic()
        due = {sid: start + random.uniform(0, self.interval) for sid in ids}
        next_misc = start + 1
        while not self.stop.is_set():
            with self.lock:
                events = self.sel.select(0.02)
                for key, _ in events:
                    key.data.loop_read()
                for c in self.clients.values():
                    if c.want_write():
                        c.loop_write()
            now = time.monotonic()
            for sid in ids:
                if due[sid] <= now:
                    due[sid] = now + self.interval
                    self.telemetry(sid)
            if now >= next_misc:
                next_misc = now + 1
                with self.lock:
                    for c in self.clients.values():
                        c.loop_misc()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for c in self.clients.values():
            try:
                c.disconnect()
            except Exception:
                pass


def fixed_port() -> int:
    """A free port below the ephemeral range: the 1,000 station connections take ephemeral ports, and one of
    them must not take the dashboard's between two controller runs."""
    import socket

    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return free_port()
    for port in range(low - 1, max(1024, low - 2000), -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    return free_port()


def proc_stat(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak RSS MB) of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    hwm = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmHWM:"))
    return cpu, hwm / 1024


def sealed(ctl, keys: dict[str, SigningKey], count: int, offset: int) -> list[tuple[str, bytes]]:
    sids = list(keys)
    out = []
    for i, nik in enumerate(synthetic_niks(offset + count)[offset:]):
        sid = sids[i % len(sids)]
        rec = synthetic_record(nik, station_id=sid, face_bytes=55_000, finger_bytes=23_000, signature_bytes=8_000,
                               samples=400, filler=os.urandom(64))
        env = packet.seal(rec.to_cbor(), station_id=sid, seq=offset + i + 1, controller_key=ctl.keys.public.keys[0],
                          station_key=keys[sid])
        out.append((sid, env.to_bytes()))
    return out


def ingest_run(broker, backlog: list[tuple[str, bytes]]) -> float:
    """Publish the backlog from 4 publishers at once; seconds from the first publish to the last ack."""
    acked = threading.Event()
    count = [0]
    lock = threading.Lock()

    def on_ack(client, userdata, msg) -> None:
        with lock:
            count[0] += 1
            if count[0] >= len(backlog):
                acked.set()

    ready = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"acks-{random.random()}")
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe(topics.all_stations(topics.Leaf.ACKS), qos=1)
    sub.on_subscribe = lambda *a: ready.set()
    sub.on_message = on_ack
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    ready.wait(10)
    chunks = [backlog[i::4] for i in range(4)]
    t0 = time.perf_counter()

    def publish(items) -> None:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{random.random()}")
        c.max_inflight_messages_set(50)
        c.connect(broker.host, broker.port)
        c.loop_start()
        for info in [c.publish(topics.station(sid, topics.Leaf.PACKETS), data, qos=1) for sid, data in items]:
            info.wait_for_publish(300)
        c.loop_stop()
        c.disconnect()

    threads = [threading.Thread(target=publish, args=(ch,)) for ch in chunks]
    for t in threads:
        t.start()
    ok = acked.wait(900)
    seconds = time.perf_counter() - t0
    for t in threads:
        t.join()
    sub.loop_stop()
    sub.disconnect()
    if not ok:
        raise SystemExit(f"only {count[0]} of {len(backlog)} packets were acked")
    return seconds


def spawn(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rekam.cli", "controller", "run", "--config", str(config)],
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_online(store_path: Path, n: int, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    with Store(store_path) as store:
        while time.monotonic() < deadline:
            if sum(1 for s in store.stations() if s.online) >= n:
                return True
            time.sleep(0.5)
    return False


class Browser:
    """Headless Chromium logged in to the dashboard; kept open on the fleet page between measurements."""

    #: Installs an observer that notes when the row first shows the text (does not wait for it).
    WATCH = """([id, needle]) => {
        window.__seen = window.__seen || {};
        delete window.__seen[id];
        const check = () => { const r = document.getElementById(id); return r && r.textContent.includes(needle); };
        const obs = new MutationObserver(() => { if (check()) { window.__seen[id] = Date.now(); obs.disconnect(); } });
        obs.observe(document.getElementById('fleet-body'), {childList: true, subtree: true, characterData: true});
    }"""

    def __init__(self, url: str, nice: int = 0) -> None:
        from playwright.sync_api import sync_playwright

        self.url = url
        self.pw = sync_playwright().start()
        executable = CHROMIUM
        if nice:
            wrapper = Path(tempfile.mkdtemp(prefix="rekam-chromium-")) / "chromium"
            wrapper.write_text(f'#!/bin/sh\nexec nice -n {nice} {CHROMIUM} "$@"\n')
            wrapper.chmod(0o755)
            executable = str(wrapper)
        self.browser = self.pw.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        self.page = self.browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        self.page.goto(url + "/login")
        self.page.fill("#username", "bench")
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(lambda u: "/login" not in u)

    def page_loads(self, rows: int, times: int = 5) -> list[float]:
        out = []
        for _ in range(times):
            t0 = time.perf_counter()
            self.page.goto(self.url + "/fleet", wait_until="load")
            out.append(time.perf_counter() - t0)
            assert self.page.locator("#fleet-body tr").count() >= rows
        self.page.locator("body[data-live='open']").wait_for(timeout=15_000)
        return out

    def latency(self, sid: str, needle: str, act) -> float:
        """Seconds from ``act()`` (which returns when it published) to the row showing ``needle``."""
        self.page.evaluate(self.WATCH, [f"row-{sid}", needle])
        sent = time.time()
        act()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the observer noted the time; this only collects it
            seen = self.page.evaluate("(id) => window.__seen[id]", f"row-{sid}")
            if seen:
                return seen / 1000 - sent
            time.sleep(0.02)
        raise SystemExit(f"row-{sid} never showed {needle!r} within 30 s")

    def close(self) -> None:
        self.browser.close()
        self.pw.stop()


def measure_live(browser: Browser, fleet: LightFleet, sids: list[str], samples: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"load": browser.page_loads(len(sids) - 10), "telemetry": [], "offline": []}
    for i in range(samples):
        sid, value = sids[i], 50.0 + i + 0.5

        def change() -> None:
            fleet.temperature[sid] = value
            fleet.telemetry(sid)

        out["telemetry"].append(browser.latency(sid, f"{value:.1f} °C", change))
        time.sleep(random.uniform(0.1, 0.5))
    for sid in sids[samples:samples + 5]:
        out["offline"].append(browser.latency(sid, "luring", lambda: fleet.drop(sid)))
    browser.page.goto(browser.url + "/fleet")  # it stays open on the fleet page while the packets come in
    browser.page.locator("body[data-live='open']").wait_for(timeout=15_000)
    return out


def summary(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[max(0, round(0.95 * len(xs)) - 1)]
    return f"median {statistics.median(xs) * 1000:6.0f} ms   p95 {p95 * 1000:6.0f} ms   max {xs[-1] * 1000:6.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=1000)
    ap.add_argument("--packets", type=int, default=300, help="packets per ingest run")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each kind, alternating (medians are shown)")
    ap.add_argument("--samples", type=int, default=20, help="live-update samples")
    ap.add_argument("--interval", type=float, default=10.0, help="telemetry period of each station")
    ap.add_argument("--browser-nice", type=int, default=19, help="niceness of the browser (0: none)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rekam-dashboard-bench-"))
    broker = MosquittoBroker(workdir=tmp / "broker", persistence=False).start()
    ctl = make_controller_dir(tmp / "controller", broker.host, broker.port, settings={
        "mqtt": {"keepalive_s": 30}, "fleet": {"check_interval_s": 5, "silent_after_s": 60}})
    sids = [f"st-{i:04d}" for i in range(1, args.stations + 1)]
    keys = {sid: SigningKey.generate() for sid in sids}
    with Store(ctl.config.store_path) as store:
        with store.transaction():
            for sid, k in keys.items():
                store.add_station(sid, k.public.to_pem(), k.public.kid)
        accounts.add_user(store, "bench", "viewer", PASSWORD)
    packers = {sid: keys[sid] for sid in sids[-8:]}
    runs = 2 * args.rounds
    print(f"{args.stations} stations, telemetry every {args.interval:g} s; sealing {runs * args.packets} packets ...",
          flush=True)
    backlogs = [sealed(ctl, packers, args.packets, i * args.packets) for i in range(runs)]
    size = sum(len(d) for _, d in backlogs[0]) / len(backlogs[0])
    web_port = fixed_port()
    web_conf = tmp / "controller" / "controller-web.toml"
    web_conf.write_text(ctl.config_path.read_text() + f"\n[web]\nenabled = true\nport = {web_port}\n")

    fleet = LightFleet(broker, sids, args.interval)
    fleet.thread.start()
    results: dict = {"without dashboard": [], "dashboard open": []}
    plan = [("without dashboard", ctl.config_path), ("dashboard open", web_conf)] * args.rounds
    try:
        for (run, conf), backlog in zip(plan, backlogs):
            proc = spawn(conf, tmp / f"controller-{run.split()[0]}.log")
            try:
                if not wait_online(ctl.config.store_path, args.stations - 10):
                    raise SystemExit(f"{run}: the stations never showed as online; see {tmp}")
                browser = None
                if conf == web_conf and "browser" not in results:
                    if not wait_for_port("127.0.0.1", web_port, 60):
                        raise SystemExit(f"the dashboard never listened on {web_port}; see {tmp}")
                    browser = Browser(f"http://127.0.0.1:{web_port}", args.browser_nice)
                    results["browser"] = measure_live(browser, fleet, sids, args.samples)
                elif conf == web_conf:  # later rounds: the dashboard open on the fleet page all the same
                    wait_for_port("127.0.0.1", web_port, 60)
                    browser = Browser(f"http://127.0.0.1:{web_port}", args.browser_nice)
                    browser.page_loads(len(sids) - 10, 1)
                time.sleep(2)
                cpu0, _ = proc_stat(proc.pid)
                time.sleep(20)
                cpu1, _ = proc_stat(proc.pid)
                seconds = ingest_run(broker, backlog)
                cpu2, rss = proc_stat(proc.pid)
                results[run].append({"rate": len(backlog) / seconds, "idle_cpu": (cpu1 - cpu0) / 20,
                                     "ingest_cpu": (cpu2 - cpu1) / len(backlog), "rss": rss})
                print(f"  {run}: {len(backlog) / seconds:.1f} packets/s", flush=True)
                if browser is not None:
                    browser.close()
            finally:
                proc.terminate()
                proc.wait(60)
    finally:
        fleet.close()
        broker.close()

    b = results["browser"]

    def med(rs: list[dict]) -> dict:
        return {k: statistics.median(r[k] for r in rs) for k in rs[0]}

    a, w = med(results["without dashboard"]), med(results["dashboard open"])
    print(f"\npackets of {size / 1024:.0f} KB; {fleet.sent} telemetry messages sent in all")
    print(f"live update, telemetry -> browser    {summary(b['telemetry'])}   (target < 2000 ms)")
    print(f"live update, station offline (will)  {summary(b['offline'])}   (target < 2000 ms)")
    print(f"fleet page load, {args.stations} rows        {summary(b['load'])}   (target < 1000 ms)")
    for name, r in (("without dashboard", a), ("dashboard open", w)):
        print(f"{name:18s} ingest {r['rate']:6.1f} packets/s (median of {args.rounds}), controller CPU {r['idle_cpu'] * 100:5.1f}% of a core "
              f"with telemetry only, {r['ingest_cpu'] * 1000:5.1f} ms per packet while ingesting, "
              f"peak RSS {r['rss']:5.0f} MB")
    print(f"ingest with the dashboard open / without   {w['rate'] / a['rate']:5.2f}   (target >= 0.90; "
          f"browser at nice {args.browser_nice})")
    print(f"controller CPU per packet, without / open  {a['ingest_cpu'] / w['ingest_cpu']:5.2f}")


if __name__ == "__main__":
    main()
