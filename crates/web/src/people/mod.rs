//! People and their positions.

mod api;
mod forms;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use pages::page_routes;
