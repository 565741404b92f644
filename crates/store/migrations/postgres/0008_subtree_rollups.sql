-- Subtree rollups: per organisation × month × ledger type, the records of the organisation's
-- whole subtree as it stood on each record's date (org_closure's validity, self row included).
-- A bulletin over a subtree reads its root's rows here instead of one row per organisation.
-- They are a summary of rollup_cells/rollup_facts (the truth, keyed by each record's own
-- organisation): a write adds to the rows of every ancestor the record had on its date; a void
-- or a back-dated move recomputes the affected ancestors' months from the per-organisation rows.
CREATE TABLE rollup_tree_cells (
    county_id BIGINT NOT NULL,
    -- the subtree's root
    org_id BIGINT NOT NULL,
    month DATE NOT NULL,
    ledger_type_id BIGINT NOT NULL,
    records BIGINT NOT NULL,
    -- the distinct organisations with records and the distinct people named, as serialised
    -- roaring bitmaps
    orgs BYTEA NOT NULL,
    people BYTEA NOT NULL,
    PRIMARY KEY (org_id, month, ledger_type_id)
);
CREATE INDEX rollup_tree_cells_county ON rollup_tree_cells(county_id, month);

CREATE TABLE rollup_tree_facts (
    county_id BIGINT NOT NULL,
    org_id BIGINT NOT NULL,
    month DATE NOT NULL,
    ledger_type_id BIGINT NOT NULL,
    choice_field TEXT NOT NULL,
    option_value TEXT NOT NULL,
    num_field TEXT NOT NULL,
    records BIGINT NOT NULL,
    sum_high BIGINT NOT NULL,
    sum_low BIGINT NOT NULL,
    PRIMARY KEY (org_id, month, ledger_type_id, choice_field, option_value, num_field)
);
CREATE INDEX rollup_tree_facts_county ON rollup_tree_facts(county_id, month);
