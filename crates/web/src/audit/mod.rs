//! The audit log.

pub(crate) mod answers;
mod api;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use pages::page_routes;
