-- 0011: the dashboard: a counter's locale, users who sign in with a
-- password, and signed-in browsers (only their cookie's hash is kept).
ALTER TABLE counters ADD COLUMN locale VARCHAR DEFAULT '';
UPDATE counters SET locale = '' WHERE locale IS NULL;

CREATE TABLE users (
    name           VARCHAR PRIMARY KEY,
    password_hash  VARCHAR NOT NULL,   -- argon2id, in its PHC string form
    counter_id     BIGINT NOT NULL,    -- 0: every counter
    scope          VARCHAR NOT NULL,   -- read, write, admin
    created        TIMESTAMP NOT NULL
);

CREATE TABLE web_sessions (
    hash        VARCHAR PRIMARY KEY,   -- hex SHA-256 of the cookie's secret
    token_hash  VARCHAR NOT NULL,      -- the token signed in with, or ''
    user_name   VARCHAR NOT NULL,      -- the user signed in, or ''
    created     TIMESTAMP NOT NULL,
    expires     TIMESTAMP NOT NULL
);
