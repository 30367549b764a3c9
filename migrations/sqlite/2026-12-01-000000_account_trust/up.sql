-- What decides who owns an account, and whether it may be used: Clerk's `external_id` (the
-- application's own id for the user, which links a pre-existing local account) and Clerk's
-- `banned` flag, refused like an account that staff made inactive.
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN banned BOOLEAN NOT NULL DEFAULT 0;
CREATE INDEX users_external_id_idx ON users (external_id);
