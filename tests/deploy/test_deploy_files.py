"""deploy/: systemd units, setup scripts, udev rules, and the Mosquitto files' ties to the code."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from controller.provisioning import ca as ca_mod
from protocol import topics
from station.config import MqttSettings
from tests.deploy.tls_fleet import ACL, CONF, DEPLOY

UNITS = DEPLOY / "systemd"
SCRIPTS = [DEPLOY / "pi-setup.sh", DEPLOY / "controller-setup.sh"]
RULES = DEPLOY / "udev" / "99-rekam.rules"


def unit(name: str) -> dict[str, list[str]]:
    """A unit file as {key: [values...]} (keys repeat, so configparser will not do)."""
    out: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def _systemd_root(tmp_path: Path) -> Path:
    """A filesystem root with the host's system units, ours, and stand-ins for the executables ours run."""
    root = tmp_path / "root"
    for d in ("/usr/lib/systemd/system", "/lib/systemd/system"):
        if Path(d).is_dir():
            shutil.copytree(d, root / "usr/lib/systemd/system", symlinks=True)
            break
    (root / "etc/systemd/system").mkdir(parents=True)
    for f in [*UNITS.glob("*.service"), *UNITS.glob("*.path")]:
        shutil.copy(f, root / "etc/systemd/system" / f.name)
    for path in ("opt/rekam/venv/bin/rekam", "usr/bin/install", "bin/systemctl"):
        exe = root / path
        exe.parent.mkdir(parents=True, exist_ok=True)
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    return root


needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian package systemd); .ci/run should install it")


@needs_systemd_analyze
def test_units_pass_systemd_analyze_verify_without_warnings(tmp_path):
    root = _systemd_root(tmp_path)
    names = sorted(f.name for f in [*UNITS.glob("*.service"), *UNITS.glob("*.path")])
    assert names == ["rekam-controller.service", "rekam-crl.path", "rekam-crl.service", "rekam-station.service"]
    r = subprocess.run(["systemd-analyze", "verify", f"--root={root}", *names], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stderr.strip() == "" and r.stdout.strip() == "", r.stderr + r.stdout


@needs_systemd_analyze
def test_units_are_hardened(tmp_path):
    root = _systemd_root(tmp_path)
    for name in ("rekam-station.service", "rekam-controller.service"):
        # Exposure 0-10 (shown) is 0-100 here; 30 is "OK" territory; a unit without hardening scores ~90.
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", f"--root={root}", "--threshold=30",
                            "--no-pager", name], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"{name} is exposed:\n{r.stdout[-1500:]}{r.stderr[-500:]}"


def test_station_unit_runs_the_station_with_watchdog_and_device_groups():
    u = unit("rekam-station.service")
    assert u["ExecStart"] == ["/opt/rekam/venv/bin/rekam station run --config /etc/rekam/station.toml"]
    assert u["Type"] == ["notify"] and u["WatchdogSec"] == ["30"] and u["Restart"] == ["on-failure"]
    assert u["User"] == ["rekam"] and set(u["SupplementaryGroups"][0].split()) == {"dialout", "gpio", "video"}
    allowed = {v.split()[0] for v in u["DeviceAllow"]}
    assert {"char-ttyUSB", "char-gpiochip", "char-video4linux", "char-media", "char-dma_heap"} <= allowed
    assert "PrivateDevices" not in u  # would hide the serial ports, GPIO and camera


def test_a_changed_revocation_list_reaches_mosquitto():
    path, service = unit("rekam-crl.path"), unit("rekam-crl.service")
    assert path["PathChanged"] == ["/var/lib/rekam/tls/crl.pem"] and path["Unit"] == ["rekam-crl.service"]
    install, reload = service["ExecStart"]
    assert install.split()[-2:] == ["/var/lib/rekam/tls/crl.pem", "/etc/mosquitto/certs/rekam/crl.pem"]
    assert reload.endswith("reload-or-restart mosquitto.service")
    conf = CONF.read_text()
    assert conf.count("crlfile /etc/mosquitto/certs/rekam/crl.pem") == 1  # the stations' listener reads that copy
    setup = (DEPLOY / "controller-setup.sh").read_text()
    assert "systemctl enable --now rekam-crl.path" in setup


def test_controller_unit_has_time_to_finish_in_flight_packets():
    u = unit("rekam-controller.service")
    assert u["ExecStart"] == ["/opt/rekam/venv/bin/rekam controller run --config /etc/rekam/controller.toml"]
    assert u["Restart"] == ["on-failure"] and u["KillMode"] == ["mixed"]
    assert int(u["TimeoutStopSec"][0]) >= 60


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_syntax_help_and_options(script):
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script.read_text()
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
    r = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("Usage:"), r.stderr
    r = subprocess.run(["bash", str(script), "--no-such-option"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "unknown option" in r.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None,
                    reason="shellcheck is not installed (Debian package shellcheck); .ci/run should install it")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_passes_shellcheck(script):
    r = subprocess.run(["shellcheck", "--severity=style", str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout


_RULE_TOKEN = re.compile(r'\s*([A-Z_]+(?:\{[^}]+\})?)\s*(==|!=|\+=|=|:=)\s*"([^"]*)"\s*(?:,|$)')


def _rules() -> list[dict[str, tuple[str, str]]]:
    out = []
    for n, line in enumerate(RULES.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pos, rule = 0, {}
        while pos < len(line):
            m = _RULE_TOKEN.match(line, pos)
            assert m, f"99-rekam.rules:{n}: cannot parse at {line[pos:]!r}"
            rule[m.group(1)] = (m.group(2), m.group(3))
            pos = m.end()
        out.append(rule)
    return out


def test_udev_rules_name_both_devices_by_vendor_and_product():
    rules = _rules()
    links = {r["SYMLINK"][1] for r in rules}
    assert links == {"rekam-fingerprint", "rekam-signature"}
    ids = set()
    for r in rules:
        assert r["SUBSYSTEM"] == ("==", "tty") and r["SYMLINK"][0] == "+="
        assert r["GROUP"] == ("=", "dialout") and r["ENV{ID_MM_DEVICE_IGNORE}"] == ("=", "1")
        assert re.fullmatch(r"[0-9a-f]{4}", r["ATTRS{idVendor}"][1]) and re.fullmatch(r"[0-9a-f]{4}", r["ATTRS{idProduct}"][1])
        ids.add(f'{r["ATTRS{idVendor}"][1]}:{r["ATTRS{idProduct}"][1]}')
    assert {"10c4:ea60", "1a86:7523", "0403:6001", "067b:2303"} <= ids
    assert "udevadm info" in RULES.read_text() and "ATTRS{serial}" in RULES.read_text()


def test_udev_rules_pass_udevadm_verify_where_available():
    udevadm = shutil.which("udevadm") or ("/usr/bin/udevadm" if Path("/usr/bin/udevadm").exists() else None)
    if udevadm is None or subprocess.run([udevadm, "verify", "--help"], capture_output=True).returncode != 0:
        pytest.skip("udevadm verify needs systemd 253 or newer; the rules were checked by the parser test")
    r = subprocess.run([udevadm, "verify", str(RULES)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr


def _conf() -> dict[str, str]:
    return {w[0]: (w[1] if len(w) > 1 else "") for w in
            (line.split(None, 1) for line in CONF.read_text().splitlines() if line.strip() and not line.startswith("#"))}


def test_broker_packet_limit_leaves_headroom_over_the_station_limit():
    conf = _conf()
    station_limit = MqttSettings().max_packet_bytes
    assert int(conf["max_packet_size"]) >= station_limit + 64 * 1024
    assert int(conf["max_queued_bytes"]) >= 8 * station_limit  # one station's full window, at least
    assert conf["persistence"] == "true" and conf["mount_point"] == "st/"
    assert conf["require_certificate"] == "true" and conf["use_identity_as_username"] == "true"
    assert conf["allow_anonymous"] == "false"
    # Debian's mosquitto.conf sets these; repeating one in a conf.d drop-in stops the broker.
    assert not {"persistence_location", "pid_file", "user"} & set(conf)


def test_acl_matches_the_topic_layout_and_the_controller_identity():
    lines = [line.split() for line in ACL.read_text().splitlines() if line.strip() and not line.startswith("#")]
    patterns = [(w[1], w[2]) for w in lines if w[0] == "pattern"]
    mount = _conf()["mount_point"]
    for access, topic in patterns:  # every station right is inside the stations' mount point
        assert topic.startswith(mount), topic
        topic = topic[len(mount):]
        assert topic == topics.ALL_CONTROLLER_STATUS and access == "read" or topic.startswith(
            f"{topics.STATIONS}/%u/")
    station_writes = {t.split("/%u/")[1] for a, t in patterns if "write" in a}
    station_reads = {t.split("/%u/")[1] for a, t in patterns if "read" in a and "/%u/" in t}
    assert station_writes == {"state", "telemetry", "packets", "cmd/reply"}
    assert station_reads == {"state", "acks", "assignment", "cmd", "status", "certificate"}
    users = [w[1] for w in lines if w[0] == "user"]
    assert users == [ca_mod.controller_identity("controller-1")]
    _, group, rest = topics.shared_packets().split("/", 2)
    assert ["topic", "read", f"$share/{group}/{mount}{rest}"] in lines
    assert ["topic", "readwrite", mount + topics.controller_status("controller-1")] in lines
