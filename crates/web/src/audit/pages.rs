//! The pages of the audit log.

use crate::shared::prelude::*;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new().route("/audit", get(audit_page))
}

pub struct AuditLine {
    seq: AuditSeq,
    at: String,
    actor: String,
    action: String,
    entity: String,
    entity_id: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "audit/audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    total: i64,
    entries: Vec<AuditLine>,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct AuditQuery {
    page: Option<i64>,
}

async fn audit_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let page = q.page.unwrap_or(0).clamp(0, 100_000);
    let (total, entries) = st
        .store
        .audit_entries(&u.session.actor, None, 100, page * 100)
        .await?;
    let short = |v: &Option<Value>| {
        v.as_ref()
            .map(|x| x.to_string().chars().take(300).collect())
            .unwrap_or_default()
    };
    html(AuditPage {
        nav: nav_for(&st, &u).await,
        total,
        entries: entries
            .iter()
            .map(|e| AuditLine {
                seq: e.seq,
                at: (e.at + chrono::Duration::hours(8))
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
                actor: e.actor.clone(),
                action: e.action.clone(),
                entity: e.entity.clone(),
                entity_id: e.entity_id.clone(),
                before: short(&e.before),
                after: short(&e.after),
            })
            .collect(),
        prev: (page > 0).then(|| format!("/audit?page={}", page - 1)),
        next: ((page + 1) * 100 < total).then(|| format!("/audit?page={}", page + 1)),
    })
}
