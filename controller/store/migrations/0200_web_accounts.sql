-- Dashboard accounts (argon2 hashes), failed logins (lockout) and the audit log.
CREATE TABLE web_users (
    username        TEXT PRIMARY KEY,
    role            TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash   TEXT NOT NULL,
    created_at      REAL NOT NULL,
    changed_at      REAL NOT NULL,
    epoch           INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE web_login_failures (
    username        TEXT NOT NULL,
    at              REAL NOT NULL,
    remote          TEXT
);
CREATE INDEX web_login_failures_user ON web_login_failures(username, at);
CREATE TABLE web_audit (
    id              INTEGER PRIMARY KEY,
    at              REAL NOT NULL,
    username        TEXT NOT NULL,
    role            TEXT,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL DEFAULT '',
    detail          TEXT NOT NULL DEFAULT '',
    remote          TEXT
);
CREATE INDEX web_audit_at ON web_audit(at);
