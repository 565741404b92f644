//! The JSON API under `/api/v1/`, described by the OpenAPI document generated from these
//! handlers. Every call but login needs `Authorization: Bearer <token>`.

use crate::error::{ApiResult, ErrorBody, WebError};
use crate::openapi::CommonErrors;
use crate::session::ApiUser;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use taizhang_domain::bulletin::{Bulletin, Grouping};
use taizhang_domain::ledger::LedgerTypeDef;
use taizhang_domain::org::LinkKind;
use taizhang_domain::period::DateRange;
use taizhang_domain::Role;
use taizhang_store::*;
use utoipa::{IntoParams, OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/orgs/{org_ref}", get(get_org).patch(rename_org))
        .route(
            "/api/v1/orgs/{org_ref}/children",
            get(org_children).post(create_org),
        )
        .route("/api/v1/orgs/{org_ref}/history", get(org_history))
        .route("/api/v1/orgs/{org_ref}/move", post(move_org))
        .route("/api/v1/orgs/{org_ref}/dissolve", post(dissolve_org))
        .route("/api/v1/links", get(list_links).post(create_link))
        .route("/api/v1/links/{id}/end", post(end_link))
        .route("/api/v1/people", get(list_people).post(create_person))
        .route("/api/v1/people/{id}", get(get_person))
        .route("/api/v1/positions", post(add_position))
        .route("/api/v1/positions/{id}/end", post(end_position))
        .route(
            "/api/v1/ledger-types",
            get(list_ledger_types).post(create_ledger_type),
        )
        .route(
            "/api/v1/ledger-types/{key}",
            get(get_ledger_type).put(update_ledger_type),
        )
        .route("/api/v1/records", get(list_records).post(create_record))
        .route("/api/v1/records/{id}", get(get_record))
        .route("/api/v1/records/{id}/void", post(void_record))
        .route("/api/v1/attachments", post(upload_attachment))
        .route("/api/v1/attachments/{id}", get(download_attachment))
        .route("/api/v1/overdue", get(overdue))
        .route("/api/v1/bulletin", get(bulletin))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}", axum::routing::patch(update_user))
        .route(
            "/api/v1/security-settings",
            get(get_security_settings).put(put_security_settings),
        )
}

#[derive(OpenApi)]
#[openapi(
    info(title = "taizhang API", description = "台账：组织、人员、台账记录与统计通报。组织以官方编码（如370828）或 o{id} 标识。"),
    paths(
        login, logout, me, get_org, rename_org, org_children, create_org, org_history, move_org, dissolve_org,
        list_links, create_link, end_link, list_people, create_person, get_person, add_position, end_position,
        list_ledger_types, create_ledger_type, get_ledger_type, update_ledger_type,
        list_records, create_record, get_record, void_record, upload_attachment, download_attachment,
        overdue, bulletin, audit, list_users, create_user, update_user, get_security_settings, put_security_settings,
        crate::jobs::api::list_jobs, crate::jobs::api::retry_job
    ),
    components(schemas(ErrorBody, FileBytes, LoginRequest, LoginResponse, Me, Org, NewOrg, OrgEdge, Link, NewLink, Person, NewPerson,
        Position, NewPosition, LedgerType, Record, NewRecord, RecordPage, OverdueItem, AuditEntry, AuditPage, PeoplePage,
        Bulletin, RenameRequest, DateRequest, VoidRequest, AttachmentCreated, User, NewAccount, AccountCreated, UserChange,
        SecuritySettings, taizhang_store::jobs::Job, taizhang_store::jobs::JobPage)),
    modifiers(&BearerAuth, &CommonErrors)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API document, like every call but login, is for authenticated callers.
async fn openapi_json(_u: ApiUser) -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

/// Unknown paths: under the API, 401 without a token (nothing is told to strangers), else 404.
pub(crate) async fn unknown_path(
    uri: axum::http::Uri,
    user: Result<ApiUser, WebError>,
) -> axum::response::Response {
    if uri.path().starts_with("/api/") {
        match user {
            Err(e) => e.into_response(),
            Ok(_) => WebError::Store(StoreError::NotFound).into_response(),
        }
    } else {
        (StatusCode::NOT_FOUND, axum::response::Html("<!doctype html><meta charset=utf-8><title>未找到</title><p>未找到该页面。<a href=\"/\">返回首页</a>")).into_response()
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The 6-digit code of the account's authenticator app, when it has one bound.
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
}

#[utoipa::path(post, path = "/api/v1/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(s): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    s.login_limiter.check(peer.ip())?;
    let (session, token) = s
        .store
        .login(req.username.trim(), &req.password, req.totp.as_deref())
        .await?;
    // The API has no page to change a password or bind a second factor: such a login stops here.
    if session.stage != SessionStage::Full {
        s.store.logout(&token).await?;
        return Err(WebError::StageIncomplete(session.stage));
    }
    Ok(Json(LoginResponse { token }))
}

#[utoipa::path(post, path = "/api/v1/logout", responses((status = 204), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
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
    pub org_id: i64,
    pub org_name: String,
    /// Organisation ids whose subtrees the caller may see; empty for a whole county.
    pub scope_roots: Vec<i64>,
}

#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
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
            .map(<[i64]>::to_vec)
            .unwrap_or_default(),
    })
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_ref}", params(("org_ref" = String, Path, description = "官方编码或 o{id}")),
    responses((status = 200, body = Org), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_org(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(org_ref): Path<String>,
) -> ApiResult<Json<Org>> {
    Ok(Json(s.store.org(&u.actor, &org_ref).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameRequest {
    pub name: String,
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org_ref}", params(("org_ref" = String, Path)), request_body = RenameRequest,
    responses((status = 200, body = Org), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn rename_org(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(org_ref): Path<String>,
    Json(req): Json<RenameRequest>,
) -> ApiResult<Json<Org>> {
    let org = s.store.org(&u.actor, &org_ref).await?;
    Ok(Json(s.store.rename_org(&u.actor, org.id, &req.name).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ChildrenQuery {
    /// Include dissolved children.
    #[serde(default)]
    dissolved: bool,
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_ref}/children", params(("org_ref" = String, Path), ChildrenQuery),
    responses((status = 200, body = Vec<Org>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn org_children(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(org_ref): Path<String>,
    Query(q): Query<ChildrenQuery>,
) -> ApiResult<Json<Vec<Org>>> {
    let org = s.store.org(&u.actor, &org_ref).await?;
    Ok(Json(s.store.children(&u.actor, org.id, q.dissolved).await?))
}

#[utoipa::path(post, path = "/api/v1/orgs/{org_ref}/children", params(("org_ref" = String, Path)), request_body = NewOrg,
    responses((status = 201, body = Org), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_org(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(org_ref): Path<String>,
    Json(req): Json<NewOrg>,
) -> ApiResult<(StatusCode, Json<Org>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_org(&u.actor, &org_ref, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_ref}/history", params(("org_ref" = String, Path)),
    responses((status = 200, body = Vec<OrgEdge>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn org_history(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(org_ref): Path<String>,
) -> ApiResult<Json<Vec<OrgEdge>>> {
    let org = s.store.org(&u.actor, &org_ref).await?;
    Ok(Json(s.store.org_history(&u.actor, org.id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MoveRequest {
    /// The new parent, as a code or `o{id}`.
    pub parent: String,
    /// The date the move takes effect; defaults to today.
    #[serde(default)]
    pub on: Option<NaiveDate>,
}

#[utoipa::path(post, path = "/api/v1/orgs/{org_ref}/move", params(("org_ref" = String, Path)), request_body = MoveRequest,
    responses((status = 200, body = Org), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn move_org(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(org_ref): Path<String>,
    Json(req): Json<MoveRequest>,
) -> ApiResult<Json<Org>> {
    let org = s.store.org(&u.actor, &org_ref).await?;
    Ok(Json(
        s.store
            .move_org(&u.actor, org.id, &req.parent, req.on.unwrap_or_else(today))
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DateRequest {
    /// Defaults to today.
    #[serde(default)]
    pub on: Option<NaiveDate>,
}

#[utoipa::path(post, path = "/api/v1/orgs/{org_ref}/dissolve", params(("org_ref" = String, Path)), request_body = DateRequest,
    responses((status = 200, body = Org), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn dissolve_org(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(org_ref): Path<String>,
    Json(req): Json<DateRequest>,
) -> ApiResult<Json<Org>> {
    let org = s.store.org(&u.actor, &org_ref).await?;
    Ok(Json(
        s.store
            .dissolve_org(&u.actor, org.id, req.on.unwrap_or_else(today))
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LinksQuery {
    /// Links from or to this organisation (code or `o{id}`).
    org: Option<String>,
    kind: Option<LinkKind>,
}

#[utoipa::path(get, path = "/api/v1/links", params(LinksQuery), responses((status = 200, body = Vec<Link>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_links(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<LinksQuery>,
) -> ApiResult<Json<Vec<Link>>> {
    let org = match q.org.as_deref() {
        Some(r) => Some(s.store.org(&u.actor, r).await?.id),
        None => None,
    };
    Ok(Json(s.store.links(&u.actor, org, q.kind).await?))
}

#[utoipa::path(post, path = "/api/v1/links", request_body = NewLink,
    responses((status = 201, body = Link), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_link(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Json(req): Json<NewLink>,
) -> ApiResult<(StatusCode, Json<Link>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_link(&u.actor, req).await?),
    ))
}

#[utoipa::path(post, path = "/api/v1/links/{id}/end", params(("id" = i64, Path)), request_body = DateRequest,
    responses((status = 200, body = Link), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn end_link(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
    Json(req): Json<DateRequest>,
) -> ApiResult<Json<Link>> {
    Ok(Json(
        s.store
            .end_link(&u.actor, id, req.on.unwrap_or_else(today))
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PeopleQuery {
    org: Option<String>,
    /// Part of a name, or a whole 身份证号 or phone number (found exactly, through its blind index).
    q: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeoplePage {
    pub total: i64,
    pub people: Vec<Person>,
}

#[utoipa::path(get, path = "/api/v1/people", params(PeopleQuery), responses((status = 200, body = PeoplePage), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_people(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<PeopleQuery>,
) -> ApiResult<Json<PeoplePage>> {
    let org = match q.org.as_deref() {
        Some(r) => Some(s.store.org(&u.actor, r).await?.id),
        None => None,
    };
    let (total, people) = s
        .store
        .people(
            &u.actor,
            org,
            q.q.as_deref().unwrap_or(""),
            q.limit.unwrap_or(50),
            q.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(PeoplePage { total, people }))
}

#[utoipa::path(post, path = "/api/v1/people", request_body = NewPerson,
    responses((status = 201, body = Person), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_person(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Json(req): Json<NewPerson>,
) -> ApiResult<(StatusCode, Json<Person>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_person(&u.actor, req).await?),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonQuery {
    /// `true`: 身份证号 and phone whole, for a role that may see them; the view is audited.
    pub reveal: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/people/{id}", params(("id" = i64, Path), PersonQuery),
    responses((status = 200, body = Person), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_person(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<PersonQuery>,
) -> ApiResult<Json<Person>> {
    if q.reveal == Some(true) {
        return Ok(Json(s.store.person_revealed(&u.actor, id).await?));
    }
    Ok(Json(s.store.person(&u.actor, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAccount {
    /// 3–40 letters, digits, `_` or `.`.
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Official code or `o{id}` of the home organisation, which sets the account's scope.
    pub org: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountCreated {
    pub user: User,
    /// Shown once; must be changed at the first login.
    pub temporary_password: String,
}

#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Vec<User>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_users(State(s): State<AppState>, ApiUser(u): ApiUser) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(s.store.users(&u.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/users", request_body = NewAccount,
    responses((status = 201, body = AccountCreated), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
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
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_user(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
    Json(change): Json<UserChange>,
) -> ApiResult<Json<User>> {
    Ok(Json(s.store.update_user(&u.actor, id, &change).await?))
}

#[utoipa::path(get, path = "/api/v1/security-settings", responses((status = 200, body = SecuritySettings), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn get_security_settings(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
) -> ApiResult<Json<SecuritySettings>> {
    Ok(Json(s.store.security_settings_as(&u.actor).await?))
}

#[utoipa::path(put, path = "/api/v1/security-settings", request_body = SecuritySettings,
    responses((status = 200, body = SecuritySettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn put_security_settings(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Json(new): Json<SecuritySettings>,
) -> ApiResult<Json<SecuritySettings>> {
    Ok(Json(
        s.store.update_security_settings(&u.actor, &new).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/positions", request_body = NewPosition,
    responses((status = 201, body = Position), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn add_position(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Json(req): Json<NewPosition>,
) -> ApiResult<(StatusCode, Json<Position>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.add_position(&u.actor, req).await?),
    ))
}

#[utoipa::path(post, path = "/api/v1/positions/{id}/end", params(("id" = i64, Path)), request_body = DateRequest,
    responses((status = 200, body = Position), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn end_position(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
    Json(req): Json<DateRequest>,
) -> ApiResult<Json<Position>> {
    Ok(Json(
        s.store
            .end_position(&u.actor, id, req.on.unwrap_or_else(today))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/ledger-types", responses((status = 200, body = Vec<LedgerType>)), security(("bearer" = [])))]
async fn list_ledger_types(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
) -> ApiResult<Json<Vec<LedgerType>>> {
    Ok(Json(s.store.ledger_types(&u.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/ledger-types", request_body(content = Object, description = "台账类型定义：key、name、fields、cadences"),
    responses((status = 201, body = LedgerType), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_ledger_type(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Json(def): Json<LedgerTypeDef>,
) -> ApiResult<(StatusCode, Json<LedgerType>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_ledger_type(&u.actor, def).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/ledger-types/{key}", params(("key" = String, Path)), responses((status = 200, body = LedgerType), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_ledger_type(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<LedgerType>> {
    Ok(Json(s.store.ledger_type(&u.actor, &key).await?))
}

#[utoipa::path(put, path = "/api/v1/ledger-types/{key}", params(("key" = String, Path)), request_body(content = Object),
    responses((status = 200, body = LedgerType), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn update_ledger_type(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(key): Path<String>,
    Json(def): Json<LedgerTypeDef>,
) -> ApiResult<Json<LedgerType>> {
    if def.key != key {
        return Err(WebError::Store(StoreError::invalid(
            "key",
            "ledger_type.key_changed",
            "类型标识创建后不能修改",
        )));
    }
    Ok(Json(s.store.update_ledger_type(&u.actor, def).await?))
}

#[utoipa::path(get, path = "/api/v1/records", params(RecordQuery), responses((status = 200, body = RecordPage), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_records(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<RecordQuery>,
) -> ApiResult<Json<RecordPage>> {
    Ok(Json(s.store.records(&u.actor, &q).await?))
}

#[utoipa::path(post, path = "/api/v1/records", request_body = NewRecord,
    responses((status = 201, body = Record), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_record(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Json(req): Json<NewRecord>,
) -> ApiResult<(StatusCode, Json<Record>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_record(&u.actor, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/records/{id}", params(("id" = i64, Path)), responses((status = 200, body = Record), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_record(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Record>> {
    Ok(Json(s.store.record(&u.actor, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VoidRequest {
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/records/{id}/void", params(("id" = i64, Path)), request_body = VoidRequest,
    responses((status = 200, body = Record), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn void_record(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
    Json(req): Json<VoidRequest>,
) -> ApiResult<Json<Record>> {
    Ok(Json(s.store.void_record(&u.actor, id, &req.reason).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadQuery {
    /// The file's name, shown when it is downloaded.
    name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentCreated {
    /// Use this id in a record's attachment field.
    pub id: String,
}

/// An attachment's bytes, sent and answered with its own media type.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub Vec<u8>);

pub const ALLOWED_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp", "application/pdf"];
pub const MAX_ATTACHMENT: usize = 10 * 1024 * 1024;

/// Checks an upload's declared type against its first bytes.
pub fn sniff_ok(content_type: &str, bytes: &[u8]) -> bool {
    match content_type {
        "image/jpeg" => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/webp" => bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        "application/pdf" => bytes.starts_with(b"%PDF-"),
        _ => false,
    }
}

#[utoipa::path(post, path = "/api/v1/attachments", params(UploadQuery), request_body(description = "The file, sent with its own type", content(
        (FileBytes = "image/jpeg"), (FileBytes = "image/png"), (FileBytes = "image/webp"), (FileBytes = "application/pdf"))),
    responses((status = 201, body = AttachmentCreated), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn upload_attachment(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<AttachmentCreated>)> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if !ALLOWED_TYPES.contains(&ctype.as_str()) {
        return Err(WebError::UnsupportedMediaType(
            "附件只能是JPEG、PNG、WebP图片或PDF文件".into(),
        ));
    }
    if body.len() > MAX_ATTACHMENT {
        return Err(WebError::TooLarge("附件不能超过10MB".into()));
    }
    if body.is_empty() || !sniff_ok(&ctype, &body) {
        return Err(WebError::Store(StoreError::invalid(
            "file",
            "attachment.content",
            "附件内容与其类型不符：只能是JPEG、PNG、WebP图片或PDF文件，且不能为空",
        )));
    }
    let id = s
        .store
        .save_attachment(&u.actor, &q.name, &ctype, &body)
        .await?;
    Ok((StatusCode::CREATED, Json(AttachmentCreated { id })))
}

#[utoipa::path(get, path = "/api/v1/attachments/{id}", params(("id" = String, Path)),
    responses((status = 200, description = "The file, with the type it was uploaded as", content(
        (FileBytes = "image/jpeg"), (FileBytes = "image/png"), (FileBytes = "image/webp"), (FileBytes = "application/pdf"))),
        (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn download_attachment(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    attachment_response(&s, &u.actor, &id).await
}

pub(crate) async fn attachment_response(
    s: &AppState,
    actor: &Actor,
    id: &str,
) -> ApiResult<impl IntoResponse> {
    let (name, ctype, bytes) = s.store.attachment(actor, id).await?;
    let disposition = format!("inline; filename*=UTF-8''{}", percent_encode(&name));
    Ok((
        [
            (header::CONTENT_TYPE, ctype),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    ))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OverdueQuery {
    /// Organisation subtree; defaults to the caller's organisation.
    org: Option<String>,
    /// Defaults to today.
    as_of: Option<NaiveDate>,
}

#[utoipa::path(get, path = "/api/v1/overdue", params(OverdueQuery), responses((status = 200, body = Vec<OverdueItem>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn overdue(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<OverdueQuery>,
) -> ApiResult<Json<Vec<OverdueItem>>> {
    let org = match q.org {
        Some(o) => o,
        None => home_ref(&s, &u.actor).await?,
    };
    Ok(Json(
        s.store
            .overdue(&u.actor, &org, q.as_of.unwrap_or_else(today))
            .await?,
    ))
}

pub(crate) async fn home_ref(s: &AppState, actor: &Actor) -> ApiResult<String> {
    let roots = s.store.scope_roots(actor).await?;
    roots
        .first()
        .map(|o| o.org_ref.clone())
        .ok_or(WebError::Store(StoreError::NotFound))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BulletinQuery {
    /// Organisation subtree (code or `o{id}`); defaults to the caller's organisation.
    pub org: Option<String>,
    /// First day; defaults to 1 January of this year.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Last day; defaults to today.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    /// Rank child units (`children`, the default) or organisations reached by a cross-link kind
    /// (`dispatch` for 各第一书记村, `pairing`, `cover`, `dual_report`, `alliance_member`).
    pub by: Option<String>,
}

/// A date from a form: an emptied date box means "not given".
fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| serde::de::Error::custom("日期格式应为 YYYY-MM-DD")),
    }
}

pub(crate) fn bulletin_params(q: &BulletinQuery) -> ApiResult<(DateRange, Grouping)> {
    let t = today();
    let from = q
        .from
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(chrono::Datelike::year(&t), 1, 1).unwrap_or(t));
    let to = q.to.unwrap_or(t);
    let range = DateRange::new(from, to)
        .map_err(|e| WebError::Store(StoreError::invalid("from", e.code(), e.to_string())))?;
    let grouping = match q.by.as_deref().unwrap_or("children") {
        "children" | "" => Grouping::Children,
        k => Grouping::Link(k.parse::<LinkKind>().map_err(|_| {
            WebError::Store(StoreError::invalid(
                "by",
                "bulletin.bad_grouping",
                format!("未知的分组方式“{k}”"),
            ))
        })?),
    };
    Ok((range, grouping))
}

/// The bulletin's query in the API, where a date is `YYYY-MM-DD` or absent; the bulletin page's
/// form also takes an emptied date box.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ApiBulletinQuery {
    /// Organisation subtree (code or `o{id}`); defaults to the caller's organisation.
    org: Option<String>,
    /// First day; defaults to 1 January of this year.
    from: Option<NaiveDate>,
    /// Last day; defaults to today.
    to: Option<NaiveDate>,
    /// Rank child units (`children`, the default) or organisations reached by a cross-link kind
    /// (`dispatch` for 各第一书记村, `pairing`, `cover`, `dual_report`, `alliance_member`).
    by: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/bulletin", params(ApiBulletinQuery),
    responses((status = 200, body = Bulletin), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn bulletin(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<ApiBulletinQuery>,
) -> ApiResult<Json<Bulletin>> {
    let q = BulletinQuery {
        org: q.org,
        from: q.from,
        to: q.to,
        by: q.by,
    };
    let (range, grouping) = bulletin_params(&q)?;
    let org = match q.org.clone() {
        Some(o) => o,
        None => home_ref(&s, &u.actor).await?,
    };
    Ok(Json(
        s.store.bulletin(&u.actor, &org, range, grouping).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    entity: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub total: i64,
    pub entries: Vec<AuditEntry>,
}

#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery), responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn audit(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let (total, entries) = s
        .store
        .audit_entries(
            &u.actor,
            q.entity.as_deref(),
            q.limit.unwrap_or(100),
            q.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(AuditPage { total, entries }))
}
