-- The Kelompok reference schema (docs/connectors/kelompok.md, "The reference schema") for PostgreSQL.
-- The quickstart and the end-to-end tests load it into an empty database.

CREATE TABLE organizations (
    id           uuid PRIMARY KEY,
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
    latitude     double precision,
    longitude    double precision,
    sdg_tags     text[],
    claimed_by   uuid,
    claim_status text NOT NULL DEFAULT 'unclaimed' CHECK (claim_status IN ('unclaimed', 'pending', 'verified')),
    claimed_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);

CREATE TABLE members (
    id              uuid PRIMARY KEY,
    organization_id uuid REFERENCES organizations (id),
    full_name       text NOT NULL,
    email           text,
    phone           text,
    position        text,
    province        text,
    city            text,
    sdg_tags        text[],
    national_id     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);

ALTER TABLE organizations
    ADD CONSTRAINT organizations_claimed_by_fkey FOREIGN KEY (claimed_by) REFERENCES members (id);

CREATE TABLE events (
    id              uuid PRIMARY KEY,
    organization_id uuid REFERENCES organizations (id),
    title           text,
    description     text,
    starts_at       timestamptz,
    ends_at         timestamptz,
    venue           text,
    city            text,
    province        text,
    status          text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'cancelled', 'done')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);

-- Incremental reads page on (updated_at, id); identity matching looks
-- members up by normalized email.
CREATE INDEX organizations_updated_at_id ON organizations (updated_at, id);
CREATE INDEX members_updated_at_id ON members (updated_at, id);
CREATE INDEX members_email_norm ON members (lower(trim(email)));
CREATE INDEX events_updated_at_id ON events (updated_at, id);
