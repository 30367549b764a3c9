ALTER TABLE users ALTER COLUMN clerk_object SET COMPRESSION default;
ALTER TABLE organizations ALTER COLUMN clerk_object SET COMPRESSION default;
ALTER TABLE organization_memberships ALTER COLUMN clerk_object SET COMPRESSION default;
ALTER TABLE webhook_events ALTER COLUMN payload SET COMPRESSION default;
CREATE INDEX users_username_idx ON users (username);
