"""``rekam sim fingerprint|signature``: a device simulator on a pseudo-terminal, standalone.

For technicians and developers without the hardware: it prints the port
path, which a station config (``port = "/dev/pts/N"``), ``rekam drivers
check --config``, or a third-party tool (pyfingerprint...) opens like a real
serial port. The resident is played from standard input, one command a line:

    place N [good|smudged|partial|dry]   put finger N (1-10) on the glass
    lift                                 take it off
    sign [good|shaky|too_short]          sign on the pad
    fault NAME                           fingerprint: no_finger, capture_fail, bad_checksum, silence, unplug
    fault clear                          ZhianTec: forget injected faults
    quit

``--finger N`` keeps a finger on the glass from the start and ``--sign-every
S`` signs every S seconds, for use without a keyboard.
"""

from __future__ import annotations

import argparse
import sys
import threading

from drivers.scene import FingerCondition, Person, Scene, SignatureCondition


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="run a serial device simulator on a pseudo-terminal and print its port",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
    ssub = p.add_subparsers(dest="sim_command", metavar="DEVICE")

    fp = ssub.add_parser("fingerprint", help="a ZhianTec/Grow (R307, R503, AS608, FPM10A) or GT-521F module")
    fp.add_argument("--family", choices=["zhiantec", "gt521"], default="zhiantec",
                    help="zhiantec (R307/R503/AS608, the default) or gt521 (ADH-Tech GT-521F)")
    fp.add_argument("--model", default=None, help="R307 (default), R503, AS608, FPM10A; GT-521F32, GT-521F52")
    fp.add_argument("--baud", type=int, default=None, help="57600 for ZhianTec, 9600 for GT-521F by default")
    fp.add_argument("--pace", action="store_true", help="take as long as a real UART at that baud rate")
    fp.add_argument("--password", type=lambda s: int(s, 0), default=0, help="ZhianTec module password")
    fp.add_argument("--person", default="resident-1", help="whose fingers (a seed for the synthetic prints)")
    fp.add_argument("--finger", type=int, default=None, help="keep this finger (1-10) on the glass from the start")
    fp.set_defaults(func=_fingerprint)

    sg = ssub.add_parser("signature", help="a Topaz-style serial signature pad")
    sg.add_argument("--model", default=None, help="pad model for calibration (default T-LBK462)")
    sg.add_argument("--pace", action="store_true", help="send samples at the pad's real rate")
    sg.add_argument("--person", default="resident-1", help="whose synthetic signature to draw")
    sg.add_argument("--sign-every", type=float, default=None, metavar="SECONDS",
                    help="sign again every SECONDS without being asked")
    sg.set_defaults(func=_signature)


def _fingerprint(args) -> int:
    scene = Scene(time_scale=1.0)
    person = Person(args.person)
    if args.family == "zhiantec":
        from drivers.fingerprint.zhiantec.simulator import Fault, ZhianTecSimulator

        sim = ZhianTecSimulator(scene, model=args.model or "R307", baud=args.baud or 57600, pace=args.pace,
                                password=args.password)
        faults = {f.value: (lambda f=f: sim.inject(f)) for f in Fault}
        # The driver polls GenImg until a finger shows: "no finger" lasts until cleared.
        faults["no_finger"] = lambda: sim.inject(Fault.NO_FINGER, count=10**9)
        faults["clear"] = sim.clear_faults
    else:
        from drivers.fingerprint.gt521.simulator import GT521Simulator

        sim = GT521Simulator(scene, model=args.model or "GT-521F52", baud=args.baud or 9600, pace=args.pace)
        faults = {"no_finger": lambda: sim.fail_next_capture(0x1012), "capture_fail": lambda: sim.fail_next_capture(),
                  "bad_checksum": sim.corrupt_next_reply, "silence": lambda: sim.set_silent(True),
                  "unplug": sim.unplug}
    sim.start()
    if args.finger:
        scene.place_finger(person, args.finger)
    print(f"{sim.description} on {sim.port} at {sim.baud} baud", flush=True)
    print("commands: place N [condition] | lift | fault NAME | quit", flush=True)
    try:
        return _repl(scene, person, faults)
    finally:
        sim.stop()


def _signature(args) -> int:
    from drivers.signature.calibration import resolve_model
    from drivers.signature.topaz_sim import TopazSimulator

    scene = Scene(time_scale=1.0)
    person = Person(args.person)
    model = resolve_model(args.model, None, device="topaz simulator") if args.model else None
    sim = TopazSimulator(scene, model=model, pace=args.pace).start()
    stop = threading.Event()
    if args.sign_every:
        def again() -> None:
            while not stop.wait(args.sign_every):
                scene.sign(person)
        threading.Thread(target=again, daemon=True).start()
    print(f"{sim.description} on {sim.port} at {sim.baud} baud", flush=True)
    print("commands: sign [condition] | fault silence|unplug | quit", flush=True)
    faults = {"silence": lambda: sim.set_silent(True), "unplug": sim.unplug}
    try:
        return _repl(scene, person, faults)
    finally:
        stop.set()
        sim.stop()


def _repl(scene: Scene, person: Person, faults: dict) -> int:
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, rest = words[0].lower(), words[1:]
        try:
            if cmd in ("quit", "exit"):
                return 0
            if cmd == "place":
                condition = FingerCondition(rest[1]) if len(rest) > 1 else FingerCondition.GOOD
                scene.place_finger(person, int(rest[0]), condition)
            elif cmd == "lift":
                scene.lift_finger()
            elif cmd == "sign":
                scene.sign(person, SignatureCondition(rest[0]) if rest else SignatureCondition.GOOD)
            elif cmd == "fault" and rest and rest[0] in faults:
                faults[rest[0]]()
            else:
                print(f"unknown command {line.strip()!r}; see rekam sim --help", flush=True)
                continue
            print("ok", flush=True)
        except (ValueError, IndexError) as exc:
            print(f"error: {exc}", flush=True)
    # stdin closed (e.g. run in the background): keep simulating until interrupted
    threading.Event().wait()
    return 0
