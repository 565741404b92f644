#!/usr/bin/env python3
"""DuckDB beside taizhang's bulletin (used by `cargo bench -p taizhang --bench bulletin`).

Reads the CSV files the bench wrote (records.csv: id, ledger_type_id, org_id, occurred_on,
voided; facts.csv: record_id, field_key, num_value, option_value; people.csv: record_id,
person_id), writes them once as Parquet, then runs the bulletin's aggregation over the Parquet
files `iters` times: records and distinct organisations per ledger type, distinct people per
ledger type, and count and sum per (ledger type, fact field, option) — for the records of the
period that are not voided. Prints one JSON object: the conversion time, every run's time in
milliseconds, and the three result sets (the bench checks them against its own).

    python3 scripts/duckdb-bulletin.py DIR FROM TO ITERS

DuckDB comes from PyPI, installed outside the project (e.g.
`pip install --target /work/.cache/tools/py duckdb`); PYTHONPATH names it.
"""

import json
import os
import sys
import time

import duckdb


def main() -> None:
    folder, start, end, iters = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    con = duckdb.connect()
    t = time.perf_counter()
    tables = {
        "records": "{'id': 'BIGINT', 'ledger_type_id': 'BIGINT', 'org_id': 'BIGINT', 'occurred_on': 'DATE', 'voided': 'INTEGER'}",
        "facts": "{'record_id': 'BIGINT', 'field_key': 'VARCHAR', 'num_value': 'BIGINT', 'option_value': 'VARCHAR'}",
        "people": "{'record_id': 'BIGINT', 'person_id': 'BIGINT'}",
    }
    paths = {}
    for name, columns in tables.items():
        csv = os.path.join(folder, f"{name}.csv")
        parquet = os.path.join(folder, f"{name}.parquet")
        paths[name] = parquet
        if os.path.exists(parquet) and not os.path.exists(csv):
            continue  # kept from an earlier run (the bench's BENCH_DUCKDB_DIR)
        con.execute(
            f"COPY (SELECT * FROM read_csv('{csv}', header = false, columns = {columns}, nullstr = '')) "
            f"TO '{parquet}' (FORMAT parquet)"
        )
        if os.environ.get("BENCH_DUCKDB_KEEP"):
            os.remove(csv)
    converted = time.perf_counter() - t

    live = (
        f"SELECT id, ledger_type_id, org_id FROM read_parquet('{paths['records']}') "
        f"WHERE voided = 0 AND occurred_on BETWEEN DATE '{start}' AND DATE '{end}'"
    )
    queries = {
        "types": f"SELECT ledger_type_id, COUNT(*), COUNT(DISTINCT org_id) FROM ({live}) r GROUP BY ledger_type_id",
        "people": f"SELECT r.ledger_type_id, COUNT(DISTINCT p.person_id) FROM ({live}) r "
        f"JOIN read_parquet('{paths['people']}') p ON p.record_id = r.id GROUP BY r.ledger_type_id",
        "facts": f"SELECT r.ledger_type_id, f.field_key, f.option_value, COUNT(*), CAST(COALESCE(SUM(f.num_value), 0) AS BIGINT) "
        f"FROM ({live}) r JOIN read_parquet('{paths['facts']}') f ON f.record_id = r.id "
        f"GROUP BY r.ledger_type_id, f.field_key, f.option_value",
    }
    runs = []
    results = {}
    for _ in range(iters):
        t = time.perf_counter()
        for name, q in queries.items():
            results[name] = con.execute(q).fetchall()
        runs.append((time.perf_counter() - t) * 1e3)
    print(
        json.dumps(
            {
                "duckdb": duckdb.__version__,
                "convert_s": converted,
                "runs_ms": runs,
                "types": results["types"],
                "people": results["people"],
                "facts": results["facts"],
            }
        )
    )


if __name__ == "__main__":
    main()
