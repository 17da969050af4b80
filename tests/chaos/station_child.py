"""A station process for the kill -9 test: seals records and delivers them until it is killed.

Prints ``sealed <packet_id>`` only after Outbox.add returned (the packet is
durable), while its real uplink sends and the controller acks.
"""

from __future__ import annotations

import sys
from pathlib import Path

from protocol import packet
from protocol.keys import ControllerPublicKeys, SigningKey
from rekam.sandbox import synthetic_niks, synthetic_record
from station.config import MqttSettings
from station.outbox import Outbox
from station.uplink import Uplink


def main(db: str, keydir: str, station_id: str, host: str, port: str, count: str, start: str) -> None:
    pub = ControllerPublicKeys.from_pem(Path(keydir, "controller.pub").read_bytes())
    sk = SigningKey.from_pem(Path(keydir, "station.key").read_bytes())
    niks = synthetic_niks(int(start) + int(count))[int(start):]
    with Outbox(db) as ob, Uplink(station_id, MqttSettings(host=host, port=int(port)), ob) as up:
        for nik in niks:
            record = synthetic_record(nik, station_id=station_id, face_bytes=2_000, finger_bytes=1_000)
            env = packet.seal(record.to_cbor(), station_id=station_id, seq=ob.next_seq(),
                              controller_key=pub.keys[0], station_key=sk)
            ob.add(env)
            print(f"sealed {env.packet_id}", flush=True)
            up.wake()


if __name__ == "__main__":
    main(*sys.argv[1:8])
