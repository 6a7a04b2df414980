-- The custom attributes a CRM declares for its contacts, companies,
-- orders and simple orders (Metrica's schema/attributes), and for its
-- product list's items (entity PRODUCT); and the product list itself
-- (schema/products).
CREATE TABLE schema_attributes (
    counter_id      BIGINT NOT NULL,
    entity          VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,
    type_name       VARCHAR NOT NULL,
    type_group      VARCHAR NOT NULL,
    type_humanized  VARCHAR NOT NULL,
    multivalued     BOOLEAN NOT NULL,
    humanized       VARCHAR NOT NULL,
    PRIMARY KEY (counter_id, entity, name)
);

CREATE TABLE schema_products (
    counter_id  BIGINT NOT NULL,
    name        VARCHAR NOT NULL,
    humanized   VARCHAR NOT NULL,
    PRIMARY KEY (counter_id, name)
);
