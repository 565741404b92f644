-- Rollups: per organisation × month × ledger type, kept in the transaction of every record write
-- and void (see store/src/rollups). Keyed by the record's own organisation: which ancestors it
-- counts under is read from org_closure on the record's date, so moves change no row here.
CREATE TABLE rollup_cells (
    county_id BIGINT NOT NULL,
    org_id BIGINT NOT NULL,
    month DATE NOT NULL,
    ledger_type_id BIGINT NOT NULL,
    records BIGINT NOT NULL,
    -- the distinct people the cell's records name, as a serialised roaring bitmap
    people BYTEA NOT NULL,
    PRIMARY KEY (org_id, month, ledger_type_id)
);
CREATE INDEX rollup_cells_county ON rollup_cells(county_id, month);

-- Figures within a cell: counts per choice option (choice_field, option_value, ''), sums of a
-- numeric field ('', '', num_field) and sums per option (choice_field, option_value, num_field).
-- A sum is kept in two halves (high 32 bits, low 32 bits) so that it cannot overflow.
CREATE TABLE rollup_facts (
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
CREATE INDEX rollup_facts_county ON rollup_facts(county_id, month);
