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

-- A session of an owned ClientID (robots' aside) has a row here with its
-- customer's first and last significant sources, over the sessions of
-- every ClientID the customer owns. A session without one has its
-- ClientID's attribution (sessions.first_*, lastsign_*). Kept apart from
-- sessions, so that a change of owners rewrites these narrow rows, not
-- the sessions.
CREATE TABLE session_cross_device (
    counter_id      BIGINT NOT NULL,
    session_id      UBIGINT NOT NULL,
    client_id       UBIGINT NOT NULL,
    first_sid       UBIGINT NOT NULL,
    first_source    VARCHAR NOT NULL,
    first_engine    VARCHAR NOT NULL,
    lastsign_sid    UBIGINT,
    lastsign_source VARCHAR NOT NULL,
    lastsign_engine VARCHAR NOT NULL
);
