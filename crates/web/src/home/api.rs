//! The JSON API of the login, the logout and the home page.

use super::limited_login;
use crate::client_ip::ClientIp;
use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The 6-digit code of the account's authenticator app, when it has one bound.
    #[serde(default)]
    pub totp: Option<String>,
}

/// The password and the code never reach a log.
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"***")
            .field("totp", &self.totp.as_ref().map(|_| "***"))
            .finish()
    }
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
}

/// The session token never reaches a log.
impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"***")
            .finish()
    }
}

#[utoipa::path(post, path = "/api/v1/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait")))))]
async fn login(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let (session, token) =
        limited_login(&s, ip, &req.username, &req.password, req.totp.as_deref()).await??;
    // The API has no page to change a password or bind a second factor: such a login stops here.
    if session.stage != SessionStage::Full {
        s.store.logout(&token).await?;
        return Err(WebError::StageIncomplete(session.stage));
    }
    Ok(Json(LoginResponse { token }))
}

#[utoipa::path(post, path = "/api/v1/logout", responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(
    State(s): State<AppState>,
    _u: ApiUser,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    if let Some(t) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        s.store.logout(t.trim()).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub username: String,
    pub display_name: String,
    pub role: taizhang_domain::Role,
    #[schema(value_type = i64)]
    pub org_id: OrgId,
    pub org_name: String,
    /// Organisation ids whose subtrees the caller may see; empty for a whole county.
    #[schema(value_type = Vec<i64>)]
    pub scope_roots: Vec<OrgId>,
}

#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(ApiUser(u): ApiUser) -> Json<Me> {
    Json(Me {
        username: u.actor.username.clone(),
        display_name: u.display_name,
        role: u.actor.role,
        org_id: u.actor.org_id,
        org_name: u.org_name,
        scope_roots: u
            .actor
            .scope
            .roots()
            .map(<[OrgId]>::to_vec)
            .unwrap_or_default(),
    })
}
