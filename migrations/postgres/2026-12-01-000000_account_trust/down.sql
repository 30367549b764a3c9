DROP INDEX users_external_id_idx;
ALTER TABLE users DROP COLUMN banned;
ALTER TABLE users DROP COLUMN external_id;
