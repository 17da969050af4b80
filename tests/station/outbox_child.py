"""Child process for the kill -9 tests: seals and sends packets until killed.

Prints ``sealed <seq> <packet_id>`` only after Outbox.add returned (the
packet is durable), and ``sent``/``acked`` lines likewise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from protocol import packet
from protocol.keys import ControllerPublicKeys, SigningKey
from protocol.messages import AckStatus
from station.outbox import Outbox


def main(db: str, keydir: str, mode: str) -> None:
    pub = ControllerPublicKeys.from_pem(Path(keydir, "controller.pub").read_bytes())
    sk = SigningKey.from_pem(Path(keydir, "station.key").read_bytes())
    with Outbox(db) as ob:
        n = 0
        while True:
            n += 1
            payload = os.urandom(64) * 2000  # ~128 KB, like a record's images
            env = packet.seal(payload, station_id="st-01", seq=ob.next_seq(),
                              controller_key=pub.keys[0], station_key=sk)
            ob.add(env)
            print(f"sealed {env.header.seq} {env.packet_id}", flush=True)
            if mode == "send":
                for item in ob.take_for_sending(4, 10**9):
                    ob.mark_sent(item.packet_id)
                    print(f"sent {item.seq} {item.packet_id}", flush=True)
                if n % 3 == 0:
                    print(f"acking {env.header.seq} {env.packet_id}", flush=True)
                    ob.on_ack(env.packet_id, AckStatus.STORED)
                    print(f"acked {env.header.seq} {env.packet_id}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
