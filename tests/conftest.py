"""Shared fixtures: real components, started per test and always torn down."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.fixtures.broker"]


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own settings from leaking into a test."""
    for name in list(os.environ):
        if name.startswith("REKAM_") or name in ("GPIOZERO_PIN_FACTORY", "NOTIFY_SOCKET", "WATCHDOG_USEC"):
            monkeypatch.delenv(name, raising=False)
