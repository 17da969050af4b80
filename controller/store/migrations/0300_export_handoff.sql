-- The hand-off to the central system: sealed batches and what each carried, central
-- statuses with their history, reviews the centre raises, the audit trail, and the purge.
ALTER TABLE packets ADD COLUMN purged_at REAL;
CREATE TABLE export_batches (
    batch_id        TEXT PRIMARY KEY,
    created_at      REAL NOT NULL,
    created_by      TEXT NOT NULL,
    count           INTEGER NOT NULL,
    path            TEXT NOT NULL,
    manifest_path   TEXT NOT NULL,
    sealed_sha256   TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'sealed',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    accepted_at     REAL
);
CREATE INDEX export_batches_state ON export_batches(state);
-- A packet is in one batch only (the primary key): no record is handed over twice.
CREATE TABLE export_items (
    packet_id       TEXT PRIMARY KEY,
    batch_id        TEXT NOT NULL REFERENCES export_batches(batch_id),
    sha256          TEXT NOT NULL
);
CREATE INDEX export_items_batch ON export_items(batch_id);
CREATE TABLE central_status (
    packet_id       TEXT PRIMARY KEY,
    status          TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    at              REAL NOT NULL,
    received_at     REAL NOT NULL
);
-- Every status heard (published = 1 once the station's status topic has it).
CREATE TABLE central_status_history (
    id              INTEGER PRIMARY KEY,
    packet_id       TEXT NOT NULL,
    status          TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    at              REAL NOT NULL,
    received_at     REAL NOT NULL,
    published       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (packet_id, status)
);
CREATE INDEX central_status_unpublished ON central_status_history(published) WHERE published = 0;
CREATE TABLE handoff_reviews (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    packet_id       TEXT NOT NULL,
    other_packet_id TEXT NOT NULL DEFAULT '',
    detail          TEXT NOT NULL,
    score           REAL,
    raised_at       REAL NOT NULL,
    resolved        TEXT,
    UNIQUE (kind, packet_id, other_packet_id)
);
CREATE TABLE audit (
    id              INTEGER PRIMARY KEY,
    at              REAL NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    count           INTEGER NOT NULL,
    batch_id        TEXT,
    detail          TEXT NOT NULL DEFAULT ''
);
CREATE TABLE handoff_state (
    name            TEXT PRIMARY KEY,
    value           TEXT NOT NULL
);
-- The de-duplication index: each record's finger vectors, AES-GCM sealed under a key
-- derived from the controller's private key (biometric-derived: never in the clear on disk).
CREATE TABLE dedup_vectors (
    packet_id       TEXT PRIMARY KEY,
    nonce           BLOB NOT NULL,
    sealed          BLOB NOT NULL
);
