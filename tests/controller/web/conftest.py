"""Fixtures for the dashboard tests: Debian's Chromium through Playwright (one browser per module), and an
in-process controller with its app for Starlette's TestClient."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
#: Where the screenshots of every view go (the report names this folder).
SCREENSHOTS = Path(os.environ.get("REKAM_SCREENSHOTS", "/tmp/rekam-web-screenshots"))


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not os.access(CHROMIUM, os.X_OK) and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is not installed; .ci/run installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium"),
                              args=ARGS)
        try:
            yield b
        finally:
            b.close()


def login(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=10_000)


class Clock:
    def __init__(self, t: float | None = None) -> None:
        import time

        self.t = time.time() if t is None else t

    def __call__(self) -> float:
        return self.t


class World:
    """A controller (in-memory broker) with its dashboard app, driven in process by Starlette's TestClient."""

    def __init__(self, tmp_path: Path) -> None:
        from adapters.mocklink import MockBroker, MockLink
        from controller import accounts
        from controller.service import ControllerService
        from controller.web.wiring import DashboardRuntime
        from tests.controller.web.harness import PASSWORD, USERS
        from tests.fixtures.controller import make_controller_dir

        self.clock = Clock()
        self.mqtt = MockBroker()
        self.ctl = make_controller_dir(tmp_path / "controller", None, settings={
            "web": {"enabled": True, "port": 0, "command_timeout_s": 5, "lockout_failures": 3}})
        self.store = self.ctl.store().open()
        for name, role in USERS.items():
            accounts.add_user(self.store, name, role, PASSWORD)
        self.service = ControllerService(self.ctl.config, self.store, self.ctl.keys,
                                         link=MockLink(self.mqtt, "controller")).start()
        self.runtime = DashboardRuntime(self.service, clock=self.clock).start(serve=False)
        self.app = self.runtime.build_app()
        self.password = PASSWORD

    def client(self, user: str | None = None):
        from starlette.testclient import TestClient

        c = TestClient(self.app, base_url="https://testserver", follow_redirects=False)
        if user is not None:
            r = c.post("/login", data={"username": user, "password": self.password, "csrf_token": self.token(c)})
            assert r.status_code == 303, r.text
        return c

    @staticmethod
    def token(client) -> str:
        import re

        page = client.get("/login", follow_redirects=True)  # logged in: it goes on to the fleet page
        found = re.search(r'name="csrf-token" content="([^"]+)"', page.text) or \
            re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, page.text[:300]
        return found.group(1)

    def close(self) -> None:
        self.runtime.stop()
        self.service.stop()
        self.store.close()


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    w = World(tmp_path)
    try:
        yield w
    finally:
        w.close()
