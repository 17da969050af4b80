-- Commands sent to stations from the dashboard or the CLI, tracked to their reply or a timeout.
CREATE TABLE commands (
    command_id      TEXT PRIMARY KEY,
    batch_id        TEXT NOT NULL,
    station_id      TEXT NOT NULL,
    name            TEXT NOT NULL,
    args            TEXT NOT NULL,
    issued_by       TEXT NOT NULL,
    issued_at       REAL NOT NULL,
    deadline        REAL NOT NULL,
    status          TEXT NOT NULL,
    replied_at      REAL,
    ok              INTEGER,
    result          TEXT,
    error           TEXT,
    late            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX commands_issued_at ON commands(issued_at);
CREATE INDEX commands_open ON commands(deadline) WHERE status = 'sent';
