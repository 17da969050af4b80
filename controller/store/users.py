"""Dashboard accounts, failed logins and the audit log.

Passwords arrive here already hashed (argon2, :mod:`controller.accounts`);
this module never sees one in clear. A user's ``epoch`` goes up when the
password changes, so every session signed before that ends. The audit log
is append-only: nothing here updates or deletes a row of it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Callable, ContextManager

from controller.errors import StoreError


@dataclass(frozen=True)
class WebUser:
    username: str
    role: str
    password_hash: str = ""
    created_at: float = 0.0
    changed_at: float = 0.0
    epoch: int = 1

    def __repr__(self) -> str:  # never the hash in a log line
        return f"WebUser({self.username!r}, {self.role!r})"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    username: str
    role: str | None
    action: str
    target: str
    detail: str
    remote: str | None


class UserTables:
    """Mixed into :class:`controller.store.Store`; every method is one transaction (or joins the caller's)."""

    transaction: Callable[[], ContextManager[sqlite3.Connection]]
    _clock: Callable[[], float]

    # -- users -------------------------------------------------------------------------
    def add_user(self, username: str, role: str, password_hash: str) -> None:
        now = self._clock()
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM web_users WHERE username = ?", (username,)).fetchone():
                raise StoreError(f"user {username} already exists")
            db.execute("INSERT INTO web_users(username, role, password_hash, created_at, changed_at) "
                       "VALUES (?, ?, ?, ?, ?)", (username, role, password_hash, now, now))

    def set_password(self, username: str, password_hash: str) -> bool:
        with self.transaction() as db:
            return db.execute("UPDATE web_users SET password_hash = ?, changed_at = ?, epoch = epoch + 1 "
                              "WHERE username = ?", (password_hash, self._clock(), username)).rowcount == 1

    def set_role(self, username: str, role: str) -> bool:
        with self.transaction() as db:
            return db.execute("UPDATE web_users SET role = ?, changed_at = ?, epoch = epoch + 1 WHERE username = ?",
                              (role, self._clock(), username)).rowcount == 1

    def end_sessions(self, username: str) -> bool:
        """Every session of the user ends (a logout: a copied cookie must not outlive it)."""
        with self.transaction() as db:
            return db.execute("UPDATE web_users SET epoch = epoch + 1 WHERE username = ?", (username,)).rowcount == 1

    def rehash_password(self, username: str, password_hash: str) -> None:
        """A stronger hash of the same password: sessions stay valid."""
        with self.transaction() as db:
            db.execute("UPDATE web_users SET password_hash = ? WHERE username = ?", (password_hash, username))

    def remove_user(self, username: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM web_users WHERE username = ?", (username,)).rowcount == 1

    def user(self, username: str) -> WebUser | None:
        with self.transaction() as db:
            r = db.execute("SELECT username, role, password_hash, created_at, changed_at, epoch FROM web_users "
                           "WHERE username = ?", (username,)).fetchone()
        return WebUser(*r) if r else None

    def users(self) -> list[WebUser]:
        with self.transaction() as db:
            rows = db.execute("SELECT username, role, '', created_at, changed_at, epoch FROM web_users "
                              "ORDER BY username").fetchall()
        return [WebUser(*r) for r in rows]

    # -- login failures ------------------------------------------------------------------------
    def login_failed(self, username: str, remote: str | None, at: float | None = None) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO web_login_failures(username, at, remote) VALUES (?, ?, ?)",
                       (username, self._clock() if at is None else at, remote))

    def login_failures_since(self, username: str, since: float) -> tuple[int, float | None]:
        """(failures since ``since``, time of the latest)."""
        with self.transaction() as db:
            n, last = db.execute("SELECT COUNT(*), MAX(at) FROM web_login_failures WHERE username = ? AND at >= ?",
                                 (username, since)).fetchone()
        return n, last

    def clear_login_failures(self, username: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM web_login_failures WHERE username = ?", (username,))

    # -- audit -----------------------------------------------------------------------------------
    def audit(self, username: str, role: str | None, action: str, target: str = "", detail: str = "",
              remote: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO web_audit(at, username, role, action, target, detail, remote) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", (self._clock(), username, role, action, target, detail, remote))

    def audit_log(self, *, username: str | None = None, action: str | None = None, limit: int = 500) -> list[AuditEntry]:
        where, args = [], []
        if username:
            where.append("username = ?")
            args.append(username)
        if action:
            where.append("action LIKE ?")
            args.append(action + "%")
        q = ("SELECT id, at, username, role, action, target, detail, remote FROM web_audit"
             + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?")
        with self.transaction() as db:
            return [AuditEntry(*r) for r in db.execute(q, (*args, limit))]
