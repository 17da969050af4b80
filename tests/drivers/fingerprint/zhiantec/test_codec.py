"""The ZhianTec codec alone: framing, checksums, resync, builders and parsers.

Every parser runs on its input whole and one byte at a time (h11's habit);
hypothesis generates frames, splits, merges and garbage.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.errors import BadChecksum, DeviceProtocolError
from drivers.fingerprint.zhiantec import codec, messages
from drivers.fingerprint.zhiantec.codes import (
    PACKET_SIZES,
    AuraColor,
    AuraMode,
    Confirmation,
    Instruction,
    PacketId,
    SysParam,
    meaning,
)

pytestmark = pytest.mark.timeout(60)

PIDS = [int(p) for p in PacketId]

frames = st.builds(
    codec.Frame,
    address=st.integers(0, 0xFFFFFFFF),
    pid=st.sampled_from(PIDS),
    content=st.binary(min_size=0, max_size=codec.MAX_CONTENT),
)
# Garbage that cannot contain a start code (0xEF never appears in it).
garbage = st.binary(max_size=40).map(lambda b: b.replace(b"\xef", b"\x00"))


def feed_all(rx: codec.Receiver, data: bytes, *, step: int | None = None) -> list[codec.Frame]:
    out = []
    if step is None:
        rx.receive_data(data)
        out += rx.frames()
    else:
        for i in range(0, len(data), step):
            rx.receive_data(data[i : i + step])
            out += rx.frames()
    return out


# -- known bytes --------------------------------------------------------------


def test_genimg_command_bytes_match_the_manual() -> None:
    # The manual's example: EF01 FFFFFFFF 01 0003 01 0005.
    assert messages.gen_img().encode() == bytes.fromhex("EF01FFFFFFFF010003010005")


def test_read_sys_para_and_template_num_checksums_match_the_manual() -> None:
    assert messages.read_sys_para().encode()[-2:] == bytes.fromhex("0013")
    assert messages.template_num().encode()[-2:] == bytes.fromhex("0021")


def test_checksum_is_low_16_bits_of_the_sum() -> None:
    content = bytes([0xFF]) * 256
    assert codec.checksum(PacketId.DATA, content) == (2 + 0x01 + 0x02 + 255 * 256) & 0xFFFF


def test_vfy_pwd_carries_the_password_big_endian() -> None:
    cmd = messages.vfy_pwd(0x01020304)
    assert cmd.content == bytes([Instruction.VFY_PWD, 1, 2, 3, 4])
    assert "1, 2" not in repr(cmd) and "param bytes" in repr(cmd)


# -- receiver contract -----------------------------------------------------


@given(st.lists(frames, min_size=1, max_size=6))
@settings(max_examples=150, deadline=None)
def test_round_trip_whole_and_byte_by_byte(fs: list[codec.Frame]) -> None:
    wire = b"".join(codec.encode(f) for f in fs)
    assert feed_all(codec.Receiver(), wire) == fs
    assert feed_all(codec.Receiver(), wire, step=1) == fs


@given(st.lists(frames, min_size=1, max_size=5), st.data())
@settings(max_examples=150, deadline=None)
def test_split_and_merged_reads_give_the_same_frames(fs: list[codec.Frame], data: st.DataObject) -> None:
    wire = b"".join(codec.encode(f) for f in fs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=12)))
    rx, got, last = codec.Receiver(), [], 0
    for cut in cuts + [len(wire)]:
        rx.receive_data(wire[last:cut])
        last = cut
        got += rx.frames()
    assert got == fs
    assert rx.buffered == 0


@given(st.lists(st.tuples(garbage, frames), min_size=1, max_size=5), garbage)
@settings(max_examples=150, deadline=None)
def test_garbage_between_frames_is_skipped(pairs: list[tuple[bytes, codec.Frame]], tail: bytes) -> None:
    wire = b"".join(g + codec.encode(f) for g, f in pairs) + tail
    expected = [f for _, f in pairs]
    rx = codec.Receiver()
    assert feed_all(rx, wire) == expected
    assert rx.skipped == sum(len(g) for g, _ in pairs) + len(tail)
    assert feed_all(codec.Receiver(), wire, step=1) == expected


@given(frames, frames, st.integers(0, 1))
@settings(max_examples=150, deadline=None)
def test_bad_checksum_raises_then_the_next_frame_still_arrives(bad: codec.Frame, good: codec.Frame, which: int) -> None:
    raw = bytearray(codec.encode(bad))
    raw[-1 - which] ^= 0x01  # damage one checksum byte
    rx = codec.Receiver()
    rx.receive_data(bytes(raw) + codec.encode(good))
    with pytest.raises(BadChecksum, match="checksum"):
        rx.next_frame()
    assert rx.next_frame() == good
    assert rx.bad_frames == 1


def test_bad_checksum_byte_by_byte_raises_exactly_when_the_frame_completes() -> None:
    raw = bytearray(messages.Ack(0).encode())
    raw[-1] ^= 0xFF
    rx = codec.Receiver()
    for b in raw[:-1]:
        rx.receive_data(bytes([b]))
        assert rx.next_frame() is None
    rx.receive_data(bytes(raw[-1:]))
    with pytest.raises(BadChecksum):
        rx.next_frame()


def test_corrupted_content_is_caught_by_the_checksum() -> None:
    raw = bytearray(codec.encode(codec.Frame(0xFFFFFFFF, PacketId.DATA, bytes(range(100)))))
    raw[20] ^= 0x10
    rx = codec.Receiver()
    rx.receive_data(bytes(raw))
    with pytest.raises(BadChecksum):
        rx.next_frame()


def test_need_more_data_returns_none_and_keeps_a_split_start_code() -> None:
    wire = messages.Ack(0).encode()
    rx = codec.Receiver()
    rx.receive_data(b"\x00\x13" + wire[:1])  # garbage then half the start code
    assert rx.next_frame() is None
    assert rx.skipped == 2
    rx.receive_data(wire[1:])
    assert rx.next_frame() == messages.Ack(0).frame()


def test_impossible_length_and_unknown_pid_are_resynced_past() -> None:
    good = messages.Ack(Confirmation.NO_FINGER).encode()
    fake_long = b"\xef\x01\xff\xff\xff\xff\x07\xff\xff"  # length 65535: cannot be a frame
    fake_pid = b"\xef\x01\xff\xff\xff\xff\x05\x00\x03"  # PID 05 does not exist
    rx = codec.Receiver()
    rx.receive_data(fake_long + fake_pid + good)
    assert rx.next_frame() == messages.Ack(Confirmation.NO_FINGER).frame()


def test_frame_repr_shows_size_not_content() -> None:
    f = codec.Frame(1, PacketId.DATA, b"\x12\x34" * 10)
    assert "20 content bytes" in repr(f)
    assert "\\x12" not in repr(f) and "1234" not in repr(f)


# -- commands and replies ---------------------------------------------------------


@pytest.mark.parametrize(
    "command, content",
    [
        (messages.img2tz(2), [0x02, 2]),
        (messages.search(1, 0, 1000), [0x04, 1, 0, 0, 0x03, 0xE8]),
        (messages.store(1, 300), [0x06, 1, 0x01, 0x2C]),
        (messages.load_char(2, 7), [0x07, 2, 0, 7]),
        (messages.up_char(1), [0x08, 1]),
        (messages.down_char(2), [0x09, 2]),
        (messages.up_image(), [0x0A]),
        (messages.delet_char(10, 3), [0x0C, 0, 10, 0, 3]),
        (messages.empty(), [0x0D]),
        (messages.set_sys_para(SysParam.BAUD, 12), [0x0E, 4, 12]),
        (messages.read_index_table(1), [0x1F, 1]),
        (messages.aura_led_config(AuraMode.BREATHING, 0x80, AuraColor.BLUE, 3), [0x35, 1, 0x80, 2, 3]),
        (messages.read_prod_info(), [0x3C]),
        (messages.reg_model(), [0x05]),
        (messages.match(), [0x03]),
    ],
)
def test_builders_lay_out_parameters_as_the_manual_says(command: messages.Command, content: list[int]) -> None:
    assert command.content == bytes(content)
    assert messages.parse_command(command.frame(0x12345678)) == command


def test_parse_command_rejects_an_ack() -> None:
    with pytest.raises(DeviceProtocolError):
        messages.parse_command(messages.Ack(0).frame())


@given(
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
    st.integers(0, 1000),
    st.integers(1, 5),
    st.integers(0, 0xFFFFFFFF),
    st.sampled_from(PACKET_SIZES),
    st.integers(1, 12),
)
@settings(deadline=None)
def test_sys_para_round_trip(status, sysid, cap, level, addr, size, n) -> None:  # noqa: ANN001
    para = messages.SysPara(status, sysid, cap, level, addr, size, n * 9600)
    ack = messages.parse_ack(messages.Ack(0, para.to_bytes()).frame())
    assert len(ack.params) == 16
    assert messages.parse_sys_para(ack) == para


def test_short_sys_para_reply_is_a_protocol_error() -> None:
    with pytest.raises(DeviceProtocolError, match="ReadSysPara"):
        messages.parse_sys_para(messages.Ack(0, b"\x00" * 10))


@given(st.sets(st.integers(0, 1023), max_size=60), st.integers(0, 3))
@settings(deadline=None)
def test_index_table_round_trip_per_page(slots: set[int], page: int) -> None:
    ack = messages.Ack(0, messages.index_table_bytes(slots, page))
    assert messages.parse_index_table(ack, page) == frozenset(s for s in slots if page * 256 <= s < page * 256 + 256)


def test_index_table_bit_order_is_low_bit_first() -> None:
    table = messages.index_table_bytes({0, 9}, 0)
    assert table[0] == 0x01 and table[1] == 0x02


def test_product_info_round_trip_is_46_bytes() -> None:
    info = messages.ProductInfo("R503", "0001", "12345678", (1, 2), "R503", 192, 192, 512, 200)
    raw = info.to_bytes()
    assert len(raw) == messages.ProductInfo.SIZE == 46
    assert messages.parse_prod_info(messages.Ack(0, raw)) == info


def test_search_match_random_and_count_parsers() -> None:
    assert messages.parse_search(messages.Ack(0, messages.SearchResult(12, 345).to_bytes())) == messages.SearchResult(12, 345)
    assert messages.parse_match(messages.Ack(0, b"\x01\x00")) == 256
    assert messages.parse_random(messages.Ack(0, b"\x00\x00\x01\x00")) == 256
    assert messages.parse_template_count(messages.Ack(0, b"\x00\x07")) == 7
    assert messages.parse_text(messages.Ack(0, b"V1.2\0\0\0")) == "V1.2"


def test_sys_param_values_are_validated() -> None:
    assert messages.sys_param_value(4, 12) == (SysParam.BAUD, 115200)
    assert messages.sys_param_value(6, 3) == (SysParam.PACKET_SIZE, 256)
    with pytest.raises(ValueError):
        messages.sys_param_value(4, 13)
    with pytest.raises(ValueError):
        messages.sys_param_value(9, 1)


def test_every_confirmation_code_has_a_meaning() -> None:
    for code in Confirmation:
        assert "reserved" not in meaning(code)
    assert "reserved" in meaning(0x99)


# -- data transfers and images ------------------------------------------------------


@given(st.binary(min_size=1, max_size=2000), st.sampled_from(PACKET_SIZES), st.integers(1, 64))
@settings(max_examples=100, deadline=None)
def test_data_split_and_reassembly(payload: bytes, size: int, step: int) -> None:
    wire = codec.encode_data(0xFFFFFFFF, payload, size)
    got = feed_all(codec.Receiver(), wire, step=step)
    assert [f.pid for f in got[:-1]] == [PacketId.DATA] * (len(got) - 1)
    assert got[-1].pid == PacketId.END_DATA
    assert all(len(f.content) <= size for f in got)
    assembler = codec.DataAssembler(len(payload))
    results = [assembler.feed(f) for f in got]
    assert results[:-1] == [None] * (len(got) - 1)
    assert results[-1] == payload


def test_assembler_rejects_a_non_data_frame_and_an_overlong_transfer() -> None:
    with pytest.raises(DeviceProtocolError):
        codec.DataAssembler(10).feed(messages.Ack(0).frame())
    with pytest.raises(DeviceProtocolError, match="exceeds"):
        codec.DataAssembler(4).feed(codec.Frame(0, PacketId.DATA, b"12345"))


def test_image_packing_is_high_nibble_left_and_expands_by_17() -> None:
    pixels = np.array([[0x10, 0xF0, 0x00, 0xFF]], np.uint8)
    packed = codec.pack_image(pixels)
    assert packed == bytes([0x1F, 0x0F])
    assert codec.unpack_image(packed, 4, 1).tolist() == [[17, 255, 0, 255]]


@given(st.integers(1, 20), st.integers(1, 20), st.data())
@settings(max_examples=50, deadline=None)
def test_image_round_trip_keeps_the_high_nibble(w2: int, h: int, data: st.DataObject) -> None:
    w = 2 * w2
    raw = data.draw(st.binary(min_size=w * h, max_size=w * h))
    pixels = np.frombuffer(raw, np.uint8).reshape(h, w)
    back = codec.unpack_image(codec.pack_image(pixels), w, h)
    assert np.array_equal(back, (pixels >> 4) * 17)


def test_unpack_rejects_the_wrong_size() -> None:
    with pytest.raises(DeviceProtocolError, match="expected"):
        codec.unpack_image(b"\x00" * 10, 256, 288)


def test_image_wire_bytes_for_the_r307_at_128_byte_packets() -> None:
    assert codec.image_wire_bytes(256, 288, 128) == 36864 + 288 * 11


@pytest.mark.parametrize("width, height", [(3, 5), (0, 0), (-2, -2), (0, 10)])
def test_image_dimensions_from_the_module_are_checked_like_any_input(width, height):
    """Odd or empty sizes in the module's reply raise the codec's own error, never numpy's ValueError."""
    with pytest.raises(DeviceProtocolError, match="cannot arrive at 4 bits"):
        codec.unpack_image(b"\x00" * 7, width, height)
