"""This installation's version, read once from the package metadata (pyproject.toml)."""

from __future__ import annotations

from importlib import metadata


def _read() -> str:
    try:
        return metadata.version("rekam")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


VERSION = _read()
