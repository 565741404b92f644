//! The pages of regions: `/regions/{code}/bulletin` (市/省统计通报), and the way from a county's
//! figure into that county's own bulletin.

use super::api::open_in_region;
use super::region_range;
use crate::shared::prelude::*;
use taizhang_domain::region::RegionBulletin;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/regions/{code}/bulletin", get(bulletin_page))
        .route("/regions/{code}/counties/{county}", post(enter_county))
}

#[derive(Deserialize)]
struct RangeQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

impl RangeQuery {
    fn range(&self) -> Result<DateRange, PageError> {
        let from = parse_opt_date(&self.from, "from").map_err(WebError::Store)?;
        let to = parse_opt_date(&self.to, "to").map_err(WebError::Store)?;
        Ok(region_range(from, to)?)
    }
}

pub struct CountyView {
    rank: usize,
    name: String,
    records: i64,
    share: String,
    url: String,
    counts: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "regions/bulletin.html")]
struct RegionBulletinPage {
    nav: Option<Nav>,
    csrf: String,
    b: RegionBulletin,
    counties: Vec<CountyView>,
    chart: String,
    json_url: String,
}

/// Where a county's figure leads: into that county, onto its bulletin for the same period (or
/// its records of one ledger type).
fn county_url(region: &str, county: &str) -> String {
    format!(
        "/regions/{}/counties/{}",
        url_encode(region),
        url_encode(county)
    )
}

async fn bulletin_page(
    State(st): State<AppState>,
    u: PageUser,
    Path(code): Path<String>,
    Query(q): Query<RangeQuery>,
) -> PageResult {
    let range = q.range()?;
    let permit = st.reports.enter().await?;
    let b = st
        .store
        .region_bulletin(&u.session.actor, &code, range)
        .await?;
    drop(permit);
    let counties: Vec<CountyView> = b
        .counties
        .iter()
        .map(|c| CountyView {
            rank: c.rank,
            name: c.name.clone(),
            records: c.records,
            share: c.share.clone().unwrap_or_default(),
            url: county_url(&b.region.code, &c.code),
            counts: c
                .counts
                .iter()
                .zip(&b.type_columns)
                .map(|(n, k)| (*n, k.clone()))
                .collect(),
        })
        .collect();
    let chart = crate::bulletin::chart_bars(
        "各县（市、区）台账记录数",
        &counties
            .iter()
            .map(|c| (c.name.clone(), c.records))
            .collect::<Vec<_>>(),
    );
    let json_url = format!(
        "/api/v1/regions/{}/bulletin?from={}&to={}",
        url_encode(&b.region.code),
        range.from,
        range.to
    );
    html(RegionBulletinPage {
        nav: nav_for(&st, &u).await,
        csrf: u.session.csrf_token.clone(),
        counties,
        chart,
        json_url,
        b,
    })
}

#[derive(Deserialize)]
struct EnterForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    ledger_type: Option<String>,
}

/// Opens the county for the region user's session (read-only; audited) and shows its bulletin
/// for the same period, or its records of one ledger type. Opening changes which county the
/// session reads, so it is a CSRF-checked POST from the figure's button, never a link.
async fn enter_county(
    State(st): State<AppState>,
    u: PageUser,
    Path((code, county)): Path<(String, String)>,
    CsrfForm(q): CsrfForm<EnterForm>,
) -> PageResult {
    let range = RangeQuery {
        from: q.from,
        to: q.to,
    }
    .range()?;
    open_in_region(&st, &u.session.actor, &code, &county, &u.token).await?;
    let to = match q.ledger_type.filter(|t| !t.is_empty()) {
        Some(t) => format!(
            "/records?org={}&from={}&to={}&ledger_type={}",
            url_encode(&county),
            range.from,
            range.to,
            url_encode(&t)
        ),
        None => format!(
            "/bulletin?org={}&from={}&to={}",
            url_encode(&county),
            range.from,
            range.to
        ),
    };
    Ok(Redirect::to(&to).into_response())
}
