-- Why each plan was made: the scheduler's re-plan reasons, kept past a restart.
CREATE TABLE plan_reasons (
    plan_id         TEXT PRIMARY KEY,
    at              REAL NOT NULL,
    day             TEXT NOT NULL,
    reason          TEXT NOT NULL,
    stations        INTEGER NOT NULL
);
