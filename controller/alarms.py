"""What deserves an operator's eye, decided from one station's row: pure rules, no I/O.

Each alarm kind has a severity and a text in both operator languages
(Bahasa Indonesia first, English). The store keeps an alarm's kind and its
parameters, so the dashboard and the webhook render the text in the reader's
language; the English text is also kept as the alarm's message for logs and
the CLI.

Kinds:

* ``offline``        offline (or "online" but silent) longer than the threshold while assigned today;
* ``stale``          no contact at all for ``stale_after_h`` hours, assigned or not;
* ``outbox_backlog`` the station's outbox deeper than the threshold;
* ``driver_failing`` a device reported unhealthy;
* ``disk_low``       free disk under the threshold;
* ``quarantined``    the station holds quarantined packets, or the controller kept some of its packets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from controller.config import FleetSettings
from controller.store import Station

ALARM_KINDS = ("offline", "stale", "outbox_backlog", "driver_failing", "disk_low", "quarantined")

SEVERITY = {
    "offline": "critical",
    "stale": "warning",
    "outbox_backlog": "warning",
    "driver_failing": "critical",
    "disk_low": "warning",
    "quarantined": "warning",
}
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}

_TEXT: dict[str, dict[str, str]] = {
    "offline": {
        "id": "{station} offline selama {minutes} menit saat bertugas",
        "en": "{station} offline for {minutes} min during its assignment",
    },
    "offline_silent": {
        "id": "{station} diam (tanpa kabar) selama {minutes} menit saat bertugas",
        "en": "{station} silent for {minutes} min during its assignment",
    },
    "stale": {
        "id": "Kontak terakhir dengan {station} sudah lebih dari {hours} jam",
        "en": "last contact with {station} was more than {hours} h ago",
    },
    "outbox_backlog": {
        "id": "Antrean kirim {station} menumpuk: {depth} paket",
        "en": "{station} outbox holds {depth} packets",
    },
    "driver_failing": {
        "id": "Perangkat bermasalah di {station}: {devices}",
        "en": "failing device on {station}: {devices}",
    },
    "disk_low": {
        "id": "Ruang disk {station} tinggal {free_mib} MiB",
        "en": "{station} has {free_mib} MiB of disk free",
    },
    "quarantined": {
        "id": "Paket dikarantina untuk {station}: {at_station} di stasiun, {at_controller} di pengendali",
        "en": "quarantined packets for {station}: {at_station} on the station, {at_controller} on the controller",
    },
}

SEVERITY_TEXT = {"critical": {"id": "kritis", "en": "critical"}, "warning": {"id": "peringatan", "en": "warning"},
                 "info": {"id": "info", "en": "info"}}
KIND_TEXT = {
    "offline": {"id": "Offline saat bertugas", "en": "Offline during assignment"},
    "stale": {"id": "Lama tanpa kontak", "en": "No contact for long"},
    "outbox_backlog": {"id": "Antrean kirim menumpuk", "en": "Outbox backing up"},
    "driver_failing": {"id": "Perangkat bermasalah", "en": "Failing device"},
    "disk_low": {"id": "Disk hampir penuh", "en": "Low disk"},
    "quarantined": {"id": "Paket dikarantina", "en": "Packets quarantined"},
}


@dataclass(frozen=True)
class Condition:
    """An alarm that should be open now, with what its text needs."""

    kind: str
    params: Mapping[str, Any]

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]


def text(kind: str, params: Mapping[str, Any] | None, station_id: str, language: str = "id") -> str:
    """The alarm's sentence in ``language`` (``id`` or ``en``); unknown kinds fall back to the kind."""
    p = dict(params or {})
    key = "offline_silent" if kind == "offline" and p.get("silent") else kind
    template = _TEXT.get(key, {}).get(language) or _TEXT.get(key, {}).get("en")
    if template is None:
        return f"{kind} ({station_id})"
    if kind == "driver_failing":
        p["devices"] = "; ".join(f"{d.get('kind')}: {d.get('reason') or 'failing'}" for d in p.get("devices", []))
    try:
        return template.format(station=station_id, **p)
    except (KeyError, IndexError, ValueError):  # an alarm stored by an older version
        return f"{KIND_TEXT.get(kind, {}).get(language, kind)} ({station_id})"


def conditions(st: Station, now: float, settings: FleetSettings, *, assigned_today: bool,
               quarantined_here: int = 0) -> list[Condition]:
    """The alarms that should be open for ``st`` at ``now``."""
    s = settings
    t = st.last_telemetry or {}
    out: list[Condition] = []
    silent = st.online and st.last_seen is not None and now - st.last_seen > s.silent_after_s
    if not st.online:
        offline_since = st.state_at or st.registered_at
    elif silent:
        offline_since = st.last_seen  # said online, then went quiet: a lost will, a hung uplink
    else:
        offline_since = None
    if assigned_today and offline_since is not None and now - offline_since > s.offline_alarm_s:
        out.append(Condition("offline", {"minutes": round((now - offline_since) / 60), "silent": bool(silent)}))
    last_contact = st.last_seen if st.last_seen is not None else st.registered_at
    if now - last_contact > s.stale_after_h * 3600:
        out.append(Condition("stale", {"hours": _hours(s.stale_after_h)}))
    depth = t.get("outbox_depth")
    if isinstance(depth, int) and depth > s.outbox_alarm_depth:
        out.append(Condition("outbox_backlog", {"depth": depth}))
    failing = [{"kind": kind, "reason": h.get("reason") or "failing"} for kind, h in sorted((t.get("drivers") or {}).items())
               if isinstance(h, dict) and not h.get("ok", True)]
    if failing:
        out.append(Condition("driver_failing", {"devices": failing}))
    free = t.get("disk_free_bytes")
    if isinstance(free, int) and free < s.disk_low_bytes:
        out.append(Condition("disk_low", {"free_mib": free // 2**20}))
    held = t.get("quarantined")
    held = held if isinstance(held, int) else 0
    if held + quarantined_here >= s.quarantine_alarm:
        out.append(Condition("quarantined", {"at_station": held, "at_controller": quarantined_here}))
    return out


def _hours(h: float) -> int | float:
    return int(h) if float(h).is_integer() else round(h, 1)
