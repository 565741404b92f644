//! Bulletins (简报): figures over a date range for an organisation's units, read from one
//! snapshot of the database.

use crate::{Actor, StoreResult};
use taizhang_domain::bulletin::{Bulletin, Grouping};
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
