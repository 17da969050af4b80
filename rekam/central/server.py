"""Running the emulated centre: its directory, a self-signed certificate made at start, uvicorn.

``init`` writes ``central.toml``, the centre's HPKE key pair and an empty
``trusted/`` folder for controllers' export signing keys. ``serve`` makes a
fresh self-signed certificate (EC P-256, for 127.0.0.1 and localhost; the
controller trusts exactly that file through ``[export] central_ca_file``),
binds the port (0: a free one), writes the URL to ``central.url`` and serves
until stopped.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import shutil
import socket
import threading
from pathlib import Path

import tomli_w
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from adapters.files import write_atomic
from controller.export.keys import create_central_keys
from rekam.central.app import Central, app
from rekam.central.config import CentralDir, load

log = logging.getLogger("rekam.central")


def init(path: Path, *, settings: dict | None = None, trust: list[Path] = ()) -> CentralDir:
    """A fresh centre directory: config, HPKE keys, trusted signing keys."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "central.toml").write_text("# the emulated central system (rekam central)\n"
                                       + tomli_w.dumps({"central": settings or {}}))
    cdir = load(path)
    if not cdir.private_key.exists():
        create_central_keys(cdir.private_key, cdir.public_key)
    cdir.trusted_dir.mkdir(exist_ok=True)
    for key in trust:
        shutil.copyfile(key, cdir.trusted_dir / key.name)
    return cdir


def make_certificate(cdir: CentralDir, host: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rekam central emulator")])
    now = dt.datetime.now(dt.timezone.utc)
    alt: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        alt.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        alt.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(alt))), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    write_atomic(cdir.cert_key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()), 0o600)
    write_atomic(cdir.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)


class CentralServer:
    """The centre on a port of this machine, in this process (a thread) or as ``rekam central run``."""

    def __init__(self, path: Path) -> None:
        self.dir = load(path)
        self.central: Central | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> "CentralServer":
        s = self.dir.settings
        self.dir.url_file.unlink(missing_ok=True)
        if s.tls:
            make_certificate(self.dir, s.host)
        sock = socket.create_server((s.host, s.port), reuse_port=False)
        port = sock.getsockname()[1]
        self.url = f"{'https' if s.tls else 'http'}://{s.host}:{port}"
        self.central = Central(self.dir).start()
        config = uvicorn.Config(app(self.central), log_level="warning", lifespan="off", timeout_keep_alive=30,
                                ssl_certfile=str(self.dir.cert) if s.tls else None,
                                ssl_keyfile=str(self.dir.cert_key) if s.tls else None)
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, name="central-http",
                                        daemon=True)
        self._thread.start()
        deadline = dt.datetime.now() + dt.timedelta(seconds=20)
        while not self._server.started and dt.datetime.now() < deadline and self._thread.is_alive():
            threading.Event().wait(0.02)
        write_atomic(self.dir.url_file, self.url.encode(), 0o644)
        log.info("central system emulator at %s", self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # keep-alive clients must not hold the stop
        if self._thread is not None:
            self._thread.join(10)
        if self.central is not None:
            self.central.stop()

    def __enter__(self) -> "CentralServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
