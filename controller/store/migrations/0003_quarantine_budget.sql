-- Quarantine within a byte budget: a digest of every refused payload, its kept bytes,
-- and each station's usage kept by triggers (so every delete, from any code, counts).
ALTER TABLE quarantine ADD COLUMN sha256 TEXT;
ALTER TABLE quarantine ADD COLUMN kept_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE quarantine SET kept_bytes = COALESCE(length(payload), 0);
CREATE TABLE quarantine_usage (
    station_id      TEXT PRIMARY KEY,   -- '' for payloads from no registered station
    rows            INTEGER NOT NULL,
    bytes           INTEGER NOT NULL
);
INSERT INTO quarantine_usage(station_id, rows, bytes)
    SELECT COALESCE(station_id, ''), COUNT(*), SUM(kept_bytes) FROM quarantine GROUP BY COALESCE(station_id, '');
CREATE TRIGGER quarantine_usage_add AFTER INSERT ON quarantine BEGIN
    INSERT INTO quarantine_usage(station_id, rows, bytes) VALUES (COALESCE(NEW.station_id, ''), 1, NEW.kept_bytes)
        ON CONFLICT(station_id) DO UPDATE SET rows = rows + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER quarantine_usage_remove AFTER DELETE ON quarantine BEGIN
    UPDATE quarantine_usage SET rows = rows - 1, bytes = bytes - OLD.kept_bytes
        WHERE station_id = COALESCE(OLD.station_id, '');
END;
