//! The pages of ledger records and their attachments.

use super::api::attachment_response;
use super::forms;
use super::{record_lines, RecordLine};
use crate::ledgers::type_choices;
use crate::shared::load::FILE_BODY_LIMIT;
use crate::shared::prelude::*;
use axum::extract::DefaultBodyLimit;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/records", get(records_page))
        .route(
            "/records/new",
            // The form carries its photos: it alone may be larger than the router's limit.
            get(forms::record_new)
                .post(forms::record_submit)
                .layer(DefaultBodyLimit::max(FILE_BODY_LIMIT)),
        )
        .route("/records/{id}", get(record_page))
        .route(
            "/records/{id}/edit",
            get(forms::record_edit)
                .post(forms::record_edit_submit)
                .layer(DefaultBodyLimit::max(FILE_BODY_LIMIT)),
        )
        .route("/records/{id}/void", post(record_void))
        .route("/attachments/{id}", get(attachment))
        .route("/queue", get(queue_page))
}

#[derive(Template)]
#[template(path = "records/queue.html")]
struct QueuePage {
    nav: Option<Nav>,
    user: String,
}

/// The entries recorded on this phone without a network and not yet sent: the page is a frame,
/// filled by `offline.js` from the phone's own storage (nothing of it is on the server).
async fn queue_page(State(st): State<AppState>, u: PageUser) -> PageResult {
    html(QueuePage {
        nav: nav_for(&st, &u).await,
        user: u.session.actor.username.clone(),
    })
}

#[derive(Template)]
#[template(path = "records/records.html")]
struct RecordsPage {
    nav: Option<Nav>,
    types: Vec<(String, String)>,
    sel_type: String,
    sel_org: String,
    sel_from: String,
    sel_to: String,
    sel_field: String,
    sel_option: String,
    total: i64,
    records: Vec<RecordLine>,
    prev: Option<String>,
    next: Option<String>,
    can_record: bool,
}

#[derive(Deserialize)]
struct RecordsQuery {
    ledger_type: Option<String>,
    org: Option<String>,
    from: Option<String>,
    to: Option<String>,
    field: Option<String>,
    option: Option<String>,
    person: Option<PersonId>,
    page: Option<i64>,
}

async fn records_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<RecordsQuery>,
) -> PageResult {
    let a = &u.session.actor;
    let page = q.page.unwrap_or(0).clamp(0, 100_000);
    let from = parse_opt_date(q.from.as_deref().unwrap_or(""), "from")?;
    let to = parse_opt_date(q.to.as_deref().unwrap_or(""), "to")?;
    let rq = RecordQuery {
        org: q.org.clone().filter(|s| !s.is_empty()),
        ledger_type: q.ledger_type.clone().filter(|s| !s.is_empty()),
        from,
        to,
        field: q.field.clone().filter(|s| !s.is_empty()),
        option: q.option.clone().filter(|s| !s.is_empty()),
        person: q.person,
        limit: Some(PAGE),
        offset: Some(page * PAGE),
    };
    let res = st.store.records(a, &rq).await?;
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    let link = |p: i64| {
        format!(
            "/records?ledger_type={}&org={}&from={}&to={}&field={}&option={}&page={p}",
            url_encode(&s(&q.ledger_type)),
            url_encode(&s(&q.org)),
            url_encode(&s(&q.from)),
            url_encode(&s(&q.to)),
            url_encode(&s(&q.field)),
            url_encode(&s(&q.option))
        )
    };
    html(RecordsPage {
        nav: nav_for(&st, &u).await,
        types: type_choices(&st, a).await?,
        sel_type: s(&q.ledger_type),
        sel_org: s(&q.org),
        sel_from: s(&q.from),
        sel_to: s(&q.to),
        sel_field: s(&q.field),
        sel_option: s(&q.option),
        total: res.total,
        records: record_lines(&res.records),
        prev: (page > 0).then(|| link(page - 1)),
        next: ((page + 1) * PAGE < res.total).then(|| link(page + 1)),
        can_record: a.role.allows(Action::RecordEntry),
    })
}

#[derive(Template)]
#[template(path = "records/record.html")]
struct RecordPage {
    nav: Option<Nav>,
    r: Record,
    /// (label, text, attachments)
    fields: Vec<(String, String, Vec<AttachmentView>)>,
    created: String,
    /// The record's versions, newest first, each with what it changed.
    versions: Vec<VersionLine>,
    errors: Vec<String>,
    can_void: bool,
    csrf: String,
}

async fn record_page(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<RecordId>,
) -> PageResult {
    let a = &u.session.actor;
    let r = st.store.record(a, id).await?;
    let t = st.store.ledger_type(a, &r.ledger_type).await?;
    let names: HashMap<PersonId, String> =
        r.people.iter().map(|p| (p.id, p.name.clone())).collect();
    let mut fields = Vec::new();
    for f in &t.definition.fields {
        let Some(v) = r.fields.get(&f.key) else {
            continue;
        };
        let (text, atts) = field_text(f, v, &names);
        let mut shown = Vec::with_capacity(atts.len());
        for id in atts {
            shown.push(shown_attachment(&st, a, id).await?);
        }
        fields.push((f.label.clone(), text, shown));
    }
    let history = st.store.record_history(a, id).await?;
    let created = format!(
        "{} 于 {}",
        r.created_by.clone().unwrap_or_else(|| "系统".into()),
        china_time(r.created_at)
    );
    html(RecordPage {
        nav: nav_for(&st, &u).await,
        r,
        fields,
        created,
        versions: version_lines(&t.definition, &history),
        errors: Vec::new(),
        can_void: a.role.allows(Action::RecordEntry),
        csrf: u.session.csrf_token.clone(),
    })
}

#[derive(Deserialize)]
struct VoidForm {
    reason: String,
}

async fn record_void(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<RecordId>,
    CsrfForm(f): CsrfForm<VoidForm>,
) -> PageResult {
    st.store
        .void_record(&u.session.actor, id, &f.reason)
        .await?;
    redirect_done(&format!("/records/{id}"), Done::Voided)
}

async fn attachment(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    Ok(attachment_response(&st, &u.session.actor, &id)
        .await?
        .into_response())
}

/// An attachment as the record's page shows it: a photo as a thumbnail, anything else as a link
/// with its file name.
pub struct AttachmentView {
    id: String,
    name: String,
    image: bool,
}

async fn shown_attachment(
    st: &AppState,
    a: &Actor,
    id: String,
) -> Result<AttachmentView, PageError> {
    let (name, ctype) = st.store.attachment_info(a, &id).await?;
    Ok(AttachmentView {
        image: ctype.starts_with("image/"),
        id,
        name,
    })
}

pub(crate) fn china_time(t: chrono::DateTime<chrono::Utc>) -> String {
    (t + chrono::Duration::hours(8))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A field's value as the record's page shows it: text, or the attachments' ids.
fn field_text(f: &FieldDef, v: &Value, names: &HashMap<PersonId, String>) -> (String, Vec<String>) {
    let joined = |a: &[Value], each: &dyn Fn(&Value) -> String| {
        a.iter().map(each).collect::<Vec<_>>().join("、")
    };
    match (&f.kind, v) {
        (FieldKind::Attachment { .. }, Value::Array(a)) => (
            String::new(),
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
        ),
        (FieldKind::People { .. }, Value::Array(a)) => (
            joined(a, &|x| {
                let id = x.as_i64().map(PersonId::new);
                id.and_then(|i| names.get(&i).cloned())
                    .unwrap_or_else(|| x.to_string())
            }),
            Vec::new(),
        ),
        (_, Value::Array(a)) => (
            joined(a, &|x| {
                x.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| x.to_string())
            }),
            Vec::new(),
        ),
        (_, Value::String(s)) => (
            format!(
                "{s}{}",
                f.unit
                    .as_deref()
                    .filter(|_| f.kind.numeric_scale().is_some())
                    .unwrap_or("")
            ),
            Vec::new(),
        ),
        (_, other) => (
            format!("{other}{}", f.unit.clone().unwrap_or_default()),
            Vec::new(),
        ),
    }
}

/// One version in the record's history: who wrote it, when, why, and each change it made.
pub struct VersionLine {
    version: i64,
    written: String,
    reason: String,
    /// (what, before, after)
    changes: Vec<(String, String, String)>,
}

/// The history newest first; each version after the first lists what changed from the one
/// before it (organisation, date, then the fields in the type's order).
fn version_lines(def: &LedgerTypeDef, history: &[RecordVersion]) -> Vec<VersionLine> {
    let text = |v: &RecordVersion, f: &FieldDef| -> String {
        let names: HashMap<PersonId, String> =
            v.people.iter().map(|p| (p.id, p.name.clone())).collect();
        match v.fields.get(&f.key) {
            None => "（空）".into(),
            Some(x) => match field_text(f, x, &names) {
                (_, atts) if !atts.is_empty() => format!("{}个附件", atts.len()),
                (t, _) if t.is_empty() => "（空）".into(),
                (t, _) => t,
            },
        }
    };
    let empty = serde_json::Map::new();
    let mut out: Vec<VersionLine> = history
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut changes = Vec::new();
            if let Some(prev) = i.checked_sub(1).and_then(|j| history.get(j)) {
                if prev.org.id != v.org.id {
                    changes.push(("组织".into(), prev.org.name.clone(), v.org.name.clone()));
                }
                if prev.occurred_on != v.occurred_on {
                    changes.push((
                        "日期".into(),
                        prev.occurred_on.to_string(),
                        v.occurred_on.to_string(),
                    ));
                }
                let before = prev.fields.as_object().unwrap_or(&empty);
                let after = v.fields.as_object().unwrap_or(&empty);
                for f in taizhang_domain::ledger::changed_fields(def, before, after) {
                    changes.push((f.label.clone(), text(prev, f), text(v, f)));
                }
            }
            VersionLine {
                version: v.version,
                written: format!(
                    "{} 于 {}",
                    v.written_by.clone().unwrap_or_else(|| "系统".into()),
                    china_time(v.written_at)
                ),
                reason: v.reason.clone().unwrap_or_default(),
                changes,
            }
        })
        .collect();
    out.reverse();
    out
}
