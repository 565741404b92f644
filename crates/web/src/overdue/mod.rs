//! Records due or overdue.

mod api;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use pages::page_routes;
