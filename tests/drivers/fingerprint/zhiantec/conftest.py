"""A ZhianTec module on a real pseudo-terminal: the simulator, and the driver opened on it.

A test module may set ``SCANNER_TIMEOUT`` (seconds per reply) for its scanners.
"""

from __future__ import annotations

import pytest

from drivers.fingerprint.zhiantec.driver import ZhianTecScanner
from drivers.fingerprint.zhiantec.simulator import ZhianTecSimulator
from drivers.scene import Scene


@pytest.fixture
def scene() -> Scene:
    return Scene()


@pytest.fixture
def sim(scene: Scene):
    s = ZhianTecSimulator(scene).start()
    yield s
    s.stop()


@pytest.fixture
def scanner(request, sim: ZhianTecSimulator):
    sc = ZhianTecScanner(sim.port, timeout=getattr(request.module, "SCANNER_TIMEOUT", 0.3), poll_interval=0.01)
    sc.open()
    yield sc
    sc.close()
