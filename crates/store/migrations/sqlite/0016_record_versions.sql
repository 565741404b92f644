-- Corrected records. A record keeps its id; each correction makes a new version. The row in
-- ledger_records is always the current version (what lists, bulletins and rollups count); every
-- version it replaced is kept in record_versions with who wrote it, when and why.
ALTER TABLE ledger_records ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE ledger_records ADD COLUMN edited_by INTEGER REFERENCES users(id);
ALTER TABLE ledger_records ADD COLUMN edited_at TEXT;
ALTER TABLE ledger_records ADD COLUMN edit_reason TEXT;

CREATE TABLE record_versions (
    county_id INTEGER NOT NULL,
    record_id INTEGER NOT NULL REFERENCES ledger_records(id),
    version INTEGER NOT NULL,
    type_version INTEGER NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    occurred_on TEXT NOT NULL,
    fields TEXT NOT NULL,
    -- Who wrote this version, when and why (no reason for the first version).
    written_by INTEGER REFERENCES users(id),
    written_at TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (record_id, version)
);
