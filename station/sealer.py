"""Seal a finished record at once and put it in the outbox.

The record's plaintext exists only in memory, and only until this returns:
it is encoded, encrypted to the controller's public key, signed with the
station's key, and committed to the outbox in one go.
"""

from __future__ import annotations

from typing import Callable

from protocol import packet
from protocol.keys import SealingPublicKey, SigningKey
from protocol.record import EnrollmentRecord
from station.outbox import Outbox


class Sealer:
    def __init__(self, station_id: str, outbox: Outbox, controller_key: SealingPublicKey, signing_key: SigningKey,
                 *, min_free_bytes: int, on_sealed: Callable[[], None] = lambda: None) -> None:
        self.station_id = station_id
        self.outbox = outbox
        self.controller_key = controller_key
        self.signing_key = signing_key
        self.min_free_bytes = min_free_bytes
        self._on_sealed = on_sealed

    def check_space(self) -> int:
        """Called before anything is captured: LowDiskSpace if the disk is nearly full."""
        return self.outbox.check_space(self.min_free_bytes)

    def seal(self, record: EnrollmentRecord) -> packet.Envelope:
        plaintext = record.to_cbor()
        try:
            envelope = packet.seal(plaintext, station_id=self.station_id, seq=self.outbox.next_seq(),
                                   controller_key=self.controller_key, station_key=self.signing_key)
        finally:
            del plaintext
        self.outbox.add(envelope)
        self._on_sealed()
        return envelope
