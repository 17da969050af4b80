import json

import msgspec
import pytest

from protocol import messages as m
from protocol import topics


def test_every_message_round_trips():
    samples = [
        m.State("st-01", True, 3, "0.1.0", {"camera": "emulated"}, 1.5),
        m.Telemetry("st-01", 1.0, 3, 4, 5000, 1, 10**9, 12, 48.5,
                    {"fingerprint": m.DriverHealth("zhiantec", False, "timeout")}, "a-1"),
        m.Ack("pid", m.AckStatus.REJECTED, "bad_signature", "signature does not verify"),
        m.AssignmentUpdate("st-01", 2.0, "plan-1",
                           m.Assignment("a-1", "2026-11-23", "15:00", "21:00", "33.72.01.1001", "Pajang",
                                        m.Venue("v-1", "school", "SMA 1", "Jl. X", 40)),
                           [m.Assignment("a-2", "2026-11-24", "15:00", "21:00", "33.72.01.1002")]),
        m.ControllerStatus("ctl-1", False, 3.0, "0.1.0"),
        m.Command("c-1", m.CommandName.DRIVER_SWAP, {"kind": "fingerprint", "driver": "gt521"}, 4.0),
        m.CommandReply("c-1", "st-01", False, {}, "driver not found"),
    ]
    for msg in samples:
        assert m.decode(type(msg), m.encode(msg)) == msg


def test_wrong_type_refused():
    data = m.encode(m.Ack("pid", m.AckStatus.STORED))
    with pytest.raises(m.MessageError, match="expected a 'state' message"):
        m.decode(m.State, data)


def test_missing_field_named():
    with pytest.raises(m.MessageError, match="'connection' is missing"):
        m.decode(m.State, json.dumps({"v": 1, "type": "state", "station_id": "s", "online": True}))


def test_wrong_field_type_named():
    body = {"v": 1, "type": "state", "station_id": "s", "online": "yes", "connection": 1}
    with pytest.raises(m.MessageError, match="state.online: expected bool, got str"):
        m.decode(m.State, json.dumps(body))


def test_integers_out_of_range_are_refused_by_the_parser():
    for connection in ("-1", str(2**63), "9" * 5000):  # the last one is beyond Python's own int parsing limit
        body = '{"v":1,"type":"state","station_id":"s","online":true,"connection":%s}' % connection
        with pytest.raises(m.MessageError, match="state.connection"):
            m.decode(m.State, body)


def test_deep_nesting_is_a_message_error():
    body = b'{"v":1,"type":"cmd","command_id":"c","name":"self_test","args":{"a":' + b"[" * 200_000 + b"]" * 200_000 + b"}}"
    with pytest.raises(m.MessageError, match="nested too deeply"):
        m.decode(m.Command, body)


def test_newer_schema_refused_and_extra_fields_ignored():
    body = {"v": 1, "type": "ack", "packet_id": "p", "status": "stored", "future_field": 1}
    assert m.decode(m.Ack, json.dumps(body)).packet_id == "p"
    body["v"] = 2
    with pytest.raises(m.MessageError, match="schema v2"):
        m.decode(m.Ack, json.dumps(body))


@pytest.mark.parametrize("data", [b"", b"\xff", b"[1]", b"null", b'{"type":"ack"}'])
def test_garbage(data):
    with pytest.raises(m.MessageError):
        m.decode(m.Ack, data)


def test_topics():
    t = topics.station("st-01", topics.Leaf.CMD_REPLY)
    assert t == "rekam/v1/stations/st-01/cmd/reply"
    assert topics.parse(t) == topics.StationTopic("st-01", topics.Leaf.CMD_REPLY)
    assert topics.shared_packets() == "$share/controllers/rekam/v1/stations/+/packets"


@pytest.mark.parametrize("bad", ["", "ST-01", "a/b", "a+", "#", "x" * 64, "-lead"])
def test_station_ids_that_could_break_topics_refused(bad):
    with pytest.raises(topics.TopicError):
        topics.station(bad, topics.Leaf.STATE)


def test_parse_refuses_foreign_topics():
    with pytest.raises(topics.TopicError):
        topics.parse("rekam/v1/stations/st-01/bogus")
    with pytest.raises(topics.TopicError):
        topics.parse("other/v1/stations/st-01/state")


def test_the_free_form_tables_a_station_sends_are_bounded():
    """A telemetry report is stored for weeks: its drivers table (and a reply's result) cannot grow without end."""
    from protocol.messages import MAX_DEVICES, MAX_ITEMS, CommandReply, DriverHealth, Telemetry

    ok = Telemetry("st-01", 1.0, 0, 0, 0, 0, 0, 0, drivers={f"d{i}": DriverHealth("x", True) for i in range(4)})
    assert m.decode(Telemetry, m.encode(ok)) == ok
    big = msgspec.structs.replace(ok, drivers={f"d{i}": DriverHealth("x", True) for i in range(MAX_DEVICES + 1)})
    with pytest.raises(m.MessageError, match="drivers"):
        m.decode(Telemetry, m.encode(big))
    reply = CommandReply("c-1", "st-01", True, result={f"k{i}": i for i in range(MAX_ITEMS + 1)})
    with pytest.raises(m.MessageError, match="result"):
        m.decode(CommandReply, m.encode(reply))
