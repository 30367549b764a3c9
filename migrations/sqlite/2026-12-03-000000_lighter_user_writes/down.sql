CREATE INDEX users_username_idx ON users (username);
