-- Accepted orders uploads are kept by package uploadqueue in files of
-- their own; stores made before that kept them in this table.
DROP TABLE IF EXISTS upload_queue;
DROP SEQUENCE IF EXISTS upload_queue_seq;
