//! The login, the logout and the home page.

mod api;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use pages::page_routes;

use crate::error::WebError;
use crate::limiter::Outcome;
use crate::AppState;
use std::net::IpAddr;
use taizhang_store::{Session, StoreError, StoreResult};

/// A login under the limits (see `limiter`): refused with `Retry-After` before the password is
/// checked when a limit is spent; counted, or forgiven, after. Reaching a limit is audited
/// (`login_blocked`, with the address); the refusals after it are not, so that a flood cannot
/// fill the audit log.
pub(crate) async fn limited_login(
    st: &AppState,
    ip: IpAddr,
    username: &str,
    password: &str,
    totp: Option<&str>,
) -> Result<StoreResult<(Session, String)>, WebError> {
    let name = username.trim();
    st.login_limiter.begin(ip, name)?;
    let r = st.store.login(name, password, totp).await;
    let outcome = match &r {
        Ok(_) => Outcome::Succeeded,
        Err(StoreError::BadCredentials) => Outcome::Failed,
        Err(_) => Outcome::Undecided,
    };
    if let Some(limit) = st.login_limiter.finish(ip, name, outcome) {
        let after = serde_json::json!({"address": ip.to_string(), "limit": limit.key()});
        st.store
            .audit_login_event(name, "login_blocked", Some(after))
            .await?;
    }
    Ok(r)
}
