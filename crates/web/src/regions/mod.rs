//! Levels above the county (市委, 省委): the region bulletin that ranks its counties, and a
//! region user's way into each county below (read-only).

mod api;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use pages::page_routes;

use crate::shared::prelude::*;

/// The period of a region bulletin: `from` defaults to 1 January of this year, `to` to today.
pub(crate) fn region_range(from: Option<NaiveDate>, to: Option<NaiveDate>) -> ApiResult<DateRange> {
    let t = today();
    let from = from
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(chrono::Datelike::year(&t), 1, 1).unwrap_or(t));
    let to = to.unwrap_or(t);
    DateRange::new(from, to)
        .map_err(|e| WebError::Store(StoreError::invalid("from", e.code(), e.to_string())))
}
