"""The Topaz report codec alone: whole, byte by byte, split, merged, with garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.signature.topaz_codec import REPORT_LEN, PenReport, TopazDecoder, encode_report


def reports(bits: int = 12) -> st.SearchStrategy[PenReport]:
    coord = st.integers(0, (1 << bits) - 1)
    return st.builds(PenReport, x=coord, y=coord, pen_down=st.booleans(), in_proximity=st.booleans())


report_lists = st.integers(12, 14).flatmap(lambda b: st.tuples(st.just(b), st.lists(reports(b), max_size=30)))

#: Line noise that can never complete a report: data bytes (skipped when no
#: report is open), then torn reports (a sync byte and at most three data
#: bytes, cut short by the next sync byte).
data_bytes = st.binary(max_size=8).map(lambda b: bytes(x & 0x7F for x in b))
torn_frames = st.tuples(st.integers(0x80, 0xFF), st.binary(max_size=3)).map(
    lambda t: bytes([t[0]]) + bytes(x & 0x7F for x in t[1])
)
noise = st.tuples(data_bytes, st.lists(torn_frames, max_size=3)).map(lambda t: t[0] + b"".join(t[1]))


def encode_all(items: list[PenReport], bits: int) -> bytes:
    return b"".join(encode_report(r, bits=bits) for r in items)


def test_known_vector_follows_the_topaz_layout() -> None:
    # sync with proximity (0x40) and tip (0x01); x = 1000, y = 300, low 7 bits first
    wire = encode_report(PenReport(x=1000, y=300, pen_down=True, in_proximity=True))
    assert wire == bytes([0xC1, 1000 & 0x7F, 1000 >> 7, 300 & 0x7F, 300 >> 7])
    hover = encode_report(PenReport(x=5, y=6, pen_down=False, in_proximity=True))
    assert hover[0] == 0xC0
    gone = encode_report(PenReport(x=5, y=6, pen_down=False, in_proximity=False))
    assert gone[0] == 0x80
    assert all(b < 0x80 for b in wire[1:])


@given(report_lists)
def test_round_trip_whole(case: tuple[int, list[PenReport]]) -> None:
    bits, items = case
    decoder = TopazDecoder(bits=bits)
    assert decoder.feed(encode_all(items, bits)) == items
    assert decoder.discarded == 0 and decoder.pending_bytes == 0


@given(report_lists)
def test_round_trip_byte_by_byte(case: tuple[int, list[PenReport]]) -> None:
    bits, items = case
    decoder = TopazDecoder(bits=bits)
    out: list[PenReport] = []
    for byte in encode_all(items, bits):
        decoder.receive_data(bytes([byte]))
        while (event := decoder.next_event()) is not None:
            out.append(event)
    assert out == items


@given(report_lists, st.lists(st.integers(0, 200), max_size=10))
def test_split_and_merged_reads(case: tuple[int, list[PenReport]], cuts: list[int]) -> None:
    bits, items = case
    wire = encode_all(items, bits)
    points = sorted({min(c, len(wire)) for c in cuts} | {0, len(wire)})
    decoder = TopazDecoder(bits=bits)
    out: list[PenReport] = []
    for a, b in zip(points, points[1:]):
        out += decoder.feed(wire[a:b])
    assert out == items


@given(report_lists, noise, st.lists(noise, max_size=30))
def test_noise_between_reports_is_skipped(case: tuple[int, list[PenReport]], head: bytes, gaps: list[bytes]) -> None:
    bits, items = case
    wire = head + b"".join(
        encode_report(r, bits=bits) + (gaps[i] if i < len(gaps) else b"") for i, r in enumerate(items)
    )
    decoder = TopazDecoder(bits=bits)
    out = []
    for byte in wire:  # byte by byte, the hardest way in
        out += decoder.feed(bytes([byte]))
    expected_noise = len(head) + sum(len(g) for g in gaps[: len(items)])
    if items:
        assert out == items
        assert decoder.discarded + decoder.pending_bytes == expected_noise


@given(st.binary(max_size=64), report_lists)
def test_resyncs_after_arbitrary_garbage(garbage: bytes, case: tuple[int, list[PenReport]]) -> None:
    # Garbage may itself look like reports; the real ones must all follow intact.
    bits, items = case
    out = TopazDecoder(bits=bits).feed(garbage + encode_all(items, bits))
    assert out[len(out) - len(items) :] == items


def test_garbage_without_sync_produces_nothing_and_is_counted() -> None:
    decoder = TopazDecoder()
    assert decoder.feed(bytes(range(0, 0x80, 3))) == []
    assert decoder.discarded == len(range(0, 0x80, 3))


def test_torn_report_is_dropped_when_the_next_sync_arrives() -> None:
    good = PenReport(x=2047, y=1, pen_down=True, in_proximity=True)
    decoder = TopazDecoder()
    decoder.receive_data(b"\xc1\x10\x02")  # three bytes of a report, then the line glitched
    assert decoder.next_event() is None and decoder.pending_bytes == 3
    decoder.receive_data(encode_report(good))
    assert decoder.next_event() == good
    assert decoder.next_event() is None
    assert decoder.discarded == 3


def test_report_with_out_of_range_high_bits_is_malformed() -> None:
    decoder = TopazDecoder(bits=12)
    # x high byte 0x20 would be bit 12: impossible on a 12-bit pad
    assert decoder.feed(bytes([0xC1, 0x00, 0x20, 0x00, 0x00])) == []
    assert decoder.malformed == 1 and decoder.discarded == REPORT_LEN
    # the same bytes are a valid 14-bit report
    assert TopazDecoder(bits=14).feed(bytes([0xC1, 0x00, 0x20, 0x00, 0x00]))[0].x == 0x20 << 7


def test_reset_forgets_partial_and_undelivered_reports() -> None:
    decoder = TopazDecoder()
    decoder.receive_data(encode_report(PenReport(1, 2, True, True)) + b"\xc1\x01")
    decoder.reset()
    assert decoder.next_event() is None and decoder.pending_bytes == 0
    decoder.receive_data(b"\x01\x02\x03")  # the rest of the torn report is now garbage
    assert decoder.next_event() is None


@settings(max_examples=30)
@given(st.integers(12, 14))
def test_encoder_refuses_values_that_do_not_fit(bits: int) -> None:
    with pytest.raises(ValueError):
        encode_report(PenReport(x=1 << bits, y=0, pen_down=True, in_proximity=True), bits=bits)
    with pytest.raises(ValueError):
        PenReport(x=-1, y=0, pen_down=True, in_proximity=True)
    with pytest.raises(ValueError):
        TopazDecoder(bits=15)


def test_repr_keeps_coordinates_out() -> None:
    text = repr(PenReport(x=1234, y=987, pen_down=True, in_proximity=True))
    assert "1234" not in text and "987" not in text and "pen_down=True" in text
