-- +goose Up
-- Live records left alone when their partner was deleted (state.Unlinked):
-- not created again on the other side until their content (hash) changes.
-- updated_at is text (RFC 3339, nanoseconds, like cursor times) to keep the
-- record's time exactly; timestamptz keeps only microseconds.
CREATE TABLE unlinked (
    pipeline    text COLLATE "C" NOT NULL,
    side        text COLLATE "C" NOT NULL,
    key         text COLLATE "C" NOT NULL,
    partner_key text        NOT NULL DEFAULT '',
    updated_at  text        NOT NULL,
    hash        text        NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    PRIMARY KEY (pipeline, side, key)
);

-- +goose Down
DROP TABLE unlinked;
