//! The pages of ledger types and their editor.

use super::forms::{keep_unshown, parse_type_form, type_form};
use crate::shared::prelude::*;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/ledger-types", get(types_page).post(type_create))
        .route("/ledger-types/new", get(type_new))
        .route("/ledger-types/{key}/edit", get(type_edit))
        .route("/ledger-types/{key}", post(type_update))
}

pub struct TypeLine {
    key: String,
    name: String,
    version: i64,
    fields: String,
    cadences: String,
}

#[derive(Template)]
#[template(path = "ledgers/ledger_types.html")]
struct TypesPage {
    nav: Option<Nav>,
    types: Vec<TypeLine>,
}

async fn types_page(State(st): State<AppState>, u: PageUser) -> PageResult {
    let a = &u.session.actor;
    if !a.role.allows(Action::ManageLedgerTypes) {
        return Err(StoreError::Forbidden.into());
    }
    let types = st.store.ledger_types(a).await?;
    html(TypesPage {
        nav: nav_for(&st, &u).await,
        types: types
            .into_iter()
            .map(|t| TypeLine {
                fields: t
                    .definition
                    .active_fields()
                    .map(|f| f.label.clone())
                    .collect::<Vec<_>>()
                    .join("、"),
                cadences: t
                    .definition
                    .cadences
                    .iter()
                    .map(|c| c.label.clone())
                    .collect::<Vec<_>>()
                    .join("、"),
                key: t.key,
                name: t.name,
                version: t.version,
            })
            .collect(),
    })
}

async fn type_new(State(st): State<AppState>, u: PageUser) -> PageResult {
    if !u.session.actor.role.allows(Action::ManageLedgerTypes) {
        return Err(StoreError::Forbidden.into());
    }
    html(type_form(
        nav_for(&st, &u).await,
        u.session.csrf_token.clone(),
        None,
        Vec::new(),
        true,
    ))
}

async fn type_edit(State(st): State<AppState>, u: PageUser, Path(key): Path<String>) -> PageResult {
    if !u.session.actor.role.allows(Action::ManageLedgerTypes) {
        return Err(StoreError::Forbidden.into());
    }
    let t = st.store.ledger_type(&u.session.actor, &key).await?;
    html(type_form(
        nav_for(&st, &u).await,
        u.session.csrf_token.clone(),
        Some(&t.definition),
        Vec::new(),
        false,
    ))
}

async fn save_type(
    st: &AppState,
    u: &PageUser,
    form: HashMap<String, String>,
    is_new: bool,
) -> PageResult {
    let a = &u.session.actor;
    let (mut def, row_errors) = parse_type_form(&form);
    let result = if !row_errors.is_empty() {
        Err(StoreError::Invalid(row_errors))
    } else if is_new {
        st.store.create_ledger_type(a, def.clone()).await
    } else {
        match st.store.ledger_type(a, &def.key).await {
            Ok(saved) => {
                keep_unshown(&mut def, &saved.definition);
                st.store.update_ledger_type(a, def.clone()).await
            }
            Err(e) => Err(e),
        }
    };
    finish_form(
        result,
        |_| redirect_done("/ledger-types", Done::Saved),
        NotFound::Say("未找到，或不在您的管理范围内"),
        |errors| async {
            let nav = nav_for(st, u).await;
            html(type_form(
                nav,
                u.session.csrf_token.clone(),
                Some(&def),
                errors,
                is_new,
            ))
        },
    )
    .await
}

async fn type_create(
    State(st): State<AppState>,
    u: PageUser,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> PageResult {
    save_type(&st, &u, form, true).await
}

async fn type_update(
    State(st): State<AppState>,
    u: PageUser,
    Path(key): Path<String>,
    CsrfForm(mut form): CsrfForm<HashMap<String, String>>,
) -> PageResult {
    form.insert("key".into(), key);
    save_type(&st, &u, form, false).await
}
