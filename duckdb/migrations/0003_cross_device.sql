-- Cross-device attribution (the cross_device_* models) is kept as data
-- changes, not computed when a report runs. client_owners maps each
-- ClientID that a customer owns (customerClientsSQL: the contact's own,
-- and the visitors whose UserID, email or phone is the contact's; the
-- least uniq_id when several do) to that customer. A ClientID no customer
-- owns is a group of its own.
CREATE TABLE client_owners (
    counter_id BIGINT NOT NULL,
    client_id  UBIGINT NOT NULL,
    cust       VARCHAR NOT NULL
);

-- A session of an owned ClientID keeps its customer's first and last
-- significant sources here, over the sessions of every ClientID the
-- customer owns (robots' left out). NULL cd_first_sid: the session's
-- group is its ClientID, whose attribution is first_* and lastsign_*.
ALTER TABLE sessions ADD COLUMN cd_first_sid UBIGINT;
ALTER TABLE sessions ADD COLUMN cd_first_source VARCHAR;
ALTER TABLE sessions ADD COLUMN cd_first_engine VARCHAR;
ALTER TABLE sessions ADD COLUMN cd_lastsign_sid UBIGINT;
ALTER TABLE sessions ADD COLUMN cd_lastsign_source VARCHAR;
ALTER TABLE sessions ADD COLUMN cd_lastsign_engine VARCHAR;
