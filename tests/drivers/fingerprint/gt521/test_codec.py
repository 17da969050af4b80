"""The GT-521 codec alone: no port, no thread. Every parse runs whole and byte by byte."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.errors import (
    BadChecksum,
    CaptureFailed,
    DeviceCommandFailed,
    DeviceError,
    DeviceProtocolError,
    NoFinger,
)
from drivers.fingerprint.gt521 import codec, codes
from drivers.fingerprint.gt521.codec import (
    CommandPacket,
    DataPacket,
    PacketReceiver,
    ResponsePacket,
    Role,
)


def feed(rx: PacketReceiver, data: bytes, *, bytewise: bool) -> list:
    """Feed ``data`` whole or one byte at a time, collecting every packet."""
    out = []
    chunks = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
    for chunk in chunks:
        rx.receive_data(chunk)
        while (p := rx.next_packet()) is not None:
            out.append(p)
    return out


# -- known bytes (checked against packets published for real modules) ----------
def test_open_command_bytes_match_the_datasheet_layout() -> None:
    # 55 AA | id 01 00 | param 01 00 00 00 | cmd 01 00 | sum 02 01
    assert codec.open_(True).encode() == bytes.fromhex("55AA 0100 01000000 0100 0201")


def test_get_template_and_ack_bytes_match_a_published_exchange() -> None:
    assert codec.get_template(1).encode() == bytes.fromhex("55AA 0100 01000000 7000 7101")
    assert ResponsePacket(True, 0).encode() == bytes.fromhex("55AA 0100 00000000 3000 3001")
    assert codec.set_template(2).encode() == bytes.fromhex("55AA 0100 02000000 7100 7301")


def test_fields_are_little_endian() -> None:
    raw = codec.change_baud_rate(115200, device_id=0x0203).encode()
    assert raw[:2] == b"\x55\xaa"
    assert struct.unpack("<H", raw[2:4])[0] == 0x0203
    assert struct.unpack("<I", raw[4:8])[0] == 115200
    assert struct.unpack("<H", raw[8:10])[0] == codes.Command.CHANGE_BAUD_RATE
    assert struct.unpack("<H", raw[10:12])[0] == sum(raw[:10]) & 0xFFFF


def test_builders_cover_every_command_the_driver_needs() -> None:
    cases = {
        codec.open_(False): (0x01, 0),
        codec.close(): (0x02, 0),
        codec.cmos_led(True): (0x12, 1),
        codec.cmos_led(False): (0x12, 0),
        codec.get_enroll_count(): (0x20, 0),
        codec.check_enrolled(7): (0x21, 7),
        codec.enroll_start(5): (0x22, 5),
        codec.enroll_start(codes.ENROLL_NO_SAVE): (0x22, 0xFFFFFFFF),
        codec.enroll(1): (0x23, 0),
        codec.enroll(2): (0x24, 0),
        codec.enroll(3): (0x25, 0),
        codec.is_press_finger(): (0x26, 0),
        codec.delete_id(9): (0x40, 9),
        codec.delete_all(): (0x41, 0),
        codec.verify(3): (0x50, 3),
        codec.identify(): (0x51, 0),
        codec.capture_finger(True): (0x60, 1),
        codec.capture_finger(False): (0x60, 0),
        codec.make_template(): (0x61, 0),
        codec.get_image(): (0x62, 0),
        codec.get_raw_image(): (0x63, 0),
        codec.get_template(4): (0x70, 4),
        codec.set_template(4, check_duplicate=False): (0x71, 0xFFFF0004),
    }
    for packet, (command, parameter) in cases.items():
        assert (packet.command, packet.parameter) == (command, parameter), packet
    assert codec.enroll_start(codes.ENROLL_NO_SAVE).signed_parameter == -1
    with pytest.raises(ValueError):
        codec.enroll(4)


def test_data_sizes_follow_the_command() -> None:
    assert codec.response_data_size(codec.open_(True)) == 24
    assert codec.response_data_size(codec.open_(False)) is None
    assert codec.response_data_size(codec.get_image()) == 258 * 202 == 52116
    assert codec.response_data_size(codec.get_raw_image()) == 160 * 120
    assert codec.response_data_size(codec.make_template()) == 498
    assert codec.response_data_size(codec.get_template(0)) == 498
    assert codec.response_data_size(codec.identify()) is None


# -- parsers -------------------------------------------------------------------
def test_open_info_parses_firmware_and_serial() -> None:
    serial = bytes(range(1, 17))
    raw = struct.pack("<II", 0x20120306, 0) + serial
    info = codec.parse_open_info(raw)
    assert info.firmware == "20120306"
    assert info.iso_area_max_size == 0
    assert info.serial == serial.hex().upper()
    assert info.encode() == raw
    with pytest.raises(DeviceProtocolError):
        codec.parse_open_info(raw[:-1])


def test_response_parsers() -> None:
    assert codec.parse_is_press_finger(ResponsePacket(True, 0)) is True
    assert codec.parse_is_press_finger(ResponsePacket(True, 1)) is False
    assert codec.parse_count(ResponsePacket(True, 17)) == 17
    assert codec.parse_slot(ResponsePacket(True, 2999)) == 2999
    assert codec.parse_image(bytes(codes.IMAGE_SIZE)) == bytes(codes.IMAGE_SIZE)
    assert codec.parse_raw_image(bytes(codes.RAW_IMAGE_SIZE)) == bytes(codes.RAW_IMAGE_SIZE)
    assert codec.parse_template(bytes(498)) == bytes(498)
    for parser, size in ((codec.parse_image, 100), (codec.parse_raw_image, 100), (codec.parse_template, 497)):
        with pytest.raises(DeviceProtocolError):
            parser(bytes(size))


# -- NACK codes -----------------------------------------------------------------
EXPECTED_CLASS = {
    codes.Nack.FINGER_IS_NOT_PRESSED: NoFinger,
    codes.Nack.BAD_FINGER: CaptureFailed,
    codes.Nack.ENROLL_FAILED: CaptureFailed,
    codes.Nack.CAPTURE_CANCELED: CaptureFailed,
    codes.Nack.TIMEOUT: CaptureFailed,
    codes.Nack.COMM_ERR: DeviceProtocolError,
}


@pytest.mark.parametrize("code", list(codes.Nack))
def test_every_nack_maps_to_a_named_device_error(code: codes.Nack) -> None:
    err = codec.error_for_nack(code, codes.Command.CAPTURE_FINGER, device="fingerprint gt521 on /dev/x")
    assert isinstance(err, EXPECTED_CLASS.get(code, DeviceCommandFailed))
    assert isinstance(err, DeviceError)
    assert err.code == code
    text = str(err)
    assert text.startswith("fingerprint gt521 on /dev/x: ")
    assert f"NACK_{code.name}" in text and "CAPTURE_FINGER" in text


def test_duplicate_slot_codes_name_the_slot() -> None:
    err = codec.error_for_nack(42, codes.Command.ENROLL3, device="fp")
    assert isinstance(err, codec.DuplicateFinger) and isinstance(err, DeviceCommandFailed)
    assert err.slot == 42 and err.code == 42
    assert "slot 42" in str(err)


def test_unknown_nack_is_still_a_command_failure() -> None:
    err = codec.error_for_nack(0x1FFF, codes.Command.OPEN)
    assert isinstance(err, DeviceCommandFailed) and err.code == 0x1FFF
    assert "0x1FFF" in str(err)


# -- receiver: fixed cases --------------------------------------------------------
@pytest.mark.parametrize("bytewise", [False, True])
def test_host_reads_ack_then_announced_data(bytewise: bool) -> None:
    payload = bytes(range(256)) * 2
    wire = ResponsePacket(True, 0).encode() + DataPacket(payload).encode()
    rx = PacketReceiver(Role.HOST)
    if bytewise:
        got = []
        for i in range(len(wire)):
            rx.receive_data(wire[i : i + 1])
            p = rx.next_packet()
            if p is not None:
                got.append(p)
                if isinstance(p, ResponsePacket):
                    rx.expect_data(len(payload))
    else:
        rx.receive_data(wire)
        got = [rx.next_packet()]
        rx.expect_data(len(payload))
        got.append(rx.next_packet())
    assert got == [ResponsePacket(True, 0), DataPacket(payload)]
    assert rx.next_packet() is None and rx.buffered == 0


def test_unannounced_data_packet_is_garbage() -> None:
    rx = PacketReceiver(Role.HOST)
    wire = DataPacket(b"\x01\x02\x03").encode() + ResponsePacket(True, 5).encode()
    assert feed(rx, wire, bytewise=False) == [ResponsePacket(True, 5)]
    assert rx.discarded == 9


@pytest.mark.parametrize("bytewise", [False, True])
def test_full_image_packet(bytewise: bool) -> None:
    image = bytes((i * 7) & 0xFF for i in range(codes.IMAGE_SIZE))
    rx = PacketReceiver(Role.HOST)
    rx.expect_data(codes.IMAGE_SIZE)
    got = feed(rx, DataPacket(image).encode(), bytewise=bytewise)
    assert len(got) == 1 and codec.parse_image(got[0].data) == image
    assert rx.expecting_data is None


def test_module_side_reads_commands() -> None:
    rx = PacketReceiver(Role.MODULE)
    wire = codec.cmos_led(True).encode() + codec.set_template(3).encode()
    assert feed(rx, wire, bytewise=True) == [CommandPacket(0x12, 1), CommandPacket(0x71, 3)]


def test_host_rejects_a_reply_that_is_neither_ack_nor_nack() -> None:
    rx = PacketReceiver(Role.HOST, device="fp")
    rx.receive_data(codec.close().encode())  # a command echoed back: loopback cable?
    with pytest.raises(DeviceProtocolError, match="neither ACK nor NACK"):
        rx.next_packet()


def test_bad_checksum_raises_then_resyncs() -> None:
    bad = bytearray(ResponsePacket(True, 1).encode())
    bad[6] ^= 0x40
    good = ResponsePacket(False, codes.Nack.BAD_FINGER).encode()
    rx = PacketReceiver(Role.HOST, device="fingerprint gt521 on /dev/x")
    rx.receive_data(bytes(bad) + good)
    with pytest.raises(BadChecksum) as info:
        rx.next_packet()
    assert "fingerprint gt521 on /dev/x" in str(info.value)
    assert rx.next_packet() == ResponsePacket(False, codes.Nack.BAD_FINGER)


def test_bad_data_checksum_raises_without_leaking_the_payload() -> None:
    payload = b"SECRET-TEMPLATE" * 10
    raw = bytearray(DataPacket(payload).encode())
    raw[-1] ^= 0xFF
    rx = PacketReceiver(Role.HOST)
    rx.expect_data(len(payload))
    rx.receive_data(bytes(raw))
    with pytest.raises(BadChecksum) as info:
        rx.next_packet()
    assert "SECRET" not in str(info.value) and "SECRET" not in repr(info.value)
    assert rx.expecting_data is None


def test_data_packet_repr_hides_the_payload() -> None:
    p = DataPacket(b"\x99" * 498)
    assert "498 bytes" in repr(p) and "\\x99" not in repr(p)


def test_endless_noise_is_bounded() -> None:
    rx = PacketReceiver(Role.HOST, max_buffer=1024)
    rx.expect_data(10_000)
    for _ in range(20):
        rx.receive_data(b"\x5a\xa5" + bytes(1000))
        assert rx.next_packet() is None
        assert rx.buffered <= 1024


# -- receiver: properties ------------------------------------------------------------
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
responses = st.builds(ResponsePacket, st.booleans(), u32, u16)
commands = st.builds(CommandPacket, u16, u32, u16)


def clean_garbage() -> st.SearchStrategy[bytes]:
    """Noise that contains no start code (else it would rightly be read as a packet)."""
    return st.binary(max_size=40).filter(lambda b: codec.COMMAND_START not in b and codec.DATA_START not in b)


@given(responses)
def test_response_round_trip(p: ResponsePacket) -> None:
    raw = p.encode()
    assert len(raw) == 12
    assert int.from_bytes(raw[10:], "little") == sum(raw[:10]) & 0xFFFF
    assert feed(PacketReceiver(Role.HOST), raw, bytewise=False) == [p]


@given(commands)
def test_command_round_trip(p: CommandPacket) -> None:
    assert feed(PacketReceiver(Role.MODULE), p.encode(), bytewise=True) == [p]


@given(st.binary(max_size=600), u16)
def test_data_round_trip(payload: bytes, device_id: int) -> None:
    raw = DataPacket(payload, device_id).encode()
    assert len(raw) == len(payload) + codec.DATA_OVERHEAD
    assert int.from_bytes(raw[-2:], "little") == sum(raw[:-2]) & 0xFFFF
    for bytewise in (False, True):
        rx = PacketReceiver(Role.HOST)
        rx.expect_data(len(payload))
        assert feed(rx, raw, bytewise=bytewise) == [DataPacket(payload, device_id)]


@settings(max_examples=60)
@given(st.lists(st.tuples(clean_garbage(), responses, st.one_of(st.none(), st.binary(max_size=80))), max_size=6), st.data())
def test_split_merged_and_garbage_between_frames(frames, data) -> None:
    """A host stream of replies, some followed by data, noise between them, cut anywhere."""
    wire = bytearray()
    expected: list = []
    sizes: list[int | None] = []
    for garbage, response, payload in frames:
        wire += garbage + response.encode()
        expected.append(response)
        sizes.append(None if payload is None else len(payload))
        if payload is not None:
            wire += DataPacket(payload).encode()
            expected.append(DataPacket(payload))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    pieces = [bytes(wire[a:b]) for a, b in zip([0, *cuts], [*cuts, len(wire)])]

    rx = PacketReceiver(Role.HOST)
    got: list = []
    pending = iter(sizes)
    for piece in pieces:
        rx.receive_data(piece)
        while (p := rx.next_packet()) is not None:
            got.append(p)
            if isinstance(p, ResponsePacket):
                size = next(pending)
                if size is not None:
                    rx.expect_data(size)
    assert got == expected


@given(st.one_of(responses, commands), st.integers(0, 11), st.integers(1, 255))
def test_a_corrupted_byte_is_never_accepted(p, index: int, flip: int) -> None:
    raw = bytearray(p.encode())
    raw[index] ^= flip
    role = Role.HOST if isinstance(p, ResponsePacket) else Role.MODULE
    rx = PacketReceiver(role)
    rx.receive_data(bytes(raw))
    got = []
    for _ in range(4):
        try:
            q = rx.next_packet()
        except (BadChecksum, DeviceProtocolError):
            continue
        if q is None:
            break
        got.append(q)
    assert got == []


@given(st.binary(min_size=1, max_size=300), st.integers(0, 10_000), st.integers(1, 255))
def test_a_corrupted_data_byte_is_never_accepted(payload: bytes, where: int, flip: int) -> None:
    raw = bytearray(DataPacket(payload).encode())
    raw[where % len(raw)] ^= flip
    rx = PacketReceiver(Role.HOST)
    rx.expect_data(len(payload))
    rx.receive_data(bytes(raw))
    try:
        assert rx.next_packet() is None
    except BadChecksum:
        pass
