//! The JSON API of accounts: first start, one's password and second factor, users and security settings.

use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user))
        .routes(routes!(reset_password))
        .routes(routes!(reset_totp))
        .routes(routes!(get_security_settings, put_security_settings))
}

/// A privileged account's creation, reset or grant, waiting for an administrator of another
/// duty (双人复核).
#[derive(Serialize, ToSchema)]
pub struct AccountRequested {
    pub request: AccountRequest,
    /// The first half of the owner's activation code (none for unbinding a second factor):
    /// shown once, to be handed to the owner in person; the confirmer gets the second half.
    pub code_half: Option<String>,
}

/// The code half never reaches a log.
impl std::fmt::Debug for AccountRequested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRequested")
            .field("request", &self.request)
            .field("code_half", &self.code_half.as_ref().map(|_| "***"))
            .finish()
    }
}

/// 200 (or 201) with what was done at once, or 202 with the request.
fn outcome<T: Serialize>(done: StatusCode, o: AccountOutcome<T>) -> Response {
    match o {
        AccountOutcome::Done(v) => (done, Json(v)).into_response(),
        AccountOutcome::Requested { request, code_half } => (
            StatusCode::ACCEPTED,
            Json(AccountRequested {
                request: *request,
                code_half,
            }),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAccount {
    /// 3–40 letters, digits, `_` or `.`.
    #[schema(max_length = 40)]
    pub username: String,
    /// 1–30 characters, without control or bidirectional characters.
    #[schema(max_length = 30)]
    pub display_name: String,
    pub role: Role,
    /// Official code or `o{id}` of the home organisation, which sets the account's scope.
    pub org: String,
}

#[derive(Serialize, ToSchema)]
pub struct AccountCreated {
    pub user: User,
    /// Shown once; must be changed at the first login.
    pub temporary_password: String,
}

#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Vec<User>), (status = 403, body = ErrorBody)))]
async fn list_users(State(s): State<AppState>, ApiUser(u): ApiUser) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(s.store.users(&u.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/users", request_body = NewAccount,
    responses((status = 201, body = AccountCreated), (status = 202, body = AccountRequested, description = "A privileged account: requested, to be confirmed by another duty"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Json(req): Json<NewAccount>,
) -> ApiResult<Response> {
    let org = s.store.org(&u.actor, req.org.trim()).await?;
    let new = NewUser {
        username: req.username,
        display_name: req.display_name,
        password: String::new(),
        role: req.role,
        org_id: org.id,
        person_id: None,
        must_change_password: true,
    };
    let o = s.store.create_account(&u.actor, new).await?;
    let o = o.map(|(user, temporary_password)| AccountCreated {
        user,
        temporary_password,
    });
    Ok(outcome(StatusCode::CREATED, o))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", params(("id" = i64, Path)), request_body = UserChange,
    responses((status = 200, body = User), (status = 202, body = AccountRequested, description = "A privileged role or scope: requested, to be confirmed by another duty"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<UserId>,
    Json(change): Json<UserChange>,
) -> ApiResult<Response> {
    let o = s.store.change_account(&u.actor, id, &change).await?;
    Ok(outcome(StatusCode::OK, o))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/reset-password", params(("id" = i64, Path)),
    responses((status = 200, body = AccountCreated, description = "An ordinary account: a temporary password, shown once"),
        (status = 202, body = AccountRequested, description = "A privileged account: requested, to be confirmed by another duty"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reset_password(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<UserId>,
) -> ApiResult<Response> {
    let o = s.store.reset_account_password(&u.actor, id).await?;
    let o = o.map(|(user, temporary_password)| {
        s.login_limiter.forget(&user.username);
        AccountCreated {
            user,
            temporary_password,
        }
    });
    Ok(outcome(StatusCode::OK, o))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/reset-totp", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 202, body = AccountRequested, description = "A privileged account: requested, to be confirmed by another duty"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reset_totp(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<UserId>,
) -> ApiResult<Response> {
    let o = s.store.reset_account_totp(&u.actor, id).await?;
    Ok(outcome(StatusCode::OK, o))
}

#[utoipa::path(get, path = "/api/v1/security-settings", responses((status = 200, body = SecuritySettings), (status = 403, body = ErrorBody)))]
async fn get_security_settings(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
) -> ApiResult<Json<SecuritySettings>> {
    Ok(Json(s.store.security_settings_as(&u.actor).await?))
}

#[utoipa::path(put, path = "/api/v1/security-settings", request_body = SecuritySettings,
    responses((status = 200, body = SecuritySettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_security_settings(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Json(new): Json<SecuritySettings>,
) -> ApiResult<Json<SecuritySettings>> {
    Ok(Json(
        s.store.update_security_settings(&u.actor, &new).await?,
    ))
}

/// The temporary password never reaches a log.
impl std::fmt::Debug for AccountCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountCreated")
            .field("user", &self.user)
            .field("temporary_password", &"***")
            .finish()
    }
}
