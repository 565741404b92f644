//! Bulletins (简报): figures over a date range for an organisation's units, read from one
//! snapshot of the database.

use crate::{Actor, StoreResult};
use taizhang_domain::bulletin::{Bulletin, Figures, Grouping};
use taizhang_domain::period::DateRange;

forward! {
    pub async fn bulletin(
        &self,
        actor: &Actor,
        org_ref: &str,
        range: DateRange,
        grouping: Grouping,
    ) -> StoreResult<Bulletin> => bulletin::bulletin(actor, org_ref, range, grouping);
}

/// Where `bulletin_figures` reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FigureSource {
    /// The rollups, as every bulletin does.
    Rollups,
    /// The records themselves: the reference the rollups must equal.
    Records,
}

impl crate::Store {
    /// A bulletin with the raw figures it was composed from, read from the rollups or from the
    /// records: for the checks, tests and benchmarks that compare the two.
    pub async fn bulletin_figures(
        &self,
        actor: &Actor,
        org_ref: &str,
        range: DateRange,
        grouping: Grouping,
        source: FigureSource,
    ) -> StoreResult<(Bulletin, Figures)> {
        dispatch!(
            self,
            bulletin::figures(actor, org_ref, range, grouping, source)
        )
    }
}
