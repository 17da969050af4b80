-- The first schema: stations, telemetry, packets, quarantine, counters, targets, plans, alarms.
CREATE TABLE stations (
    station_id      TEXT PRIMARY KEY,
    signing_key     BLOB NOT NULL,
    key_id          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'active',
    revoked_reason  TEXT,
    registered_at   REAL NOT NULL,
    revoked_at      REAL,
    online          INTEGER NOT NULL DEFAULT 0,
    connection      INTEGER NOT NULL DEFAULT 0,
    version         TEXT,
    drivers         TEXT,
    state_at        REAL,
    last_seen       REAL,
    last_telemetry  TEXT,
    telemetry_at    REAL
);
CREATE TABLE telemetry (
    id              INTEGER PRIMARY KEY,
    station_id      TEXT NOT NULL,
    at              REAL NOT NULL,
    received_at     REAL NOT NULL,
    body            TEXT NOT NULL
);
CREATE INDEX telemetry_station_at ON telemetry(station_id, at);
CREATE TABLE packets (
    packet_id       TEXT PRIMARY KEY,
    station_id      TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    nik             TEXT NOT NULL,
    kelurahan_code  TEXT NOT NULL,
    assignment_id   TEXT,
    operator_id     TEXT,
    captured_at     REAL NOT NULL,
    sealed_at       REAL NOT NULL,
    received_at     REAL NOT NULL,
    status          TEXT NOT NULL DEFAULT 'stored',
    size            INTEGER NOT NULL,
    envelope        BLOB NOT NULL,
    stored_by       TEXT
);
CREATE INDEX packets_nik ON packets(nik);
CREATE INDEX packets_kelurahan ON packets(kelurahan_code);
CREATE INDEX packets_station_seq ON packets(station_id, seq);
CREATE TABLE duplicate_enrollments (
    nik             TEXT NOT NULL,
    packet_id       TEXT NOT NULL,
    other_packet_id TEXT NOT NULL,
    flagged_at      REAL NOT NULL,
    resolved        TEXT,
    PRIMARY KEY (packet_id, other_packet_id)
);
CREATE TABLE quarantine (
    id              INTEGER PRIMARY KEY,
    packet_id       TEXT,
    station_id      TEXT,
    topic           TEXT NOT NULL,
    received_at     REAL NOT NULL,
    reason_id       TEXT NOT NULL,
    reason          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    payload         BLOB,
    payload_kept    INTEGER NOT NULL
);
CREATE INDEX quarantine_station ON quarantine(station_id);
CREATE TABLE counters (
    name            TEXT PRIMARY KEY,
    value           INTEGER NOT NULL
);
CREATE TABLE kelurahan (
    code            TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    kecamatan_code  TEXT NOT NULL,
    kecamatan       TEXT NOT NULL,
    wajib_ktp       INTEGER NOT NULL,
    recorded_before INTEGER NOT NULL
);
CREATE TABLE plans (
    plan_id         TEXT PRIMARY KEY,
    planner         TEXT NOT NULL,
    params          TEXT NOT NULL,
    created_at      REAL NOT NULL,
    active          INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE assignments (
    assignment_id   TEXT PRIMARY KEY,
    plan_id         TEXT NOT NULL REFERENCES plans(plan_id),
    station_id      TEXT NOT NULL,
    date            TEXT NOT NULL,
    start           TEXT NOT NULL,
    end_            TEXT NOT NULL,
    kelurahan_code  TEXT NOT NULL,
    venue           TEXT
);
CREATE INDEX assignments_plan_station_date ON assignments(plan_id, station_id, date);
CREATE TABLE alarms (
    id              INTEGER PRIMARY KEY,
    station_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    message         TEXT NOT NULL,
    raised_at       REAL NOT NULL,
    cleared_at      REAL
);
CREATE UNIQUE INDEX alarms_open ON alarms(station_id, kind) WHERE cleared_at IS NULL;
