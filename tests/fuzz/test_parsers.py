"""Every parser of outside input, fuzzed: it returns a value or raises its own documented family, nothing else.

Hypothesis draws each input from a mix of raw bytes, structurally valid
values with wrong types and sizes, and valid inputs with bytes flipped,
dropped or inserted. CI runs FUZZ_EXAMPLES inputs per parser (10,000 by
default, with a fixed seed so a failure reproduces); ``bench/fuzz.py`` runs
a million per parser, coverage-guided.
"""

from __future__ import annotations

import json
import os

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.errors import DeviceError
from drivers.fingerprint.gt521 import codec as gt521
from drivers.fingerprint.zhiantec import codec as zhiantec
from drivers.signature.topaz_codec import PenReport, TopazDecoder
from protocol import bundle, messages, nik, packet
from protocol.errors import ProtocolError
from protocol.keys import ControllerKeys, SigningKey
from protocol.record import EnrollmentRecord, RecordError
from rekam.sandbox import synthetic_record

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10000"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

CK, SK = ControllerKeys.generate(), SigningKey.generate()
RECORD = synthetic_record("3372054512900001", face_bytes=200, finger_bytes=100)
PACKET = packet.seal(RECORD.to_cbor(), station_id="st-01", seq=7, controller_key=CK.public.keys[1],
                     station_key=SK).to_bytes()
MESSAGES = {cls: messages.encode(sample) for cls, sample in [
    (messages.State, messages.State("st-01", True, 3, "1.0", {"camera": "emulated"}, 1.5)),
    (messages.Telemetry, messages.Telemetry("st-01", 1.0, 3, 4, 5000, 1, 10**9, 12, 48.5,
                                            {"fingerprint": messages.DriverHealth("zhiantec", False, "timeout")})),
    (messages.Ack, messages.Ack("pid", messages.AckStatus.REJECTED, "bad_signature", "no")),
    (messages.AssignmentUpdate, messages.AssignmentUpdate("st-01", 2.0, "plan-1", messages.Assignment(
        "a-1", "2026-11-23", "15:00", "21:00", "33.72.01.1001"))),
    (messages.ControllerStatus, messages.ControllerStatus("ctl-1", True, 3.0)),
    (messages.Command, messages.Command("c-1", messages.CommandName.SELF_TEST, {"x": [1, {"y": None}]})),
    (messages.CommandReply, messages.CommandReply("c-1", "st-01", False, {}, "nope")),
    (messages.CertificateUpdate, messages.CertificateUpdate("st-01", "-----BEGIN CERTIFICATE-----", 1.0)),
]}

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True), st.text(max_size=40), st.binary(max_size=64))


def _trees(leaves: st.SearchStrategy) -> st.SearchStrategy:
    return st.recursive(leaves, lambda kids: st.one_of(st.lists(kids, max_size=5),
                                                        st.dictionaries(st.text(max_size=12), kids, max_size=6)),
                        max_leaves=25)


trees = _trees(scalars)  # what CBOR can hold
json_trees = _trees(st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40)))


def mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    """A valid input with a few bytes flipped, dropped or inserted, or cut short."""
    @st.composite
    def mutate(draw) -> bytes:
        data = bytearray(seed)
        for _ in range(draw(st.integers(1, 6))):
            if not data:
                break
            i = draw(st.integers(0, len(data) - 1))
            op = draw(st.sampled_from(["flip", "drop", "insert", "cut"]))
            if op == "flip":
                data[i] ^= 1 << draw(st.integers(0, 7))
            elif op == "drop":
                del data[i]
            elif op == "insert":
                data[i:i] = draw(st.binary(min_size=1, max_size=8))
            else:
                del data[i:]
        return bytes(data)
    return mutate()


def cbor_of(values: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    return values.map(lambda v: cbor2.dumps(v))


def raises_only(family: type[BaseException] | tuple, fn, data, returns: type | tuple):
    """``fn(data)`` either gives what it promises (``returns``) or raises its own family: nothing else."""
    try:
        result = fn(data)
    except family:
        return None
    assert isinstance(result, returns), type(result)
    return result


@FUZZ
@given(st.one_of(st.binary(max_size=600), mutated(PACKET), cbor_of(trees),
                 cbor_of(st.fixed_dictionaries({k: scalars for k in ("v", "id", "station", "seq", "sealed_at",
                                                                     "suite", "kid", "skid", "ct", "sig")}))))
def test_sealed_packet(data):
    env = raises_only(packet.PacketError, packet.parse, data, packet.Envelope)
    assert env is None or env.to_bytes() == data  # what parses is exactly what was signed


@FUZZ
@given(st.one_of(st.binary(max_size=400), mutated(RECORD.to_cbor()), cbor_of(trees)))
def test_record_after_decryption(data):
    raises_only(RecordError, EnrollmentRecord.from_cbor, data, EnrollmentRecord)


@pytest.mark.parametrize("cls", list(MESSAGES), ids=lambda c: c.type_name())
def test_control_messages(cls):
    seed = MESSAGES[cls]

    @FUZZ
    @given(st.one_of(st.binary(max_size=300), mutated(seed), json_trees.map(lambda v: json.dumps(v).encode()),
                     st.dictionaries(st.sampled_from(list(json.loads(seed))), json_trees, max_size=8).map(
                         lambda d: json.dumps({"v": 1, "type": cls.type_name(), **d}).encode())))
    def run(data):
        raises_only(messages.MessageError, lambda d: messages.decode(cls, d), data, cls)

    run()


BUNDLE_SEED = json.dumps({"format": bundle.FORMAT, "version": 1, "station_id": "st-01",
                          "broker": {"host": "h", "port": 8883}, "issued_at": "t", "issued_by": "c",
                          "ca_fingerprint_sha256": "x", "signing_key_id": "k", "ca_certificate": "-----BEGIN",
                          "client_certificate": "-----BEGIN", "controller_public_key": "-----BEGIN"}).encode()


@FUZZ
@given(st.one_of(st.binary(max_size=300), mutated(BUNDLE_SEED), json_trees.map(lambda v: json.dumps(v).encode())))
def test_provisioning_bundle(data):
    raises_only(bundle.BundleError, bundle.decode, data, bundle.Bundle)


@FUZZ
@given(st.one_of(st.text(max_size=24), st.from_regex(r"[0-9]{16}", fullmatch=True)))
def test_nik(text):
    found = raises_only(nik.NIKError, nik.parse, text, nik.NIK)
    assert found is None or (len(found.value) == 16 and found.value.isascii() and found.value.isdigit())


def _stream(receiver_factory, pull, returns: type | tuple):
    """Feed a codec whole and byte by byte; both must yield only frames (``returns``) or its own errors."""
    def run(data: bytes) -> None:
        for chunks in ([data], [data[i:i + 1] for i in range(len(data))]):
            r = receiver_factory()
            for chunk in chunks:
                r.receive_data(chunk)
                try:
                    while (item := pull(r)) is not None:
                        assert isinstance(item, returns), type(item)
                except DeviceError:
                    pass
    return run


ZHIANTEC_SEED = zhiantec.encode_parts(0xFFFFFFFF, 0x07, b"\x00\x01\x02") * 2
GT521_SEED = gt521.open_(True).encode() + gt521.ResponsePacket(0, True).encode()


@FUZZ
@given(st.one_of(st.binary(max_size=200), mutated(ZHIANTEC_SEED)))
def test_zhiantec_frames(data):
    _stream(zhiantec.Receiver, lambda r: r.next_frame(), zhiantec.Frame)(data)


@pytest.mark.parametrize("role", list(gt521.Role), ids=lambda r: r.name.lower())
def test_gt521_packets(role):
    @FUZZ
    @given(st.one_of(st.binary(max_size=200), mutated(GT521_SEED)))
    def run(data):
        _stream(lambda: gt521.PacketReceiver(role), lambda r: r.next_packet(),
                (gt521.CommandPacket, gt521.ResponsePacket, gt521.DataPacket))(data)

    run()


@FUZZ
@given(st.binary(max_size=200))
def test_topaz_pen_reports(data):
    _stream(TopazDecoder, lambda r: r.next_event(), PenReport)(data)


def test_every_family_is_one_of_ours():
    """The families the fuzzers accept are the documented ones, not a catch-all."""
    for family in (packet.PacketError, RecordError, messages.MessageError, bundle.BundleError, nik.NIKError):
        assert issubclass(family, ProtocolError) and family is not ProtocolError
