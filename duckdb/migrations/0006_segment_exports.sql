-- Every audience file downloaded or pushed to a platform: who, when,
-- which segment and format, how many rows and members, and for pushes
-- the platform's segment id or the error.
CREATE TABLE segment_exports (
    counter_id    BIGINT NOT NULL,
    segment_id    BIGINT NOT NULL,
    segment_name  VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,   -- download, push
    format        VARCHAR NOT NULL,
    who           VARCHAR NOT NULL,
    time          TIMESTAMP NOT NULL,
    rows          BIGINT NOT NULL,
    members       BIGINT NOT NULL,
    left_out      BIGINT NOT NULL,
    target        VARCHAR NOT NULL,   -- pushes: the platform's segment id
    error         VARCHAR NOT NULL    -- pushes that failed: why
);
