-- Google Customer Match hashes phones in E.164, with a "+": a contact
-- keeps that hash too for each phone sent plain, since a hash cannot be
-- normalised again. Contacts stored before have none; uploading their
-- phones again gives them. (A list DEFAULT on ADD COLUMN fails in DuckDB
-- on a table with rows, hence the UPDATE.)
ALTER TABLE contacts ADD COLUMN phone_e164_sha256 VARCHAR[];
UPDATE contacts SET phone_e164_sha256 = [];
