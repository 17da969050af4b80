"""What the demo shows while it runs, and the summary it ends with."""

from __future__ import annotations

import datetime as dt
import sys

from rich.console import Group
from rich.progress_bar import ProgressBar

from adapters.terminal import table
from rekam.demo.fleet import DemoFleet


def progress(fleet: DemoFleet) -> Group:
    """The live view: the day, each station, and each kecamatan's progress bar."""
    clock = fleet.clock
    store = fleet.store
    day = min(clock.day_index(), fleet.o.days - 1)
    head = (f"day {day + 1}/{fleet.o.days}  {fleet.o.start + dt.timedelta(days=day)}  {clock.hhmm()} WIB   "
            f"stored {store.packet_count()}  re-plans {len(fleet.planning.history)}")
    stations = table(["station", "online", "kelurahan", "today", "total", "outbox"],
                     [[st.station_id, "yes" if st.runtime.online else "NO", st.stats.kelurahan,
                       st.stats.enrolled_today, st.stats.enrolled, st.runtime.outbox.stats().depth]
                      for st in fleet.stations], numeric=["today", "total", "outbox"])
    by_kec: dict[str, list[int]] = {}
    for p in store.progress():
        acc = by_kec.setdefault(p.kecamatan, [0, 0, 0])
        acc[0] += p.wajib_ktp
        acc[1] += p.recorded
        acc[2] += 1 if p.remaining == 0 else 0
    kecamatan = table(["kecamatan", "recorded", "%", "kelurahan done"],
                      [[kec, ProgressBar(total=wajib or 1, completed=rec, width=24), f"{100 * rec / wajib:.2f}",
                        done] for kec, (wajib, rec, done) in by_kec.items()], numeric=["%", "kelurahan done"])
    return Group(head, stations, kecamatan)


def summary(fleet: DemoFleet, drained: bool) -> str:
    store = fleet.store
    c = fleet.service.counts
    prog = store.progress()
    wajib = sum(p.wajib_ktp for p in prog)
    recorded = sum(p.recorded for p in prog)
    here = sum(p.recorded_here for p in prog)
    forced = sum(st.stats.forced for st in fleet.stations)
    exceptions = sum(st.stats.exceptions for st in fleet.stations)
    attempts = sum(st.stats.attempts for st in fleet.stations)
    enrolled = sum(st.stats.enrolled for st in fleet.stations)
    errors = sum(st.stats.errors for st in fleet.stations)
    plan = fleet.planning.active()
    dups = store.duplicate_enrollments()
    lines = [
        "",
        "== rekam demo summary ==",
        f"simulated days        {fleet.o.days} ({fleet.o.start} to {fleet.o.start + dt.timedelta(days=fleet.o.days - 1)}), "
        f"{fleet.o.day_seconds:g} s per day, {len(fleet.stations)} stations, broker: {fleet.broker_name}",
        f"residents recorded    {here} this campaign (enrolled at stations: {enrolled}); "
        f"wajib KTP recorded {recorded:,}/{wajib:,} ({100 * recorded / wajib:.2f}%)",
        f"packets stored        {store.packet_count()} (acked 'stored' {c.stored}; acked 'duplicate' {c.duplicate}: "
        f"re-sent packets, each stored once)",
        f"quarantined           {len(store.quarantined())} (rejected {c.rejected}, unreadable {c.dropped})",
        f"duplicate enrollments {len(dups)} NIK(s) recorded twice, kept and flagged for review"
        + (" (a resident who came back to another station)" if dups and fleet.duplicate_visit else ""),
        f"captures              {attempts} attempts for {enrolled} residents; {forced} capture(s) kept as forced "
        f"after retries, {exceptions} finger exception(s) recorded",
    ]
    if errors:
        lines.append(f"enrollment errors     {errors} (see the log above)")
    if fleet.offline is not None:
        o = fleet.offline
        if o.came_back is None:
            lines.append(f"offline episode       {o.station_id} offline from {o.went_offline} to the end; "
                         "its outbox was delivered in the final drain")
        else:
            drain = f"delivered in {o.drained_after_s:.1f} s" if o.drained_after_s is not None else "still draining"
            lines.append(f"offline episode       {o.station_id} offline {o.went_offline} to {o.came_back}, "
                         f"{o.held_at_return} sealed packet(s) held, {drain}")
    history = fleet.planning.history
    if history:
        daily = sum(1 for _, reason, _ in history if reason == "new day")
        lines.append(f"re-plans              {len(history)}: {daily} at day starts with the actual recordings"
                     + ("" if daily == len(history) else ", and:"))
        for when, reason, n in history:
            if reason != "new day":
                lines.append(f"                      {when}: {reason} -> new assignments for {n} station(s)")
    if plan is not None:
        lines.append(f"schedule              {plan.planner} plan expects every kelurahan done by {plan.end}")
    if fleet.handoff is not None:  # the hand-off to the emulated central system
        f = store.funnel()
        total = [sum(getattr(r, k) for r in f) for k in ("recorded", "sent", "enrolled", "print_ready", "printed",
                                                          "distributed")]
        lines.append("central system        recorded {} -> sent {} -> enrolled {} -> print-ready {} -> printed {} "
                     "-> distributed {} (blank cards left: {})".format(*total, fleet.handoff.server.central.store.stock()))
    lines.append(f"all outboxes empty    {'yes' if drained else 'NO (see rekam station outbox)'}")
    w = fleet.workdir
    exe = sys.argv[0] if sys.argv and sys.argv[0].endswith("rekam") else "rekam"
    lines += [
        "",
        f"where the data is     {w}",
        f"  controller store    {w / 'controller' / 'controller.db'} (sealed packets + index; keys in controller/keys)",
        f"  station outboxes    {w / 'stations' / '<id>' / 'data' / 'outbox.db'}",
        "look around:",
        f"  {exe} controller progress --config {w / 'controller' / 'controller.toml'}",
        f"  {exe} controller reviews --config {w / 'controller' / 'controller.toml'}",
        f"  {exe} controller export status --config {w / 'controller' / 'controller.toml'}",
        f"  {exe} controller schedule show --config {w / 'controller' / 'controller.toml'} --date {fleet.o.start}",
        f"  {exe} station outbox --config {w / 'stations' / 'st-01' / 'station.toml'}",
    ]
    return "\n".join(lines)
