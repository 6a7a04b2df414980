-- Ad spend (Metrica's expenses upload): each uploaded row spread over its
-- days, a row a day, the shares adding up to the row's amount exactly.
CREATE TABLE expenses (
    counter_id             BIGINT NOT NULL,
    upload_id              VARCHAR NOT NULL,
    line                   BIGINT NOT NULL,
    provider               VARCHAR NOT NULL,
    day                    DATE NOT NULL,
    utm_source             VARCHAR NOT NULL,
    traffic_source         VARCHAR NOT NULL,
    traffic_source_detail  VARCHAR NOT NULL,
    utm_medium             VARCHAR NOT NULL,
    utm_campaign           VARCHAR NOT NULL,
    utm_term               VARCHAR NOT NULL,
    utm_content            VARCHAR NOT NULL,
    currency               VARCHAR NOT NULL,
    clicks                 BIGINT NOT NULL,
    expenses               DECIMAL(18,4) NOT NULL
);

-- What Metrica's expense calls say of an upload besides the common
-- record (uploads): its provider and comment, and for a delete
-- (REMOVES), the days it removed.
CREATE TABLE expense_uploads (
    counter_id  BIGINT NOT NULL,
    upload_id   VARCHAR NOT NULL,
    provider    VARCHAR NOT NULL,
    comment     VARCHAR NOT NULL,
    removed     BIGINT NOT NULL
);
