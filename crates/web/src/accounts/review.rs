//! 双人复核 of privileged accounts: the requests (API and page), their confirmation, refusal and
//! withdrawal, and the owner's activation page.

use super::api::AccountRequested;
use super::pages::{guess_code, same_passwords};
use crate::client_ip::ClientIp;
use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_requests))
        .routes(routes!(confirm_request))
        .routes(routes!(refuse_request))
        .routes(routes!(cancel_request))
}

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/account-requests", get(requests_page))
        .route("/account-requests/{id}/{decision}", post(decide_submit))
        .route("/activate", get(activate_page).post(activate_submit))
}

/// What the security administrator is told after a change became a request.
pub(crate) fn requested_notice(r: &AccountRequest, with_half: bool) -> String {
    let code = if with_half {
        "下面是第一段激活码，第二段由复核人在确认时获得"
    } else {
        "确认后即生效"
    };
    format!(
        "已提交复核申请 #{}（{}：{}，{}），待复核：须由系统管理员或审计管理员确认后生效；{code}。",
        r.id,
        r.kind.label_cn(),
        r.username,
        r.role.label_cn()
    )
}

// ---- API ---------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/account-requests",
    responses((status = 200, body = Vec<AccountRequest>), (status = 403, body = ErrorBody)))]
async fn list_requests(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
) -> ApiResult<Json<Vec<AccountRequest>>> {
    Ok(Json(s.store.account_requests(&u.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/account-requests/{id}/confirm", params(("id" = i64, Path)),
    responses((status = 200, body = AccountRequested, description = "Confirmed and applied; the second half of the activation code, shown once"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn confirm_request(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<AccountRequested>> {
    let (request, code_half) = s.store.confirm_account_request(&u.actor, id).await?;
    Ok(Json(AccountRequested { request, code_half }))
}

#[utoipa::path(post, path = "/api/v1/account-requests/{id}/refuse", params(("id" = i64, Path)),
    responses((status = 200, body = AccountRequest), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn refuse_request(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<AccountRequest>> {
    Ok(Json(s.store.refuse_account_request(&u.actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/account-requests/{id}/cancel", params(("id" = i64, Path)),
    responses((status = 200, body = AccountRequest), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_request(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<AccountRequest>> {
    Ok(Json(s.store.cancel_account_request(&u.actor, id).await?))
}

// ---- pages -------------------------------------------------------------------------------------

struct RequestLine {
    r: AccountRequest,
    kind_label: &'static str,
    role_label: &'static str,
    state_label: &'static str,
    requested_at: String,
    can_review: bool,
    can_cancel: bool,
}

#[derive(Template)]
#[template(path = "accounts/account_requests.html")]
struct RequestsPage {
    nav: Option<Nav>,
    errors: Vec<String>,
    notice: Option<String>,
    half: Option<String>,
    csrf: String,
    requests: Vec<RequestLine>,
}

async fn render_requests(
    st: &AppState,
    u: &PageUser,
    errors: Vec<String>,
    (notice, half): (Option<String>, Option<String>),
    status: StatusCode,
) -> PageResult {
    let a = &u.session.actor;
    let reviewer = a.role.allows(Action::ReviewAccountRequests);
    let manager = a.role.allows(Action::ManageUsers);
    let requests = st
        .store
        .account_requests(a)
        .await?
        .into_iter()
        .map(|r| {
            let own = r.user_id.is_some() && r.user_id == a.user_id;
            let open_code = r.state == RequestState::Confirmed && r.kind.has_code();
            RequestLine {
                kind_label: r.kind.label_cn(),
                role_label: r.role.label_cn(),
                state_label: r.state.label_cn(),
                requested_at: r.requested_at.format("%Y-%m-%d %H:%M").to_string(),
                can_review: reviewer && !own && r.state == RequestState::Pending,
                can_cancel: manager && (r.state == RequestState::Pending || open_code),
                r,
            }
        })
        .collect();
    let page = RequestsPage {
        nav: nav_for(st, u).await,
        errors,
        notice,
        half,
        csrf: u.session.csrf_token.clone(),
        requests,
    };
    html_with(status, page)
}

async fn requests_page(State(st): State<AppState>, u: PageUser) -> PageResult {
    render_requests(&st, &u, Vec::new(), (None, None), StatusCode::OK).await
}

/// A decision on a request from its page: confirm (by another duty, which then gets the second
/// half of the code), refuse (a reviewer) or cancel (the security administrator).
async fn decide_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path((id, decision)): Path<(i64, String)>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> PageResult {
    let a = &u.session.actor;
    let r = match decision.as_str() {
        "confirm" => st
            .store
            .confirm_account_request(a, id)
            .await
            .map(|(r, half)| {
                let then = if half.is_some() {
                    "下面是第二段激活码，请当面交给账号本人"
                } else {
                    "已生效"
                };
                let notice = format!(
                    "已确认复核申请 #{}（{}：{}），{then}。",
                    r.id,
                    r.kind.label_cn(),
                    r.username
                );
                (notice, half)
            }),
        "refuse" => st
            .store
            .refuse_account_request(a, id)
            .await
            .map(|r| (format!("已驳回复核申请 #{}", r.id), None)),
        "cancel" => st
            .store
            .cancel_account_request(a, id)
            .await
            .map(|r| (format!("已撤回复核申请 #{}", r.id), None)),
        _ => Err(StoreError::NotFound),
    };
    match form_outcome(r, Shown::InvalidOrConflict)? {
        Ok((notice, half)) => {
            render_requests(&st, &u, Vec::new(), (Some(notice), half), StatusCode::OK).await
        }
        Err(errors) => render_requests(&st, &u, errors, (None, None), StatusCode::CONFLICT).await,
    }
}

// ---- activation --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "accounts/activate.html")]
struct ActivatePage {
    nav: Option<Nav>,
    errors: Vec<String>,
    username: String,
    done: bool,
}

async fn activate_page() -> PageResult {
    html(ActivatePage {
        nav: None,
        errors: Vec::new(),
        username: String::new(),
        done: false,
    })
}

#[derive(Deserialize)]
struct ActivateForm {
    username: String,
    code1: String,
    code2: String,
    new_password: String,
    new_password2: String,
}

async fn activate_submit(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<ActivateForm>,
) -> PageResult {
    // Guessing a code is throttled per address like guessing a password (and each code voids
    // itself after five wrong tries).
    let activation = Activation {
        username: &f.username,
        first: &f.code1,
        second: &f.code2,
        password: &f.new_password,
    };
    let result = guess_code(&st, ip, &headers, "activation.bad_code", async {
        same_passwords(&f.new_password, &f.new_password2, "new_password2")?;
        st.store.activate_account(&activation).await
    })
    .await?;
    match form_outcome(result, Shown::Invalid)? {
        Ok(user) => {
            st.login_limiter.forget(&user.username);
            html(ActivatePage {
                nav: None,
                errors: Vec::new(),
                username: user.username,
                done: true,
            })
        }
        Err(errors) => html_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            ActivatePage {
                nav: None,
                errors,
                username: f.username,
                done: false,
            },
        ),
    }
}
