"""kill -9 in the middle of sealing and of sending leaves every sealed packet deliverable."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from protocol import packet
from protocol.keys import ControllerKeys, SigningKey
from station.outbox import Outbox
from station.outbox_states import State

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    ck, sk = ControllerKeys.generate(), SigningKey.generate()
    (d / "controller.pub").write_bytes(ck.public.to_pem())
    (d / "station.key").write_bytes(sk.to_pem())
    return d, ck, sk


def run_and_kill(db: Path, keydir: Path, mode: str, lines_before_kill: int) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.station.outbox_child", str(db), str(keydir), mode],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    out: list[str] = []
    deadline = time.monotonic() + 60
    try:
        while len(out) < lines_before_kill and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            out.append(line.split())
        # The child is already sealing the next packet: the kill lands mid-transaction.
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    out += [line.split() for line in rest.splitlines() if line]
    assert proc.returncode == -signal.SIGKILL
    return out


@pytest.mark.parametrize("mode", ["seal", "send"])
@pytest.mark.parametrize("round_", range(3))
def test_kill_9_leaves_every_sealed_packet_deliverable(tmp_path, keys, mode, round_):
    keydir, ck, sk = keys
    db = tmp_path / "outbox.db"
    lines = run_and_kill(db, keydir, mode, lines_before_kill=random.randint(3, 12))
    sealed = {pid for kind, _, pid in lines if kind == "sealed"}
    acked = {pid for kind, _, pid in lines if kind == "acked"}
    # killed between the ack's commit and the line saying so: either state is right
    in_doubt = {pid for kind, _, pid in lines if kind == "acking"} - acked
    assert sealed, "child never sealed anything"

    with Outbox(db) as ob:
        assert ob.check_integrity() == "ok"
        for pid in sealed:
            state = ob.state_of(pid)
            if pid in acked:
                assert state is State.REMOVED
            elif pid in in_doubt:
                assert state in (State.PENDING, State.REMOVED)
            else:
                # nothing durable is lost, and nothing is left "in flight" after a restart
                assert state is State.PENDING, (pid, state)
        items = ob.take_for_sending(10_000, 10**12)
        seqs = [i.seq for i in items]
        assert seqs == sorted(set(seqs))
        for item in items:
            env, plaintext = packet.open_packet(item.payload, sk.public, ck)
            assert env.packet_id == item.packet_id
            assert len(plaintext) == 128_000
        assert sealed - acked - in_doubt <= {i.packet_id for i in items}
