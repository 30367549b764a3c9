DROP TRIGGER organization_memberships_moved ON organization_memberships;
DROP TRIGGER organization_memberships_removed ON organization_memberships;
DROP TRIGGER organization_memberships_added ON organization_memberships;
DROP FUNCTION organization_members_moved();
DROP FUNCTION organization_members_removed();
DROP FUNCTION organization_members_added();

ALTER TABLE organization_memberships
    DROP COLUMN permissions,
    DROP COLUMN public_metadata,
    DROP COLUMN private_metadata,
    DROP COLUMN clerk_created_at,
    DROP COLUMN clerk_object;

ALTER TABLE organizations
    DROP COLUMN public_metadata,
    DROP COLUMN private_metadata,
    DROP COLUMN max_allowed_memberships,
    DROP COLUMN created_by,
    DROP COLUMN clerk_created_at,
    DROP COLUMN members_count,
    DROP COLUMN clerk_object;

DROP TABLE user_phone_numbers;
DROP TABLE user_email_addresses;

DROP INDEX users_phone_number_idx;
DROP INDEX users_username_idx;
ALTER TABLE users
    DROP COLUMN username,
    DROP COLUMN phone_number,
    DROP COLUMN public_metadata,
    DROP COLUMN private_metadata,
    DROP COLUMN unsafe_metadata,
    DROP COLUMN locked,
    DROP COLUMN two_factor_enabled,
    DROP COLUMN last_sign_in_at,
    DROP COLUMN last_active_at,
    DROP COLUMN clerk_created_at,
    DROP COLUMN clerk_object;
