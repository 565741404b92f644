//! The audit log's page: filters that keep what was typed, Chinese names, each entry's changes
//! as 字段：旧 → 新, and pages both ways by `seq`.

use crate::shared::prelude::*;
use taizhang_domain::audit::{
    action_name, diff, entity_name, AuditCursor, AuditFilterInput, Change, ACTIONS, ENTITIES,
};
use taizhang_domain::clock::CHINA_STANDARD_TIME;
use taizhang_domain::ledger::FieldError;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new().route("/audit", get(audit_page))
}

/// Entries on one page.
const PAGE_ENTRIES: i64 = 100;

/// The filter fields of the form, in its order.
const FILTER_FIELDS: [&str; 6] = ["actor", "from", "to", "action", "entity", "entity_id"];

pub struct ChangeLine {
    field: String,
    value: String,
}

pub struct AuditLine {
    seq: AuditSeq,
    at: String,
    actor: String,
    action: String,
    entity: String,
    entity_id: String,
    link: Option<String>,
    changes: Vec<ChangeLine>,
    more: usize,
}

#[derive(Template)]
#[template(path = "audit/audit.html")]
struct AuditPageView {
    nav: Option<Nav>,
    typed: Typed,
    actions: Vec<(String, String)>,
    entities: Vec<(String, String)>,
    /// Messages beside the filter fields, by field.
    field_errors: Vec<(String, String)>,
    /// Messages of no one field (the paging).
    errors: Vec<String>,
    total: i64,
    entries: Vec<AuditLine>,
    newer: Option<String>,
    older: Option<String>,
    export: String,
}

impl AuditPageView {
    fn error(&self, field: &str) -> Option<&str> {
        self.field_errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The query as typed: the filters and a page's cursor.
#[derive(Deserialize, Default, Clone)]
struct Typed {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    entity_id: String,
    before: Option<String>,
    after: Option<String>,
}

impl Typed {
    fn value(&self, field: &str) -> &str {
        match field {
            "actor" => &self.actor,
            "from" => &self.from,
            "to" => &self.to,
            "action" => &self.action,
            "entity" => &self.entity,
            _ => &self.entity_id,
        }
    }

    fn filter(&self) -> AuditFilterInput {
        let given = |field: &str| non_empty(self.value(field));
        AuditFilterInput {
            actor: given("actor"),
            from: given("from"),
            to: given("to"),
            action: given("action"),
            entity: given("entity"),
            entity_id: given("entity_id"),
        }
    }

    /// The filters as a query string (`actor=…&from=…`), for the pager and the export.
    fn query(&self) -> String {
        FILTER_FIELDS
            .iter()
            .filter_map(|f| non_empty(self.value(f)).map(|v| format!("{f}={}", url_encode(&v))))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn page_link(&self, cursor: &str, seq: i64) -> String {
        let filters = self.query();
        let sep = if filters.is_empty() { "" } else { "&" };
        format!("/audit?{filters}{sep}{cursor}={seq}")
    }
}

/// Where an entry's object is seen: its own page for a viewer whose role reads it, else its
/// history in this log.
fn object_link(role: Role, entity: &str, id: &str) -> Option<String> {
    let id: i64 = id.parse().ok().filter(|i| *i > 0)?;
    let page = match entity {
        "record" => (Action::ReadRecords, format!("/records/{id}")),
        "person" => (Action::ReadPeople, format!("/people/{id}")),
        "org" => (Action::ReadOrg, format!("/orgs/o{id}")),
        _ => return None,
    };
    Some(match role.allows(page.0) {
        true => page.1,
        false => format!("/audit?entity={entity}&entity_id={id}"),
    })
}

fn audit_line(e: &AuditEntry, role: Role) -> AuditLine {
    let d = diff(e.before.as_ref(), e.after.as_ref());
    let created = e.before.is_none();
    let changes = d
        .lines
        .into_iter()
        .map(|l| {
            let (before, after) = (
                l.before.unwrap_or_else(|| "（无）".into()),
                l.after.unwrap_or_else(|| "（无）".into()),
            );
            let value = match l.change {
                Change::Added if created => after,
                _ => format!("{before} → {after}"),
            };
            ChangeLine {
                field: l.field,
                value,
            }
        })
        .collect();
    AuditLine {
        seq: e.seq,
        at: e
            .at
            .with_timezone(&CHINA_STANDARD_TIME)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        actor: e.actor.clone(),
        action: action_name(&e.action).to_string(),
        entity: entity_name(&e.entity).to_string(),
        entity_id: e.entity_id.clone(),
        link: object_link(role, &e.entity, &e.entity_id),
        changes,
        more: d.more,
    }
}

/// The select's options (key, name), with a typed key that is not among them kept as its own.
fn options(table: &[(&str, &str)], typed: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = table
        .iter()
        .map(|(k, name)| (k.to_string(), name.to_string()))
        .collect();
    let typed = typed.trim();
    if !typed.is_empty() && table.iter().all(|(k, _)| *k != typed) {
        out.push((typed.to_string(), typed.to_string()));
    }
    out
}

async fn audit_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(typed): Query<Typed>,
) -> PageResult {
    let actor = &u.session.actor;
    let cursor = AuditCursor::parse(typed.before.as_deref(), typed.after.as_deref());
    let outcome = match cursor {
        Ok(c) => {
            let (before, after) = match c {
                AuditCursor::Newest => (None, None),
                AuditCursor::Before(b) => (Some(b), None),
                AuditCursor::After(a) => (None, Some(a)),
            };
            let q = AuditQuery {
                filter: typed.filter(),
                before,
                after,
                offset: 0,
                limit: PAGE_ENTRIES,
            };
            st.store.audit_page(actor, &q).await
        }
        Err(e) => Err(StoreError::Invalid(vec![e])),
    };
    let (page, refused) = match outcome {
        Ok(page) => (page, Vec::new()),
        Err(StoreError::Invalid(fields)) => (
            AuditPage {
                total: 0,
                entries: Vec::new(),
                newer: None,
                older: None,
            },
            fields,
        ),
        Err(e) => return Err(e.into()),
    };
    let (field_errors, errors) = split_errors(refused);
    let status = match field_errors.is_empty() && errors.is_empty() {
        true => StatusCode::OK,
        false => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let view = AuditPageView {
        nav: nav_for(&st, &u).await,
        actions: options(ACTIONS, &typed.action),
        entities: options(ENTITIES, &typed.entity),
        field_errors,
        errors,
        total: page.total,
        entries: page
            .entries
            .iter()
            .map(|e| audit_line(e, actor.role))
            .collect(),
        newer: page.newer.map(|s| typed.page_link("after", s)),
        older: page.older.map(|s| typed.page_link("before", s)),
        export: match typed.entity.trim() {
            "" => "/audit/export.xlsx".into(),
            e => format!("/audit/export.xlsx?entity={}", url_encode(e)),
        },
        typed,
    };
    html_with(status, view)
}

/// The refused filters' messages beside their fields; the others (the paging) above the form.
fn split_errors(fields: Vec<FieldError>) -> (Vec<(String, String)>, Vec<String>) {
    let (beside, above): (Vec<_>, Vec<_>) = fields
        .into_iter()
        .partition(|f| FILTER_FIELDS.contains(&f.field.as_str()));
    (
        beside.into_iter().map(|f| (f.field, f.message)).collect(),
        above.into_iter().map(|f| f.message).collect(),
    )
}
