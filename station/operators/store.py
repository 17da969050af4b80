"""The station's operators: who may log in, with which PIN, in which roles.

SQLite in the station's data directory (``operators.db``, through
:mod:`adapters.sqlite`), so login works with no network at all. Rules:

* A PIN is stored only as an argon2id hash (argon2-cffi). The cost is
  OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane): about 25 ms on a
  laptop core and well under a second on a Pi, and a small peak beside a
  kiosk that must stay under 150 MB. Hashes carry their own parameters, so
  stronger ones can come later (``check_needs_rehash`` on each login).
* PINs are 4 to 12 digits (an on-screen number pad); ids are short, lower
  case, and never personal data beyond a staff code.
* Accounts are made by a supervisor (``by`` must verify as one); only the
  very first account on an empty station is made without one, and it must be
  a supervisor (``rekam station operators add`` at installation).
* Failed logins are counted per id, unknown ids included, on disk: after
  ``max_failures`` in a row the id is locked for ``lockout_s`` seconds, and a
  restart does not reset it. A good PIN resets the count. An unknown id costs
  the same hashing time as a known one.
* Roles: ``operator`` enrolls residents; ``supervisor`` also confirms face
  exceptions and manages accounts; ``technician`` opens the technician
  screen. An account may hold several.
* An operator's finger, when enrolled, lives in the fingerprint module's own
  template library (:mod:`station.operators.finger`); this file keeps only
  the slot number, never a template.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Callable, Iterable

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from adapters.sqlite import Database, Migration
from station.errors import StationError

MIGRATIONS = (Migration("0001_operators", """
CREATE TABLE IF NOT EXISTS operators (
    operator_id  TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    roles        TEXT NOT NULL,
    pin_hash     TEXT NOT NULL,
    finger_slot  INTEGER,
    created_by   TEXT,
    created_at   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    operator_id  TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until REAL
);
"""),)

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
_PIN = re.compile(r"^[0-9]{4,12}$")


class OperatorError(StationError):
    """An account could not be made, changed or used; ``reason_id`` says why in the operator's words.

    ``why`` names the case (``e.operator_<why>`` in :mod:`station.i18n`); the English message is for logs.
    """

    reason_id = "operator_error"

    def __init__(self, message: str, *, why: str = "", **params: object) -> None:
        super().__init__(message, **params)
        if why:
            self.reason_id = f"operator_{why}"


class LoginFailed(OperatorError):
    reason_id = "login_failed"


class LockedOut(LoginFailed):
    reason_id = "login_locked"


class NotAllowed(LoginFailed):
    """Right PIN, wrong role (an operator at the technician screen)."""

    reason_id = "login_not_allowed"


class Role(str, Enum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    TECHNICIAN = "technician"


@dataclass(frozen=True)
class Account:
    operator_id: str
    name: str
    roles: frozenset[Role]
    finger_slot: int | None
    created_by: str | None
    created_at: float

    def has(self, role: Role) -> bool:
        return role in self.roles


class OperatorStore:
    def __init__(self, path: str | Path, *, max_failures: int = 5, lockout_s: float = 300.0,
                 clock: Callable[[], float] = time.time, hasher: argon2.PasswordHasher | None = None) -> None:
        self.path = Path(path)
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self._clock = clock
        self._hasher = hasher or argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
        self._dummy = self._hasher.hash("0000")  # unknown ids cost the same as known ones
        self._db = Database(self.path, error=OperatorError, what="operators", migrations=MIGRATIONS)
        self._lock = threading.Lock()

    def open(self) -> "OperatorStore":
        if not self._db.is_open:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db.open()
            for f in self.path.parent.glob(self.path.name + "*"):  # the WAL holds hashes too
                f.chmod(0o600)
        return self

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "OperatorStore":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- accounts -------------------------------------------------------------
    def count(self, role: Role | None = None) -> int:
        return len([a for a in self.accounts() if role is None or a.has(role)])

    def accounts(self) -> list[Account]:
        with self._db.transaction() as db:
            rows = db.execute("SELECT operator_id, name, roles, finger_slot, created_by, created_at FROM operators "
                              "ORDER BY operator_id").fetchall()
        return [_account(r) for r in rows]

    def get(self, operator_id: str) -> Account | None:
        with self._db.transaction() as db:
            row = db.execute("SELECT operator_id, name, roles, finger_slot, created_by, created_at FROM operators "
                             "WHERE operator_id = ?", (operator_id,)).fetchone()
        return _account(row) if row else None

    def add(self, operator_id: str, name: str, pin: str, roles: Iterable[Role | str], *,
            by: tuple[str, str] | None = None) -> Account:
        """Make an account; ``by`` is the (id, PIN) of the supervisor making it."""
        check_id(operator_id)
        check_pin(pin)
        role_set = frozenset(Role(r) for r in roles) or frozenset({Role.OPERATOR})
        with self._lock:
            if by is None:
                if self.count() > 0:
                    raise OperatorError("a supervisor must make new accounts (give their id and PIN)",
                                        why="supervisor_needed")
                if Role.SUPERVISOR not in role_set:
                    raise OperatorError("the first account on a station must be a supervisor", why="first_supervisor")
                creator = None
            else:
                creator = self.verify(by[0], by[1], role=Role.SUPERVISOR).operator_id
            if self.get(operator_id) is not None:
                raise OperatorError(f"operator {operator_id} already exists", why="exists", operator=operator_id)
            now = self._clock()
            with self._db.transaction() as db:
                db.execute("INSERT INTO operators(operator_id, name, roles, pin_hash, created_by, created_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           (operator_id, name.strip()[:80], _roles_text(role_set), self._hasher.hash(pin), creator, now))
        return self.get(operator_id)  # type: ignore[return-value]

    def remove(self, operator_id: str, *, by: tuple[str, str]) -> None:
        supervisor = self.verify(by[0], by[1], role=Role.SUPERVISOR)
        if supervisor.operator_id == operator_id and self.count(Role.SUPERVISOR) == 1:
            raise OperatorError("the last supervisor cannot remove themself", why="last_supervisor")
        with self._db.transaction() as db:
            if db.execute("DELETE FROM operators WHERE operator_id = ?", (operator_id,)).rowcount == 0:
                raise OperatorError(f"no operator {operator_id}", why="unknown", operator=operator_id)

    def set_pin(self, operator_id: str, pin: str, *, by: tuple[str, str]) -> None:
        """A supervisor sets a new PIN (a forgotten one, or the operator's own change with their old PIN)."""
        check_pin(pin)
        if by[0] != operator_id:
            self.verify(by[0], by[1], role=Role.SUPERVISOR)
        else:
            self.verify(by[0], by[1])
        with self._db.transaction() as db:
            if db.execute("UPDATE operators SET pin_hash = ? WHERE operator_id = ?",
                          (self._hasher.hash(pin), operator_id)).rowcount == 0:
                raise OperatorError(f"no operator {operator_id}", why="unknown", operator=operator_id)

    def unlock(self, operator_id: str, *, by: tuple[str, str]) -> None:
        self.verify(by[0], by[1], role=Role.SUPERVISOR)
        with self._db.transaction() as db:
            db.execute("DELETE FROM login_failures WHERE operator_id = ?", (operator_id,))

    def set_finger_slot(self, operator_id: str, slot: int | None) -> None:
        with self._db.transaction() as db:
            db.execute("UPDATE operators SET finger_slot = ? WHERE operator_id = ?", (slot, operator_id))

    # -- logging in -------------------------------------------------------------
    def locked_until(self, operator_id: str) -> float | None:
        with self._db.transaction() as db:
            row = db.execute("SELECT locked_until FROM login_failures WHERE operator_id = ?",
                             (operator_id,)).fetchone()
        until = row[0] if row else None
        return until if until is not None and until > self._clock() else None

    def verify(self, operator_id: str, pin: str, *, role: Role | None = None) -> Account:
        """The account if ``pin`` is right and it holds ``role``; else LoginFailed (counted)."""
        operator_id = (operator_id or "").strip().lower()[:40]
        until = self.locked_until(operator_id)
        if until is not None:
            raise LockedOut(f"operator {operator_id} is locked after repeated wrong PINs",
                            minutes=max(1, round((until - self._clock()) / 60)))
        with self._db.transaction() as db:
            row = db.execute("SELECT pin_hash FROM operators WHERE operator_id = ?", (operator_id,)).fetchone()
        stored = row[0] if row else self._dummy
        try:
            ok = self._hasher.verify(stored, pin or "") and row is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            self._failed(operator_id)
            raise LoginFailed("wrong operator id or PIN", left=self._left(operator_id))
        account = self.get(operator_id)
        assert account is not None
        with self._db.transaction() as db:
            if account.finger_slot is None or role is not None:  # else the finger still has to pass
                db.execute("DELETE FROM login_failures WHERE operator_id = ?", (operator_id,))
            if self._hasher.check_needs_rehash(stored):
                db.execute("UPDATE operators SET pin_hash = ? WHERE operator_id = ?",
                           (self._hasher.hash(pin), operator_id))
        if role is not None and not account.has(role):
            raise NotAllowed(f"operator {operator_id} is not a {role.value}", role=role.value)
        return account

    def supervisor_check(self, operator_id: str, pin: str) -> bool:
        """For the workflow's face exception: a yes/no that still counts failures."""
        try:
            self.verify(operator_id, pin, role=Role.SUPERVISOR)
        except LoginFailed:
            return False
        return True

    def record_failure(self, operator_id: str) -> None:
        """A failed second factor (the finger) counts like a wrong PIN."""
        self._failed(operator_id)

    def record_success(self, operator_id: str) -> None:
        """The second factor passed too: the failures so far are forgiven (a right PIN alone does not)."""
        with self._db.transaction() as db:
            db.execute("DELETE FROM login_failures WHERE operator_id = ?", (operator_id,))

    def _failed(self, operator_id: str) -> None:
        with self._db.transaction() as db:
            row = db.execute("SELECT failures FROM login_failures WHERE operator_id = ?", (operator_id,)).fetchone()
            failures = (row[0] if row else 0) + 1
            locked = self._clock() + self.lockout_s if failures >= self.max_failures else None
            db.execute("INSERT OR REPLACE INTO login_failures(operator_id, failures, locked_until) VALUES (?, ?, ?)",
                       (operator_id, 0 if locked else failures, locked))

    def _left(self, operator_id: str) -> int:
        with self._db.transaction() as db:
            row = db.execute("SELECT failures, locked_until FROM login_failures WHERE operator_id = ?",
                             (operator_id,)).fetchone()
        if row and row[1]:
            return 0
        return self.max_failures - (row[0] if row else 0)


def check_id(operator_id: str) -> str:
    if not _ID.match(operator_id or ""):
        raise OperatorError("an operator id is 1-40 lower-case letters, digits, '.', '_' or '-'", why="bad_id")
    return operator_id


def check_pin(pin: str) -> str:
    if not _PIN.match(pin or ""):
        raise OperatorError("a PIN is 4 to 12 digits", why="bad_pin")
    return pin


def _roles_text(roles: frozenset[Role]) -> str:
    return ",".join(sorted(r.value for r in roles))


def _account(row) -> Account:
    return Account(row[0], row[1], frozenset(Role(r) for r in row[2].split(",") if r), row[3], row[4], row[5])
