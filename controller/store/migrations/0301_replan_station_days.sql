-- How many station-days a re-plan changed (new, moved or dropped), beside how many stations it touched:
-- re-plans should change as little as they can, and the dashboard shows how little.
ALTER TABLE plan_reasons ADD COLUMN station_days INTEGER;
