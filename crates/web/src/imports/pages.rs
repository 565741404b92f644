//! `/imports`: the upload form and the user's latest imports; `/imports/{id}`: one import's
//! progress (the page refreshes itself while the job runs) and its outcome.

use crate::exports::xlsx_response;
use crate::shared::forms::CsrfMultipart;
use crate::shared::prelude::*;
use axum::extract::DefaultBodyLimit;
use taizhang_domain::import::{ImportMode, ImportTarget, MAX_IMPORT_BYTES};
use taizhang_office::import::header::{SavedMapping, Target};
use taizhang_store::imports::{Import, NewImport};

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/imports",
            get(imports_page)
                .post(upload)
                .layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES + 64 * 1024)),
        )
        .route("/imports/template.xlsx", get(template))
        .route("/imports/{id}", get(import_page))
        .route("/imports/{id}/rejected.xlsx", get(rejected_rows))
}

pub struct TypeOption {
    key: String,
    name: String,
    selected: bool,
}

pub struct ImportLine {
    id: i64,
    file_name: String,
    type_name: String,
    state_key: &'static str,
    state_label: String,
    rows: i64,
    written: i64,
    rejected: i64,
    created_at: String,
}

/// One choice of what to import (导入组织, 导入党员, 导入台账).
pub struct TargetOption {
    key: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "imports/imports.html")]
struct ImportsPage {
    nav: Option<Nav>,
    targets: Vec<TargetOption>,
    types: Vec<TypeOption>,
    valid_only: bool,
    mappings: Vec<MappingOption>,
    columns: String,
    save_as: String,
    errors: Vec<String>,
    imports: Vec<ImportLine>,
    max_mb: usize,
}

#[derive(Template)]
#[template(path = "imports/import.html")]
struct ImportPage {
    nav: Option<Nav>,
    i: ImportLine,
    mode_label: &'static str,
    finished: bool,
    accepted: i64,
    unchanged: i64,
    updated: i64,
    error: String,
    has_rejected_file: bool,
}

#[derive(Deserialize)]
struct ImportsQuery {
    target: Option<String>,
    ledger_type: Option<String>,
}

/// The targets the form offers, `selected` (`orgs`, `people` or `ledger`) chosen.
fn target_options(selected: &str) -> Vec<TargetOption> {
    [
        ImportTarget::Orgs,
        ImportTarget::People,
        ImportTarget::Ledger(String::new()),
    ]
    .iter()
    .map(|t| TargetOption {
        key: t.kind(),
        label: t.label_cn(),
        selected: t.kind() == selected,
    })
    .collect()
}

fn local_time(t: chrono::DateTime<chrono::Utc>) -> String {
    (t + chrono::Duration::hours(8))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn line(i: &Import, types: &[LedgerType]) -> ImportLine {
    let type_name = match i.target() {
        Some(ImportTarget::Orgs) => "组织".to_string(),
        Some(ImportTarget::People) => "党员".to_string(),
        Some(ImportTarget::Ledger(key)) => types
            .iter()
            .find(|t| t.key == key)
            .map_or(key, |t| t.name.clone()),
        None => i.target.clone(),
    };
    ImportLine {
        id: i.id,
        file_name: i.file_name.clone(),
        type_name,
        state_key: i.state.key(),
        state_label: i.state_label.clone(),
        rows: i.rows_read,
        written: i.written,
        rejected: i.rejected,
        created_at: local_time(i.created_at),
    }
}

/// What the upload form was filled with, to show it again.
#[derive(Default)]
struct Filled {
    /// `orgs`, `people` or `ledger`.
    target: String,
    ledger_type: Option<String>,
    valid_only: bool,
    /// The saved mapping chosen.
    mapping: String,
    /// A mapping written on the form ("表头=字段" lines), and the name to save it under.
    columns: String,
    save_as: String,
}

/// One saved mapping the form offers.
pub struct MappingOption {
    name: String,
    label: String,
    selected: bool,
}

async fn form_page(
    st: &AppState,
    u: &PageUser,
    filled: Filled,
    errors: Vec<String>,
) -> Result<ImportsPage, PageError> {
    let actor = &u.session.actor;
    let types = st.store.ledger_types(actor).await?;
    let imports = st.store.imports(actor, 20).await?;
    let mappings = st.store.import_mappings(actor, None).await?;
    let selected = filled.ledger_type.as_deref();
    Ok(ImportsPage {
        nav: nav_for(st, u).await,
        targets: target_options(if filled.target.is_empty() {
            "ledger"
        } else {
            &filled.target
        }),
        types: types
            .iter()
            .map(|t| TypeOption {
                key: t.key.clone(),
                name: t.name.clone(),
                selected: selected == Some(t.key.as_str()),
            })
            .collect(),
        valid_only: filled.valid_only,
        mappings: mappings
            .iter()
            .map(|m| {
                let what = match m.target.parse::<ImportTarget>() {
                    Ok(ImportTarget::Ledger(key)) => types
                        .iter()
                        .find(|t| t.key == key)
                        .map_or(key, |t| t.name.clone()),
                    Ok(t) => t.label_cn().trim_start_matches("导入").to_string(),
                    Err(_) => m.target.clone(),
                };
                MappingOption {
                    name: m.name.clone(),
                    label: format!("{what} · {}", m.name),
                    selected: m.name == filled.mapping,
                }
            })
            .collect(),
        columns: filled.columns,
        save_as: filled.save_as,
        errors,
        imports: imports.iter().map(|i| line(i, &types)).collect(),
        max_mb: MAX_IMPORT_BYTES >> 20,
    })
}

async fn imports_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<ImportsQuery>,
) -> PageResult {
    let filled = Filled {
        target: q.target.unwrap_or_default(),
        ledger_type: q.ledger_type,
        ..Filled::default()
    };
    html(form_page(&st, &u, filled, Vec::new()).await?)
}

/// The fields an import into `target` reads, and what the template calls it.
async fn fields_of(
    st: &AppState,
    actor: &taizhang_store::Actor,
    target: &ImportTarget,
) -> Result<(String, Target), taizhang_store::StoreError> {
    Ok(match target {
        ImportTarget::Orgs => ("组织".to_string(), Target::organisations()),
        ImportTarget::People => ("党员".to_string(), Target::members()),
        ImportTarget::Ledger(key) => {
            let t = st.store.ledger_type(actor, key).await?;
            (t.name.clone(), Target::ledger(&t.definition))
        }
    })
}

/// The mapping an upload uses: written on the form (and saved when it is given a name), or
/// chosen among the saved ones; the messages of what is wrong with it.
async fn form_mapping(
    st: &AppState,
    actor: &taizhang_store::Actor,
    target: &ImportTarget,
    filled: &Filled,
) -> Result<Option<serde_json::Value>, Vec<String>> {
    let refused = |e: taizhang_store::StoreError| crate::shared::page::messages(&e);
    if filled.columns.trim().is_empty() {
        if !filled.save_as.trim().is_empty() {
            return Err(vec![
                "请先填写列对应关系（每行“表头=字段”），再保存".to_string()
            ]);
        }
        return super::saved_mapping(&st.store, actor, target, Some(&filled.mapping))
            .await
            .map_err(refused);
    }
    let (_, fields) = fields_of(st, actor, target).await.map_err(refused)?;
    let parsed = SavedMapping::from_lines(&filled.columns, &fields)
        .map_err(|e| vec![format!("列对应关系：{e}")])?;
    let value = serde_json::to_value(&parsed).map_err(|e| vec![e.to_string()])?;
    if !filled.save_as.trim().is_empty() {
        st.store
            .save_import_mapping(actor, &target.key(), &filled.save_as, &value)
            .await
            .map_err(refused)?;
    }
    Ok(Some(value))
}

async fn upload(
    State(st): State<AppState>,
    u: PageUser,
    CsrfMultipart(parts): CsrfMultipart,
) -> PageResult {
    let text = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name)
            .map(|p| String::from_utf8_lossy(&p.bytes).trim().to_string())
            .unwrap_or_default()
    };
    let filled = Filled {
        target: text("target"),
        ledger_type: Some(text("ledger_type")),
        valid_only: text("mode") == "valid",
        mapping: text("mapping"),
        columns: text("columns"),
        save_as: text("save_as"),
    };
    let actor = &u.session.actor;
    let file = parts.iter().find(|p| p.name == "file");
    let mut errors = Vec::new();
    let target = match super::target_of(Some(&filled.target), filled.ledger_type.as_deref()) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.extend(crate::shared::page::messages(&e));
            None
        }
    };
    let (file_name, bytes) = match file {
        Some(f) if f.cut_off => {
            errors.push(format!(
                "文件过大：导入的文件不能超过{}MB，请分成几个文件导入",
                MAX_IMPORT_BYTES >> 20
            ));
            (String::new(), Vec::new())
        }
        Some(f) if !f.bytes.is_empty() => {
            (f.file_name.clone().unwrap_or_default(), f.bytes.to_vec())
        }
        _ => {
            errors.push("请选择要导入的文件（.xlsx 或 .csv）".to_string());
            (String::new(), Vec::new())
        }
    };
    let mapping = match &target {
        Some(t) if errors.is_empty() => match form_mapping(&st, actor, t, &filled).await {
            Ok(m) => m,
            Err(e) => {
                errors.extend(e);
                None
            }
        },
        _ => None,
    };
    if let (Some(target), true) = (target, errors.is_empty()) {
        let new = NewImport {
            target,
            mode: if filled.valid_only {
                ImportMode::Valid
            } else {
                ImportMode::All
            },
            file_name,
            bytes,
            mapping,
            enqueue: true,
        };
        let outcome = st
            .store
            .create_import(actor, &new, chrono::Utc::now())
            .await;
        match form_outcome(
            outcome,
            Shown::All {
                not_found: "没有这个台账类型",
            },
        )? {
            Ok(created) => {
                return Ok(Redirect::to(&format!("/imports/{}", created.id)).into_response())
            }
            Err(messages) => errors = messages,
        }
    }
    let page = form_page(&st, &u, filled, errors).await?;
    html_with(StatusCode::UNPROCESSABLE_ENTITY, page)
}

#[derive(Deserialize)]
struct TemplateQuery {
    target: Option<String>,
    ledger_type: Option<String>,
}

/// An empty sheet with the header an import reads: for a ledger type 组织, 日期, 编号 and the
/// type's fields by their labels; for organisations (`target=orgs`) and members
/// (`target=people`) the columns of the national system's sheets. Required ones are marked "*".
async fn template(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<TemplateQuery>,
) -> PageResult {
    use taizhang_office::export::{Column, ColumnKind, Sheet, SheetWriter};
    let what = super::target_of(q.target.as_deref(), q.ledger_type.as_deref())?;
    let (name, target) = fields_of(&st, &u.session.actor, &what).await?;
    let columns = target
        .fields
        .iter()
        .map(|f| {
            let mark = if f.required { "*" } else { "" };
            Column::new(format!("{mark}{}", f.label), ColumnKind::Text)
        })
        .collect();
    let sheet = Sheet::new(name.clone(), columns);
    let book = SheetWriter::new(sheet)
        .and_then(SheetWriter::finish)
        .map_err(WebError::Export)?;
    Ok(xlsx_response(&format!("{name}_导入模板"), book.bytes))
}

async fn import_page(State(st): State<AppState>, u: PageUser, Path(id): Path<i64>) -> PageResult {
    let actor = &u.session.actor;
    let i = st.store.import(actor, id).await?;
    let types = st.store.ledger_types(actor).await?;
    let finished = i.state.is_finished();
    html(ImportPage {
        nav: nav_for(&st, &u).await,
        mode_label: i.mode.label_cn(),
        finished,
        accepted: i.accepted,
        unchanged: i.unchanged,
        updated: i.updated,
        error: i.error.clone().unwrap_or_default(),
        has_rejected_file: i.has_rejected_file,
        i: line(&i, &types),
    })
}

async fn rejected_rows(State(st): State<AppState>, u: PageUser, Path(id): Path<i64>) -> PageResult {
    let actor = &u.session.actor;
    let import = st.store.import(actor, id).await?;
    let bytes = st.store.import_rejected_file(actor, id).await?;
    Ok(xlsx_response(
        &super::rejected_name(&import.file_name),
        bytes,
    ))
}
