-- Indexes behind the admin pages: search by prefix, sorting, and filters, so that lists stay
-- fast with hundreds of thousands of rows.
--
-- Search is a case-insensitive prefix match (`LIKE 'text%'`). SQLite's LIKE is
-- case-insensitive for ASCII, and uses an index only when the index has the NOCASE collation;
-- lists sorted by these columns order by the same collation, so that one index both finds a
-- prefix and returns the rows in page order (each index ends with the rowid, the local id).

CREATE INDEX users_email_search_idx ON users (email COLLATE NOCASE);
CREATE INDEX users_clerk_id_search_idx ON users (clerk_id COLLATE NOCASE);
CREATE INDEX users_first_name_idx ON users (first_name, id);
CREATE INDEX users_last_name_idx ON users (last_name, id);
-- Staff are few: the "staff only" filter reads this small partial index.
CREATE INDEX users_staff_idx ON users (id) WHERE is_staff;

CREATE INDEX organizations_name_search_idx ON organizations (name COLLATE NOCASE);
CREATE INDEX organizations_clerk_id_search_idx ON organizations (clerk_id COLLATE NOCASE);

CREATE INDEX organization_memberships_role_idx ON organization_memberships (role, id);

CREATE INDEX webhook_events_event_type_idx ON webhook_events (event_type, id);
CREATE INDEX webhook_events_outcome_idx ON webhook_events (outcome, id);
