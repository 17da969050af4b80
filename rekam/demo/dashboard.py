"""The fleet dashboard on the demo's controller, with a demo login.

Started after the fleet is set up and kept until the demo ends, so the
offline episode shows up live as an alarm and the re-plans as schedule
changes. The demo account is an admin with a fresh random password, printed
once; the store is a throwaway one.
"""

from __future__ import annotations

import secrets

import msgspec

from controller import accounts
from controller.web_settings import resolve_web
from controller.web.wiring import DashboardRuntime
from rekam.demo.fleet import DemoFleet
from rekam.errors import DemoError

DEMO_USER = "demo"


def start_dashboard(fleet: DemoFleet, host: str = "127.0.0.1", port: int = 8080) -> tuple[DashboardRuntime, str]:
    """The running dashboard and the demo account's password."""
    assert fleet.service is not None and fleet.store is not None
    web = resolve_web(msgspec.structs.replace(fleet.service.config.web, enabled=True, host=host, port=port,
                                              secret_file=fleet.workdir / "controller" / "keys" / "web-session.key"),
                      fleet.workdir / "controller", error=DemoError)
    runtime = DashboardRuntime(fleet.service, planning=fleet.planning, today=fleet.clock.today, web=web)
    runtime.start()  # first: a port that is taken leaves nothing behind
    password = secrets.token_urlsafe(9)
    accounts.add_user(fleet.store, DEMO_USER, "admin", password)
    return runtime, password
