"""The controller's HTTPS client to the central system; httpx errors are mapped here, once.

Endpoints (see rekam/central for the emulator that serves them):

* ``POST /v1/batches`` with CBOR ``{"manifest": bytes, "batch": bytes}``: 200 once
  the centre holds the batch durably (again 200, ``duplicate_batch``, for a
  batch it already has); 4xx with ``{"error": reason_id}`` when it refuses it.
* ``GET /v1/statuses?origin=ID&after=N``: status events after cursor N.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import cbor2
import httpx
import msgspec

from controller.errors import ControllerError


class CentralError(ControllerError):
    reason_id = "central_error"


class CentralUnavailable(CentralError):
    """Not reachable, timed out or failing (5xx): try again later, nothing is lost."""

    reason_id = "central_unavailable"


class CentralRefused(CentralError):
    """The centre answered and refused (4xx); the reason id says why."""

    def __init__(self, reason_id: str, message: str) -> None:
        super().__init__(message)
        self.reason_id = reason_id


class StatusEvent(msgspec.Struct, frozen=True):
    seq: int
    packet_id: str
    status: str
    at: float
    reason: str = ""


class _Statuses(msgspec.Struct, frozen=True):
    statuses: list[StatusEvent]
    next: int


class _Accepted(msgspec.Struct, frozen=True):
    batch_id: str
    received: int
    duplicate_batch: bool = False


@dataclass(frozen=True)
class Accepted:
    batch_id: str
    received: int
    duplicate_batch: bool


class CentralClient:
    def __init__(self, base_url: str, *, ca_file: Path | None = None, timeout_s: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not base_url:
            raise CentralError("no central system configured: set [export] central_url")
        verify: bool | ssl.SSLContext = ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
        self._http = httpx.Client(base_url=base_url.rstrip("/"), verify=verify, timeout=timeout_s,
                                  transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "CentralClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _request(self, method: str, path: str, **kw) -> httpx.Response:
        try:
            r = self._http.request(method, path, **kw)
        except httpx.TimeoutException as exc:
            raise CentralUnavailable(f"central system timed out ({exc.__class__.__name__})") from None
        except httpx.TransportError as exc:
            raise CentralUnavailable(f"central system unreachable: {exc.__class__.__name__}: {exc}") from None
        if r.status_code >= 500:
            raise CentralUnavailable(f"central system failed: HTTP {r.status_code}")
        if r.status_code >= 400:
            try:
                body = r.json()
                reason, detail = str(body.get("error", "refused")), str(body.get("detail", ""))
            except ValueError:
                reason, detail = "refused", r.text[:200]
            raise CentralRefused(reason, f"central system refused: HTTP {r.status_code} {reason} {detail}".strip())
        return r

    def send_batch(self, batch: bytes, manifest: bytes) -> Accepted:
        r = self._request("POST", "/v1/batches", content=cbor2.dumps({"manifest": manifest, "batch": batch}),
                          headers={"content-type": "application/cbor"})
        try:
            a = msgspec.json.decode(r.content, type=_Accepted)
        except msgspec.DecodeError as exc:
            raise CentralRefused("bad_answer", f"central system's answer is not understood: {exc}") from None
        return Accepted(a.batch_id, a.received, a.duplicate_batch)

    def statuses(self, origin: str, after: int, limit: int = 1000) -> tuple[list[StatusEvent], int]:
        r = self._request("GET", "/v1/statuses", params={"origin": origin, "after": after, "limit": limit})
        try:
            s = msgspec.json.decode(r.content, type=_Statuses)
        except msgspec.DecodeError as exc:
            raise CentralRefused("bad_answer", f"central system's statuses are not understood: {exc}") from None
        return s.statuses, s.next
