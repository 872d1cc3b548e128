-- +goose Up
-- Pending create intents, one row per IntentsAdd call (a batch's creates)
-- instead of one per record: a batch adds one row before its writes and
-- deletes it when it commits, rather than inserting and deleting a
-- thousand. intents is a JSON array of [side, key, target_id, created_at]
-- (created_at in microseconds); a key in a later group replaces the same
-- key in an earlier one.
CREATE TABLE intent_groups (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline TEXT    NOT NULL,
    intents  TEXT    NOT NULL
);
CREATE INDEX intent_groups_pipeline ON intent_groups (pipeline, id);
INSERT INTO intent_groups (pipeline, intents)
    SELECT pipeline, json_group_array(json_array(side, key, target_id, created_at))
    FROM intents GROUP BY pipeline;
DROP TABLE intents;

-- +goose Down
CREATE TABLE intents (
    pipeline   TEXT    NOT NULL,
    side       TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    target_id  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (pipeline, side, key)
) WITHOUT ROWID;
INSERT OR REPLACE INTO intents (pipeline, side, key, target_id, created_at)
    SELECT g.pipeline, e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3
    FROM intent_groups g, json_each(g.intents) e ORDER BY g.id, e.key;
DROP TABLE intent_groups;
