"""A million inputs per parser, coverage-guided (atheris, i.e. libFuzzer for Python).

Each parser of outside input must return a value or raise its own documented
error family; anything else is a crash that libFuzzer reports with the input
that caused it. The unit tests run 10,000 hypothesis inputs per parser on
every CI run (tests/fuzz); this runs many more, guided by coverage, seeded
with a valid input of each kind.

    .venv/bin/python bench/fuzz.py [--runs 1000000] [--only packet,record,...]

Each target runs in its own process (libFuzzer keeps one target per process);
the figures printed are inputs run, seconds, and the result.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def targets() -> dict:
    """name -> (parser(bytes), its error family, a valid seed input)."""
    from drivers.errors import DeviceError
    from drivers.fingerprint.gt521 import codec as gt521
    from drivers.fingerprint.zhiantec import codec as zhiantec
    from drivers.signature.topaz_codec import TopazDecoder
    from protocol import bundle, messages, nik, packet
    from protocol.keys import ControllerKeys, SigningKey
    from protocol.record import EnrollmentRecord, RecordError
    from rekam.sandbox import synthetic_record

    record = synthetic_record("3372054512900001", face_bytes=200, finger_bytes=100)
    sealed = packet.seal(record.to_cbor(), station_id="st-01", seq=7,
                         controller_key=ControllerKeys.generate().public.keys[1],
                         station_key=SigningKey.generate()).to_bytes()

    def stream(make, pull):
        def run(data: bytes) -> None:
            r = make()
            for i in range(len(data)):
                r.receive_data(data[i:i + 1])
                while pull(r) is not None:
                    pass
        return run

    def message(cls):
        return lambda data: messages.decode(cls, data)

    out = {
        "packet": (packet.parse, packet.PacketError, sealed),
        "record": (EnrollmentRecord.from_cbor, RecordError, record.to_cbor()),
        "nik": (lambda d: nik.parse(d.decode("latin-1")), nik.NIKError, b"3372054512900001"),
        "bundle": (bundle.decode, bundle.BundleError, b'{"format": "rekam-provisioning-bundle", "version": 1}'),
        "zhiantec": (stream(zhiantec.Receiver, lambda r: r.next_frame()), DeviceError,
                     zhiantec.encode_parts(0xFFFFFFFF, 0x07, b"\x00\x01\x02")),
        "gt521": (stream(lambda: gt521.PacketReceiver(gt521.Role.HOST), lambda r: r.next_packet()), DeviceError,
                  gt521.ResponsePacket(True).encode()),
        "topaz": (stream(TopazDecoder, lambda r: r.next_event()), DeviceError, b"\xc0\x10\x20\x30\x40"),
    }
    for cls in (messages.State, messages.Telemetry, messages.Ack, messages.AssignmentUpdate, messages.Command,
                messages.CommandReply, messages.ControllerStatus, messages.CertificateUpdate):
        seed = json.dumps({"v": 1, "type": cls.type_name()}).encode()
        out[f"message.{cls.type_name()}"] = (message(cls), messages.MessageError, seed)
    return out


def child(name: str, runs: int) -> None:
    import atheris

    with atheris.instrument_imports():
        table = targets()
    parse, family, seed = table[name]

    def one(data: bytes) -> None:
        try:
            parse(data)
        except family:
            pass

    corpus = Path(tempfile.mkdtemp(prefix=f"rekam-fuzz-{name}-"))
    (corpus / "seed").write_bytes(seed)
    atheris.Setup([sys.argv[0], f"-runs={runs}", "-max_len=4096", "-print_final_stats=1", str(corpus)], one)
    atheris.Fuzz()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1_000_000, help="inputs per parser")
    ap.add_argument("--only", default="", help="comma-separated parser names (default: all)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.runs)
        return
    names = [n for n in targets() if not args.only or n in args.only.split(",")]
    print(f"{'parser':28} {'inputs':>10} {'seconds':>8}  result")
    failed = 0
    for name in names:
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, __file__, "--child", name, "--runs", str(args.runs)],
                           capture_output=True, text=True)
        done = next((int(line.split(":")[-1]) for line in r.stderr.splitlines()
                     if line.startswith("stat::number_of_executed_units")), 0)
        ok = r.returncode == 0
        failed += not ok
        print(f"{name:28} {done:>10,} {time.monotonic() - t0:8.0f}  {'ok' if ok else 'CRASH (see below)'}",
              flush=True)
        if not ok:
            print("\n".join(r.stderr.splitlines()[-30:]))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
