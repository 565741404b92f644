//! The JSON API of accounts: first start, one's password and second factor, users and security settings.

use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user))
        .routes(routes!(get_security_settings, put_security_settings))
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
    responses((status = 201, body = AccountCreated), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Json(req): Json<NewAccount>,
) -> ApiResult<(StatusCode, Json<AccountCreated>)> {
    let org = s.store.org(&u.actor, req.org.trim()).await?;
    let (user, temporary_password) = s
        .store
        .create_user_with_temporary_password(
            &u.actor,
            NewUser {
                username: req.username,
                display_name: req.display_name,
                password: String::new(),
                role: req.role,
                org_id: org.id,
                person_id: None,
                must_change_password: true,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountCreated {
            user,
            temporary_password,
        }),
    ))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", params(("id" = i64, Path)), request_body = UserChange,
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<UserId>,
    Json(change): Json<UserChange>,
) -> ApiResult<Json<User>> {
    Ok(Json(s.store.update_user(&u.actor, id, &change).await?))
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
