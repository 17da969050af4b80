"""The demo with its dashboard: the offline episode as an alarm, the re-plans with their reasons, the CLI banner."""

from __future__ import annotations

import re
import subprocess
import sys

from starlette.testclient import TestClient

from rekam.demo.dashboard import DEMO_USER, start_dashboard
from rekam.demo.fleet import DemoFleet, DemoOptions


def test_demo_dashboard_shows_the_offline_episode_and_the_replans(tmp_path):
    fleet = DemoFleet(DemoOptions(stations=3, days=4, day_seconds=4.0, workdir=tmp_path / "demo", offline_station=2,
                                  offline_day=1, offline_days=2), say=lambda s: None)
    runtime = None
    try:
        fleet.setup()
        runtime, password = start_dashboard(fleet, "127.0.0.1", 0)
        assert runtime.url.startswith("http://127.0.0.1:")
        fleet.run()
        offline = fleet.store.alarm_records(station_id="st-02", kind="offline")
        assert offline and offline[-1].severity == "critical"
        reasons = [p.reason for p in fleet.store.plan_entries() if p.reason]
        assert any("st-02 offline" in r for r in reasons), reasons
        c = TestClient(runtime.build_app(), base_url="https://testserver", follow_redirects=False)
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        assert c.post("/login", data={"username": DEMO_USER, "password": password, "csrf_token": token}).status_code == 303
        assert "st-02 offline selama" in c.get("/alarms").text
        schedule = c.get("/schedule").text
        assert "st-02 offline" in schedule and "rencana baru" in schedule
    finally:
        if runtime is not None:
            runtime.stop()
        fleet.close()


def test_demo_command_prints_the_dashboard_and_a_login_and_ends_with_exit(tmp_path):
    out = subprocess.run([sys.executable, "-m", "rekam.cli", "demo", "--stations", "1", "--days", "1", "--speed",
                          "10800", "--web", "127.0.0.1:0", "--exit", "--offline-station", "0",
                          "--workdir", str(tmp_path / "demo")], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert re.search(r"dashboard: http://127\.0\.0\.1:\d+   login: demo / \S{8,}", out.stdout)
    assert "2 s" in out.stdout.splitlines()[0]  # --speed 10800: a 6-hour schedule day in 2 s
    bad = subprocess.run([sys.executable, "-m", "rekam.cli", "demo", "--web", "nowhere"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "--web must be HOST:PORT" in bad.stderr


def test_demo_without_a_terminal_ends_and_takes_a_free_port_when_the_default_is_taken(tmp_path):
    import socket

    from rekam.demo_cli import DEFAULT_WEB

    host, _, port = DEFAULT_WEB.rpartition(":")
    holder = socket.socket()
    try:
        holder.bind((host, int(port)))  # taken by this test, or already by someone else: the same for the demo
        holder.listen(1)
    except OSError:
        pass
    try:
        out = subprocess.run([sys.executable, "-m", "rekam.cli", "demo", "--stations", "1", "--days", "1", "--speed",
                              "10800", "--no-kiosk", "--offline-station", "0", "--workdir", str(tmp_path / "demo")],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240)
    finally:
        holder.close()
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    url = re.search(r"dashboard: http://127\.0\.0\.1:(\d+)", out.stdout)
    assert url and url.group(1) != port
    assert "press Ctrl-C" not in out.stdout
