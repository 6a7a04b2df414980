-- 0001: counters, tokens, uploads, sessions and the site's identities.
CREATE TABLE counters (
    id                 BIGINT PRIMARY KEY,
    name               VARCHAR NOT NULL,
    site               VARCHAR NOT NULL,
    time_zone          VARCHAR NOT NULL,
    currency           VARCHAR NOT NULL,
    session_timeout_s  INTEGER NOT NULL,
    link_window_s      BIGINT NOT NULL,
    update_window_s    BIGINT NOT NULL,
    keep_pii           BOOLEAN NOT NULL DEFAULT false,
    created            TIMESTAMP NOT NULL
);

CREATE TABLE tokens (
    hash        VARCHAR PRIMARY KEY,   -- hex SHA-256 of the secret; the secret is never stored
    counter_id  BIGINT NOT NULL,       -- 0: every counter
    scope       VARCHAR NOT NULL,      -- read, write, admin
    name        VARCHAR NOT NULL DEFAULT '',
    created     TIMESTAMP NOT NULL,
    revoked     TIMESTAMP
);

CREATE SEQUENCE upload_seq;

CREATE TABLE uploads (
    seq           BIGINT NOT NULL DEFAULT nextval('upload_seq'),  -- recording order, for ties in time
    id            VARCHAR NOT NULL,
    counter_id    BIGINT NOT NULL,
    entity        VARCHAR NOT NULL,
    format        VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    merge_mode    VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,
    rows          BIGINT NOT NULL,
    accepted      BIGINT NOT NULL,
    rejected      BIGINT NOT NULL,
    linked        BIGINT NOT NULL,
    unlinked      VARCHAR NOT NULL,    -- JSON object: reason -> count
    errors        VARCHAR NOT NULL,    -- JSON array of row errors
    errors_total  BIGINT NOT NULL,
    created       TIMESTAMP NOT NULL,
    finished      TIMESTAMP NOT NULL,
    PRIMARY KEY (counter_id, id)
);

-- Sessions: one row per visit. No primary key: an ART index over tens of
-- millions of rows costs more at import than it saves; imports replace
-- sessions by id with a set-based DELETE instead.
CREATE TABLE sessions (
    counter_id      BIGINT NOT NULL,
    session_id      UBIGINT NOT NULL,
    client_id       UBIGINT NOT NULL,
    user_id         VARCHAR NOT NULL,
    start_utc       TIMESTAMP NOT NULL,
    start_local     TIMESTAMP NOT NULL,  -- wall time in the counter's time zone, for dates in reports
    duration_s      INTEGER NOT NULL,
    page_views      INTEGER NOT NULL,
    is_bounce       BOOLEAN NOT NULL,
    traffic_source  VARCHAR NOT NULL,
    source_engine   VARCHAR NOT NULL,
    utm_source      VARCHAR NOT NULL,
    utm_medium      VARCHAR NOT NULL,
    utm_campaign    VARCHAR NOT NULL,
    utm_content     VARCHAR NOT NULL,
    utm_term        VARCHAR NOT NULL,
    click_id        VARCHAR NOT NULL,
    referrer        VARCHAR NOT NULL,
    landing_url     VARCHAR NOT NULL,
    country         VARCHAR NOT NULL,
    region          VARCHAR NOT NULL,
    city            VARCHAR NOT NULL,
    device          VARCHAR NOT NULL,
    os              VARCHAR NOT NULL,
    browser         VARCHAR NOT NULL,
    is_bot          BOOLEAN NOT NULL,
    upload_id       VARCHAR NOT NULL,    -- the import that brought it; '' for the tag
    upload_line     BIGINT NOT NULL      -- its row in that import's file (1 = first data row); 0 for the tag
);

-- E-commerce purchases seen in sessions: the purchase (order) id links a CRM
-- order to its session most precisely (SPEC.md §3).
CREATE TABLE site_purchases (
    counter_id   BIGINT NOT NULL,
    session_id   UBIGINT NOT NULL,
    client_id    UBIGINT NOT NULL,
    purchase_id  VARCHAR NOT NULL,
    time         TIMESTAMP NOT NULL
);

-- Identifiers the site collected for a ClientID (UserIDs, hashed emails and
-- phones, Metrica's counterUserIDHash), for linking CRM customers.
CREATE TABLE site_identities (
    counter_id  BIGINT NOT NULL,
    client_id   UBIGINT NOT NULL,
    kind        VARCHAR NOT NULL,
    value       VARCHAR NOT NULL,
    first_seen  TIMESTAMP NOT NULL
);
