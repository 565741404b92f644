//! The names nearly every feature's handlers use, brought in with one `use`.

pub(crate) use crate::error::{ApiResult, ErrorBody, WebError};
pub(crate) use crate::shared::api::{home_ref, DateRequest, Json};
pub(crate) use crate::shared::forms::{
    non_empty, parse_opt_date, url_encode, CsrfForm, DateForm, NoFields,
};
pub(crate) use crate::shared::page::{
    finish_form, form_outcome, html, html_with, nav, nav_for, period_text, redirect_done, Done,
    Nav, NotFound, PageError, PageResult, Shown, PAGE,
};
pub(crate) use crate::shared::session::{
    clear_cookie, same_origin, session_cookie, stage_page, AccountUser, ApiUser, PageUser,
};
pub(crate) use crate::AppState;
pub(crate) use askama::Template;
pub(crate) use axum::body::Bytes;
pub(crate) use axum::extract::{Path, Query, State};
pub(crate) use axum::http::{header, HeaderMap, StatusCode};
pub(crate) use axum::response::{IntoResponse, Redirect, Response};
pub(crate) use axum::routing::{get, post};
pub(crate) use axum::Form;
pub(crate) use axum::Router;
pub(crate) use chrono::NaiveDate;
pub(crate) use serde::{Deserialize, Serialize};
pub(crate) use serde_json::Value;
pub(crate) use std::collections::HashMap;
pub(crate) use taizhang_domain::bulletin::{Bulletin, Grouping};
pub(crate) use taizhang_domain::ledger::{
    CadenceRule, FieldDef, FieldEquals, FieldError, FieldKind, LedgerTypeDef,
};
pub(crate) use taizhang_domain::org::{LinkKind, OrgKind, PositionTitle};
pub(crate) use taizhang_domain::period::{Cadence, DateRange};
pub(crate) use taizhang_domain::{
    Action, AuditSeq, LinkId, OrgId, OverdueStatus, PersonId, PositionId, RecordId, Role, UserId,
};
pub(crate) use taizhang_store::*;
pub(crate) use utoipa::{IntoParams, ToSchema};
pub(crate) use utoipa_axum::router::OpenApiRouter;
pub(crate) use utoipa_axum::routes;
