//! The JSON API of people and their positions.

use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_people, create_person))
        .routes(routes!(get_person, edit_person))
        .routes(routes!(person_history))
        .routes(routes!(add_position))
        .routes(routes!(end_position))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PeopleQuery {
    org: Option<String>,
    /// Part of a name, its pinyin or initials (`zs` finds 张三), or a whole 身份证号 or phone
    /// number (found exactly, through its blind index); up to 60 characters.
    #[param(max_length = 60)]
    q: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeoplePage {
    pub total: i64,
    pub people: Vec<Person>,
}

#[utoipa::path(get, path = "/api/v1/people", params(PeopleQuery), responses((status = 200, body = PeoplePage), (status = 404, body = ErrorBody)))]
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
    responses((status = 201, body = Person), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
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
    responses((status = 200, body = Person), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_person(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<PersonId>,
    Query(q): Query<PersonQuery>,
) -> ApiResult<Json<Person>> {
    if q.reveal == Some(true) {
        return Ok(Json(s.store.person_revealed(&u.actor, id).await?));
    }
    Ok(Json(s.store.person(&u.actor, id).await?))
}

/// An edit: the person's particulars as they should be, the `version` it was made from and why.
/// An edit of a version that is no longer current answers 409 `person.stale`; one that changes
/// nothing answers 422 `person.unchanged`.
#[utoipa::path(put, path = "/api/v1/people/{id}", params(("id" = i64, Path)), request_body = PersonEdit,
    responses((status = 200, body = Person), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn edit_person(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<PersonId>,
    Json(req): Json<PersonEdit>,
) -> ApiResult<Json<Person>> {
    Ok(Json(s.store.edit_person(&u.actor, id, req).await?))
}

/// Every version of the person, oldest first, the current one last; 身份证号 and phone masked.
#[utoipa::path(get, path = "/api/v1/people/{id}/history", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<PersonVersion>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn person_history(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<PersonId>,
) -> ApiResult<Json<Vec<PersonVersion>>> {
    Ok(Json(s.store.person_history(&u.actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/positions", request_body = NewPosition,
    responses((status = 201, body = Position), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
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
    responses((status = 200, body = Position), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn end_position(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(id): Path<PositionId>,
    Json(req): Json<DateRequest>,
) -> ApiResult<Json<Position>> {
    Ok(Json(
        s.store
            .end_position(&u.actor, id, req.on.unwrap_or_else(today))
            .await?,
    ))
}
