//! Rollups: per organisation × month × ledger type, the counts, sums, per-option counts and
//! per-option sums of the records, and the set of people they name — written in the same
//! transaction as every record write and void (see `taizhang_domain::rollup`), read by every
//! bulletin, and rebuilt from the records by `taizhang rollup rebuild`.
