-- 0010: hit batches are logged in Go's gob encoding, a BLOB: several times
-- cheaper to write and read than JSON at thousands of hits a second.
-- Batches logged before (JSON text) stay, as bytes, and are read as JSON.
ALTER TABLE hit_log ALTER COLUMN payload TYPE BLOB USING encode(payload);
