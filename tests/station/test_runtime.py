"""The station program: one per data directory, commands from the controller, telemetry."""

from __future__ import annotations

import pytest

from drivers.scene import Scene
from protocol.keys import ControllerKeys
from protocol.messages import Command, CommandName
from station.errors import StationError
from tests.fixtures.station import make_station_dir

CK = ControllerKeys.generate()


@pytest.fixture
def runtime(tmp_path):
    d = make_station_dir(tmp_path / "st", None, CK)
    rt = d.runtime(Scene(time_scale=0.0)).start(connect=False)
    yield rt
    rt.stop()


def test_second_station_on_the_same_data_dir_is_refused(runtime):
    other = runtime.__class__(runtime.config)
    with pytest.raises(StationError, match="already running"):
        other.start(connect=False)


def test_self_test_command_reports_every_device(runtime):
    reply = runtime.handle_command(Command("c1", CommandName.SELF_TEST))
    assert reply.ok, reply
    assert set(reply.result) == {"camera", "fingerprint", "signature", "indicators"}
    assert all(v["ok"] for v in reply.result.values())


def test_driver_swap_to_the_second_scanner_family_and_back_on_failure(runtime):
    reply = runtime.handle_command(Command("c2", CommandName.DRIVER_SWAP,
                                           {"kind": "fingerprint", "driver": "gt521-emulated"}))
    assert reply.ok, reply.error
    assert "ADH-Tech" in reply.result["identity"]
    assert runtime.devices.scanner.identity.make == "ADH-Tech"
    bad = runtime.handle_command(Command("c3", CommandName.DRIVER_SWAP,
                                         {"kind": "fingerprint", "driver": "no-such-driver"}))
    assert not bad.ok and "no fingerprint driver named 'no-such-driver'" in bad.error
    assert runtime.devices.scanner.identity.make == "ADH-Tech"  # the previous driver is back
    assert runtime.devices.health()["fingerprint"].ok


def test_telemetry_reflects_outbox_and_devices(runtime):
    t = runtime.telemetry(connection=4)
    assert (t.station_id, t.connection, t.outbox_depth, t.enrollments_today) == ("st-01", 4, 0, 0)
    assert t.disk_free_bytes > 0
    assert set(t.drivers) == {"camera", "fingerprint", "signature", "indicators"}
    assert all(h.ok for h in t.drivers.values())
    assert t.outbox_oldest_at is None  # nothing waiting
    from protocol import packet
    from protocol.keys import ControllerKeys

    env = packet.seal(b"record", station_id="st-01", seq=runtime.outbox.next_seq(),
                      controller_key=ControllerKeys.generate().public.keys[0], station_key=runtime.sealer.signing_key)
    runtime.outbox.add(env)
    assert runtime.telemetry(connection=4).outbox_oldest_at == env.header.sealed_at


def test_unknown_kelurahan_refused_before_enrolling(runtime):
    from station.errors import ConfigError

    with pytest.raises(ConfigError, match="kelurahan"):
        runtime.enrollment(object(), "op", kelurahan_code="33.72.99.9999")


def test_no_assignment_and_no_kelurahan_is_explained(runtime):
    with pytest.raises(StationError, match="no assignment"):
        runtime.enrollment(object(), "op")
