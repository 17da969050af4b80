"""Deterministic randomness keyed by who and what is being rendered."""

from __future__ import annotations

import hashlib

import numpy as np


def rng_for(*parts: object) -> np.random.Generator:
    """A generator seeded from ``parts`` (person id, finger, capture number...).

    SHA-256 rather than ``hash()`` so the same parts give the same stream in
    every process and on every machine.
    """
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))
