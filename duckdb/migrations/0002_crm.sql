-- 0002: CRM data: status mapping, contacts and their identifiers, orders and
-- every accepted version of them.
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
    first_upload  TIMESTAMP NOT NULL
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
