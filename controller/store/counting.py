"""Counters that move in the same transaction as the rows they count (so a kill never makes them drift)."""

from __future__ import annotations

import sqlite3


def bump(db: sqlite3.Connection, name: str, by: int = 1) -> None:
    db.execute("INSERT INTO counters(name, value) VALUES (?, ?) "
               "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (name, by))
