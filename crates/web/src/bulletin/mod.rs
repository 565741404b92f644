//! The bulletin (统计通报).

mod api;
mod chart;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use pages::page_routes;
