DROP TRIGGER organization_memberships_count_move;
DROP TRIGGER organization_memberships_count_delete;
DROP TRIGGER organization_memberships_count_insert;

ALTER TABLE organization_memberships DROP COLUMN clerk_object;
ALTER TABLE organization_memberships DROP COLUMN clerk_created_at;
ALTER TABLE organization_memberships DROP COLUMN private_metadata;
ALTER TABLE organization_memberships DROP COLUMN public_metadata;
ALTER TABLE organization_memberships DROP COLUMN permissions;

ALTER TABLE organizations DROP COLUMN clerk_object;
ALTER TABLE organizations DROP COLUMN members_count;
ALTER TABLE organizations DROP COLUMN clerk_created_at;
ALTER TABLE organizations DROP COLUMN created_by;
ALTER TABLE organizations DROP COLUMN max_allowed_memberships;
ALTER TABLE organizations DROP COLUMN private_metadata;
ALTER TABLE organizations DROP COLUMN public_metadata;

DROP TABLE user_phone_numbers;
DROP TABLE user_email_addresses;

DROP INDEX users_phone_number_idx;
DROP INDEX users_username_idx;
ALTER TABLE users DROP COLUMN clerk_object;
ALTER TABLE users DROP COLUMN clerk_created_at;
ALTER TABLE users DROP COLUMN last_active_at;
ALTER TABLE users DROP COLUMN last_sign_in_at;
ALTER TABLE users DROP COLUMN two_factor_enabled;
ALTER TABLE users DROP COLUMN locked;
ALTER TABLE users DROP COLUMN unsafe_metadata;
ALTER TABLE users DROP COLUMN private_metadata;
ALTER TABLE users DROP COLUMN public_metadata;
ALTER TABLE users DROP COLUMN phone_number;
ALTER TABLE users DROP COLUMN username;
