-- 0014: the health check's probe: /healthz writes this row and reads it
-- back, so that a store that cannot write (a full disk) or has failed is
-- seen by the check, not only by the requests that fail.
CREATE TABLE health_probe (
    id       INTEGER NOT NULL,
    checked  TIMESTAMP NOT NULL
);
INSERT INTO health_probe (id, checked) VALUES (1, TIMESTAMP '1970-01-01 00:00:00');
