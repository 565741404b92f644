//! The API's OpenAPI document, assembled from the routes the features register: a handler is
//! routed through [`utoipa_axum::routes!`] together with its `#[utoipa::path]` description, so
//! nothing is routed without being documented. Then, once for every operation:
//!
//! - the bearer requirement ([`Secured`]): every call but login needs `Authorization: Bearer`;
//! - the error answers all operations share ([`CommonErrors`]).
//!
//! The common error answers are added once rather than repeated on each handler. They follow from the extractors and layers all handlers use:
//!
//! - 401: the bearer token is missing, unknown or expired (`ApiUser`);
//! - 403: the caller's role does not allow the action (every store call checks it);
//! - 400: a path or query parameter, or a JSON body, that cannot be parsed;
//! - 413: a body over the router's limit;
//! - 415 and 422: a JSON body sent with another content type, or of the wrong shape;
//! - 422: a query parameter outside its rule (a date outside the window, a search too long).
//!
//! Statuses that depend on what an operation does (404, 409, a 422 from validation, 429) stay
//! on its own annotation, but for one added here to the operations that can be busy ([`BUSY`]):
//!
//! - 503 `busy` with `Retry-After`: a heavy report beyond the report queue, or a record write
//!   that could not have the write connection within its bound (see `shared::load`).

use crate::error::ErrorBody;
use crate::AppState;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};
use utoipa::Modify;
use utoipa_axum::router::OpenApiRouter;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "taizhang API", description = "台账：组织、人员、台账记录与统计通报。组织以官方编码（如370828）或 o{id} 标识。所有日期须在1949-10-01至2100-12-31之间，否则以422（字段错误代码 date_out_of_range）拒绝；文字字段的长度上限见各字段的 maxLength，且不能含控制字符或文字方向控制符（too_long、bad_chars）；请求体须为JSON对象。"),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// The API's router and its document, from the features' routes.
pub(crate) fn api(features: OpenApiRouter<AppState>) -> (axum::Router<AppState>, OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .merge(features)
        .split_for_parts();
    // Operations carry no tags; the document has always said so with an empty list.
    for op in operations(&mut doc) {
        op.tags.get_or_insert_with(Vec::new);
    }
    Secured.modify(&mut doc);
    CommonErrors.modify(&mut doc);
    (router, doc)
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Operations open to callers without a token.
const PUBLIC: &[&str] = &["login"];

/// Every operation but the public ones needs the bearer token.
struct Secured;

impl Modify for Secured {
    fn modify(&self, openapi: &mut OpenApi) {
        for op in operations(openapi) {
            if !PUBLIC.contains(&op.operation_id.as_deref().unwrap_or("")) {
                op.security = Some(vec![SecurityRequirement::new(
                    "bearer",
                    Vec::<String>::new(),
                )]);
            }
        }
    }
}

fn operations(openapi: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    openapi
        .paths
        .paths
        .values_mut()
        .flat_map(|item: &mut PathItem| {
            [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
        })
}

/// Operations that answer 503 `busy` under load: the heavy reports, which pass the report gate,
/// and the record write, which holds the write connection for a bounded time.
const BUSY: &[&str] = &[
    "bulletin",
    "api_docx",
    "api_pdf",
    "api_xlsx",
    "overdue",
    "overdue_towns",
    "create_record",
];

/// Operations that answer without calling the store, so without a role check.
const NO_ROLE_CHECK: &[&str] = &["me", "logout"];

struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut OpenApi) {
        operations(openapi).for_each(add_common);
    }
}

fn add_common(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let role_checked =
        secured && !NO_ROLE_CHECK.contains(&op.operation_id.as_deref().unwrap_or(""));
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_query_params = op
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
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
    if has_query_params {
        add(
            "422",
            "查询参数不符合规则（如日期超出1949-10-01至2100-12-31、文字过长）",
        );
    }
    if BUSY.contains(&op.operation_id.as_deref().unwrap_or("")) {
        op.responses
            .responses
            .entry("503".to_string())
            .or_insert_with(busy_response);
    }
}

/// 503 `busy`, telling when to try again.
fn busy_response() -> RefOr<Response> {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let mut r =
        json_error("系统繁忙（统计报表排队已满，或写入未能及时完成），请按 Retry-After 稍后重试");
    r.headers.insert(
        "Retry-After".to_string(),
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("重试前应等待的秒数"))
            .build(),
    );
    RefOr::T(r)
}

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(json_error(description))
}

fn json_error(description: &str) -> Response {
    let mut r = Response::new(description);
    r.content.insert(
        "application/json".to_string(),
        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
    );
    r
}

/// The API document, like every call but login, is for authenticated callers.
pub(crate) async fn openapi_json(
    _caller: crate::shared::session::ApiUser,
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<std::sync::Arc<OpenApi>> {
    axum::Json(state.openapi)
}
