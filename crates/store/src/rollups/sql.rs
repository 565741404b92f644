//! The rollup queries, compiled once per backend (see `backend`).

use super::*;
use crate::StoreResult;
use taizhang_domain::rollup::RollupInput;

/// Adds records just inserted (in the caller's write transaction) to their rollup cells.
pub(crate) async fn add_records(
    _c: &mut Conn,
    _county_id: i64,
    _items: &[RollupInput<'_>],
) -> StoreResult<()> {
    Ok(())
}
