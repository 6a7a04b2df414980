-- Saved segments: a named condition on a counter's customers and
-- visitors (package report parses the expression; members are computed
-- when asked, from the data as it is then).
CREATE SEQUENCE segment_seq START 1;

CREATE TABLE segments (
    id          BIGINT NOT NULL DEFAULT nextval('segment_seq'),
    counter_id  BIGINT NOT NULL,
    name        VARCHAR NOT NULL,
    expression  VARCHAR NOT NULL,
    created     TIMESTAMP NOT NULL,
    updated     TIMESTAMP NOT NULL,
    PRIMARY KEY (counter_id, id)
);
