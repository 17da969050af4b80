"""`rekam sim` in its own process: the real drivers open the printed port like hardware."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drivers.errors import NoFinger
from drivers.fingerprint.gt521.driver import GT521Scanner
from drivers.fingerprint.zhiantec.driver import ZhianTecScanner
from drivers.signature.calibration import resolve_model
from drivers.signature.topaz import TopazPad

ROOT = Path(__file__).resolve().parents[2]


class Sim:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "rekam.cli", "sim", *args], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        line = self.proc.stdout.readline()
        m = re.search(r" on (/dev/pts/\d+) at (\d+) baud", line)
        assert m, f"no port announced: {line!r}"
        self.port, self.baud = m.group(1), int(m.group(2))
        self.proc.stdout.readline()  # the command list

    def send(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def sim_process(request):
    sims = []

    def start(*args: str) -> Sim:
        s = Sim(*args)
        sims.append(s)
        return s

    yield start
    for s in sims:
        s.close()


def test_fingerprint_sim_driven_from_stdin(sim_process):
    sim = sim_process("fingerprint")
    with ZhianTecScanner(sim.port, baud=sim.baud) as scanner:
        with pytest.raises(NoFinger):
            scanner.capture(timeout=0.3)
        assert sim.send("place 2 good") == "ok"
        cap = scanner.capture(timeout=5)
        assert (cap.image.width, cap.image.height) == (256, 288) and cap.template
        assert sim.send("lift") == "ok"
        assert sim.send("fault no_finger") == "ok"
        assert sim.send("place 2") == "ok"
        with pytest.raises(NoFinger):
            scanner.capture(timeout=0.3)
        assert sim.send("fault clear") == "ok"
        assert scanner.capture(timeout=5).template
    assert sim.send("wave hands").startswith("unknown command")


def test_gt521_sim_with_a_finger_from_the_start(sim_process):
    sim = sim_process("fingerprint", "--family", "gt521", "--finger", "1")
    with GT521Scanner(sim.port, baud=sim.baud, fast_baud=115200) as scanner:
        cap = scanner.capture(timeout=10)
        assert (cap.image.width, cap.image.height) == (258, 202)


def test_signature_sim_signs_when_told(sim_process):
    sim = sim_process("signature")
    with TopazPad(sim.port, model=resolve_model("T-LBK462", None, device="test")) as pad:
        t0 = time.monotonic()
        assert sim.send("sign") == "ok"
        cap = pad.capture(timeout=10, idle_end=0.5)
        assert len(cap.samples) > 20 and cap.strokes
        assert time.monotonic() - t0 < 30
