-- Indexes behind clerk-sync's Clerk-compatible reads (/clerk/v1): each order a list can take,
-- with the local id as the tie-breaker, so that a page reads its rows from an index in order
-- and stops, and the cursor of `starting_after` (users by Clerk's created_at) seeks into it.
CREATE INDEX users_clerk_created_at_idx ON users (clerk_created_at, id);
CREATE INDEX users_clerk_updated_at_idx ON users (clerk_updated_at, id);
CREATE INDEX users_username_order_idx ON users (username, id);
CREATE INDEX organizations_clerk_created_at_idx ON organizations (clerk_created_at, id);
CREATE INDEX organizations_name_order_idx ON organizations (name, id);
CREATE INDEX organizations_members_count_idx ON organizations (members_count, id);
CREATE INDEX organization_memberships_clerk_created_at_idx
    ON organization_memberships (clerk_created_at, id);
-- An organization's members, newest first (GET /organizations/{id}/memberships).
CREATE INDEX organization_memberships_organization_created_idx
    ON organization_memberships (organization_id, clerk_created_at, id);
