//! Rollups: per organisation × month × ledger type, the counts, sums, per-option counts and
//! per-option sums of the records, and the set of people they name — written in the same
//! transaction as every record write and void (see `taizhang_domain::rollup`), read by every
//! bulletin, and rebuilt from the records by `taizhang rollup rebuild`.

use crate::{Backend, Store, StoreError, StoreResult};
use roaring::RoaringTreemap;
use std::collections::{BTreeMap, HashSet};
use taizhang_domain::rollup::{CellKey, RollupDelta, SumDelta};

pub(crate) fn people_from(bytes: &[u8]) -> StoreResult<RoaringTreemap> {
    if bytes.is_empty() {
        return Ok(RoaringTreemap::new());
    }
    RoaringTreemap::deserialize_from(bytes)
        .map_err(|e| StoreError::Internal(format!("rollup people set unreadable: {e}")))
}

pub(crate) fn people_to_bytes(set: &RoaringTreemap) -> StoreResult<Vec<u8>> {
    let mut out = Vec::with_capacity(set.serialized_size());
    set.serialize_into(&mut out)
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    Ok(out)
}

/// One ledger type's figures over a coverage.
#[derive(Debug, Clone, Default)]
pub(crate) struct TypeFigures {
    pub records: i64,
    /// Organisations with at least one record.
    pub orgs: HashSet<i64>,
    pub people: RoaringTreemap,
}

/// What a coverage (a bulletin, or one of its units) adds up to: per ledger type, and per
/// (type, choice field, option, numeric field) figure (see `taizhang_domain::rollup::FactKey`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Covered {
    pub cells: BTreeMap<i64, TypeFigures>,
    pub facts: BTreeMap<(i64, String, String, String), SumDelta>,
}

impl Covered {
    /// Folds in figures computed from records.
    pub(crate) fn add_delta(&mut self, delta: &RollupDelta) {
        for (k, d) in &delta.cells {
            let t = self.cells.entry(k.type_id).or_default();
            t.records += d.records;
            if d.records > 0 {
                t.orgs.insert(k.org_id);
            }
            for p in &d.people {
                if let Ok(p) = u64::try_from(*p) {
                    t.people.insert(p);
                }
            }
        }
        for (k, s) in &delta.facts {
            self.facts
                .entry((
                    k.cell.type_id,
                    k.choice_field.clone(),
                    k.option.clone(),
                    k.num_field.clone(),
                ))
                .or_default()
                .merge(*s);
        }
    }
}

/// One rollup cell as stored, for comparing rollups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellFigures {
    pub key: CellKey,
    pub records: i64,
    pub people: Vec<i64>,
}

/// Every rollup row of a county, ordered: what `rollup rebuild` must reproduce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupDump {
    pub cells: Vec<CellFigures>,
    pub facts: Vec<(CellKey, String, String, String, SumDelta)>,
}

impl Store {
    /// Recomputes the rollups of one county (by code) or of every county from their records;
    /// returns (county code, records folded) per county.
    pub async fn rebuild_rollups(&self, county: Option<&str>) -> StoreResult<Vec<(String, u64)>> {
        let counties = dispatch!(self, rollups::county_ids())?;
        let chosen: Vec<(i64, String)> = match county {
            Some(code) => {
                let c: Vec<(i64, String)> =
                    counties.into_iter().filter(|(_, c)| c == code).collect();
                if c.is_empty() {
                    return Err(StoreError::invalid(
                        "county",
                        "county.unknown",
                        format!("县（市、区）代码“{code}”不存在"),
                    ));
                }
                c
            }
            None => counties,
        };
        let mut out = Vec::with_capacity(chosen.len());
        for (id, code) in chosen {
            let n = match &self.backend {
                Backend::Sqlite(p) => {
                    crate::backend::sqlite::rollups::rebuild_county(p, id).await?
                }
                Backend::Postgres(p) => {
                    crate::backend::postgres::rollups::rebuild_county(p, id).await?
                }
            };
            out.push((code, n));
        }
        Ok(out)
    }

    /// Every rollup row of a county, for tests and checks comparing rollups with a rebuild.
    pub async fn rollup_dump(&self, county_id: i64) -> StoreResult<RollupDump> {
        let (cells, facts) = dispatch!(self, rollups::dump(county_id))?;
        Ok(RollupDump { cells, facts })
    }
}
