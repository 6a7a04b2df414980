-- 0004: each order's link to the session it came from.
CREATE TABLE order_links (
    counter_id     BIGINT NOT NULL,
    order_id       VARCHAR NOT NULL,
    session_id     UBIGINT NOT NULL,
    client_id      UBIGINT NOT NULL,
    method         VARCHAR NOT NULL,   -- purchase_id, client_id, user_id, email, phone
    session_start  TIMESTAMP NOT NULL,
    linked_at      TIMESTAMP NOT NULL
);
