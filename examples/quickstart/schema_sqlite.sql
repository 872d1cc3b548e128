-- The Kelompok reference schema (docs/connectors/kelompok.md, "The reference schema") for SQLite,
-- as `pipe demo` creates it. SQLite has no uuid, timestamptz or text[]
-- types; the storage follows the SQL connector's conventions (package
-- connectors/sql): uuids are text, timestamps are UTC text of fixed width
-- ("2026-11-01 09:30:00.000000", so text order is time order), text[] lists
-- are JSON arrays stored as text.

CREATE TABLE organizations (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    legal_name   text,
    kind         text CHECK (kind IN ('komunitas', 'yayasan', 'koperasi', 'perkumpulan', 'ngo', 'other')),
    email        text,
    phone        text,
    website      text,
    address      text,
    province     text,
    city         text,
    district     text,
    postal_code  text,
    latitude     real,
    longitude    real,
    sdg_tags     text,
    claimed_by   text REFERENCES members (id),
    claim_status text NOT NULL DEFAULT 'unclaimed' CHECK (claim_status IN ('unclaimed', 'pending', 'verified')),
    claimed_at   text,
    created_at   text NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    updated_at   text NOT NULL,
    deleted_at   text
);

CREATE TABLE members (
    id              text PRIMARY KEY,
    organization_id text REFERENCES organizations (id),
    full_name       text NOT NULL,
    email           text,
    phone           text,
    position        text,
    province        text,
    city            text,
    sdg_tags        text,
    national_id     text,
    created_at      text NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    updated_at      text NOT NULL,
    deleted_at      text
);

CREATE TABLE events (
    id              text PRIMARY KEY,
    organization_id text REFERENCES organizations (id),
    title           text,
    description     text,
    starts_at       text,
    ends_at         text,
    venue           text,
    city            text,
    province        text,
    status          text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'cancelled', 'done')),
    created_at      text NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    updated_at      text NOT NULL,
    deleted_at      text
);

CREATE INDEX organizations_updated_at_id ON organizations (updated_at, id);
CREATE INDEX members_updated_at_id ON members (updated_at, id);
CREATE INDEX members_email_norm ON members (lower(trim(email)));
CREATE INDEX events_updated_at_id ON events (updated_at, id);
