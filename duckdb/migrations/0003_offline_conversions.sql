-- 0003: offline conversions: goals reached outside the site.
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
