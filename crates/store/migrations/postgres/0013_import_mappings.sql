-- A county's saved column mappings (列对应关系): for one import target (`orgs`, `people`,
-- `ledger:<type key>`), a named choice of which sheet column goes into which field, kept so that
-- the same layout of sheet is imported the same way next time. Carried by copy and backup.
CREATE TABLE import_mappings (
    county_id BIGINT NOT NULL REFERENCES counties(id),
    target TEXT NOT NULL,
    name TEXT NOT NULL,
    -- {"columns": {"表头": "field key", …}}
    mapping JSONB NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (county_id, target, name)
);
