-- 0009: the tag's hits as they were acknowledged, one row per batch (a
-- JSON array), until they are applied to sessions, goals, purchases and
-- identities; applying a batch deletes its row in the same transaction.
CREATE TABLE hit_log (
    seq      BIGINT NOT NULL,
    payload  VARCHAR NOT NULL
);
