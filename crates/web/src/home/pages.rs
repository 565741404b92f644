//! The pages of the login, the logout and the home page.

use super::limited_login;
use crate::client_ip::ClientIp;
use crate::ledgers::type_choices;
use crate::records::{record_lines, RecordLine};
use crate::shared::prelude::*;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/", get(home))
}

#[derive(Template)]
#[template(path = "home/login.html")]
struct LoginPage {
    nav: Option<Nav>,
    error: Option<String>,
    username: String,
    /// The password was right; the account's one-time code is asked for.
    ask_totp: bool,
}

async fn login_page() -> PageResult {
    html(LoginPage {
        nav: None,
        error: None,
        username: String::new(),
        ask_totp: false,
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    totp: String,
}

async fn login_submit(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    Form(f): Form<LoginForm>,
) -> PageResult {
    if !same_origin(&headers) {
        return Err(PageError(WebError::Csrf));
    }
    let totp = Some(f.totp.trim()).filter(|c| !c.is_empty());
    match limited_login(&st, ip, &f.username, &f.password, totp).await? {
        Ok((session, token)) => Ok((
            [(header::SET_COOKIE, session_cookie(&token, st.https))],
            Redirect::to(stage_page(session.stage)),
        )
            .into_response()),
        Err(e @ (StoreError::BadCredentials | StoreError::SecondFactorRequired)) => {
            let page = LoginPage {
                nav: None,
                error: Some(e.to_string()),
                ask_totp: matches!(e, StoreError::SecondFactorRequired) || totp.is_some(),
                username: f.username,
            };
            html_with(StatusCode::UNAUTHORIZED, page)
        }
        Err(e) => Err(e.into()),
    }
}

async fn logout(
    State(st): State<AppState>,
    AccountUser(u): AccountUser,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> PageResult {
    st.store.logout(&u.token).await?;
    Ok((
        [(header::SET_COOKIE, clear_cookie(st.https))],
        Redirect::to("/login"),
    )
        .into_response())
}

pub struct RootCard {
    org_ref: String,
    name: String,
    kind_label: String,
    children: usize,
}

#[derive(Template)]
#[template(path = "home/home.html")]
struct HomePage {
    nav: Option<Nav>,
    title: String,
    roots: Vec<RootCard>,
    overdue: usize,
    due: usize,
    can_record: bool,
    types: Vec<(String, String)>,
    records: Vec<RecordLine>,
    /// What the caller's own organisation (a village's secretary, say) has to record: overdue
    /// first, then what is due this period.
    todo: Vec<DueLine>,
    /// A region user's city or province.
    region: Option<RegionCard>,
}

/// A ledger type the caller's own organisation still has to record (this period, or overdue from
/// the last), with the entry form preset with the type and the organisation.
pub struct DueLine {
    item: OverdueItem,
    record_link: String,
}

/// A region user's city or province on the home page, with the counties below as (code, name).
pub struct RegionCard {
    code: String,
    name: String,
    counties: Vec<(String, String)>,
}

async fn home(State(st): State<AppState>, u: PageUser) -> PageResult {
    let a = &u.session.actor;
    if a.role == Role::Auditor {
        return Ok(Redirect::to("/audit").into_response());
    }
    if a.role == Role::SecAdmin {
        return Ok(Redirect::to("/users").into_response());
    }
    let roots = st.store.scope_roots(a).await?;
    let mut cards = Vec::new();
    let mut overdue = 0;
    let mut due = 0;
    let can_record = a.role.allows(Action::RecordEntry);
    let mut todo = Vec::new();
    for r in &roots {
        let children = st.store.children(a, r.id, false).await?.len();
        cards.push(RootCard {
            org_ref: r.org_ref.clone(),
            name: r.name.clone(),
            kind_label: r.kind_label.clone(),
            children,
        });
        for i in st.store.overdue(a, &r.org_ref, today()).await? {
            if i.status == OverdueStatus::Overdue {
                overdue += 1;
            } else {
                due += 1;
            }
            if can_record && i.org.id == a.org_id {
                todo.push(DueLine {
                    record_link: format!(
                        "/records/new?type={}&org={}",
                        url_encode(&i.ledger_type),
                        url_encode(&i.org.org_ref)
                    ),
                    item: i,
                });
            }
        }
    }
    let recent = st
        .store
        .records(
            a,
            &RecordQuery {
                limit: Some(10),
                ..Default::default()
            },
        )
        .await?;
    let region = match st.store.user_region(a).await? {
        Some(r) => {
            let (_, counties) = st.store.region_counties(a, &r.code).await?;
            Some(RegionCard {
                code: r.code,
                name: r.name,
                counties: counties.into_iter().map(|c| (c.code, c.name)).collect(),
            })
        }
        None => None,
    };
    html(HomePage {
        region,
        nav: nav_for(&st, &u).await,
        title: format!("{}，您好", u.session.display_name),
        roots: cards,
        overdue,
        due,
        can_record,
        todo,
        types: type_choices(&st, a).await?,
        records: record_lines(&recent.records),
    })
}
