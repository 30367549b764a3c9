-- Every field of Clerk's objects that applications query, so that none has to ask Clerk's API
-- for data the mirror could hold. docs/schema.md documents each column.
--
-- clerk_object is the latest version of the object exactly as Clerk sent it (NULL for a user
-- known only from a membership), so a field not extracted here is not lost. Times from Clerk
-- (clerk_created_at, last_sign_in_at, last_active_at) are Unix milliseconds, as
-- clerk_updated_at is.

ALTER TABLE users
    ADD COLUMN username TEXT,
    ADD COLUMN phone_number TEXT,
    ADD COLUMN public_metadata JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN private_metadata JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN unsafe_metadata JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN locked BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN two_factor_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN last_sign_in_at BIGINT,
    ADD COLUMN last_active_at BIGINT,
    ADD COLUMN clerk_created_at BIGINT,
    ADD COLUMN clerk_object JSONB;
CREATE INDEX users_username_idx ON users (username);
CREATE INDEX users_phone_number_idx ON users (phone_number);

-- All of a user's addresses and numbers, verified or not; users.email is the verified primary
-- address only, users.phone_number the primary number.
CREATE TABLE user_email_addresses (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    clerk_id TEXT NOT NULL,
    email_address TEXT NOT NULL,
    verified BOOLEAN NOT NULL,
    is_primary BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, clerk_id)
);
CREATE INDEX user_email_addresses_email_idx ON user_email_addresses (email_address);

CREATE TABLE user_phone_numbers (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    clerk_id TEXT NOT NULL,
    phone_number TEXT NOT NULL,
    verified BOOLEAN NOT NULL,
    is_primary BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, clerk_id)
);
CREATE INDEX user_phone_numbers_phone_idx ON user_phone_numbers (phone_number);

ALTER TABLE organizations
    ADD COLUMN public_metadata JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN private_metadata JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN max_allowed_memberships BIGINT,
    ADD COLUMN created_by TEXT,
    ADD COLUMN clerk_created_at BIGINT,
    ADD COLUMN members_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN clerk_object JSONB;

ALTER TABLE organization_memberships
    ADD COLUMN permissions JSONB NOT NULL DEFAULT '[]',
    ADD COLUMN public_metadata JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN private_metadata JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN clerk_created_at BIGINT,
    ADD COLUMN clerk_object JSONB;

-- members_count is the number of the organization's memberships in the mirror, kept by the
-- database itself on every insert, delete (also through a cascade) and move, whatever path
-- wrote it. Inserts and deletes are counted once per statement, from the rows it changed (a
-- resync inserts 500 memberships in one statement: one update per organization, not one per
-- row). The functions run with the schema they were created in, whichever search_path the
-- writer has.
UPDATE organizations SET members_count =
    (SELECT count(*) FROM organization_memberships m WHERE m.organization_id = organizations.id);

CREATE FUNCTION organization_members_added() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE organizations o SET members_count = o.members_count + added.n
    FROM (SELECT organization_id, count(*) AS n FROM added_rows GROUP BY organization_id) added
    WHERE o.id = added.organization_id;
    RETURN NULL;
END
$$;

CREATE FUNCTION organization_members_removed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE organizations o SET members_count = o.members_count - removed.n
    FROM (SELECT organization_id, count(*) AS n FROM removed_rows GROUP BY organization_id) removed
    WHERE o.id = removed.organization_id;
    RETURN NULL;
END
$$;

-- A membership moved to another organization (PostgreSQL allows no transition tables on a
-- trigger limited to one column, so this one runs per row; nothing in clerk-sync moves one).
CREATE FUNCTION organization_members_moved() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE organizations SET members_count = members_count - 1 WHERE id = OLD.organization_id;
    UPDATE organizations SET members_count = members_count + 1 WHERE id = NEW.organization_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER organization_memberships_added
AFTER INSERT ON organization_memberships REFERENCING NEW TABLE AS added_rows
FOR EACH STATEMENT EXECUTE FUNCTION organization_members_added();

CREATE TRIGGER organization_memberships_removed
AFTER DELETE ON organization_memberships REFERENCING OLD TABLE AS removed_rows
FOR EACH STATEMENT EXECUTE FUNCTION organization_members_removed();

CREATE TRIGGER organization_memberships_moved
AFTER UPDATE OF organization_id ON organization_memberships
FOR EACH ROW WHEN (OLD.organization_id IS DISTINCT FROM NEW.organization_id)
EXECUTE FUNCTION organization_members_moved();
