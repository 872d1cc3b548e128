-- +goose Up
-- Live records left alone when their partner was deleted (state.Unlinked):
-- not created again on the other side until their content (hash) changes.
-- updated_at is TEXT (RFC 3339, nanoseconds, like cursor times) to keep the
-- record's time exactly; at is INTEGER microseconds (UTC).
CREATE TABLE unlinked (
    pipeline    TEXT    NOT NULL,
    side        TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    partner_key TEXT    NOT NULL DEFAULT '',
    updated_at  TEXT    NOT NULL,
    hash        TEXT    NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    PRIMARY KEY (pipeline, side, key)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE unlinked;
