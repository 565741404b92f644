//! Rollups: per organisation × month × ledger type, the counts, sums, per-option counts and
//! per-option sums of the records, and the set of people they name — written in the same
//! transaction as every record write and void (see `taizhang_domain::rollup`), read by every
//! bulletin, and rebuilt from the records by `taizhang rollup rebuild`.
//!
//! Two layers: `Own` (`rollup_cells`, `rollup_facts`), keyed by each record's own organisation,
//! the truth; and `Tree` (`rollup_tree_cells`, `rollup_tree_facts`), keyed by every ancestor the
//! record had on its date, which a bulletin over a subtree reads (`read_sql.rs`).

use crate::{Backend, Store, StoreError, StoreResult};
use roaring::RoaringTreemap;
use std::collections::BTreeMap;
use taizhang_domain::rollup::{CellDelta, CellKey, FactKey, RollupDelta, SumDelta};

/// Which rollup tables a delta goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    /// Keyed by each record's own organisation.
    Own,
    /// Keyed by each ancestor the record had on its date (itself included).
    Tree,
}

impl Layer {
    pub(crate) fn cells(self) -> &'static str {
        match self {
            Layer::Own => "rollup_cells",
            Layer::Tree => "rollup_tree_cells",
        }
    }

    pub(crate) fn facts(self) -> &'static str {
        match self {
            Layer::Own => "rollup_facts",
            Layer::Tree => "rollup_tree_facts",
        }
    }

    /// The high bits of the PostgreSQL advisory lock of one of the layer's organisations.
    pub(crate) fn lock_tag(self) -> i64 {
        match self {
            Layer::Own => 1 << 48,
            Layer::Tree => 2 << 48,
        }
    }
}

/// The high bits of a county's advisory lock on PostgreSQL: record writes hold it shared while
/// they read the ancestors a record counts under; a move holds it alone while it changes them.
pub(crate) const COUNTY_TREE_LOCK: i64 = 3 << 48;

pub(crate) fn set_from(bytes: &[u8]) -> StoreResult<RoaringTreemap> {
    if bytes.is_empty() {
        return Ok(RoaringTreemap::new());
    }
    RoaringTreemap::deserialize_from(bytes)
        .map_err(|e| StoreError::Internal(format!("rollup people set unreadable: {e}")))
}

pub(crate) fn set_to_bytes(set: &RoaringTreemap) -> StoreResult<Vec<u8>> {
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
    pub orgs: RoaringTreemap,
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
                t.orgs
                    .extend(d.orgs.iter().filter_map(|o| u64::try_from(*o).ok()));
            }
            t.people
                .extend(d.people.iter().filter_map(|p| u64::try_from(*p).ok()));
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

    /// Adds another coverage's figures (a stretch read elsewhere: days beside whole months).
    pub(crate) fn merge(&mut self, other: Covered) {
        for (t, f) in other.cells {
            let x = self.cells.entry(t).or_default();
            x.records += f.records;
            x.orgs |= f.orgs;
            x.people |= f.people;
        }
        for (k, s) in other.facts {
            self.facts.entry(k).or_default().merge(s);
        }
    }

    /// The rows of one subtree month, recomputed: `org` and `month` key every cell and figure.
    pub(crate) fn into_delta(self, org_id: i64, month: chrono::NaiveDate) -> RollupDelta {
        let key = |type_id| CellKey {
            org_id,
            month,
            type_id,
        };
        let mut delta = RollupDelta::default();
        for (t, f) in self.cells {
            if f.records == 0 {
                continue;
            }
            delta.cells.insert(
                key(t),
                CellDelta {
                    records: f.records,
                    people: f
                        .people
                        .iter()
                        .filter_map(|p| i64::try_from(p).ok())
                        .collect(),
                    orgs: f
                        .orgs
                        .iter()
                        .filter_map(|o| i64::try_from(o).ok())
                        .collect(),
                },
            );
        }
        for ((t, choice_field, option, num_field), s) in self.facts {
            if s.count != 0 {
                delta.facts.insert(
                    FactKey {
                        cell: key(t),
                        choice_field,
                        option,
                        num_field,
                    },
                    s,
                );
            }
        }
        delta
    }
}

/// One rollup cell as stored, for comparing rollups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellFigures {
    pub key: CellKey,
    pub records: i64,
    pub people: Vec<i64>,
    /// The organisations with records (subtree cells only; empty for an organisation's own).
    pub orgs: Vec<i64>,
}

/// A figure of a cell as stored: cell, choice field, option, numeric field, count and sum.
pub type FactFigures = (CellKey, String, String, String, SumDelta);

/// Every rollup row of a county, ordered: what `rollup rebuild` must reproduce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupDump {
    pub cells: Vec<CellFigures>,
    pub facts: Vec<FactFigures>,
    /// The subtree rows (see `Layer::Tree`).
    pub tree_cells: Vec<CellFigures>,
    pub tree_facts: Vec<FactFigures>,
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
        let (cells, facts) = dispatch!(self, rollups::dump(county_id, Layer::Own))?;
        let (tree_cells, tree_facts) = dispatch!(self, rollups::dump(county_id, Layer::Tree))?;
        Ok(RollupDump {
            cells,
            facts,
            tree_cells,
            tree_facts,
        })
    }
}
