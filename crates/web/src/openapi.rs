//! The error answers that every API operation shares, added to the OpenAPI document once rather
//! than repeated on each handler. They follow from the extractors and layers all handlers use:
//!
//! - 401: the bearer token is missing, unknown or expired (`ApiUser`);
//! - 403: the caller's role does not allow the action (every store call checks it);
//! - 400: a path or query parameter, or a JSON body, that cannot be parsed;
//! - 413: a body over the router's limit;
//! - 415 and 422: a JSON body sent with another content type, or of the wrong shape.
//!
//! Statuses that depend on what an operation does (404, 409, a 422 from validation, 429) stay
//! on its own annotation.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};

/// Operations that answer without calling the store, so without a role check.
const NO_ROLE_CHECK: &[&str] = &["me", "logout"];

pub struct CommonErrors;

impl utoipa::Modify for CommonErrors {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                add_common(op);
            }
        }
    }
}

fn add_common(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let role_checked =
        secured && !NO_ROLE_CHECK.contains(&op.operation_id.as_deref().unwrap_or(""));
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_path_params = op
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    let body_types: Vec<String> = op
        .request_body
        .iter()
        .flat_map(|b| b.content.keys().cloned())
        .collect();
    let json_body = body_types.iter().any(|t| t == "application/json");

    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(description));
    };
    if secured {
        add("401", "未登录，或会话已过期");
    }
    if role_checked {
        add("403", "当前角色无权进行此操作");
    }
    if has_params || !body_types.is_empty() {
        add("400", "请求的地址、参数或内容格式有误");
    }
    if has_path_params {
        add("404", "未找到，或不在您的管理范围内");
    }
    if !body_types.is_empty() {
        add("413", "提交的内容过大");
    }
    if json_body {
        add("415", "请求的内容类型不是 JSON");
        add("422", "请求内容不完整或字段格式有误");
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    let mut r = Response::new(description);
    r.content.insert(
        "application/json".to_string(),
        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
    );
    RefOr::T(r)
}
