"""`rekam station run` as systemd runs it: READY, watchdog pings, clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from protocol import messages, topics
from protocol.keys import ControllerKeys
from protocol.messages import State
from tests.fixtures.mqtt import Recorder
from tests.fixtures.station import make_station_dir

ROOT = Path(__file__).resolve().parents[2]


def test_station_run_notifies_systemd_feeds_the_watchdog_and_stops_cleanly(tmp_path, broker):
    d = make_station_dir(tmp_path / "st", broker, ControllerKeys.generate())
    notify_path = str(tmp_path / "notify.sock")
    sd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sd.bind(notify_path)
    sd.settimeout(20)
    env = {**os.environ, "NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "400000"}
    env.pop("WATCHDOG_PID", None)
    state_topic = topics.station("st-01", topics.Leaf.STATE)
    with Recorder(broker, "watch", [state_topic]) as watch:
        proc = subprocess.Popen([sys.executable, "-m", "rekam.cli", "station", "run", "--config", str(d.config_path)],
                                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            seen = []
            while "WATCHDOG=1" not in seen:
                seen.append(sd.recv(256).decode())
            assert seen[0] == "READY=1"
            assert watch.wait_for(lambda m: m and messages.decode(State, m[-1].payload).online, 20)
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, out.decode(errors="replace")[-2000:]
        assert watch.wait_for(lambda m: not messages.decode(State, m[-1].payload).online, 10)
    assert b"received SIGTERM" in out
    sd.close()
