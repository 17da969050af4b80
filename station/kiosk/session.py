"""The one operator logged in at the kiosk: login, second factor, idle logout.

The kiosk is one screen, so there is one session: a random token in an
HttpOnly, SameSite=Strict cookie ties it to the browser that logged in.
Logging in checks the id and PIN against :class:`~station.operators.OperatorStore`
(offline, argon2, lockout on disk). An account with an enrolled finger must
also present it (1:1 on the station's scanner) before the session starts.
After ``idle_s`` without a request the session ends.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Callable

from station.operators import Account

COOKIE = "rekam_kiosk"


@dataclass
class Session:
    token: str
    account: Account
    started: float
    last_seen: float
    #: The id + PIN were right; the finger is still to come.
    awaiting_finger: bool = False

    @property
    def operator_id(self) -> str:
        return self.account.operator_id


class Sessions:
    def __init__(self, idle_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Session | None = None

    def start(self, account: Account, *, awaiting_finger: bool = False) -> Session:
        now = self._clock()
        with self._lock:
            self._current = Session(secrets.token_urlsafe(24), account, now, now, awaiting_finger)
            return self._current

    def get(self, token: str | None, *, touch: bool = True, complete: bool = True) -> Session | None:
        """The session for ``token`` if it is current and not idle (and past its finger, if ``complete``)."""
        with self._lock:
            s = self._current
            if s is None or not token or not secrets.compare_digest(s.token, token):
                return None
            now = self._clock()
            if now - s.last_seen > self.idle_s:
                self._current = None
                return None
            if complete and s.awaiting_finger:
                return None
            if touch:
                s.last_seen = now
            return s

    def finger_done(self, token: str) -> Session | None:
        with self._lock:
            s = self._current
            if s is not None and secrets.compare_digest(s.token, token):
                s.awaiting_finger = False
            return s

    def end(self) -> None:
        with self._lock:
            self._current = None

    def idle_expired(self) -> bool:
        """True once when the current session has gone idle (it is ended then)."""
        with self._lock:
            s = self._current
            if s is not None and self._clock() - s.last_seen > self.idle_s:
                self._current = None
                return True
            return False

    @property
    def current(self) -> Session | None:
        with self._lock:
            return self._current
