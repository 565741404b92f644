-- Corrected records. A record keeps its id; each correction makes a new version. The row in
-- ledger_records is always the current version (what lists, bulletins and rollups count); every
-- version it replaced is kept in record_versions with who wrote it, when and why.
ALTER TABLE ledger_records ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE ledger_records ADD COLUMN edited_by BIGINT REFERENCES users(id);
ALTER TABLE ledger_records ADD COLUMN edited_at TIMESTAMPTZ;
ALTER TABLE ledger_records ADD COLUMN edit_reason TEXT;

CREATE TABLE record_versions (
    county_id BIGINT NOT NULL,
    record_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    type_version BIGINT NOT NULL,
    org_id BIGINT NOT NULL,
    occurred_on DATE NOT NULL,
    fields JSONB NOT NULL,
    -- Who wrote this version, when and why (no reason for the first version).
    written_by BIGINT REFERENCES users(id),
    written_at TIMESTAMPTZ NOT NULL,
    reason TEXT,
    PRIMARY KEY (county_id, record_id, version),
    FOREIGN KEY (county_id, record_id) REFERENCES ledger_records (county_id, id),
    FOREIGN KEY (county_id, org_id) REFERENCES orgs (county_id, id)
);
