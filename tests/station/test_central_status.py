"""The station's book of central statuses: every status kept once, the latest shown per packet."""

from __future__ import annotations

import pytest

from protocol import messages
from protocol.messages import CentralStatuses, PacketStatus
from station.central_status import CentralStatusBook


def test_statuses_are_kept_once_and_the_latest_is_shown(tmp_path):
    with CentralStatusBook(tmp_path / "central_status.db") as book:
        first = CentralStatuses("st-01", [PacketStatus("p-1", "SENT_FOR_ENROLLMENT", 10.0),
                                          PacketStatus("p-2", "ENROLL_FAILURE_FINGER_UNREADABLE", 10.0, "finger 3")])
        assert book.apply(first) == 2
        assert book.apply(first) == 0  # QoS 1 may deliver it twice
        book.apply(CentralStatuses("st-01", [PacketStatus("p-1", "PRINTED", 30.0)]))
        book.apply(CentralStatuses("st-01", [PacketStatus("p-1", "PRINT_READY_RECORD", 20.0)]))  # late, older
        assert book.status("p-1").status == "PRINTED"
        assert [s for s, _, _ in book.history("p-1")] == ["SENT_FOR_ENROLLMENT", "PRINT_READY_RECORD", "PRINTED"]
        assert book.status("p-2").reason == "finger 3"
        assert {r.packet_id for r in book.statuses()} == {"p-1", "p-2"}
    with CentralStatusBook(tmp_path / "central_status.db") as again:  # durable across restarts
        assert again.status("p-1").status == "PRINTED"


def test_the_status_message_is_validated_like_every_message():
    msg = CentralStatuses("st-01", [PacketStatus("p-1", "DUPLICATE_RECORD", 1.0, "nik")])
    assert messages.decode(CentralStatuses, messages.encode(msg)) == msg
    with pytest.raises(messages.MessageError) as exc:
        messages.decode(CentralStatuses, b'{"type":"central_status","v":1,"station_id":"st-01",'
                                         b'"statuses":[{"packet_id":"p","status":"X","at":-1}]}')
    assert "statuses[0].at" in str(exc.value)
