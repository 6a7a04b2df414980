-- 0007: each session's source under the per-ClientID attribution models,
-- kept with the session so that reports group by it without a join:
-- first (the ClientID's first session) and lastsign (the session itself
-- if its source is significant, else the ClientID's latest earlier
-- significant session, else direct). *_sid names the session the source
-- came from (NULL for lastsign's direct fallback), for the UTM fields.
-- Imports recompute them for the ClientIDs they touch.
ALTER TABLE sessions ADD COLUMN first_sid UBIGINT;
ALTER TABLE sessions ADD COLUMN first_source VARCHAR;
ALTER TABLE sessions ADD COLUMN first_engine VARCHAR;
ALTER TABLE sessions ADD COLUMN lastsign_sid UBIGINT;
ALTER TABLE sessions ADD COLUMN lastsign_source VARCHAR;
ALTER TABLE sessions ADD COLUMN lastsign_engine VARCHAR;
