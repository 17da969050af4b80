-- The packet timeline: events beyond the packet row (requeued, deleted, and from the hand-off
-- exported and the central statuses here), quarantine handling, review decisions.
CREATE TABLE packet_events (
    id              INTEGER PRIMARY KEY,
    packet_id       TEXT NOT NULL,
    at              REAL NOT NULL,
    kind            TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '',
    source          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX packet_events_packet ON packet_events(packet_id, at);
ALTER TABLE quarantine ADD COLUMN handled TEXT;
ALTER TABLE quarantine ADD COLUMN handled_by TEXT;
ALTER TABLE quarantine ADD COLUMN handled_at REAL;
ALTER TABLE quarantine ADD COLUMN handled_note TEXT;
CREATE INDEX quarantine_packet ON quarantine(packet_id);
ALTER TABLE duplicate_enrollments ADD COLUMN resolved_by TEXT;
ALTER TABLE duplicate_enrollments ADD COLUMN resolved_at REAL;
ALTER TABLE duplicate_enrollments ADD COLUMN resolved_reason TEXT;
CREATE INDEX packets_captured_at ON packets(captured_at);
