//! What every page shares: the navigation bar, the error page, rendering, and the one way a
//! form handler ends (go on, or show the form again with what the store refused).

use crate::error::WebError;
use crate::shared::api::home_ref;
use crate::shared::session::PageUser;
use crate::AppState;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use std::future::Future;
use taizhang_domain::Action;
use taizhang_store::{Session, StoreError};

pub struct Nav {
    pub(crate) display_name: String,
    pub(crate) org_name: String,
    pub(crate) role_label: &'static str,
    pub(crate) csrf: String,
    pub(crate) home_ref: String,
    pub(crate) can_admin: bool,
    pub(crate) can_audit: bool,
    pub(crate) can_data: bool,
    pub(crate) can_users: bool,
    pub(crate) can_review: bool,
    pub(crate) can_record: bool,
    /// What the last action did (已保存 …), said once at the top of the page it led to.
    pub(crate) done: Option<&'static str>,
}

/// What a successful form did, said on the page it leads to: the redirect carries its key
/// (`?done=saved`), never free text, so a link cannot make the page say anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Done {
    Saved,
    Corrected,
    Voided,
    Ended,
    Queued,
}

impl Done {
    const ALL: [Done; 5] = [
        Done::Saved,
        Done::Corrected,
        Done::Voided,
        Done::Ended,
        Done::Queued,
    ];

    fn key(self) -> &'static str {
        match self {
            Done::Saved => "saved",
            Done::Corrected => "corrected",
            Done::Voided => "voided",
            Done::Ended => "ended",
            Done::Queued => "queued",
        }
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            Done::Saved => "已保存",
            Done::Corrected => "已保存修改，统计按新版本计算",
            Done::Voided => "已作废，不再计入统计",
            Done::Ended => "已结束",
            Done::Queued => "已重新排队，稍后执行",
        }
    }

    /// The `done` of a request's query, if it names one.
    pub(crate) fn from_query(query: Option<&str>) -> Option<Done> {
        let value = query?.split('&').find_map(|kv| kv.strip_prefix("done="))?;
        Done::ALL.into_iter().find(|d| d.key() == value)
    }
}

/// Goes on to `target`, saying there what was done.
pub(crate) fn redirect_done(target: &str, done: Done) -> PageResult {
    let sep = if target.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{target}{sep}done={}", done.key())).into_response())
}

pub(crate) fn nav(s: &Session, home_ref: String) -> Option<Nav> {
    Some(Nav {
        display_name: s.display_name.clone(),
        org_name: s.org_name.clone(),
        role_label: s.actor.role.label_cn(),
        csrf: s.csrf_token.clone(),
        home_ref,
        can_admin: s.actor.role.allows(Action::ManageLedgerTypes),
        can_audit: s.actor.role.allows(Action::ReadAudit),
        can_data: s.actor.role.allows(Action::ReadRecords),
        can_users: s.actor.role.allows(Action::ManageUsers),
        can_review: s.actor.role.allows(Action::ReviewAccountRequests),
        can_record: s.actor.role.allows(Action::RecordEntry),
        done: None,
    })
}

pub(crate) async fn nav_for(st: &AppState, u: &PageUser) -> Option<Nav> {
    let home = home_ref(st, &u.session.actor).await.unwrap_or_default();
    let mut n = nav(&u.session, home);
    if let Some(n) = n.as_mut() {
        n.done = u.done.map(Done::message);
    }
    n
}

/// A page-level error, shown as a page.
pub struct PageError(pub(crate) WebError);

impl From<WebError> for PageError {
    fn from(e: WebError) -> Self {
        PageError(e)
    }
}
impl From<crate::limiter::Limited> for PageError {
    fn from(l: crate::limiter::Limited) -> Self {
        PageError(l.into())
    }
}
impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError(WebError::Store(e))
    }
}
impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError(WebError::Render(e.to_string()))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, body) = self.0.status_and_body();
        let fields = body.fields.into_iter().map(|f| f.message).collect();
        let res = crate::shared::error_page::error_page(status, body.message, fields);
        self.0.mark(self.0.with_retry_after(res))
    }
}

pub(crate) type PageResult = Result<Response, PageError>;

pub(crate) fn html(t: impl Template) -> PageResult {
    Ok(Html(t.render()?).into_response())
}

/// A page with another status than 200 (a refused form shown again, say).
pub(crate) fn html_with(status: StatusCode, t: impl Template) -> PageResult {
    Ok((status, Html(t.render()?)).into_response())
}

pub(crate) fn messages(e: &StoreError) -> Vec<String> {
    match e {
        StoreError::Invalid(f) => f.iter().map(|x| x.message.clone()).collect(),
        StoreError::NotFound => vec!["未找到，或不在您的管理范围内".into()],
        other => vec![other.to_string()],
    }
}

pub(crate) fn period_text(from: NaiveDate, to: Option<NaiveDate>) -> String {
    match to {
        Some(t) => format!("{from} 至 {t}"),
        None => format!("{from} 起"),
    }
}

/// Rows on one page of a long list.
pub(crate) const PAGE: i64 = 50;

/// What a refused form says when the store answers "not found".
#[derive(Clone, Copy)]
pub(crate) enum NotFound {
    /// An error page: the thing the form is about is gone or out of reach.
    Page,
    /// A message beside the form: a reference typed into it is unknown.
    Say(&'static str),
}

/// Which of the store's refusals a form explains beside its fields; any other error becomes an
/// error page.
#[derive(Clone, Copy)]
pub(crate) enum Shown {
    /// Broken rules only (a password form says nothing of conflicts or missing objects).
    Invalid,
    /// Broken rules and conflicts (a name already taken).
    InvalidOrConflict,
    /// Broken rules, conflicts, and an unknown reference typed into the form, told this way.
    All { not_found: &'static str },
}

/// Splits a store outcome into the value the form goes on with, or the messages to show beside
/// the form again; an error the form cannot explain is returned for the error page.
pub(crate) fn form_outcome<T>(
    outcome: Result<T, StoreError>,
    shown: Shown,
) -> Result<Result<T, Vec<String>>, PageError> {
    match (outcome, shown) {
        (Ok(value), _) => Ok(Ok(value)),
        (Err(e @ StoreError::Invalid(_)), _) => Ok(Err(messages(&e))),
        (Err(e @ StoreError::Conflict { .. }), Shown::InvalidOrConflict | Shown::All { .. }) => {
            Ok(Err(messages(&e)))
        }
        (Err(StoreError::NotFound), Shown::All { not_found }) => Ok(Err(vec![not_found.into()])),
        (Err(e), _) => Err(e.into()),
    }
}

/// The end of a form handler. On success, `on_ok` answers (usually a redirect, see
/// [`redirect_done`]); when the store refuses in a way the form can explain (validation, a
/// conflict, an unknown reference) the form is shown again by `show_again` with the messages and
/// status 422; anything else becomes an error page.
pub(crate) async fn finish_form<T, Fut>(
    outcome: Result<T, StoreError>,
    on_ok: impl FnOnce(T) -> PageResult,
    not_found: NotFound,
    show_again: impl FnOnce(Vec<String>) -> Fut,
) -> PageResult
where
    Fut: Future<Output = PageResult>,
{
    let shown = match not_found {
        NotFound::Page => Shown::InvalidOrConflict,
        NotFound::Say(message) => Shown::All { not_found: message },
    };
    let errors = match form_outcome(outcome, shown)? {
        Ok(value) => return on_ok(value),
        Err(errors) => errors,
    };
    let page = show_again(errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
