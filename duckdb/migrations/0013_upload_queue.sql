-- 0013: an orders upload can be accepted once it is validated and its rows
-- are spooled, fsynced, beside the database (<db>.uploads/<id>/), and be
-- applied afterwards. A row here is an accepted upload not yet applied: the
-- upload as accepted and its spool chunks, in order. The transaction that
-- applies it deletes the row, so each is applied once, crash or not.
CREATE SEQUENCE upload_queue_seq;
CREATE TABLE upload_queue (
    id          VARCHAR NOT NULL,
    seq         BIGINT NOT NULL,
    counter_id  BIGINT NOT NULL,
    upload      VARCHAR NOT NULL,
    chunks      VARCHAR NOT NULL
);
