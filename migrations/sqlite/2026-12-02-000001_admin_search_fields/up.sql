-- The admin user search also matches the start of a username or of an external_id,
-- case-insensitively, as admin_indexes does for emails and Clerk ids: SQLite's LIKE ignores
-- ASCII case and uses an index only when the index has the NOCASE collation.
-- (users_username_idx and users_external_id_idx serve exact lookups by applications.)

CREATE INDEX users_username_search_idx ON users (username COLLATE NOCASE);
CREATE INDEX users_external_id_search_idx ON users (external_id COLLATE NOCASE);
