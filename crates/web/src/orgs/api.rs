//! The JSON API of organisations: their tree, names, moves and dissolution.

use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_org, rename_org))
        .routes(routes!(org_children, create_org))
        .routes(routes!(org_history))
        .routes(routes!(move_org))
        .routes(routes!(dissolve_org))
}

#[utoipa::path(get, path = "/api/v1/orgs/{org_ref}", params(("org_ref" = String, Path, description = "官方编码或 o{id}")),
    responses((status = 200, body = Org), (status = 404, body = ErrorBody)))]
async fn get_org(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(org_ref): Path<String>,
) -> ApiResult<Json<Org>> {
    Ok(Json(s.store.org(&u.actor, &org_ref).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameRequest {
    /// 1–60 characters, without control or bidirectional characters.
    #[schema(max_length = 60)]
    pub name: String,
}

#[utoipa::path(patch, path = "/api/v1/orgs/{org_ref}", params(("org_ref" = String, Path)), request_body = RenameRequest,
    responses((status = 200, body = Org), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
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
    responses((status = 200, body = Vec<Org>), (status = 404, body = ErrorBody)))]
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
    responses((status = 201, body = Org), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
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
    responses((status = 200, body = Vec<OrgEdge>), (status = 404, body = ErrorBody)))]
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
    responses((status = 200, body = Org), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
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

#[utoipa::path(post, path = "/api/v1/orgs/{org_ref}/dissolve", params(("org_ref" = String, Path)), request_body = DateRequest,
    responses((status = 200, body = Org), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
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
