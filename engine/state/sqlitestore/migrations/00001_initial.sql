-- +goose Up
-- Times are INTEGER microseconds since the Unix epoch (UTC); JSON columns
-- are TEXT. Cursor times are TEXT (RFC 3339, nanoseconds) to keep them exact.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline    TEXT    NOT NULL,
    trigger     TEXT    NOT NULL DEFAULT '',
    dry_run     INTEGER NOT NULL DEFAULT 0,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT    NOT NULL,
    counts      TEXT    NOT NULL DEFAULT '{}',
    error       TEXT    NOT NULL DEFAULT '',
    audit_seq   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_pipeline ON runs (pipeline, id);

CREATE TABLE audit (
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    source_key TEXT    NOT NULL DEFAULT '',
    sink_key   TEXT    NOT NULL DEFAULT '',
    direction  TEXT    NOT NULL DEFAULT '',
    action     TEXT    NOT NULL,
    diff       TEXT    NOT NULL DEFAULT 'null',
    reason     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE links (
    pipeline    TEXT    NOT NULL,
    source_key  TEXT    NOT NULL,
    sink_key    TEXT    NOT NULL,
    base        TEXT    NOT NULL DEFAULT 'null',
    source_hash TEXT    NOT NULL DEFAULT '',
    sink_hash   TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (pipeline, source_key)
) WITHOUT ROWID;
CREATE UNIQUE INDEX links_sink ON links (pipeline, sink_key);

CREATE TABLE cursors (
    pipeline   TEXT NOT NULL,
    side       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    id         TEXT NOT NULL,
    PRIMARY KEY (pipeline, side)
) WITHOUT ROWID;

CREATE TABLE intents (
    pipeline   TEXT    NOT NULL,
    side       TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    target_id  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (pipeline, side, key)
) WITHOUT ROWID;

CREATE TABLE rejects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline    TEXT    NOT NULL,
    side        TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    retries     INTEGER NOT NULL DEFAULT 0,
    first_at    INTEGER NOT NULL,
    last_at     INTEGER NOT NULL,
    last_run_id INTEGER NOT NULL DEFAULT 0,
    UNIQUE (pipeline, side, key)
);

CREATE TABLE conflicts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline    TEXT    NOT NULL,
    source_key  TEXT    NOT NULL,
    sink_key    TEXT    NOT NULL,
    fields      TEXT    NOT NULL DEFAULT '[]',
    source      TEXT    NOT NULL DEFAULT '{}',
    sink        TEXT    NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    resolution  TEXT    NOT NULL DEFAULT '',
    resolved_at INTEGER,
    applied_at  INTEGER
);
CREATE UNIQUE INDEX conflicts_open ON conflicts (pipeline, source_key) WHERE resolution = '';

CREATE TABLE locks (
    pipeline    TEXT    PRIMARY KEY,
    owner       TEXT    NOT NULL,
    token       TEXT    NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE locks;
DROP TABLE conflicts;
DROP TABLE rejects;
DROP TABLE intents;
DROP TABLE cursors;
DROP TABLE links;
DROP TABLE audit;
DROP TABLE runs;
