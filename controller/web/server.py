"""Serving the dashboard: uvicorn on its own thread, on the configured address, TLS when configured.

The socket is bound here, before the thread starts, so a port taken by
someone else is an error at start (naming the address) and port 0 gives a
free port whose URL is known at once. :meth:`WebServer.stop` ends the live
streams first, then asks uvicorn to finish the requests in hand.
"""

from __future__ import annotations

import logging
import secrets
import socket
import ssl
import threading
from pathlib import Path

import uvicorn

from adapters.files import read_private, write_atomic
from controller.errors import ControllerError
from controller.web_settings import WebSettings

log = logging.getLogger(__name__)


class WebError(ControllerError):
    reason_id = "web_error"


def session_secret(path: Path) -> str:
    """The key that signs session cookies: read, or made once (mode 0600)."""
    if not path.exists():
        write_atomic(path, secrets.token_hex(32).encode() + b"\n", 0o600)
    return read_private(path, "web session key", "it is made at the first start", WebError).decode().strip()


class WebServer:
    def __init__(self, app, settings: WebSettings) -> None:
        self.settings = settings
        self._app = app
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = settings.port

    @property
    def url(self) -> str:
        host = self.settings.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[" + host + "]" if ":" in host else host)
        return f"{'https' if self.settings.tls else 'http'}://{shown}:{self.port}"

    def start(self, on_stop=None) -> "WebServer":
        s = self.settings
        if s.tls:
            try:  # check the files now, with a clear error, rather than in the server thread
                ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(str(s.tls_cert), str(s.tls_key))
            except (OSError, ssl.SSLError) as exc:
                raise WebError(f"web.tls_cert {s.tls_cert} / web.tls_key {s.tls_key} unusable: {exc}") from exc
        family = socket.AF_INET6 if ":" in s.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((s.host, s.port))
        except OSError as exc:
            sock.close()
            raise WebError(f"the dashboard cannot listen on {s.host}:{s.port}: {exc.strerror}") from exc
        sock.listen(128)
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=3, proxy_headers=False, server_header=False,
                                ssl_certfile=str(s.tls_cert) if s.tls else None,
                                ssl_keyfile=str(s.tls_key) if s.tls else None)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="web-server", daemon=True)
        self._thread.start()
        log.info("dashboard at %s", self.url)
        return self

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except Exception:
            log.exception("the dashboard server stopped")

    def wait_started(self, timeout: float = 10.0) -> bool:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server is not None and self._server.started:
                return True
            if self._thread is not None and not self._thread.is_alive():
                return False
            time.sleep(0.02)
        return False

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(2)
        if self._sock is not None:
            self._sock.close()
        self._thread = self._server = self._sock = None
