-- Where a counter's audiences are pushed: a platform's API (Yandex
-- Audience) and the OAuth token to call it with, which is never shown
-- back.
CREATE TABLE audience_targets (
    counter_id  BIGINT NOT NULL,
    platform    VARCHAR NOT NULL,
    base_url    VARCHAR NOT NULL,
    token       VARCHAR NOT NULL,
    updated     TIMESTAMP NOT NULL,
    PRIMARY KEY (counter_id, platform)
);

-- Each segment pushed in a format: the platform's segment that later
-- pushes replace the data of, and how often to push it again (0: only
-- when asked).
CREATE TABLE segment_pushes (
    counter_id   BIGINT NOT NULL,
    segment_id   BIGINT NOT NULL,
    format       VARCHAR NOT NULL,
    target_id    BIGINT NOT NULL,
    every_hours  INTEGER NOT NULL,
    last_push    TIMESTAMP,
    PRIMARY KEY (counter_id, segment_id, format)
);
