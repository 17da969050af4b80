-- Outreach events (schools, markets, hospitals, home visits, meetings) as venues.
CREATE TABLE venues (
    venue_id        TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    address         TEXT NOT NULL,
    kelurahan_code  TEXT NOT NULL,
    date            TEXT NOT NULL,
    expected_people INTEGER NOT NULL,
    stations        INTEGER,
    added_at        REAL NOT NULL
);
CREATE INDEX venues_date ON venues(date);
