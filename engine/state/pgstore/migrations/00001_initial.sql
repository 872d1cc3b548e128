-- +goose Up
-- Keys compare in byte order (COLLATE "C") whatever the database's
-- default collation, so LinkScan's order is the same on every server.
-- Cursor times are text (RFC 3339, nanoseconds) to keep them exact.
CREATE TABLE runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pipeline    text        NOT NULL,
    trigger     text        NOT NULL DEFAULT '',
    dry_run     boolean     NOT NULL DEFAULT false,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    status      text        NOT NULL,
    counts      jsonb       NOT NULL DEFAULT '{}',
    error       text        NOT NULL DEFAULT '',
    audit_seq   bigint      NOT NULL DEFAULT 0
);
CREATE INDEX runs_pipeline ON runs (pipeline, id);

CREATE TABLE audit (
    run_id     bigint      NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq        bigint      NOT NULL,
    at         timestamptz NOT NULL,
    source_key text        NOT NULL DEFAULT '',
    sink_key   text        NOT NULL DEFAULT '',
    direction  text        NOT NULL DEFAULT '',
    action     text        NOT NULL,
    diff       jsonb       NOT NULL DEFAULT 'null',
    reason     text        NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE links (
    pipeline    text COLLATE "C" NOT NULL,
    source_key  text COLLATE "C" NOT NULL,
    sink_key    text COLLATE "C" NOT NULL,
    base        jsonb       NOT NULL DEFAULT 'null',
    source_hash text        NOT NULL DEFAULT '',
    sink_hash   text        NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (pipeline, source_key)
);
CREATE UNIQUE INDEX links_sink ON links (pipeline, sink_key);

CREATE TABLE cursors (
    pipeline   text NOT NULL,
    side       text NOT NULL,
    updated_at text NOT NULL,
    id         text NOT NULL,
    PRIMARY KEY (pipeline, side)
);

CREATE TABLE intents (
    pipeline   text COLLATE "C" NOT NULL,
    side       text COLLATE "C" NOT NULL,
    key        text COLLATE "C" NOT NULL,
    target_id  text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (pipeline, side, key)
);

CREATE TABLE rejects (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pipeline    text COLLATE "C" NOT NULL,
    side        text COLLATE "C" NOT NULL,
    key         text COLLATE "C" NOT NULL,
    reason      text        NOT NULL,
    retries     integer     NOT NULL DEFAULT 0,
    first_at    timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    last_run_id bigint      NOT NULL DEFAULT 0,
    UNIQUE (pipeline, side, key)
);

CREATE TABLE conflicts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pipeline    text COLLATE "C" NOT NULL,
    source_key  text COLLATE "C" NOT NULL,
    sink_key    text COLLATE "C" NOT NULL,
    fields      jsonb       NOT NULL DEFAULT '[]',
    source      jsonb       NOT NULL DEFAULT '{}',
    sink        jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    resolution  text        NOT NULL DEFAULT '',
    resolved_at timestamptz,
    applied_at  timestamptz
);
CREATE UNIQUE INDEX conflicts_open ON conflicts (pipeline, source_key) WHERE resolution = '';

CREATE TABLE locks (
    pipeline    text PRIMARY KEY,
    owner       text        NOT NULL,
    token       text        NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE locks;
DROP TABLE conflicts;
DROP TABLE rejects;
DROP TABLE intents;
DROP TABLE cursors;
DROP TABLE links;
DROP TABLE audit;
DROP TABLE runs;
