-- Edited people. A person keeps their id; each edit makes a new version. The row in people is
-- always the current version; every version it replaced is kept in person_versions with who
-- wrote it, when and why. 身份证号 and phone stay encrypted there, as in people.
ALTER TABLE people ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE people ADD COLUMN edited_by INTEGER REFERENCES users(id);
ALTER TABLE people ADD COLUMN edited_at TEXT;
ALTER TABLE people ADD COLUMN edit_reason TEXT;

CREATE TABLE person_versions (
    county_id INTEGER NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people(id),
    version INTEGER NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    gender TEXT,
    id_number_enc TEXT,
    phone_enc TEXT,
    birth_date TEXT,
    party_member INTEGER NOT NULL,
    retired INTEGER NOT NULL,
    ethnicity TEXT,
    education TEXT,
    member_category TEXT,
    joined_on TEXT,
    confirmed_on TEXT,
    -- Who wrote this version, when and why (no writer nor reason for the first version).
    written_by INTEGER REFERENCES users(id),
    written_at TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (person_id, version)
);
