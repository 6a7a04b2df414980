-- 0012: acknowledged hit batches are logged in append-only files beside
-- the database (<db>.hits/), each fsynced before the hits are answered;
-- a row insert here cost several times more. applied is the last batch
-- applied to sessions, recorded in the applying transaction, so each batch
-- is applied exactly once. hit_log stays for batches logged before.
CREATE TABLE hit_log_state (
    applied  BIGINT NOT NULL
);
INSERT INTO hit_log_state VALUES (coalesce((SELECT max(seq) FROM hit_log), 0));
