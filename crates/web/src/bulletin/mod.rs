//! The bulletin (统计通报).

mod api;
mod chart;
mod documents;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use chart::bars as chart_bars;
pub use documents::issuer;
pub(crate) use pages::page_routes;
