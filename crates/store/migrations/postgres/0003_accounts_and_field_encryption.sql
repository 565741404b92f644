-- 身份证号 and phone numbers encrypted per field, with keyed blind indexes for exact search (the
-- existing plaintext is encrypted by the application in the same transaction, then dropped by
-- migration 4); password age, forced change and a second factor for accounts; per-county security
-- settings; a one-time code for the first start.
ALTER TABLE people ADD COLUMN id_number_enc TEXT;
ALTER TABLE people ADD COLUMN id_number_bidx TEXT;
ALTER TABLE people ADD COLUMN phone_enc TEXT;
ALTER TABLE people ADD COLUMN phone_bidx TEXT;
CREATE UNIQUE INDEX people_id_number_bidx ON people(county_id, id_number_bidx) WHERE id_number_bidx IS NOT NULL;
CREATE INDEX people_phone_bidx ON people(county_id, phone_bidx) WHERE phone_bidx IS NOT NULL;

CREATE TABLE instance_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE county_settings (
    county_id BIGINT NOT NULL REFERENCES counties(id),
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (county_id, name)
);

ALTER TABLE users ADD COLUMN password_changed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN totp_secret_enc TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
UPDATE users SET password_changed_at = CAST(extract(epoch FROM now()) AS BIGINT);

ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full';

CREATE TABLE setup_codes (
    county_id BIGINT PRIMARY KEY REFERENCES counties(id),
    code_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
