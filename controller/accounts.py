"""Dashboard accounts: roles, argon2 password hashes, and the login lockout rule.

Roles are ordered: a ``viewer`` reads, an ``operator`` also acts on the fleet
(acknowledges alarms, sends commands, requeues, resolves reviews, edits
venues), an ``admin`` also deletes quarantined packets, reveals a full NIK
(audited) and manages users. Hashing is argon2id through ``argon2-cffi``
with its default (RFC 9106 low-memory) parameters; a hash made with older
parameters is replaced at the next good login.

Lockout: after ``lockout_failures`` failed logins for one user name within
``lockout_minutes``, every login for that name is refused (even with the
right password) until the window has passed since the latest failure. The
answer never says whether the name exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from controller.errors import ControllerError
from controller.store import Store
from controller.store.users import WebUser

ROLES = ("viewer", "operator", "admin")
_RANK = {r: i for i, r in enumerate(ROLES)}
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 10

_hasher = PasswordHasher()
#: Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AccountError(ControllerError, ValueError):
    reason_id = "account_error"


def at_least(role: str, needed: str) -> bool:
    return _RANK.get(role, -1) >= _RANK[needed]


def check_username(name: str) -> str:
    if not _NAME.match(name or ""):
        raise AccountError("user name {name!r} must be 1-64 lower-case letters, digits, '.', '_' or '-'", name=name)
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError("role must be one of {roles}, got {role!r}", roles=", ".join(ROLES), role=role)
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError("a password needs at least {count} characters", count=MIN_PASSWORD)
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def add_user(store: Store, username: str, role: str, password: str) -> None:
    store.add_user(check_username(username), check_role(role), hash_password(password))


def change_password(store: Store, username: str, password: str) -> None:
    if not store.set_password(username, hash_password(password)):
        raise AccountError("no user {name}", name=username)


def remove_user(store: Store, username: str) -> None:
    if not store.remove_user(username):
        raise AccountError("no user {name}", name=username)


@dataclass(frozen=True)
class LoginResult:
    user: WebUser | None
    locked: bool = False


class Authenticator:
    def __init__(self, store: Store, *, failures: int = 5, window_s: float = 900.0,
                 clock: Callable[[], float]) -> None:
        self.store = store
        self.failures = failures
        self.window_s = window_s
        self._clock = clock

    def locked(self, username: str) -> bool:
        n, _last = self.store.login_failures_since(username, self._clock() - self.window_s)
        return n >= self.failures

    def login(self, username: str, password: str, remote: str | None = None) -> LoginResult:
        name = (username or "").strip().lower()[:64]
        if self.locked(name):
            self.store.login_failed(name, remote, self._clock())  # hammering keeps it locked
            return LoginResult(None, locked=True)
        user = self.store.user(name) if _NAME.match(name) else None
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
            ok = user is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            self.store.login_failed(name, remote, self._clock())
            return LoginResult(None, locked=self.locked(name))
        self.store.clear_login_failures(name)
        if _hasher.check_needs_rehash(user.password_hash):
            self.store.rehash_password(name, _hasher.hash(password))
        return LoginResult(user)
