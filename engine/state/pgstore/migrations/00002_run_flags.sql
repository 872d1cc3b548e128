-- +goose Up
-- A run's --full and --limit (0: none), so that `pipe runs show` can say
-- exactly how to repeat it. Runs recorded before this say false and 0.
ALTER TABLE runs ADD COLUMN full_run boolean NOT NULL DEFAULT false;
ALTER TABLE runs ADD COLUMN row_limit integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE runs DROP COLUMN row_limit;
ALTER TABLE runs DROP COLUMN full_run;
