-- A user's row is rewritten on every user.updated (clerk_updated_at is indexed, so the update
-- is never HOT and inserts into every index of users): each index fewer, and each cheaper
-- compression of the large values, is work saved on every delivery.

-- (username, id) serves every lookup by username that (username) did.
DROP INDEX users_username_idx;

-- The Clerk objects and the webhook log's payloads are the values large enough to be
-- compressed (2 to 4 kB); lz4 compresses them several times faster than pglz, the default.
-- It applies to values written from now on. A server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE users ALTER COLUMN clerk_object SET COMPRESSION lz4;
    ALTER TABLE organizations ALTER COLUMN clerk_object SET COMPRESSION lz4;
    ALTER TABLE organization_memberships ALTER COLUMN clerk_object SET COMPRESSION lz4;
    ALTER TABLE webhook_events ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: large values stay compressed with pglz';
END
$$;
