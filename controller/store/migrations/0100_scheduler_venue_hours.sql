-- Venues have their own hours (a school visit is not 15:00-21:00), NULL for the kind's usual hours.
ALTER TABLE venues ADD COLUMN start TEXT;
ALTER TABLE venues ADD COLUMN end_ TEXT;
