"""For the benchmarks: a station's serial devices in their own process, as hardware would be.

The ZhianTec scanner's and the Topaz pad's simulators run in a child process
on pseudo-terminals; the station opens them with the real drivers. The
resident's fingers and pen are moved there over a pipe (:class:`SplitScene`);
the face stays with the station's emulated camera. So what a benchmark
measures in the station's process is the station, not the simulated hardware.
"""

from __future__ import annotations

import multiprocessing

from drivers.scene import Scene


def device_host(conn) -> None:
    """The child process: the serial devices' simulators and their half of the scene."""
    from drivers.fingerprint.zhiantec.simulator import ZhianTecSimulator
    from drivers.signature.topaz_sim import TopazSimulator

    scene = Scene(time_scale=0.0)
    fp, pad = ZhianTecSimulator(scene).start(), TopazSimulator(scene).start()
    conn.send((fp.port, pad.port))
    while (msg := conn.recv()) is not None:
        name, args = msg
        getattr(scene, name)(*args)
        conn.send(True)
    fp.stop()
    pad.stop()


class SplitScene:
    """The resident as the station's devices see them: face here, finger and pen in the device process."""

    def __init__(self, local: Scene, conn) -> None:
        self.local, self.conn = local, conn

    def _remote(self, name: str, *args) -> None:
        self.conn.send((name, args))
        self.conn.recv()

    def stand(self, *a, **kw) -> None:
        self.local.stand(*a, **kw)

    def leave_camera(self) -> None:
        self.local.leave_camera()

    def place_finger(self, *args) -> None:
        self._remote("place_finger", *args)

    def lift_finger(self) -> None:
        self._remote("lift_finger")

    def sign(self, *args) -> None:
        self._remote("sign", *args)

    def clear(self) -> None:
        self.local.clear()
        self._remote("clear")


def start_devices() -> tuple[multiprocessing.Process, object, dict]:
    """The device process, the pipe to it, and the station's [devices] settings for its two ports."""
    here, there = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(target=device_host, args=(there,), daemon=True)
    child.start()
    fp_port, pad_port = here.recv()
    devices = {"fingerprint": {"driver": "zhiantec", "options": {"port": fp_port}},
               "signature": {"driver": "topaz", "options": {"port": pad_port}}}
    return child, here, devices
