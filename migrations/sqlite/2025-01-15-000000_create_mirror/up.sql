-- The mirror of Clerk users, organizations and memberships, the webhook log and tombstones.
-- Timestamps named *_at without "clerk_" are the mirror's own (UTC); clerk_updated_at is
-- Clerk's updated_at in Unix milliseconds, compared to order versions of one object.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    clerk_id TEXT UNIQUE,
    email TEXT UNIQUE,
    first_name TEXT,
    last_name TEXT,
    image_url TEXT,
    is_staff BOOLEAN NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    clerk_updated_at BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    clerk_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    slug TEXT,
    image_url TEXT,
    clerk_updated_at BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX organizations_slug_idx ON organizations (slug);

CREATE TABLE organization_memberships (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    clerk_id TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    clerk_updated_at BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, organization_id)
);
CREATE INDEX organization_memberships_organization_idx ON organization_memberships (organization_id);

CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    svix_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    clerk_object_id TEXT,
    outcome TEXT NOT NULL,
    error TEXT,
    payload TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    received_at TIMESTAMP NOT NULL,
    last_received_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_events_received_at_idx ON webhook_events (received_at);
CREATE INDEX webhook_events_clerk_object_idx ON webhook_events (clerk_object_id);

CREATE TABLE tombstones (
    clerk_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    deleted_at BIGINT,
    recorded_at TIMESTAMP NOT NULL
);
