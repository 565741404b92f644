-- A record written by an import carries the key of the sheet row it came from: the row key the
-- user declared (a column such as 编号), or a hash of the record's content. One key per county
-- and ledger type, so that importing the same file again, or one that overlaps it, writes no
-- record twice. Records entered one at a time have none.
ALTER TABLE ledger_records ADD COLUMN import_key TEXT;
CREATE UNIQUE INDEX ledger_records_import_key ON ledger_records(county_id, ledger_type_id, import_key)
    WHERE import_key IS NOT NULL;
