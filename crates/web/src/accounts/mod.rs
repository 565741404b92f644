//! Accounts: first start, one's password and second factor, users and security settings, and
//! 双人复核 of privileged accounts with the owner's activation.

mod api;
mod pages;
mod review;

pub(crate) fn api_routes() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
    api::api_routes().merge(review::api_routes())
}
pub(crate) use pages::page_routes;
