-- A user's row is rewritten on every user.updated: each index fewer is work saved on every
-- delivery. (username, id) serves every lookup by username that (username) did.
DROP INDEX users_username_idx;
