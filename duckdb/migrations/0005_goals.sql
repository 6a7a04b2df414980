-- 0005: goals, and the goals CRM orders reached.
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
