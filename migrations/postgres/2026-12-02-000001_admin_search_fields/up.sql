-- The admin user search also matches the start of a username or of an external_id,
-- case-insensitively, as admin_indexes does for emails and Clerk ids: each searched
-- expression is indexed lower-cased under the C collation, the only one under which a B-tree
-- serves LIKE 'text%'. (users_username_idx and users_external_id_idx serve exact lookups by
-- applications, under the database's collation, and cannot answer a prefix.)

CREATE INDEX users_username_search_idx ON users ((lower(username) COLLATE "C"), id);
CREATE INDEX users_external_id_search_idx ON users ((lower(external_id) COLLATE "C"), id);
