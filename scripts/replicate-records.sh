#!/bin/sh
# Grows a copy of a seeded SQLite database by replicating its ledger records (with their
# record_facts and record_people rows) N times, for measuring copy, backup and restore at scale:
#
#   taizhang demo --db demo.db          # seed the demo county, then stop the server
#   scripts/replicate-records.sh demo.db big.db 100
#
# Copy k (1 ≤ k < N) of record r gets the id r + k·max(id), so ids stay unique and ordered and
# every foreign key still holds. The audit log is not grown: the copies are not audited writes,
# and the chain stays valid. The key files stay where they are: point TAIZHANG_AUDIT_KEY_FILE and
# TAIZHANG_FIELD_KEY_FILE at the source's data directory when using the copy.
set -eu
src=$1 dst=$2 n=$3
[ -e "$dst" ] && { echo "$dst exists" >&2; exit 1; }
sqlite3 "$src" "VACUUM INTO '$dst'"
sqlite3 "$dst" <<SQL
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TEMP TABLE k (i INTEGER PRIMARY KEY);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $n - 1)
INSERT INTO k SELECT i FROM c;
CREATE TEMP TABLE m AS SELECT MAX(id) AS m FROM ledger_records;
BEGIN;
INSERT INTO ledger_records (id, county_id, ledger_type_id, type_version, org_id, occurred_on,
                            fields, created_by, created_at, voided_at, void_reason)
SELECT r.id + k.i * m.m, r.county_id, r.ledger_type_id, r.type_version, r.org_id, r.occurred_on,
       r.fields, r.created_by, r.created_at, r.voided_at, r.void_reason
FROM k, m, ledger_records r WHERE r.id <= m.m ORDER BY k.i, r.id;
INSERT INTO record_facts (county_id, record_id, field_key, num_value, option_value)
SELECT f.county_id, f.record_id + k.i * m.m, f.field_key, f.num_value, f.option_value
FROM k, m, record_facts f WHERE f.record_id <= m.m ORDER BY k.i, f.record_id;
INSERT INTO record_people (county_id, record_id, field_key, person_id)
SELECT p.county_id, p.record_id + k.i * m.m, p.field_key, p.person_id
FROM k, m, record_people p WHERE p.record_id <= m.m ORDER BY k.i, p.record_id;
COMMIT;
ANALYZE;
SQL
sqlite3 "$dst" "SELECT 'ledger_records', COUNT(*) FROM ledger_records
                UNION ALL SELECT 'record_facts', COUNT(*) FROM record_facts
                UNION ALL SELECT 'record_people', COUNT(*) FROM record_people"
