"""Start a throwaway Mosquitto for tests, benchmarks and the demo.

Each broker gets its own directory (config, persistence, log) and a free
loopback port, runs as the current user, and can be stopped and restarted on
the same port with its persistence intact, which is how tests prove that a
broker restart loses nothing.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


class BrokerError(RuntimeError):
    """The broker could not be started or stopped."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary (Debian puts it in /usr/sbin, often off PATH)."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for candidate in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


@dataclass
class MosquittoBroker:
    """One Mosquitto process on loopback, with its own config and state."""

    host: str = "127.0.0.1"
    port: int = 0
    workdir: Path | None = None
    #: Extra lines appended to the generated config (listeners, TLS, ACLs).
    extra_config: str = ""
    #: Write the plain anonymous loopback listener; off when extra_config has its own.
    default_listener: bool = True
    persistence: bool = True
    max_packet_size: int = 8 * 1024 * 1024
    _proc: subprocess.Popen | None = field(default=None, repr=False)
    _own_dir: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "mosquitto.log"

    def start(self, timeout: float = 10.0) -> "MosquittoBroker":
        binary = find_mosquitto()
        if binary is None:
            raise BrokerError("mosquitto is not installed (Debian: apt-get install mosquitto)")
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="rekam-mosquitto-"))
            self._own_dir = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port(self.host)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self._config())
        log = open(self.log_path, "ab")
        self._proc = subprocess.Popen(
            [binary, "-c", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        if not wait_for_port(self.host, self.port, timeout):
            self.stop()
            raise BrokerError(f"mosquitto did not listen on {self.host}:{self.port}; see {self.log_path}")
        return self

    def _config(self) -> str:
        assert self.workdir is not None
        lines = [
            f"user {getpass.getuser()}",
            f"max_packet_size {self.max_packet_size}",
            "max_queued_messages 100000",
            "max_inflight_messages 0",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            "autosave_interval 1",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            "per_listener_settings false",
        ]
        if self.default_listener:
            lines += [f"listener {self.port} {self.host}", "allow_anonymous true"]
        return "\n".join(lines) + "\n" + self.extra_config + "\n"

    def stop(self, kill: bool = False) -> None:
        """Stop the broker; a clean stop writes its persistence file first."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def reload(self) -> None:
        """SIGHUP: Mosquitto rereads its config, ACL, certificates and CRL (systemctl reload does the same)."""
        if self._proc is None or self._proc.poll() is not None:
            raise BrokerError("mosquitto is not running")
        self._proc.send_signal(signal.SIGHUP)

    def restart(self, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()

    def close(self) -> None:
        self.stop()
        if self._own_dir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "MosquittoBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None
