//! The JSON API of cross-links between organisations and people (派驻、结对、联建 …).

use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_links, create_link))
        .routes(routes!(end_link))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LinksQuery {
    /// Links from or to this organisation (code or `o{id}`).
    org: Option<String>,
    kind: Option<LinkKind>,
}

#[utoipa::path(get, path = "/api/v1/links", params(LinksQuery), responses((status = 200, body = Vec<Link>), (status = 404, body = ErrorBody)))]
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
    responses((status = 201, body = Link), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
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
    responses((status = 200, body = Link), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn end_link(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<LinkId>,
    Json(req): Json<DateRequest>,
) -> ApiResult<Json<Link>> {
    Ok(Json(
        s.store
            .end_link(&u.actor, id, req.on.unwrap_or_else(today))
            .await?,
    ))
}
