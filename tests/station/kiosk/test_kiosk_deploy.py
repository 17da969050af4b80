"""The kiosk's deploy files: shellcheck-clean script, the units, and the pi-setup step that installs them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed; .ci/run installs it")
def test_kiosk_browser_script_passes_shellcheck():
    r = subprocess.run(["shellcheck", "--severity=style", str(DEPLOY / "kiosk" / "kiosk-browser.sh")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout


def test_the_browser_shows_only_the_local_kiosk_and_keeps_nothing():
    script = (DEPLOY / "kiosk" / "kiosk-browser.sh").read_text()
    assert "--kiosk" in script and "--incognito" in script and "http://127.0.0.1:8780/" in script
    unit = (DEPLOY / "kiosk" / "rekam-kiosk-browser.service").read_text()
    assert "ExecStart=/opt/rekam/kiosk-browser.sh" in unit and "WantedBy=graphical-session.target" in unit
    dropin = (DEPLOY / "kiosk" / "rekam-station.service.d" / "kiosk.conf").read_text()
    assert "ExecStart=\nExecStart=/opt/rekam/venv/bin/rekam station kiosk" in dropin


def test_pi_setup_installs_the_kiosk():
    setup = (DEPLOY / "pi-setup.sh").read_text()
    for needle in ('step "kiosk"', "kiosk/kiosk-browser.sh", "kiosk/rekam-kiosk-browser.service",
                   "systemctl --global enable rekam-kiosk-browser.service", "--no-kiosk",
                   "kiosk/rekam-kiosk.desktop\" /etc/xdg/autostart/rekam-kiosk.desktop"):
        assert needle in setup


def test_the_xdg_autostart_entry_starts_the_same_unit():
    """Where the desktop session never reaches graphical-session.target, XDG autostart still starts the kiosk."""
    import configparser

    entry = configparser.ConfigParser(interpolation=None)
    entry.read(DEPLOY / "kiosk" / "rekam-kiosk.desktop")
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Exec"] == "systemctl --user start rekam-kiosk-browser.service"
    if shutil.which("desktop-file-validate"):
        r = subprocess.run(["desktop-file-validate", str(DEPLOY / "kiosk" / "rekam-kiosk.desktop")],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
