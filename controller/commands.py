"""Commands to stations, tracked from the dashboard or the CLI to their reply or a timeout.

:meth:`CommandTracker.send` records one command per station (before it is
published, so the reply cannot come first), publishes it through the
controller's link, and marks those the link did not take as ``not_sent``.
Replies reach :meth:`CommandTracker.on_reply` from the service's fleet
thread; :meth:`CommandTracker.expire` (on the fleet timer) times out what
is past its deadline. Listeners hear of every change after it is stored.

What each command may carry is checked here, so a mistyped driver swap is
refused with a reason before it reaches a station.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Callable, Iterable

from controller.errors import ControllerError
from controller.store import Store
from controller.store.commands import CommandRecord
from protocol import messages
from protocol.messages import Command, CommandName, CommandReply

log = logging.getLogger(__name__)

DEVICE_KINDS = ("camera", "fingerprint", "signature", "indicators")


class CommandError(ControllerError, ValueError):
    reason_id = "bad_command"


def command_args(name: str, *, kind: str = "", driver: str = "", options: dict[str, Any] | None = None,
                 packet_id: str = "") -> tuple[CommandName, dict[str, Any]]:
    """The command and its arguments, checked; CommandError names what is wrong."""
    try:
        cmd = CommandName(name)
    except ValueError:
        raise CommandError("command must be one of {commands}, got {name!r}",
                           commands=", ".join(c.value for c in CommandName), name=name) \
            from None
    if cmd is CommandName.DRIVER_SWAP:
        if kind not in DEVICE_KINDS:
            raise CommandError("driver_swap needs a device kind ({kinds}), got {kind!r}",
                               kinds=", ".join(DEVICE_KINDS), kind=kind)
        if not driver or len(driver) > 100:
            raise CommandError("driver_swap needs the name of the new driver (see `rekam drivers list`)")
        return cmd, {"kind": kind, "driver": driver, "options": dict(options or {})}
    if cmd is CommandName.REQUEUE_QUARANTINE:
        return cmd, {"packet_id": packet_id.strip() or "all"}
    return cmd, {}


class CommandTracker:
    def __init__(self, store: Store, publish: Callable[[str, Command], bool], *, timeout_s: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._publish = publish
        self.timeout_s = timeout_s
        self._clock = clock
        #: Called with the changed records (sent, replied, timed out); must not block.
        self.listeners: list[Callable[[list[CommandRecord]], None]] = []

    def send(self, station_ids: Iterable[str], name: CommandName, args: dict[str, Any], issued_by: str) -> str:
        """Send one command to each station; the batch id that groups them."""
        ids = list(dict.fromkeys(station_ids))
        if not ids:
            raise CommandError("choose at least one station")
        known = {s.station_id for s in self.store.stations()}
        unknown = [s for s in ids if s not in known]
        if unknown:
            raise CommandError("no such station: {stations}", stations=", ".join(unknown[:5]))
        batch = uuid.uuid4().hex[:12]
        now = self._clock()
        commands = []
        with self.store.transaction():
            for sid in ids:
                cid = str(uuid.uuid4())
                self.store.add_command(cid, batch, sid, name.value, args, issued_by, now, now + self.timeout_s)
                commands.append((sid, Command(cid, name, args, now)))
        for sid, cmd in commands:
            try:
                taken = self._publish(sid, cmd)
                error = "" if taken else "the controller is not connected to the broker"
            except Exception as exc:  # the link's error, whatever it is, belongs to this one command
                taken, error = False, f"{exc.__class__.__name__}: {exc}"
            if not taken:
                self.store.command_not_sent(cmd.command_id, error)
            log.info("command %s %s to %s by %s: %s", cmd.command_id, name.value, sid, issued_by,
                     "sent" if taken else error)
        self._tell(self.store.commands(batch_id=batch))
        return batch

    def on_reply(self, station_id: str, payload: bytes, at: float | None = None) -> CommandRecord | None:
        try:
            reply = messages.decode(CommandReply, payload)
        except messages.MessageError as exc:
            log.warning("bad command reply from %s: %s", station_id, exc)
            return None
        if reply.station_id != station_id:
            log.warning("command reply on %s's topic claims station %s; ignored", station_id, reply.station_id)
            return None
        rec = self.store.command_replied(reply.command_id, station_id, reply.ok, dict(reply.result), reply.error,
                                         self._clock() if at is None else at)
        if rec is None:
            log.info("reply from %s to unknown command %s", station_id, reply.command_id)
            return None
        self._tell([rec])
        return rec

    def expire(self) -> list[CommandRecord]:
        expired = self.store.expire_commands(self._clock())
        self._tell(expired)
        return expired

    def _tell(self, records: list[CommandRecord]) -> None:
        if not records:
            return
        for listener in list(self.listeners):
            try:
                listener(records)
            except Exception:
                log.exception("command listener failed")
