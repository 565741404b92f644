-- Edited people. A person keeps their id; each edit makes a new version. The row in people is
-- always the current version; every version it replaced is kept in person_versions with who
-- wrote it, when and why. 身份证号 and phone stay encrypted there, as in people.
ALTER TABLE people ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE people ADD COLUMN edited_by BIGINT REFERENCES users(id);
ALTER TABLE people ADD COLUMN edited_at TIMESTAMPTZ;
ALTER TABLE people ADD COLUMN edit_reason TEXT;

CREATE TABLE person_versions (
    county_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    org_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    gender TEXT,
    id_number_enc TEXT,
    phone_enc TEXT,
    birth_date DATE,
    party_member BOOLEAN NOT NULL,
    retired BOOLEAN NOT NULL,
    ethnicity TEXT,
    education TEXT,
    member_category TEXT,
    joined_on DATE,
    confirmed_on DATE,
    -- Who wrote this version, when and why (no writer nor reason for the first version).
    written_by BIGINT REFERENCES users(id),
    written_at TIMESTAMPTZ NOT NULL,
    reason TEXT,
    PRIMARY KEY (county_id, person_id, version),
    FOREIGN KEY (county_id, person_id) REFERENCES people (county_id, id),
    FOREIGN KEY (county_id, org_id) REFERENCES orgs (county_id, id)
);
