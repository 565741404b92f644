//! Accounts: first start, one's password and second factor, users and security settings.

mod api;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use pages::page_routes;
