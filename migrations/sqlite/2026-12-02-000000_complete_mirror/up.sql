-- Every field of Clerk's objects that applications query, so that none has to ask Clerk's API
-- for data the mirror could hold. docs/schema.md documents each column.
--
-- JSON columns hold JSON text (query them with json_extract). clerk_object is the latest
-- version of the object exactly as Clerk sent it (NULL for a user known only from a
-- membership), so a field not extracted here is not lost. Times from Clerk (clerk_created_at,
-- last_sign_in_at, last_active_at) are Unix milliseconds, as clerk_updated_at is.

ALTER TABLE users ADD COLUMN username TEXT;
ALTER TABLE users ADD COLUMN phone_number TEXT;
ALTER TABLE users ADD COLUMN public_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN private_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN unsafe_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN locked BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN two_factor_enabled BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_sign_in_at BIGINT;
ALTER TABLE users ADD COLUMN last_active_at BIGINT;
ALTER TABLE users ADD COLUMN clerk_created_at BIGINT;
ALTER TABLE users ADD COLUMN clerk_object TEXT;
CREATE INDEX users_username_idx ON users (username);
CREATE INDEX users_phone_number_idx ON users (phone_number);

-- All of a user's addresses and numbers, verified or not; users.email is the verified primary
-- address only, users.phone_number the primary number.
CREATE TABLE user_email_addresses (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    clerk_id TEXT NOT NULL,
    email_address TEXT NOT NULL,
    verified BOOLEAN NOT NULL,
    is_primary BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, clerk_id)
);
CREATE INDEX user_email_addresses_email_idx ON user_email_addresses (email_address);

CREATE TABLE user_phone_numbers (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    clerk_id TEXT NOT NULL,
    phone_number TEXT NOT NULL,
    verified BOOLEAN NOT NULL,
    is_primary BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, clerk_id)
);
CREATE INDEX user_phone_numbers_phone_idx ON user_phone_numbers (phone_number);

ALTER TABLE organizations ADD COLUMN public_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE organizations ADD COLUMN private_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE organizations ADD COLUMN max_allowed_memberships BIGINT;
ALTER TABLE organizations ADD COLUMN created_by TEXT;
ALTER TABLE organizations ADD COLUMN clerk_created_at BIGINT;
ALTER TABLE organizations ADD COLUMN members_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN clerk_object TEXT;

ALTER TABLE organization_memberships ADD COLUMN permissions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE organization_memberships ADD COLUMN public_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE organization_memberships ADD COLUMN private_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE organization_memberships ADD COLUMN clerk_created_at BIGINT;
ALTER TABLE organization_memberships ADD COLUMN clerk_object TEXT;

-- members_count is the number of the organization's memberships in the mirror, kept by the
-- database itself on every insert, delete (also through a cascade) and move, whatever path
-- wrote it.
UPDATE organizations SET members_count =
    (SELECT count(*) FROM organization_memberships m WHERE m.organization_id = organizations.id);

CREATE TRIGGER organization_memberships_count_insert AFTER INSERT ON organization_memberships
BEGIN
    UPDATE organizations SET members_count = members_count + 1 WHERE id = NEW.organization_id;
END;

CREATE TRIGGER organization_memberships_count_delete AFTER DELETE ON organization_memberships
BEGIN
    UPDATE organizations SET members_count = members_count - 1 WHERE id = OLD.organization_id;
END;

CREATE TRIGGER organization_memberships_count_move
AFTER UPDATE OF organization_id ON organization_memberships
BEGIN
    UPDATE organizations SET members_count = members_count - 1 WHERE id = OLD.organization_id;
    UPDATE organizations SET members_count = members_count + 1 WHERE id = NEW.organization_id;
END;
