"""Commands tracked to their reply or a timeout: in memory (MockLink) and through a real Mosquitto with the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from adapters.mocklink import MockBroker, MockLink
from controller.commands import CommandError, CommandTracker, command_args
from controller.store import Store
from protocol import messages, topics
from protocol.keys import SigningKey
from protocol.messages import Command, CommandName, CommandReply
from tests.controller.test_fleet import Clock


@pytest.fixture
def world(tmp_path):
    clock = Clock()
    broker = MockBroker()
    with Store(tmp_path / "c.db", clock=clock) as store:
        for sid in ("st-01", "st-02"):
            k = SigningKey.generate().public
            store.add_station(sid, k.to_pem(), k.kid)
        ctl = MockLink(broker, "controller").open()
        tracker = CommandTracker(store, lambda sid, cmd: ctl.publish(topics.station(sid, topics.Leaf.CMD),
                                                                     messages.encode(cmd), qos=1),
                                 timeout_s=30, clock=clock)
        ctl.subscribe([(topics.all_stations(topics.Leaf.CMD_REPLY), 1)])
        ctl.on_message = lambda m: tracker.on_reply(topics.parse(m.topic).station_id, m.payload)
        yield tracker, store, clock, broker


def station(broker, sid: str, *, answer: bool = True) -> list[Command]:
    link = MockLink(broker, sid).open()
    seen: list[Command] = []

    def on(m):
        cmd = messages.decode(Command, m.payload)
        seen.append(cmd)
        if answer:
            link.publish(topics.station(sid, topics.Leaf.CMD_REPLY),
                         messages.encode(CommandReply(cmd.command_id, sid, True, {"requeued": 2})), qos=1)

    link.on_message = on
    link.subscribe([(topics.station(sid, topics.Leaf.CMD), 1)])
    return seen


def test_reply_is_stored_against_its_command(world):
    tracker, store, clock, broker = world
    seen = station(broker, "st-01")
    changed = []
    tracker.listeners.append(changed.append)
    name, args = command_args("requeue_quarantine", packet_id="")
    batch = tracker.send(["st-01"], name, args, "opa")
    [rec] = store.commands(batch_id=batch)
    assert (rec.status, rec.ok, rec.result, rec.issued_by) == ("replied", True, {"requeued": 2}, "opa")
    assert seen[0].args == {"packet_id": "all"} and seen[0].command_id == rec.command_id
    assert [r.status for batch_ in changed for r in batch_] == ["replied", "replied"]


def test_silence_times_out_and_a_late_reply_is_kept_marked_late(world):
    tracker, store, clock, broker = world
    seen = station(broker, "st-02", answer=False)
    batch = tracker.send(["st-02"], CommandName.SELF_TEST, {}, "opa")
    assert tracker.expire() == []
    clock.t += 31
    [expired] = tracker.expire()
    assert expired.status == "timeout" and store.command(expired.command_id).status == "timeout"
    reply = CommandReply(seen[0].command_id, "st-02", False, error="camera: no device")
    broker.route(topics.station("st-02", topics.Leaf.CMD_REPLY), messages.encode(reply), 1, False)
    rec = store.command(expired.command_id)
    assert (rec.status, rec.late, rec.ok, rec.error) == ("replied", True, False, "camera: no device")
    assert store.commands(batch_id=batch) == [rec]


def test_a_reply_from_another_station_or_garbage_changes_nothing(world):
    tracker, store, clock, broker = world
    seen = station(broker, "st-01", answer=False)
    tracker.send(["st-01"], CommandName.SELF_TEST, {}, "opa")
    forged = CommandReply(seen[0].command_id, "st-02", True)
    assert tracker.on_reply("st-02", messages.encode(forged)) is None
    assert tracker.on_reply("st-01", b"{not json") is None
    assert store.command(seen[0].command_id).status == "sent"


def test_not_sent_when_the_link_is_down_and_bad_requests_refused(world, tmp_path):
    tracker, store, clock, broker = world
    down = CommandTracker(store, lambda sid, cmd: False, clock=clock)
    batch = down.send(["st-01"], CommandName.CONFIG_RELOAD, {}, "opa")
    [rec] = store.commands(batch_id=batch)
    assert rec.status == "not_sent" and "not connected" in rec.error
    with pytest.raises(CommandError, match="no such station: st-99"):
        tracker.send(["st-99"], CommandName.SELF_TEST, {}, "opa")
    with pytest.raises(CommandError, match="at least one station"):
        tracker.send([], CommandName.SELF_TEST, {}, "opa")
    with pytest.raises(CommandError, match="device kind"):
        command_args("driver_swap", kind="toaster", driver="x")
    with pytest.raises(CommandError, match="command must be one of"):
        command_args("reboot")
    assert command_args("driver_swap", kind="fingerprint", driver="gt521")[1] == {
        "kind": "fingerprint", "driver": "gt521", "options": {}}


def test_cli_command_round_trip_through_mosquitto(tmp_path, broker):
    from tests.controller.web.harness import LightStation
    from tests.fixtures.controller import make_controller_dir

    ctl = make_controller_dir(tmp_path / "controller", broker)
    st = LightStation("st-01", tmp_path, broker, ctl).start()
    try:
        assert st.uplink.wait_connected(10)
        out = subprocess.run([sys.executable, "-m", "rekam.cli", "controller", "cmd", "self-test", "st-01",
                              "--config", str(ctl.config_path), "--timeout", "10"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "ZhianTec 0x1234" in out.stdout and "replied" in out.stdout
        with ctl.store() as store:
            [rec] = store.commands()
            assert rec.status == "replied" and rec.issued_by.startswith("cli:")
            assert any(e.action == "command.send" for e in store.audit_log())
        bad = subprocess.run([sys.executable, "-m", "rekam.cli", "controller", "cmd", "self-test", "st-77",
                              "--config", str(ctl.config_path)], capture_output=True, text=True, timeout=60)
        assert bad.returncode != 0 and "no such station: st-77" in bad.stderr
    finally:
        st.stop()


def test_cli_user_add_passwd_remove(tmp_path):
    from controller.accounts import Authenticator
    from tests.fixtures.controller import make_controller_dir

    ctl = make_controller_dir(tmp_path / "controller", None)

    def rekam(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "rekam.cli", "controller", "user", *args, "--config",
                               str(ctl.config_path)], input=stdin, capture_output=True, text=True, timeout=60)

    assert rekam("add", "siti", "--role", "operator", "--password-stdin", stdin="first long password\n").returncode == 0
    short = rekam("add", "budi", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "at least 10 characters" in short.stderr
    assert rekam("add", "siti", "--role", "admin", "--password-stdin", stdin="x" * 12 + "\n").returncode != 0
    assert "siti" in rekam("list").stdout
    with ctl.store() as store:
        user = store.user("siti")
        assert user.role == "operator" and user.password_hash.startswith("$argon2id$")
        assert "first long password" not in user.password_hash
        assert Authenticator(store, clock=lambda: 0.0).login("siti", "first long password").user is not None
    assert rekam("passwd", "siti", "--password-stdin", stdin="second long password\n").returncode == 0
    with ctl.store() as store:
        auth = Authenticator(store, clock=__import__("time").time)
        assert auth.login("siti", "first long password").user is None
        assert auth.login("siti", "second long password").user is not None
    assert rekam("remove", "siti").returncode == 0
    assert rekam("remove", "siti").returncode != 0
    with ctl.store() as store:
        assert store.user("siti") is None
        assert [e.action for e in store.audit_log()][:3] == ["user.remove", "user.passwd", "user.add"]
