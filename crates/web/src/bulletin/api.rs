//! The JSON API of the bulletin (统计通报).

use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(bulletin))
        .merge(super::documents::api_routes())
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
pub(crate) struct ApiBulletinQuery {
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

impl From<ApiBulletinQuery> for BulletinQuery {
    fn from(q: ApiBulletinQuery) -> BulletinQuery {
        BulletinQuery {
            org: q.org,
            from: q.from,
            to: q.to,
            by: q.by,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/bulletin", params(ApiBulletinQuery),
    responses((status = 200, body = Bulletin), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn bulletin(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Query(q): Query<ApiBulletinQuery>,
) -> ApiResult<Json<Bulletin>> {
    Ok(Json(bulletin_for(&s, &u.actor, q).await?))
}

/// The bulletin a query asks for, in its turn at the report gate: for the API's bearer and for
/// the bulletin page's JSON link, which a logged-in browser follows with its session.
pub(crate) async fn bulletin_for(
    s: &AppState,
    actor: &Actor,
    q: ApiBulletinQuery,
) -> Result<Bulletin, WebError> {
    let q = BulletinQuery::from(q);
    let (range, grouping) = bulletin_params(&q)?;
    let org = match q.org.clone() {
        Some(o) => o,
        None => home_ref(s, actor).await?,
    };
    let _turn = s.reports.enter().await?;
    Ok(s.store.bulletin(actor, &org, range, grouping).await?)
}
