//! The JSON API of regions: the region bulletin, its counties, and opening a county below.

use super::region_range;
use crate::shared::prelude::*;
use taizhang_domain::region::RegionBulletin;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(region_bulletin))
        .routes(routes!(region_counties))
        .routes(routes!(open_county))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RegionBulletinQuery {
    /// First day; defaults to 1 January of this year.
    from: Option<NaiveDate>,
    /// Last day; defaults to today.
    to: Option<NaiveDate>,
}

/// The bulletin of a city or province (市/省统计通报): every county below with its own bulletin
/// over its root, added up and ranked, overall and per ledger type. For the region's users (and
/// a province's users for its cities); anyone else is answered 404.
#[utoipa::path(get, path = "/api/v1/regions/{code}/bulletin",
    params(("code" = String, Path, description = "市或省的行政区划代码"), RegionBulletinQuery),
    responses((status = 200, body = RegionBulletin), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn region_bulletin(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(code): Path<String>,
    Query(q): Query<RegionBulletinQuery>,
) -> ApiResult<Json<RegionBulletin>> {
    let range = region_range(q.from, q.to)?;
    let _turn = s.reports.enter().await?;
    Ok(Json(s.store.region_bulletin(&u.actor, &code, range).await?))
}

/// A region and the counties below it.
#[derive(Debug, Serialize, ToSchema)]
struct RegionCounties {
    region: Region,
    counties: Vec<County>,
}

/// The counties below a city or province, by code (the region's users only).
#[utoipa::path(get, path = "/api/v1/regions/{code}/counties",
    params(("code" = String, Path, description = "市或省的行政区划代码")),
    responses((status = 200, body = RegionCounties), (status = 404, body = ErrorBody)))]
async fn region_counties(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(code): Path<String>,
) -> ApiResult<Json<RegionCounties>> {
    let (region, counties) = s.store.region_counties(&u.actor, &code).await?;
    Ok(Json(RegionCounties { region, counties }))
}

/// The county a session reads after opening it.
#[derive(Debug, Serialize, ToSchema)]
struct OpenedCounty {
    county: County,
}

/// Makes the caller's session (a region user's) read this county from now on: every other call
/// of the API answers for it, read-only. A county outside the region, or a caller who is not a
/// region user, is answered 404. Audited in the county's chain.
#[utoipa::path(post, path = "/api/v1/regions/{code}/counties/{county}/open",
    params(("code" = String, Path, description = "市或省的行政区划代码"),
        ("county" = String, Path, description = "县的行政区划代码")),
    responses((status = 200, body = OpenedCounty), (status = 404, body = ErrorBody)))]
async fn open_county(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    headers: HeaderMap,
    Path((code, county)): Path<(String, String)>,
) -> ApiResult<Json<OpenedCounty>> {
    let opened = open_in_region(&s, &u.actor, &code, &county, bearer(&headers)).await?;
    Ok(Json(OpenedCounty { county: opened }))
}

fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default()
}

/// Opens `county` for the session of `token` when it lies below region `code` and the caller
/// may read that region.
pub(crate) async fn open_in_region(
    s: &AppState,
    actor: &Actor,
    code: &str,
    county: &str,
    token: &str,
) -> ApiResult<County> {
    let (_, counties) = s.store.region_counties(actor, code).await?;
    let found = counties
        .into_iter()
        .find(|c| c.code == county)
        .ok_or(WebError::Store(StoreError::NotFound))?;
    s.store.open_county(token, county).await?;
    Ok(found)
}
