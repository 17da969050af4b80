"""The MQTT 3.1.1 codec alone: round trips whole and byte by byte, known bytes, malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rekam.mqtt_codec import (
    MAX_REMAINING_LENGTH,
    SUBACK_FAILURE,
    Connack,
    Connect,
    Disconnect,
    MalformedPacket,
    MqttDecoder,
    PacketTooLarge,
    Pingreq,
    Pingresp,
    ProtocolError,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
    Will,
    encode,
    encode_remaining_length,
)

# ---------------------------------------------------------------- strategies

_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
text = st.text(_chars, max_size=12)
topic_names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00+#"),
                      min_size=1, max_size=12)
filters = st.text(_chars, min_size=1, max_size=12)
payloads = st.binary(max_size=300)
pids = st.integers(1, 0xFFFF)
qos = st.sampled_from([0, 1, 2])


@st.composite
def publishes(draw) -> Publish:
    q = draw(qos)
    return Publish(draw(topic_names), draw(payloads), q, draw(st.booleans()),
                   draw(st.booleans()) if q else False, draw(pids) if q else None)


@st.composite
def connects(draw) -> Connect:
    username = draw(st.none() | text)
    return Connect(
        client_id=draw(text),
        clean_session=draw(st.booleans()),
        keepalive=draw(st.integers(0, 0xFFFF)),
        will=draw(st.none() | st.builds(Will, topic_names, payloads, qos, st.booleans())),
        username=username,
        password=None if username is None else draw(st.none() | st.binary(max_size=20)),
        protocol_name=draw(st.sampled_from(["MQTT", "MQIsdp"])),
        protocol_level=draw(st.integers(0, 255)),
    )


packets = st.one_of(
    connects(),
    st.builds(Connack, st.booleans(), st.integers(0, 5)),
    publishes(),
    st.builds(Puback, pids), st.builds(Pubrec, pids), st.builds(Pubrel, pids), st.builds(Pubcomp, pids),
    st.builds(Subscribe, pids, st.lists(st.tuples(filters, qos), min_size=1, max_size=4).map(tuple)),
    st.builds(Suback, pids, st.lists(st.sampled_from([0, 1, 2, SUBACK_FAILURE]), min_size=1, max_size=4).map(tuple)),
    st.builds(Unsubscribe, pids, st.lists(filters, min_size=1, max_size=4).map(tuple)),
    st.builds(Unsuback, pids),
    st.just(Pingreq()), st.just(Pingresp()), st.just(Disconnect()),
)


def decode_all(data: bytes, *, bytewise: bool, max_packet_size: int = 1 << 24) -> list:
    """Decode a stream fed whole or one byte at a time; the decoder must end empty."""
    dec = MqttDecoder(max_packet_size)
    out = []
    chunks = [data[i:i + 1] for i in range(len(data))] if bytewise else [data]
    for chunk in chunks:
        dec.receive_data(chunk)
        out.extend(dec)
    assert dec.buffered == 0
    return out


# ---------------------------------------------------------------- round trips


@settings(max_examples=300, deadline=None)
@given(packets)
def test_every_packet_round_trips_whole_and_byte_by_byte(packet):
    data = encode(packet)
    assert decode_all(data, bytewise=False) == [packet]
    # Byte by byte: nothing comes out before the last byte, then exactly the packet.
    dec = MqttDecoder()
    for byte in data[:-1]:
        dec.receive_data(bytes([byte]))
        assert dec.next_packet() is None
    dec.receive_data(data[-1:])
    assert dec.next_packet() == packet
    assert dec.next_packet() is None


@settings(max_examples=100, deadline=None)
@given(st.lists(packets, min_size=1, max_size=8), st.data())
def test_a_stream_of_packets_split_anywhere_decodes_in_order(stream, data):
    wire = b"".join(encode(p) for p in stream)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    dec, out, last = MqttDecoder(), [], 0
    for cut in cuts + [len(wire)]:
        dec.receive_data(wire[last:cut])
        last = cut
        out.extend(dec)
    assert out == stream
    assert decode_all(wire, bytewise=True) == stream


@given(st.integers(0, MAX_REMAINING_LENGTH))
def test_remaining_length_round_trips_through_a_publish_header(n):
    header = encode_remaining_length(n)
    assert 1 <= len(header) <= 4
    value = sum((b & 0x7F) << (7 * i) for i, b in enumerate(header))
    assert value == n
    assert all(b & 0x80 for b in header[:-1]) and not header[-1] & 0x80


@pytest.mark.parametrize("n, wire", [
    (0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16_383, b"\xff\x7f"),
    (16_384, b"\x80\x80\x01"), (2_097_151, b"\xff\xff\x7f"), (2_097_152, b"\x80\x80\x80\x01"),
    (MAX_REMAINING_LENGTH, b"\xff\xff\xff\x7f"),
])
def test_remaining_length_matches_the_standards_table(n, wire):
    assert encode_remaining_length(n) == wire


def test_large_publish_round_trips_whole_and_in_small_chunks():
    payload = bytes(range(256)) * 8192  # 2 MiB
    packet = Publish("rekam/v1/stations/s1/packets", payload, 1, packet_id=7)
    data = encode(packet)
    assert decode_all(data, bytewise=False) == [packet]
    dec, out = MqttDecoder(), []
    for i in range(0, len(data), 1000):
        dec.receive_data(data[i:i + 1000])
        out.extend(dec)
    assert out == [packet]


# ---------------------------------------------------------------- known bytes


@pytest.mark.parametrize("packet, wire", [
    (Pingreq(), b"\xc0\x00"),
    (Pingresp(), b"\xd0\x00"),
    (Disconnect(), b"\xe0\x00"),
    (Connack(True, 0), b"\x20\x02\x01\x00"),
    (Puback(0x1234), b"\x40\x02\x12\x34"),
    (Pubrel(1), b"\x62\x02\x00\x01"),
    (Publish("a/b", b"hi", 1, retain=True, dup=True, packet_id=10),
     b"\x3b\x09\x00\x03a/b\x00\x0ahi"),
    (Subscribe(2, (("a/+", 1), ("#", 0))), b"\x82\x0c\x00\x02\x00\x03a/+\x01\x00\x01#\x00"),
    (Suback(2, (1, 0x80)), b"\x90\x04\x00\x02\x01\x80"),
    (Unsubscribe(3, ("a",)), b"\xa2\x05\x00\x03\x00\x01a"),
    # CONNECT: clean session, will QoS 1 retained, username + password, keepalive 60.
    (Connect("c1", True, 60, Will("w", b"x", 1, True), "u", b"p"),
     b"\x10\x1a\x00\x04MQTT\x04\xee\x00\x3c\x00\x02c1\x00\x01w\x00\x01x\x00\x01u\x00\x01p"),
])
def test_encoding_matches_hand_assembled_bytes(packet, wire):
    assert encode(packet) == wire
    assert decode_all(wire, bytewise=True) == [packet]


# ---------------------------------------------------------------- malformed input

MALFORMED = {
    "reserved type 0": b"\x00\x00",
    "reserved type 15": b"\xf0\x00",
    "PINGREQ with flags": b"\xc1\x00",
    "SUBSCRIBE without flag 2": b"\x80\x06\x00\x01\x00\x01a\x00",
    "PUBREL without flag 2": b"\x60\x02\x00\x01",
    "PUBLISH QoS 3": b"\x36\x05\x00\x01a\x00\x01",
    "PUBLISH QoS 0 with DUP": b"\x38\x03\x00\x01a",
    "length header of 5 bytes": b"\x30\xff\xff\xff\xff\x01",
    "PUBLISH wildcard topic": b"\x30\x03\x00\x01#",
    "PUBLISH empty topic": b"\x30\x02\x00\x00",
    "PUBLISH packet id 0": b"\x32\x05\x00\x01a\x00\x00",
    "PUBLISH invalid UTF-8": b"\x30\x03\x00\x01\xff",
    "PUBLISH UTF-16 surrogate": b"\x30\x05\x00\x03\xed\xa0\x80",
    "PUBLISH U+0000": b"\x30\x04\x00\x02a\x00",
    "string longer than packet": b"\x30\x03\x00\x09a",
    "PUBACK too long": b"\x40\x03\x00\x01\x00",
    "PUBACK too short": b"\x40\x01\x00",
    "PINGREQ with body": b"\xc0\x01\x00",
    "SUBSCRIBE no filters": b"\x82\x02\x00\x01",
    "SUBSCRIBE QoS 3": b"\x82\x06\x00\x01\x00\x01a\x03",
    "SUBSCRIBE empty filter": b"\x82\x05\x00\x01\x00\x00\x00",
    "UNSUBSCRIBE no filters": b"\xa2\x02\x00\x01",
    "SUBACK bad code": b"\x90\x03\x00\x01\x05",
    "CONNACK reserved flags": b"\x20\x02\x02\x00",
    "CONNACK reserved code": b"\x20\x02\x00\x06",
    "CONNECT unknown protocol": b"\x10\x0e\x00\x04MQTX\x04\x02\x00\x3c\x00\x02c1",
    "CONNECT reserved flag": b"\x10\x0e\x00\x04MQTT\x04\x03\x00\x3c\x00\x02c1",
    "CONNECT will QoS without will": b"\x10\x0e\x00\x04MQTT\x04\x0a\x00\x3c\x00\x02c1",
    "CONNECT will QoS 3": b"\x10\x13\x00\x04MQTT\x04\x1e\x00\x3c\x00\x02c1\x00\x01w\x00\x00",
    "CONNECT password without username": b"\x10\x11\x00\x04MQTT\x04\x42\x00\x3c\x00\x02c1\x00\x01p",
    "CONNECT trailing bytes": b"\x10\x0f\x00\x04MQTT\x04\x02\x00\x3c\x00\x02c1\x00",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
def test_malformed_packets_are_refused(name, bytewise):
    with pytest.raises(MalformedPacket):
        decode_all(MALFORMED[name], bytewise=bytewise)


def test_decoder_stays_failed_after_an_error():
    dec = MqttDecoder()
    dec.receive_data(b"\xf0\x00")
    with pytest.raises(MalformedPacket):
        dec.next_packet()
    dec.receive_data(encode(Pingreq()))
    assert dec.failed
    with pytest.raises(MalformedPacket, match="already failed"):
        dec.next_packet()


def test_oversized_packet_is_refused_from_its_header_alone():
    dec = MqttDecoder(max_packet_size=1024)
    dec.receive_data(b"\x30" + encode_remaining_length(9 * 1024 * 1024))  # no body sent at all
    with pytest.raises(PacketTooLarge):
        dec.next_packet()
    at_limit = Publish("t", b"x" * (1024 - 6))
    assert len(encode(at_limit)) == 1024
    ok = MqttDecoder(max_packet_size=1024)
    ok.receive_data(encode(at_limit))
    assert ok.next_packet() == at_limit


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_yield_packets_or_protocol_error_only(data):
    """Garbage never escapes as anything but ProtocolError, fed whole or byte by byte."""
    for bytewise in (False, True):
        dec = MqttDecoder(max_packet_size=4096)
        try:
            for i in range(len(data)) if bytewise else [None]:
                dec.receive_data(data[i:i + 1] if bytewise else data)
                for packet in dec:
                    assert encode(packet)  # whatever decoded is a packet we can encode again
        except ProtocolError:
            pass


@pytest.mark.parametrize("packet", [
    Publish("a", b"", 1),                  # QoS 1 without packet id
    Publish("a", b"", 0, packet_id=3),     # QoS 0 with packet id
    Publish("a/#", b""),                   # wildcard in topic name
    Publish("a", b"", 3),
    Subscribe(1, ()),
    Suback(1, (7,)),
    Connect("c", password=b"p"),
    Connack(False, 9),
    Puback(0),
])
def test_encoder_refuses_packets_the_standard_forbids(packet):
    with pytest.raises(ValueError):
        encode(packet)
