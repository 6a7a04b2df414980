-- The schema of the embedded store. Later changes come as migrations
-- numbered on from this one, each applied once (schema_migrations).

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
    created            TIMESTAMP NOT NULL,
    locale             VARCHAR DEFAULT ''  -- the dashboard's language for the counter; '': the reader's
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
    upload_line     BIGINT NOT NULL,     -- its row in that import's file (1 = first data row); 0 for the tag
    -- The session's source under the per-ClientID attribution models,
    -- kept with the session so that reports group by it without a join:
    -- first (the ClientID's first session) and lastsign (the session
    -- itself if its source is significant, else the ClientID's latest
    -- earlier significant session, else direct). *_sid names the session
    -- the source came from (NULL for lastsign's direct fallback), for the
    -- UTM fields. Imports recompute them for the ClientIDs they touch.
    first_sid        UBIGINT,
    first_source     VARCHAR,
    first_engine     VARCHAR,
    lastsign_sid     UBIGINT,
    lastsign_source  VARCHAR,
    lastsign_engine  VARCHAR
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

-- CRM data: status mapping, contacts and their identifiers, orders and every
-- accepted version of them.
CREATE TABLE status_map (
    counter_id  BIGINT NOT NULL,
    crm_status  VARCHAR NOT NULL,
    humanized   VARCHAR NOT NULL,
    type        VARCHAR NOT NULL,
    goal_ids    VARCHAR[] NOT NULL,
    PRIMARY KEY (counter_id, crm_status)
);

-- Contacts hold the current state of each customer; lists are the
-- customer's identifiers. No primary key: uploads merge set-based with MERGE.
CREATE TABLE contacts (
    counter_id    BIGINT NOT NULL,
    uniq_id       VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    created       TIMESTAMP,           -- never changes once set
    updated       TIMESTAMP,
    birth_date    DATE,
    client_ids    UBIGINT[] NOT NULL,
    user_ids      VARCHAR[] NOT NULL,
    email_md5     VARCHAR[] NOT NULL,
    email_sha256  VARCHAR[] NOT NULL,
    phone_md5     VARCHAR[] NOT NULL,
    phone_sha256  VARCHAR[] NOT NULL,
    emails        VARCHAR[] NOT NULL,  -- plain, only if the counter keeps PII
    phones        VARCHAR[] NOT NULL,
    attrs         VARCHAR NOT NULL,    -- JSON object of custom attributes
    upload_id     VARCHAR NOT NULL,    -- the last upload that changed it
    first_upload  TIMESTAMP NOT NULL
);

-- Orders hold the current state of each order. Simple orders carry their
-- own identifiers; full ones name their contact.
CREATE TABLE orders (
    counter_id    BIGINT NOT NULL,
    id            VARCHAR NOT NULL,
    uniq_id       VARCHAR NOT NULL,    -- '' for simple orders without a contact
    is_simple     BOOLEAN NOT NULL,
    created       TIMESTAMP NOT NULL,  -- never changes once set
    updated       TIMESTAMP NOT NULL,
    finished      TIMESTAMP,
    status        VARCHAR NOT NULL,
    status_type   VARCHAR NOT NULL,
    revenue       DECIMAL(18,4) NOT NULL,
    cost          DECIMAL(18,4),
    currency      VARCHAR NOT NULL,
    products      VARCHAR NOT NULL,    -- JSON array of [name, quantity]
    goals         VARCHAR NOT NULL,    -- JSON array of [goal, price or null]
    attrs         VARCHAR NOT NULL,    -- JSON object
    client_ids    UBIGINT[] NOT NULL,
    user_ids      VARCHAR[] NOT NULL,
    email_md5     VARCHAR[] NOT NULL,
    email_sha256  VARCHAR[] NOT NULL,
    phone_md5     VARCHAR[] NOT NULL,
    phone_sha256  VARCHAR[] NOT NULL,
    version       INTEGER NOT NULL,    -- the latest version in order_history
    upload_id     VARCHAR NOT NULL,
    first_upload  TIMESTAMP NOT NULL,
    -- The data reports use for the order: new versions change it only
    -- within the counter's update window from the order's creation.
    rep_status_type  VARCHAR,
    rep_revenue      DECIMAL(18,4),
    rep_cost         DECIMAL(18,4)
);

-- Every accepted version of an order, in upload and file order.
CREATE TABLE order_history (
    counter_id   BIGINT NOT NULL,
    order_id     VARCHAR NOT NULL,
    version      INTEGER NOT NULL,
    upload_id    VARCHAR NOT NULL,
    line         BIGINT NOT NULL,
    accepted     TIMESTAMP NOT NULL,
    status       VARCHAR NOT NULL,
    status_type  VARCHAR NOT NULL,
    revenue      DECIMAL(18,4),
    cost         DECIMAL(18,4),
    created      TIMESTAMP,
    updated      TIMESTAMP,
    finished     TIMESTAMP
);

-- Offline conversions: goals reached outside the site.
CREATE TABLE offline_conversions (
    counter_id  BIGINT NOT NULL,
    upload_id   VARCHAR NOT NULL,
    line        BIGINT NOT NULL,
    id_type     VARCHAR NOT NULL,   -- client_id, user_id, yclid, purchase_id
    id_value    VARCHAR NOT NULL,
    target      VARCHAR NOT NULL,
    time        TIMESTAMP NOT NULL,
    price       DECIMAL(18,4),
    currency    VARCHAR NOT NULL
);

-- Each order's link to the session it came from.
CREATE TABLE order_links (
    counter_id     BIGINT NOT NULL,
    order_id       VARCHAR NOT NULL,
    session_id     UBIGINT NOT NULL,
    client_id      UBIGINT NOT NULL,
    method         VARCHAR NOT NULL,   -- purchase_id, client_id, user_id, email, phone
    session_start  TIMESTAMP NOT NULL,
    linked_at      TIMESTAMP NOT NULL
);

-- Goals, and the goals CRM orders reached.
CREATE SEQUENCE goal_seq START 1000001;

CREATE TABLE goals (
    id          BIGINT NOT NULL DEFAULT nextval('goal_seq'),
    counter_id  BIGINT NOT NULL,
    name        VARCHAR NOT NULL,
    type        VARCHAR NOT NULL,       -- crm, action
    crm_key     VARCHAR NOT NULL,       -- crm goals: created, paid, cancelled, spam; others: empty
    action      VARCHAR NOT NULL DEFAULT '',  -- action goals: the identifier sites and CRMs name them by
    created     TIMESTAMP NOT NULL
);

-- One row per (order, goal), at the order's linked session; append-only.
CREATE TABLE goal_reaches (
    counter_id  BIGINT NOT NULL,
    goal_id     BIGINT NOT NULL,
    order_id    VARCHAR NOT NULL,
    session_id  UBIGINT NOT NULL,
    time        TIMESTAMP NOT NULL,
    revenue     DECIMAL(18,4) NOT NULL
);

-- The dashboard: users who sign in with a password, and signed-in browsers
-- (only their cookie's hash is kept).
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

-- The tag's hits are logged in files beside the database (package hitlog)
-- and applied in batches; applied is the last batch applied, recorded in
-- the transaction that applies it, so each batch is applied exactly once.
CREATE TABLE hit_log_state (
    applied  BIGINT NOT NULL
);
INSERT INTO hit_log_state VALUES (0);

-- The health check's probe: /healthz writes this row and reads it
-- back, so that a store that cannot write (a full disk) or has failed is
-- seen by the check, not only by the requests that fail.
CREATE TABLE health_probe (
    id       INTEGER NOT NULL,
    checked  TIMESTAMP NOT NULL
);
INSERT INTO health_probe (id, checked) VALUES (1, TIMESTAMP '1970-01-01 00:00:00');
