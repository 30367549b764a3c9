-- Indexes behind the admin pages: search by prefix, sorting, and filters, so that lists stay
-- fast with hundreds of thousands of rows.
--
-- Search is a case-insensitive prefix match (`LIKE 'text%'` on lower-cased text). A B-tree
-- serves LIKE only under the C collation, so the searched expressions are indexed (and
-- compared, and ordered) with COLLATE "C", whatever the database's collation: one index then
-- both finds a prefix and returns the rows in page order. Emails are stored lower-cased, so
-- they need no lower().

CREATE INDEX users_email_search_idx ON users ((email COLLATE "C"), id);
CREATE INDEX users_clerk_id_search_idx ON users ((lower(clerk_id) COLLATE "C"), id);
CREATE INDEX users_first_name_idx ON users (first_name, id);
CREATE INDEX users_last_name_idx ON users (last_name, id);
-- Staff are few: the "staff only" filter reads this small partial index.
CREATE INDEX users_staff_idx ON users (id) WHERE is_staff;

CREATE INDEX organizations_name_search_idx ON organizations ((lower(name) COLLATE "C"), id);
CREATE INDEX organizations_clerk_id_search_idx ON organizations ((lower(clerk_id) COLLATE "C"), id);

CREATE INDEX organization_memberships_role_idx ON organization_memberships (role, id);

CREATE INDEX webhook_events_event_type_idx ON webhook_events (event_type, id);
CREATE INDEX webhook_events_outcome_idx ON webhook_events (outcome, id);
