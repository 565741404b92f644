//! `/imports`: the upload form and the user's latest imports; `/imports/{id}`: one import's
//! progress (the page refreshes itself while the job runs) and its outcome.

use crate::exports::xlsx_response;
use crate::shared::forms::CsrfMultipart;
use crate::shared::prelude::*;
use axum::extract::DefaultBodyLimit;
use taizhang_domain::import::{ImportMode, ImportTarget, MAX_IMPORT_BYTES};
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

#[derive(Template)]
#[template(path = "imports/imports.html")]
struct ImportsPage {
    nav: Option<Nav>,
    types: Vec<TypeOption>,
    valid_only: bool,
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
    error: String,
    has_rejected_file: bool,
}

#[derive(Deserialize)]
struct ImportsQuery {
    ledger_type: Option<String>,
}

fn local_time(t: chrono::DateTime<chrono::Utc>) -> String {
    (t + chrono::Duration::hours(8))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn line(i: &Import, types: &[LedgerType]) -> ImportLine {
    let key = i.target.trim_start_matches("ledger:");
    ImportLine {
        id: i.id,
        file_name: i.file_name.clone(),
        type_name: types
            .iter()
            .find(|t| t.key == key)
            .map_or_else(|| key.to_string(), |t| t.name.clone()),
        state_key: i.state.key(),
        state_label: i.state_label.clone(),
        rows: i.rows_read,
        written: i.written,
        rejected: i.rejected,
        created_at: local_time(i.created_at),
    }
}

async fn form_page(
    st: &AppState,
    u: &PageUser,
    selected: Option<&str>,
    valid_only: bool,
    errors: Vec<String>,
) -> Result<ImportsPage, PageError> {
    let actor = &u.session.actor;
    let types = st.store.ledger_types(actor).await?;
    let imports = st.store.imports(actor, 20).await?;
    Ok(ImportsPage {
        nav: nav_for(st, u).await,
        types: types
            .iter()
            .map(|t| TypeOption {
                key: t.key.clone(),
                name: t.name.clone(),
                selected: selected == Some(t.key.as_str()),
            })
            .collect(),
        valid_only,
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
    html(form_page(&st, &u, q.ledger_type.as_deref(), false, Vec::new()).await?)
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
    let ledger_type = text("ledger_type");
    let valid_only = text("mode") == "valid";
    let file = parts.iter().find(|p| p.name == "file");
    let mut errors = Vec::new();
    if ledger_type.is_empty() {
        errors.push("请选择台账类型".to_string());
    }
    let (file_name, bytes) = match file {
        Some(f) if !f.bytes.is_empty() => {
            (f.file_name.clone().unwrap_or_default(), f.bytes.to_vec())
        }
        _ => {
            errors.push("请选择要导入的文件（.xlsx 或 .csv）".to_string());
            (String::new(), Vec::new())
        }
    };
    if errors.is_empty() {
        let new = NewImport {
            target: ImportTarget::Ledger(ledger_type.clone()),
            mode: if valid_only {
                ImportMode::Valid
            } else {
                ImportMode::All
            },
            file_name,
            bytes,
            mapping: None,
            enqueue: true,
        };
        let outcome = st
            .store
            .create_import(&u.session.actor, &new, chrono::Utc::now())
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
    let page = form_page(&st, &u, Some(&ledger_type), valid_only, errors).await?;
    html_with(StatusCode::UNPROCESSABLE_ENTITY, page)
}

#[derive(Deserialize)]
struct TemplateQuery {
    ledger_type: String,
}

/// An empty sheet with the header a ledger type's import reads: 组织, 日期, 编号 and the
/// type's fields by their labels (required ones marked with "*").
async fn template(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<TemplateQuery>,
) -> PageResult {
    use taizhang_office::export::{Column, ColumnKind, Sheet, SheetWriter};
    let t = st
        .store
        .ledger_type(&u.session.actor, &q.ledger_type)
        .await?;
    let target = taizhang_office::import::header::Target::ledger(&t.definition);
    let columns = target
        .fields
        .iter()
        .map(|f| {
            let mark = if f.required { "*" } else { "" };
            Column::new(format!("{mark}{}", f.label), ColumnKind::Text)
        })
        .collect();
    let sheet = Sheet::new(t.name.clone(), columns);
    let book = SheetWriter::new(sheet)
        .and_then(SheetWriter::finish)
        .map_err(WebError::Export)?;
    Ok(xlsx_response(&format!("{}_导入模板", t.name), book.bytes))
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
