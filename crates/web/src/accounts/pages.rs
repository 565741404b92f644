//! The pages of accounts: first start, one's password and second factor, users and security settings.

use crate::client_ip::ClientIp;
use crate::limiter::Outcome;
use crate::shared::prelude::*;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/setup", get(setup_page).post(setup_submit))
        .route(
            "/account/password",
            get(password_page).post(password_submit),
        )
        .route("/account/totp", get(totp_page).post(totp_submit))
        .route("/users", get(users_page).post(users_create))
        .route("/users/{id}", post(users_update))
        .route("/users/{id}/reset-password", post(users_reset_password))
        .route("/users/{id}/reset-totp", post(users_reset_totp))
        .route("/security", get(security_page).post(security_submit))
        .merge(super::review::page_routes())
}

// ---- first start -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "accounts/setup.html")]
struct SetupPage {
    nav: Option<Nav>,
    errors: Vec<String>,
    username: String,
    display_name: String,
    done: bool,
}

async fn setup_page() -> PageResult {
    html(SetupPage {
        nav: None,
        errors: Vec::new(),
        username: String::new(),
        display_name: String::new(),
        done: false,
    })
}

#[derive(Deserialize)]
struct SetupForm {
    code: String,
    username: String,
    display_name: String,
    password: String,
    password2: String,
}

async fn setup_submit(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    Form(f): Form<SetupForm>,
) -> PageResult {
    // Guessing the one-time code is throttled like guessing a password.
    let result = guess_code(&st, ip, &headers, "setup.bad_code", async {
        same_passwords(&f.password, &f.password2, "password2")?;
        st.store
            .complete_setup(&f.code, f.username.trim(), &f.display_name, &f.password)
            .await
    })
    .await?;
    match form_outcome(result, Shown::InvalidOrConflict)? {
        Ok(_) => html(SetupPage {
            nav: None,
            errors: Vec::new(),
            username: f.username,
            display_name: f.display_name,
            done: true,
        }),
        Err(errors) => {
            let page = SetupPage {
                nav: None,
                errors,
                username: f.username,
                display_name: f.display_name,
                done: false,
            };
            html_with(StatusCode::UNPROCESSABLE_ENTITY, page)
        }
    }
}

/// A form that checks a one-time code typed by someone not logged in (the first-start code, an
/// activation code): refused from other sites, under the per-address login limit, and counted
/// as a failed attempt when the store refuses the code (`bad_code`).
pub(super) async fn guess_code<T>(
    st: &AppState,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    bad_code: &str,
    check: impl std::future::Future<Output = StoreResult<T>>,
) -> Result<StoreResult<T>, PageError> {
    if !same_origin(headers) {
        return Err(PageError(WebError::Csrf));
    }
    st.login_limiter.begin_anonymous(ip)?;
    let result = check.await;
    let outcome = match &result {
        Ok(_) => Outcome::Succeeded,
        Err(StoreError::Invalid(e)) if e.iter().any(|e| e.code == bad_code) => Outcome::Failed,
        Err(_) => Outcome::Undecided,
    };
    st.login_limiter.finish_anonymous(ip, outcome);
    Ok(result)
}

/// The two typings of a new password agree.
pub(super) fn same_passwords(a: &str, b: &str, field: &str) -> StoreResult<()> {
    if a == b {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            "password.mismatch",
            "两次输入的密码不一致",
        ))
    }
}

// ---- own password ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "accounts/account_password.html")]
struct PasswordPage {
    nav: Option<Nav>,
    errors: Vec<String>,
    csrf: String,
    forced: bool,
    done: bool,
}

async fn password_page(State(st): State<AppState>, AccountUser(u): AccountUser) -> PageResult {
    let forced = u.session.stage == SessionStage::ChangePassword;
    html(PasswordPage {
        nav: if forced { None } else { nav_for(&st, &u).await },
        errors: Vec::new(),
        csrf: u.session.csrf_token.clone(),
        forced,
        done: false,
    })
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password2: String,
}

async fn password_submit(
    State(st): State<AppState>,
    AccountUser(u): AccountUser,
    CsrfForm(f): CsrfForm<PasswordForm>,
) -> PageResult {
    let forced = u.session.stage == SessionStage::ChangePassword;
    let result = if f.new_password != f.new_password2 {
        Err(StoreError::invalid(
            "new_password2",
            "password.mismatch",
            "两次输入的新密码不一致",
        ))
    } else {
        st.store
            .change_password(&u.token, &f.current_password, &f.new_password)
            .await
    };
    match form_outcome(result, Shown::Invalid)? {
        Ok(session) if session.stage != SessionStage::Full => {
            Ok(Redirect::to(stage_page(session.stage)).into_response())
        }
        Ok(session) => html(PasswordPage {
            nav: nav(&session, String::new()),
            errors: Vec::new(),
            csrf: session.csrf_token.clone(),
            forced: false,
            done: true,
        }),
        Err(errors) => {
            let page = PasswordPage {
                nav: if forced { None } else { nav_for(&st, &u).await },
                errors,
                csrf: u.session.csrf_token.clone(),
                forced,
                done: false,
            };
            html_with(StatusCode::UNPROCESSABLE_ENTITY, page)
        }
    }
}

// ---- second factor -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "accounts/account_totp.html")]
struct TotpPage {
    nav: Option<Nav>,
    errors: Vec<String>,
    csrf: String,
    secret: String,
    uri: String,
    enrolled: bool,
}

fn totp_page_for(u: &PageUser, nav: Option<Nav>, secret: String, errors: Vec<String>) -> TotpPage {
    let uri = totp::otpauth_uri("台账", &u.session.actor.username, &secret);
    TotpPage {
        nav,
        errors,
        csrf: u.session.csrf_token.clone(),
        secret,
        uri,
        enrolled: false,
    }
}

async fn totp_page(State(st): State<AppState>, AccountUser(u): AccountUser) -> PageResult {
    let forced = u.session.stage == SessionStage::EnrollTotp;
    if u.session.stage == SessionStage::ChangePassword {
        return Ok(Redirect::to(stage_page(u.session.stage)).into_response());
    }
    let nav = if forced { None } else { nav_for(&st, &u).await };
    html(totp_page_for(&u, nav, totp::new_secret(), Vec::new()))
}

#[derive(Deserialize)]
struct TotpForm {
    secret: String,
    code: String,
}

async fn totp_submit(
    State(st): State<AppState>,
    AccountUser(u): AccountUser,
    CsrfForm(f): CsrfForm<TotpForm>,
) -> PageResult {
    if u.session.stage == SessionStage::ChangePassword {
        return Ok(Redirect::to(stage_page(u.session.stage)).into_response());
    }
    let secret = f.secret.trim().to_string();
    if totp::base32_decode(&secret).is_none_or(|b| b.len() < 10) {
        return Err(PageError(WebError::BadRequest(
            "验证器密钥无效，请刷新页面重新绑定".into(),
        )));
    }
    let outcome = st.store.bind_totp(&u.token, &secret, &f.code).await;
    match form_outcome(outcome, Shown::Invalid)? {
        Ok(session) => {
            let mut page =
                totp_page_for(&u, nav(&session, String::new()), String::new(), Vec::new());
            page.enrolled = true;
            html(page)
        }
        Err(errors) => {
            let forced = u.session.stage == SessionStage::EnrollTotp;
            let nav = if forced { None } else { nav_for(&st, &u).await };
            let page = totp_page_for(&u, nav, secret, errors);
            html_with(StatusCode::UNPROCESSABLE_ENTITY, page)
        }
    }
}

// ---- accounts (安全管理员) ----------------------------------------------------------------------

struct UserLine {
    u: User,
    role_label: &'static str,
    changed: String,
}

#[derive(Template)]
#[template(path = "accounts/users.html")]
struct UsersPage {
    nav: Option<Nav>,
    errors: Vec<String>,
    notice: Option<String>,
    /// A half of an activation code, shown once beside the notice.
    half: Option<String>,
    csrf: String,
    users: Vec<UserLine>,
    roles: Vec<(&'static str, &'static str)>,
    self_id: UserId,
    /// The new account's fields as typed, kept when the form is refused.
    typed: NewUserForm,
}

/// What the accounts page says above its table.
#[derive(Default)]
struct Said {
    notice: Option<String>,
    half: Option<String>,
    /// A refused new account's fields, shown again.
    typed: Option<NewUserForm>,
}

impl Said {
    fn notice(text: String) -> Said {
        Said {
            notice: Some(text),
            ..Said::default()
        }
    }

    /// A change that became a request for review, or was done at once (`done` says what).
    fn outcome<T>(o: AccountOutcome<T>, done: impl FnOnce(T) -> String) -> Said {
        match o {
            AccountOutcome::Done(v) => Said::notice(done(v)),
            AccountOutcome::Requested { request, code_half } => Said {
                notice: Some(super::review::requested_notice(
                    &request,
                    code_half.is_some(),
                )),
                half: code_half,
                typed: None,
            },
        }
    }
}

async fn render_users(
    st: &AppState,
    u: &PageUser,
    errors: Vec<String>,
    said: Said,
    status: StatusCode,
) -> PageResult {
    let users = st.store.users(&u.session.actor).await?;
    let page = UsersPage {
        nav: nav_for(st, u).await,
        errors,
        notice: said.notice,
        half: said.half,
        csrf: u.session.csrf_token.clone(),
        users: users
            .into_iter()
            .map(|x| UserLine {
                role_label: x.role.label_cn(),
                changed: x.password_changed_at.format("%Y-%m-%d").to_string(),
                u: x,
            })
            .collect(),
        roles: Role::ALL
            .iter()
            .filter(|r| **r != Role::RegionViewer)
            .map(|r| (r.key(), r.label_cn()))
            .collect(),
        self_id: u.session.actor.user_id.unwrap_or(UserId::new(0)),
        typed: said.typed.unwrap_or_default(),
    };
    html_with(status, page)
}

async fn users_page(State(st): State<AppState>, u: PageUser) -> PageResult {
    render_users(&st, &u, Vec::new(), Said::default(), StatusCode::OK).await
}

#[derive(Deserialize, Default, Clone)]
struct NewUserForm {
    username: String,
    display_name: String,
    role: String,
    org: String,
}

fn parse_role(s: &str) -> Result<Role, StoreError> {
    s.parse::<Role>()
        .map_err(|_| StoreError::invalid("role", "user.bad_role", "请选择角色"))
}

async fn users_create(
    State(st): State<AppState>,
    u: PageUser,
    CsrfForm(f): CsrfForm<NewUserForm>,
) -> PageResult {
    let a = &u.session.actor;
    let r = async {
        let role = parse_role(&f.role)?;
        let org = st.store.org(a, f.org.trim()).await?;
        st.store
            .create_account(
                a,
                NewUser {
                    username: f.username.trim().to_string(),
                    display_name: f.display_name.clone(),
                    password: String::new(),
                    role,
                    org_id: org.id,
                    person_id: None,
                    must_change_password: true,
                },
            )
            .await
    }
    .await;
    let shown = Shown::All {
        not_found: "所属组织不存在或不在您的管理范围内",
    };
    match form_outcome(r, shown)? {
        Ok(o) => {
            let said = Said::outcome(o, |(user, password)| {
                format!(
                "已创建账号“{}”，临时密码：{password}（只显示这一次，请当面交给本人；首次登录须修改）",
                user.username
            )
            });
            render_users(&st, &u, Vec::new(), said, StatusCode::OK).await
        }
        Err(errors) => {
            let said = Said {
                typed: Some(f),
                ..Said::default()
            };
            render_users(&st, &u, errors, said, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[derive(Deserialize)]
struct UserChangeForm {
    role: Option<String>,
    org: Option<String>,
    /// "1" to disable, "0" to enable.
    disabled: Option<String>,
}

async fn users_update(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<UserId>,
    CsrfForm(f): CsrfForm<UserChangeForm>,
) -> PageResult {
    let r = async {
        let change = UserChange {
            display_name: None,
            role: f.role.as_deref().map(parse_role).transpose()?,
            org: f
                .org
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
            disabled: f.disabled.as_deref().map(|d| d == "1"),
        };
        st.store.change_account(&u.session.actor, id, &change).await
    }
    .await;
    match form_outcome(r, Shown::InvalidOrConflict)? {
        Ok(o) => {
            let said = Said::outcome(o, |user| format!("已更新账号“{}”", user.username));
            render_users(&st, &u, Vec::new(), said, StatusCode::OK).await
        }
        Err(errors) => {
            render_users(
                &st,
                &u,
                errors,
                Said::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn users_reset_password(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<UserId>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> PageResult {
    let o = st
        .store
        .reset_account_password(&u.session.actor, id)
        .await?;
    let said = Said::outcome(o, |(user, password)| {
        st.login_limiter.forget(&user.username);
        format!(
            "已重置“{}”的密码，临时密码：{password}（只显示这一次；登录后须修改）",
            user.username
        )
    });
    render_users(&st, &u, Vec::new(), said, StatusCode::OK).await
}

async fn users_reset_totp(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<UserId>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> PageResult {
    let o = st.store.reset_account_totp(&u.session.actor, id).await?;
    let said = Said::outcome(o, |user| {
        format!(
            "已解绑“{}”的手机验证器，其下次登录时须重新绑定",
            user.username
        )
    });
    render_users(&st, &u, Vec::new(), said, StatusCode::OK).await
}

// ---- security settings -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "accounts/security.html")]
struct SecurityPage {
    nav: Option<Nav>,
    errors: Vec<String>,
    notice: Option<String>,
    csrf: String,
    s: SecuritySettings,
}

async fn security_page(State(st): State<AppState>, u: PageUser) -> PageResult {
    let s = st.store.security_settings_as(&u.session.actor).await?;
    html(SecurityPage {
        nav: nav_for(&st, &u).await,
        errors: Vec::new(),
        notice: None,
        csrf: u.session.csrf_token.clone(),
        s,
    })
}

#[derive(Deserialize)]
struct SecurityForm {
    password_max_age_days: String,
    totp_required_for_admins: Option<String>,
}

async fn security_submit(
    State(st): State<AppState>,
    u: PageUser,
    CsrfForm(f): CsrfForm<SecurityForm>,
) -> PageResult {
    let r = async {
        let days = f.password_max_age_days.trim().parse::<i64>().map_err(|_| {
            StoreError::invalid(
                "password_max_age_days",
                "settings.bad_age",
                "密码有效期应为整数天数",
            )
        })?;
        let new = SecuritySettings {
            password_max_age_days: days,
            totp_required_for_admins: f.totp_required_for_admins.is_some(),
        };
        st.store
            .update_security_settings(&u.session.actor, &new)
            .await
    }
    .await;
    let (errors, notice, status) = match form_outcome(r, Shown::Invalid)? {
        Ok(_) => (Vec::new(), Some("已保存".to_string()), StatusCode::OK),
        Err(errors) => (errors, None, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let page = SecurityPage {
        nav: nav_for(&st, &u).await,
        errors,
        notice,
        csrf: u.session.csrf_token.clone(),
        s: st
            .store
            .security_settings(u.session.actor.county_id)
            .await?,
    };
    html_with(status, page)
}
