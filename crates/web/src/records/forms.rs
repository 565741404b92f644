//! The generated form of a ledger type: shown empty, filled again after a refusal, and read
//! (with its uploads) into a new record.

use super::api::{sniff_ok, ALLOWED_TYPES, MAX_ATTACHMENT};
use crate::shared::forms::{CsrfMultipart, FormPart};
use crate::shared::prelude::*;
use serde_json::{Map, Value};
use std::collections::HashSet;
use taizhang_domain::ledger::{FieldError, FieldKind};

pub struct FormField {
    key: String,
    label: String,
    kind: &'static str,
    required: bool,
    unit: String,
    value: String,
    /// (label, selected, value)
    options: Vec<(String, bool, String)>,
    min_attr: String,
    max_attr: String,
    /// Attachments already uploaded (with an earlier, refused submission, or kept by the record
    /// being corrected): (id, file name), each a checked box that can be unticked.
    uploaded: Vec<(String, String)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "records/record_form.html")]
struct RecordForm {
    nav: Option<Nav>,
    types: Vec<(String, String)>,
    type_key: String,
    type_name: String,
    description: String,
    orgs: Vec<(String, String)>,
    org_value: String,
    org_error: Option<String>,
    date_value: String,
    date_error: Option<String>,
    fields: Vec<FormField>,
    errors: Vec<String>,
    csrf: String,
    today: NaiveDate,
    /// Where the form posts: a new record's or a correction's address.
    action: String,
    editing: Option<Editing>,
    /// A new record's idempotency key (empty on a correction): the same submission sent twice
    /// (a double tap, the offline queue resending) makes one record.
    idempotency_key: String,
    /// Whose offline queue the page shows (the queue on a phone is kept per user).
    user: String,
}

/// A correction's own parts of the form: which record and version, and why.
pub struct Editing {
    id: RecordId,
    version: i64,
    reason: String,
    reason_error: Option<String>,
}

/// What the form says beyond its values: where it posts and, for a correction, its record.
pub(super) struct FormMode<'a> {
    action: String,
    editing: Option<Editing>,
    idempotency_key: String,
    /// People already named by the record, offered even if no longer members.
    known_people: &'a [PersonName],
}

impl FormMode<'_> {
    /// A new record's form, with the key it was sent with (after a refusal) or a fresh one.
    fn new_record(type_key: &str, key: Option<String>) -> FormMode<'static> {
        FormMode {
            action: format!("/records/new?type={}", url_encode(type_key)),
            editing: None,
            idempotency_key: key.unwrap_or_else(crate::idempotency::new_key),
            known_people: &[],
        }
    }
}

#[derive(Deserialize)]
pub(super) struct NewRecordQuery {
    #[serde(rename = "type")]
    ledger_type: Option<String>,
    org: Option<String>,
}

/// Builds the generated form of a ledger type, filled with `values` and annotated with `errors`.
#[allow(clippy::too_many_arguments)]
async fn record_form(
    st: &AppState,
    u: &PageUser,
    type_key: Option<&str>,
    org: Option<&str>,
    values: &Map<String, Value>,
    date: &str,
    errors: &[FieldError],
    mode: FormMode<'_>,
) -> Result<RecordForm, PageError> {
    let a = &u.session.actor;
    let types = st.store.ledger_types(a).await?;
    let t = match type_key.filter(|k| !k.is_empty()) {
        Some(k) => types
            .iter()
            .find(|t| t.key == k)
            .ok_or(StoreError::NotFound)?,
        None => types.first().ok_or(StoreError::NotFound)?,
    };
    let roots = st.store.scope_roots(a).await?;
    let mut orgs: Vec<(String, String)> = Vec::new();
    for r in &roots {
        orgs.push((r.org_ref.clone(), r.name.clone()));
        for c in st.store.children(a, r.id, false).await? {
            orgs.push((c.org_ref.clone(), format!("{} › {}", r.name, c.name)));
            if !r.kind.is_branch() && orgs.len() < 600 {
                for g in st.store.children(a, c.id, false).await? {
                    orgs.push((
                        g.org_ref.clone(),
                        format!("{} › {} › {}", r.name, c.name, g.name),
                    ));
                }
            }
        }
    }
    let org_value = org
        .map(String::from)
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| roots.first().map(|r| r.org_ref.clone()).unwrap_or_default());
    if !orgs.iter().any(|o| o.0 == org_value) {
        if let Ok(o) = st.store.org(a, &org_value).await {
            orgs.insert(0, (o.org_ref, o.name));
        }
    }
    // People fields offer the members of the chosen organisation.
    let mut members: Vec<(PersonId, String)> = match st.store.org(a, &org_value).await {
        Ok(o) => st
            .store
            .people(a, Some(o.id), "", 200, 0)
            .await?
            .1
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect(),
        Err(_) => Vec::new(),
    };
    for p in mode.known_people {
        if !members.iter().any(|m| m.0 == p.id) {
            members.push((p.id, p.name.clone()));
        }
    }
    let err_for = |key: &str| {
        errors
            .iter()
            .find(|e| e.field == key)
            .map(|e| e.message.clone())
    };
    let text_of = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let list_of = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Array(a)) => a.iter().map(|x| text_of(Some(x))).collect(),
            Some(other) => vec![text_of(Some(other))],
            None => Vec::new(),
        }
    };
    let fields_by_key = t.definition.field_index();
    let fields = t
        .definition
        .active_fields()
        .map(|f| {
            let v = values.get(&f.key);
            let chosen = list_of(v);
            // Looked up once per option: what was sent may be long.
            let is_chosen: HashSet<&str> = chosen.iter().map(String::as_str).collect();
            let options = match &f.kind {
                FieldKind::Choice { options, .. } | FieldKind::MultiChoice { options } => options
                    .iter()
                    .map(|o| (o.clone(), is_chosen.contains(o.as_str()), o.clone()))
                    .collect(),
                FieldKind::People { .. } => members
                    .iter()
                    .map(|(id, name)| {
                        (
                            name.clone(),
                            is_chosen.contains(id.to_string().as_str()),
                            id.to_string(),
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let (min_attr, max_attr) = match &f.kind {
                FieldKind::Integer { min, max } => (
                    min.map(|m| format!(" min=\"{m}\"")).unwrap_or_default(),
                    max.map(|m| format!(" max=\"{m}\"")).unwrap_or_default(),
                ),
                _ => (String::new(), String::new()),
            };
            FormField {
                key: f.key.clone(),
                label: f.label.clone(),
                kind: f.kind.key(),
                required: f.required,
                unit: f.unit.clone().unwrap_or_default(),
                value: text_of(v),
                options,
                min_attr,
                max_attr,
                uploaded: if matches!(f.kind, FieldKind::Attachment { .. }) {
                    chosen
                        .iter()
                        .map(|id| (id.clone(), String::new()))
                        .collect()
                } else {
                    Vec::new()
                },
                error: err_for(&f.key),
            }
        })
        .collect::<Vec<FormField>>();
    let mut fields = fields;
    for f in &mut fields {
        for (id, name) in &mut f.uploaded {
            *name = match st.store.attachment_info(a, id).await {
                Ok((n, _)) => n,
                Err(_) => "附件".into(),
            };
        }
    }
    let mut editing = mode.editing;
    if let Some(e) = &mut editing {
        e.reason_error = err_for("reason");
    }
    Ok(RecordForm {
        nav: nav_for(st, u).await,
        types: types
            .iter()
            .map(|t| (t.key.clone(), t.name.clone()))
            .collect(),
        type_key: t.key.clone(),
        type_name: t.name.clone(),
        description: t.definition.description.clone(),
        orgs,
        org_value,
        org_error: err_for("org"),
        date_value: date.to_string(),
        date_error: err_for("occurred_on"),
        fields,
        errors: errors
            .iter()
            .filter(|e| {
                e.field == "people"
                    || e.field == "attachments"
                    || e.field == "ledger_type"
                    || !fields_by_key.contains_key(e.field.as_str())
                        && e.field != "org"
                        && e.field != "occurred_on"
                        && e.field != "reason"
            })
            .map(|e| e.message.clone())
            .collect(),
        csrf: u.session.csrf_token.clone(),
        today: today(),
        action: mode.action,
        editing,
        idempotency_key: mode.idempotency_key,
        user: u.session.actor.username.clone(),
    })
}

pub(super) async fn record_new(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<NewRecordQuery>,
) -> PageResult {
    if !u.session.actor.role.allows(Action::RecordEntry) {
        return Err(StoreError::Forbidden.into());
    }
    let form = record_form(
        &st,
        &u,
        q.ledger_type.as_deref(),
        q.org.as_deref(),
        &Map::new(),
        &today().to_string(),
        &[],
        FormMode::new_record(q.ledger_type.as_deref().unwrap_or(""), None),
    )
    .await?;
    html(form)
}

/// A submitted form, read: its organisation, date, values (uploads saved and named by id), the
/// correction's version and reason, and what was already wrong.
pub(super) struct Submitted {
    org: String,
    date: String,
    values: Map<String, Value>,
    version: String,
    reason: String,
    occurred_on: Option<NaiveDate>,
    errors: Vec<FieldError>,
}

/// Reads the generated form: repeated names become lists, files become attachments. Nothing is
/// stored before the CSRF token and the role are checked; every problem is reported at once.
async fn read_submission(
    st: &AppState,
    a: &Actor,
    t: &LedgerType,
    parts: Vec<FormPart>,
) -> Result<Submitted, PageError> {
    let fields_by_key = t.definition.field_index();
    let mut org = String::new();
    let mut date = String::new();
    let mut version = String::new();
    let mut reason = String::new();
    let mut values: Map<String, Value> = Map::new();
    let mut files: Vec<(String, String, String, axum::body::Bytes)> = Vec::new();
    let mut cut_off = None;
    for part in parts {
        let FormPart {
            name,
            file_name,
            content_type: ctype,
            bytes,
            cut_off: cut,
        } = part;
        if cut {
            cut_off = Some((name, file_name.unwrap_or_default()));
            continue;
        }
        let text = || String::from_utf8_lossy(&bytes).trim().to_string();
        match name.as_str() {
            "org" => org = text(),
            "occurred_on" => date = text(),
            "_version" => version = text(),
            "_reason" => reason = text(),
            key => {
                let Some(def) = fields_by_key.get(key) else {
                    continue;
                };
                match file_name {
                    Some(fname) if !bytes.is_empty() => {
                        files.push((key.to_string(), fname, ctype, bytes))
                    }
                    Some(_) => {}
                    None => {
                        let text = String::from_utf8_lossy(&bytes).to_string();
                        let multi = matches!(
                            def.kind,
                            FieldKind::MultiChoice { .. }
                                | FieldKind::People { .. }
                                | FieldKind::Attachment { .. }
                        );
                        push_value(&mut values, key, Value::String(text), multi);
                    }
                }
            }
        }
    }
    if !a.role.allows(Action::RecordEntry) {
        return Err(StoreError::Forbidden.into());
    }
    let mut errors = Vec::new();
    if let Some((key, fname)) = cut_off {
        errors.push(FieldError::new(
            &key,
            "attachment.too_large",
            format!(
                "“{fname}”过大：单个附件不超过{}MB，一次提交合计不超过{}MB，请压缩后重新选择",
                MAX_ATTACHMENT / (1024 * 1024),
                crate::shared::load::FILE_BODY_LIMIT / (1024 * 1024)
            ),
        ));
    }
    for (key, fname, ctype, bytes) in files {
        if !ALLOWED_TYPES.contains(&ctype.as_str())
            || !sniff_ok(&ctype, &bytes)
            || bytes.len() > MAX_ATTACHMENT
        {
            errors.push(FieldError::new(
                &key,
                "attachment.bad_file",
                format!("“{fname}”不是10MB以内的JPEG、PNG、WebP图片或PDF文件"),
            ));
            continue;
        }
        // Kept even if another field is wrong: the re-shown form carries its id. The same file
        // chosen again after a refusal has the same id and is attached once (`push_value`).
        let id = st.store.save_attachment(a, &fname, &ctype, &bytes).await?;
        push_value(&mut values, &key, Value::String(id), true);
    }
    let occurred_on = match NaiveDate::parse_from_str(&date, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                "occurred_on",
                "record.bad_date",
                "请填写日期",
            ));
            None
        }
    };
    if occurred_on.is_none() || !errors.is_empty() {
        // The date or an upload is wrong: still tell about every field in the same answer.
        if let Err(field_errors) = t.definition.validate_record(&values) {
            let told: HashSet<String> = errors.iter().map(|e| e.field.clone()).collect();
            errors.extend(
                field_errors
                    .into_iter()
                    .filter(|e| !told.contains(&e.field)),
            );
        }
    }
    Ok(Submitted {
        org,
        date,
        values,
        version,
        reason,
        occurred_on,
        errors,
    })
}

pub(super) async fn record_submit(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<NewRecordQuery>,
    CsrfMultipart(mut parts): CsrfMultipart,
) -> PageResult {
    let a = &u.session.actor;
    let type_key = q.ledger_type.clone().unwrap_or_default();
    // The form's idempotency key: a repeat of this submission is answered as the first was.
    let key = match parts.iter().position(|p| p.name == "idempotency_key") {
        Some(i) => Some(crate::idempotency::check_key(&parts.remove(i).bytes)?),
        None => None,
    };
    let held = match (key, a.user_id) {
        (Some(key), Some(user)) => {
            let fp = crate::idempotency::form_fingerprint(&type_key, &parts);
            if let Some(answer) = crate::idempotency::take(&st, user, &key, &fp).await? {
                return Ok(crate::idempotency::replay(answer));
            }
            Some((user, key))
        }
        _ => None,
    };
    let outcome = submit_new(
        &st,
        &u,
        &type_key,
        parts,
        held.as_ref().map(|h| h.1.clone()),
    )
    .await;
    if let Some((user, key)) = &held {
        let answer = match &outcome {
            Ok(res) if res.status().is_redirection() => Some(crate::idempotency::answer_of(res)),
            _ => None,
        };
        crate::idempotency::settle(&st, *user, key, answer).await;
    }
    outcome
}

/// Saves a new record from its form, or shows the form again with what was wrong.
async fn submit_new(
    st: &AppState,
    u: &PageUser,
    type_key: &str,
    parts: Vec<FormPart>,
    key: Option<String>,
) -> PageResult {
    let a = &u.session.actor;
    let t = st.store.ledger_type(a, type_key).await?;
    let mut sub = read_submission(st, a, &t, parts).await?;
    if let (Some(d), true) = (sub.occurred_on, sub.errors.is_empty()) {
        let new = NewRecord {
            ledger_type: type_key.to_string(),
            org: sub.org.clone(),
            occurred_on: d,
            fields: sub.values.clone(),
        };
        match st.store.create_record(a, new).await {
            Ok(r) => return redirect_done(&format!("/records/{}", r.id), Done::Saved),
            Err(StoreError::Invalid(errs)) => sub.errors = errs,
            Err(e) => return Err(e.into()),
        }
    }
    let form = record_form(
        st,
        u,
        Some(type_key),
        Some(&sub.org),
        &sub.values,
        &sub.date,
        &sub.errors,
        FormMode::new_record(type_key, key),
    )
    .await?;
    html_with(StatusCode::UNPROCESSABLE_ENTITY, form)
}

/// The correction form: the record's current version, filled in, with a box for the reason.
pub(super) async fn record_edit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<RecordId>,
) -> PageResult {
    let a = &u.session.actor;
    if !a.role.allows(Action::RecordEntry) {
        return Err(StoreError::Forbidden.into());
    }
    let r = st.store.record(a, id).await?;
    if r.voided_at.is_some() {
        return Err(StoreError::conflict("record.voided", "该记录已作废，不能修改").into());
    }
    let values = r.fields.as_object().cloned().unwrap_or_default();
    let form = record_form(
        &st,
        &u,
        Some(&r.ledger_type),
        Some(&r.org.org_ref),
        &values,
        &r.occurred_on.to_string(),
        &[],
        FormMode {
            action: format!("/records/{id}/edit"),
            idempotency_key: String::new(),
            editing: Some(Editing {
                id,
                version: r.version,
                reason: String::new(),
                reason_error: None,
            }),
            known_people: &r.people,
        },
    )
    .await?;
    html(form)
}

pub(super) async fn record_edit_submit(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<RecordId>,
    CsrfMultipart(parts): CsrfMultipart,
) -> PageResult {
    let a = &u.session.actor;
    let r = st.store.record(a, id).await?;
    let t = st.store.ledger_type(a, &r.ledger_type).await?;
    let mut sub = read_submission(&st, a, &t, parts).await?;
    let version: i64 = sub.version.parse().unwrap_or(0);
    if sub.reason.is_empty() {
        sub.errors.push(FieldError::new(
            "reason",
            "record.edit_reason",
            "请填写修改原因（不超过200字）",
        ));
    }
    if let (Some(d), true) = (sub.occurred_on, sub.errors.is_empty()) {
        let edit = RecordEdit {
            version,
            org: sub.org.clone(),
            occurred_on: d,
            fields: sub.values.clone(),
            reason: sub.reason.clone(),
        };
        match st.store.edit_record(a, id, edit).await {
            Ok(r) => return redirect_done(&format!("/records/{}", r.id), Done::Corrected),
            Err(StoreError::Invalid(errs)) => sub.errors = errs,
            // Stale or voided meanwhile: said at the top, with everything typed kept.
            Err(StoreError::Conflict { code, message }) => {
                sub.errors = vec![FieldError::new("record", code, message)]
            }
            Err(e) => return Err(e.into()),
        }
    }
    let form = record_form(
        &st,
        &u,
        Some(&r.ledger_type),
        Some(&sub.org),
        &sub.values,
        &sub.date,
        &sub.errors,
        FormMode {
            action: format!("/records/{id}/edit"),
            idempotency_key: String::new(),
            editing: Some(Editing {
                id,
                version,
                reason: sub.reason.clone(),
                reason_error: None,
            }),
            known_people: &r.people,
        },
    )
    .await?;
    let status = if sub.errors.iter().any(|e| e.field == "record") {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html_with(status, form)
}

/// Adds a submitted value; a list takes each value once (a photo chosen again after a refusal
/// has the id of the one kept, and is attached once).
fn push_value(values: &mut Map<String, Value>, key: &str, v: Value, multi: bool) {
    if !multi {
        values.insert(key.to_string(), v);
        return;
    }
    match values.get_mut(key) {
        Some(Value::Array(a)) => {
            if !a.contains(&v) {
                a.push(v)
            }
        }
        _ => {
            values.insert(key.to_string(), Value::Array(vec![v]));
        }
    }
}
