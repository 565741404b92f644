//! The pages of the bulletin (统计通报).

use super::api::{bulletin_for, bulletin_params, ApiBulletinQuery, BulletinQuery};
use super::chart;
use crate::shared::prelude::*;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/bulletin", get(bulletin_page))
        .route("/bulletin.json", get(bulletin_json))
        .merge(super::documents::page_routes())
}

pub struct SectionView {
    name: String,
    url: String,
    records: i64,
    orgs: i64,
    people: i64,
    sums: Vec<(String, String)>,
    /// (option, count and share, url)
    options: Vec<(String, String, String)>,
}

pub struct UnitView {
    rank: usize,
    org_ref: String,
    name: String,
    via: String,
    records: i64,
    share: String,
    url: String,
    counts: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "bulletin/bulletin.html")]
struct BulletinPage {
    nav: Option<Nav>,
    b: taizhang_domain::bulletin::Bulletin,
    by: String,
    link_kinds: Vec<(&'static str, &'static str)>,
    sections: Vec<SectionView>,
    columns: Vec<String>,
    units: Vec<UnitView>,
    chart: String,
    json_url: String,
    /// The query of the page's downloads (`org=…&from=…&to=…&by=…`).
    query: String,
}

fn records_url(
    org: &str,
    from: NaiveDate,
    to: NaiveDate,
    ledger_type: Option<&str>,
    option: Option<(&str, &str)>,
) -> String {
    let mut u = format!("/records?org={}&from={from}&to={to}", url_encode(org));
    if let Some(t) = ledger_type {
        u.push_str(&format!("&ledger_type={}", url_encode(t)));
    }
    if let Some((f, o)) = option {
        u.push_str(&format!(
            "&field={}&option={}",
            url_encode(f),
            url_encode(o)
        ));
    }
    u
}

async fn bulletin_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<BulletinQuery>,
) -> PageResult {
    let a = &u.session.actor;
    let (range, grouping) = bulletin_params(&q)?;
    let org = match q.org.clone().filter(|o| !o.is_empty()) {
        Some(o) => o,
        None => home_ref(&st, a).await?,
    };
    let permit = st.reports.enter().await?;
    let b = st.store.bulletin(a, &org, range, grouping).await?;
    drop(permit);
    let types = st.store.ledger_types(a).await?;
    let by = match grouping {
        Grouping::Children => "children".to_string(),
        Grouping::Link(k) => k.key().to_string(),
    };
    let sections = b
        .sections
        .iter()
        .map(|s| SectionView {
            name: s.type_name.clone(),
            url: records_url(
                &b.org.org_ref,
                range.from,
                range.to,
                Some(&s.type_key),
                None,
            ),
            records: s.records,
            orgs: s.organisations,
            people: s.people,
            sums: s
                .sums
                .iter()
                .map(|x| (x.label.clone(), format!("{}{}", x.total, x.unit)))
                .collect(),
            options: s
                .breakdown
                .iter()
                .filter(|o| o.records > 0)
                .map(|o| {
                    (
                        o.option.clone(),
                        format!("{}（{}）", o.records, o.share.clone().unwrap_or_default()),
                        records_url(
                            &b.org.org_ref,
                            range.from,
                            range.to,
                            Some(&s.type_key),
                            Some((&o.field, &o.option)),
                        ),
                    )
                })
                .collect(),
        })
        .collect();
    let columns = b
        .unit_columns
        .iter()
        .map(|k| {
            types
                .iter()
                .find(|t| &t.key == k)
                .map(|t| t.name.clone())
                .unwrap_or_else(|| k.clone())
        })
        .collect();
    let units: Vec<UnitView> = b
        .units
        .iter()
        .map(|x| UnitView {
            rank: x.rank,
            org_ref: x.org.org_ref.clone(),
            name: x.org.name.clone(),
            via: x.via.clone().unwrap_or_default(),
            records: x.records,
            share: x.share.clone().unwrap_or_default(),
            url: records_url(&x.org.org_ref, x.range.from, x.range.to, None, None),
            counts: x
                .counts
                .iter()
                .zip(&b.unit_columns)
                .map(|(n, k)| {
                    (
                        *n,
                        records_url(&x.org.org_ref, x.range.from, x.range.to, Some(k), None),
                    )
                })
                .collect(),
        })
        .collect();
    let chart = chart::bars(
        "各单位台账记录数",
        &units
            .iter()
            .take(20)
            .map(|x| (x.name.clone(), x.records))
            .collect::<Vec<_>>(),
    );
    let query = format!(
        "org={}&from={}&to={}&by={}",
        url_encode(&b.org.org_ref),
        range.from,
        range.to,
        url_encode(&by)
    );
    let json_url = format!("/bulletin.json?{query}");
    html(BulletinPage {
        nav: nav_for(&st, &u).await,
        by,
        link_kinds: LinkKind::ALL
            .iter()
            .map(|k| (k.key(), k.label_cn()))
            .collect(),
        sections,
        columns,
        units,
        chart,
        json_url,
        query,
        b,
    })
}

/// The bulletin as the API gives it, for a logged-in browser (the page's JSON link); never
/// cached, since it follows the caller's scope.
async fn bulletin_json(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<ApiBulletinQuery>,
) -> PageResult {
    let b = bulletin_for(&st, &u.session.actor, q).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(b)).into_response())
}
