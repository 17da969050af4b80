"""A controller with a fleet CA, and a real Mosquitto running deploy/mosquitto/rekam.conf on loopback.

The broker's config is the production file with only its two listeners' ports
and the file paths substituted, so the tests exercise what is deployed: the
stations' listener (mount point "st/") and the controllers' listener.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from adapters.files import write_atomic
from controller import config as config_mod
from controller import keyfiles
from controller.provisioning import ca as ca_mod
from controller.store import Store
from rekam.brokers import MosquittoBroker, find_mosquitto, free_port
from tests.fixtures.controller import ControllerDir

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CONF = DEPLOY / "mosquitto" / "rekam.conf"
ACL = DEPLOY / "mosquitto" / "acl"


MOUNT = "st/"


def broker_config(*, host: str, station_port: int, controller_port: int, ca: Path, controllers_ca: Path, cert: Path,
                  key: Path, crl: Path, acl: Path) -> str:
    """deploy/mosquitto/rekam.conf with the listeners and paths for this test; everything else verbatim.

    Values in file order: the stations' listener first, then the controllers'."""
    subst = {"listener": iter([f"{station_port} {host}", f"{controller_port} {host}"]),
             "cafile": iter([ca, controllers_ca]), "certfile": iter([cert, cert]), "keyfile": iter([key, key]),
             "crlfile": iter([crl]), "acl_file": iter([acl])}
    seen: dict[str, int] = {}
    out = []
    for line in CONF.read_text().splitlines():
        words = line.split(None, 1)
        if words and words[0] in subst:
            seen[words[0]] = seen.get(words[0], 0) + 1
            line = f"{words[0]} {next(subst[words[0]])}"
        out.append(line)
    per_listener = {"listener": 2, "cafile": 2, "certfile": 2, "keyfile": 2, "crlfile": 1, "acl_file": 1}
    assert seen == per_listener, f"rekam.conf should set {per_listener}, got {seen}"
    return "\n".join(out) + "\n"


@dataclass
class Fleet:
    ctl: ControllerDir
    paths: ca_mod.CaPaths
    ca: ca_mod.FleetCA
    broker: MosquittoBroker
    controller_port: int

    def station_cert(self, station_id: str, *, days: int = 30, now=None, ca: ca_mod.FleetCA | None = None,
                     cn: str | None = None) -> tuple[Path, Path]:
        """A station certificate + key written to files (by default from the fleet CA)."""
        key = ca_mod.generate_key()
        cert = (ca or self.ca).issue(key.public_key(), cn or station_id, ca_mod.Usage.CLIENT, days=days, now=now,
                                     names=ca_mod.identity_names("station", station_id))
        d = self.ctl.path / "clients"
        tag = f"{station_id}-{cert.serial_number:x}"
        write_atomic(d / f"{tag}.key", ca_mod.key_pem(key), 0o600)
        write_atomic(d / f"{tag}.crt", ca_mod.cert_pem(cert), 0o644)
        return d / f"{tag}.crt", d / f"{tag}.key"


def make_tls_controller(path: Path, port: int, broker_hosts: tuple[str, ...] = (), *,
                        ca_init: bool = True) -> tuple[ControllerDir, ca_mod.CaPaths]:
    """A controller directory whose config talks TLS to the controllers' listener on 127.0.0.1:port,
    reaching stations under the mount point, with the certificates of `ca init`."""
    path.mkdir(parents=True, exist_ok=True)
    conf = path / "controller.toml"
    conf.write_text(
        '[controller]\nid = "controller-1"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nkeepalive_s = 5\ntls = true\n'
        f'stations_mount_point = "{MOUNT}"\n'
        'ca_file = "tls/ca.crt"\ncert_file = "tls/controller.crt"\nkey_file = "tls/controller.key"\n'
        '[ingest]\nbatch_wait_s = 0.01\n[fleet]\ncheck_interval_s = 0.2\n'
    )
    cfg = config_mod.load(conf)
    keys = keyfiles.create_keys(cfg.private_key, cfg.public_key)
    Store(cfg.store_path).open().close()
    if ca_init:
        ca_mod.init(cfg, broker_hosts=list(broker_hosts))
    return ControllerDir(path, conf, keys), ca_mod.CaPaths.for_config(cfg)


def start_broker(workdir: Path, station_port: int, controller_port: int, paths: ca_mod.CaPaths) -> MosquittoBroker:
    """Mosquitto with the deployed config and ACL, and the broker certificate and CRL from `ca init`.

    ``broker.port`` is the stations' listener."""
    if find_mosquitto() is None:
        pytest.fail("mosquitto is not installed; .ci/run installs it (apt-get install mosquitto)")
    extra = broker_config(host="127.0.0.1", station_port=station_port, controller_port=controller_port,
                          ca=paths.ca_cert, controllers_ca=paths.controllers_ca_cert, cert=paths.broker_cert,
                          key=paths.broker_key, crl=paths.crl, acl=ACL)
    return MosquittoBroker(port=station_port, workdir=workdir, extra_config=extra, default_listener=False).start()


def start_fleet(tmp_path: Path, broker_hosts: tuple[str, ...] = ()) -> Fleet:
    station_port, controller_port = free_port(), free_port()
    ctl, paths = make_tls_controller(tmp_path / "controller", controller_port, broker_hosts)
    broker = start_broker(tmp_path / "broker", station_port, controller_port, paths)
    return Fleet(ctl, paths, ca_mod.FleetCA.load(paths), broker, controller_port)


class Peer:
    """A paho client with a certificate (or none), recording what the broker does with it."""

    def __init__(self, broker: MosquittoBroker, ca: Path, cert: Path | None, key: Path | None, *,
                 client_id: str = "", clean_session: bool = True, port: int | None = None,
                 prefix: str = "") -> None:
        """``port``: another listener than the stations' (the controllers'); ``prefix``: put before every
        topic sent and taken off every topic received, as a controller's link does (``topic_prefix``)."""
        self.broker = broker
        self.port = port or broker.port
        self.prefix = prefix
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"peer-{id(self)}",
                                  clean_session=clean_session, protocol=mqtt.MQTTv311)
        self.client.tls_set(ca_certs=str(ca), certfile=str(cert) if cert else None,
                            keyfile=str(key) if key else None, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.reconnect_delay_set(30, 60)  # a refused client must not hammer the broker during a test
        self.connected = threading.Event()
        self.ended = threading.Event()
        self.messages: list[mqtt.MQTTMessage] = []
        self.granted: dict[int, list[int]] = {}
        self._cond = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.ended.set()
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    # -- connection --------------------------------------------------------------
    def _out(self, topic: str) -> str:
        if topic.startswith("$share/"):
            _, group, rest = topic.split("/", 2)
            return f"$share/{group}/{self.prefix}{rest}"
        return self.prefix + topic

    def will(self, topic: str, payload: bytes, retain: bool = True) -> "Peer":
        self.client.will_set(self._out(topic), payload, qos=1, retain=retain)
        return self

    def connect(self, timeout: float = 10.0) -> "Peer":
        self.client.connect(self.broker.host, self.port, keepalive=10)
        self.client.loop_start()
        assert self.connected.wait(timeout), "the broker did not accept this client"
        return self

    def attempt(self, timeout: float = 10.0) -> str:
        """Try to connect; 'connected', or why not (TLS error at connect, or dropped before CONNACK)."""
        try:
            self.client.connect(self.broker.host, self.port, keepalive=10)
        except (ssl.SSLError, OSError) as exc:
            return f"refused: {exc}"
        self.client.loop_start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connected.is_set():
                return "connected"
            if self.ended.wait(0.05):
                return "refused: disconnected before CONNACK"
        return "no answer"

    def drop(self) -> None:
        """Vanish without DISCONNECT, so the broker publishes the will."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()

    def close(self) -> None:
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()

    # -- traffic -----------------------------------------------------------------------
    def subscribe(self, *topics: str, timeout: float = 10.0) -> list[int]:
        """Subscribe and return the SUBACK codes (1 = granted at QoS 1, 128 = refused)."""
        result, mid = self.client.subscribe([(self._out(t), 1) for t in topics])
        assert result == mqtt.MQTT_ERR_SUCCESS
        with self._cond:
            assert self._cond.wait_for(lambda: mid in self.granted, timeout), "no SUBACK"
            return self.granted[mid]

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        info = self.client.publish(self._out(topic), payload, qos=1, retain=retain)
        info.wait_for_publish(10)
        assert info.is_published(), f"no PUBACK for {topic}"

    def wait_for(self, topic: str, payload: bytes | None = None, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: bool(self.got(topic, payload)), timeout)

    def wait_for_any(self, topics: list[str], timeout: float) -> bool:
        """True as soon as a message on any of ``topics`` is here; False at the deadline."""
        wanted = set(topics)
        with self._cond:
            return self._cond.wait_for(lambda: any(m.topic in wanted for m in self.messages), timeout)

    def got(self, topic: str, payload: bytes | None = None) -> list[mqtt.MQTTMessage]:
        with self._cond:
            return [m for m in self.messages if m.topic == topic and (payload is None or m.payload == payload)]

    # -- paho callbacks ------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if not reason_code.is_failure:
            self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._cond:
            self.granted[mid] = [int(getattr(rc, "value", rc)) for rc in reason_codes]
            self._cond.notify_all()

    def _on_message(self, client, userdata, msg) -> None:
        # A controller's prefix comes off what it receives; and Mosquitto 2.0.11 leaves the mount
        # point on what it delivers to a mounted client (fixed in 2.0.12), which a station takes off.
        strip = self.prefix or (MOUNT if self.port == self.broker.port else "")
        if strip and msg.topic.startswith(strip):
            msg._topic = msg._topic[len(strip):]  # paho keeps the topic as bytes
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()
