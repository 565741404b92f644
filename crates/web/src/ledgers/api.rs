//! The JSON API of ledger types and their editor.

use crate::shared::prelude::*;

pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_ledger_types, create_ledger_type))
        .routes(routes!(get_ledger_type, update_ledger_type))
}

#[utoipa::path(get, path = "/api/v1/ledger-types", responses((status = 200, body = Vec<LedgerType>)))]
async fn list_ledger_types(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
) -> ApiResult<Json<Vec<LedgerType>>> {
    Ok(Json(s.store.ledger_types(&u.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/ledger-types", request_body(content = Object, description = "台账类型定义：key、name、fields、cadences。上限：name 40字，description 500字，verb、count_unit 各10字；字段的 label 40字、unit 10字、phrase 40字、每个选项40字；周期要求的 label 40字；text 字段的 max_len 不超过2000，long_text 不超过20000；整数、小数字段不填范围时为0至1000000000，所填范围不能超出正负1000000000。文字不能含控制字符或文字方向控制符。"),
    responses((status = 201, body = LedgerType), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_ledger_type(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Json(def): Json<LedgerTypeDef>,
) -> ApiResult<(StatusCode, Json<LedgerType>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_ledger_type(&u.actor, def).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/ledger-types/{key}", params(("key" = String, Path)), responses((status = 200, body = LedgerType), (status = 404, body = ErrorBody)))]
async fn get_ledger_type(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<LedgerType>> {
    Ok(Json(s.store.ledger_type(&u.actor, &key).await?))
}

#[utoipa::path(put, path = "/api/v1/ledger-types/{key}", params(("key" = String, Path)), request_body(content = Object, description = "台账类型定义：key、name、fields、cadences。上限：name 40字，description 500字，verb、count_unit 各10字；字段的 label 40字、unit 10字、phrase 40字、每个选项40字；周期要求的 label 40字；text 字段的 max_len 不超过2000，long_text 不超过20000；整数、小数字段不填范围时为0至1000000000，所填范围不能超出正负1000000000。文字不能含控制字符或文字方向控制符。"),
    responses((status = 200, body = LedgerType), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_ledger_type(
    State(s): State<AppState>,
    ApiUser(u): ApiUser,
    Path(key): Path<String>,
    Json(def): Json<LedgerTypeDef>,
) -> ApiResult<Json<LedgerType>> {
    if def.key != key {
        return Err(WebError::Store(StoreError::invalid(
            "key",
            "ledger_type.key_changed",
            "类型标识创建后不能修改",
        )));
    }
    Ok(Json(s.store.update_ledger_type(&u.actor, def).await?))
}
