-- Alarms get a severity, parameters (texts are rendered in the reader's language),
-- acknowledgement by a named user, and webhook deliveries (one per alarm and event).
ALTER TABLE alarms ADD COLUMN severity TEXT NOT NULL DEFAULT 'warning';
ALTER TABLE alarms ADD COLUMN params TEXT;
ALTER TABLE alarms ADD COLUMN acked_by TEXT;
ALTER TABLE alarms ADD COLUMN acked_at REAL;
ALTER TABLE alarms ADD COLUMN ack_note TEXT;
CREATE INDEX alarms_raised_at ON alarms(raised_at);
CREATE TABLE alarm_notifications (
    alarm_id        INTEGER NOT NULL,
    event           TEXT NOT NULL,
    created_at      REAL NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         REAL NOT NULL,
    delivered_at    REAL,
    failed_at       REAL,
    last_error      TEXT,
    PRIMARY KEY (alarm_id, event)
);
CREATE INDEX alarm_notifications_pending ON alarm_notifications(next_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
