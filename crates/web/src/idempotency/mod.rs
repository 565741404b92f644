//! Idempotency keys on every create: `Idempotency-Key` on a `POST` of the JSON API, and the
//! hidden field `idempotency_key` of the record form. A repeat of a request with its key is
//! answered as the first time (same status and body, header `Idempotent-Replayed: true`) and
//! writes nothing; the key used for another request is refused (422 `idempotency.mismatch`).
//! The keys themselves are the store's (`taizhang_store::idempotency`): taken before the request
//! runs, completed with its answer, given back when it was refused.

use crate::error::WebError;
use crate::shared::session::ApiUser;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::time::Duration;
use taizhang_domain::UserId;
use taizhang_store::idempotency::{Claim, SavedAnswer};

pub(crate) const HEADER: &str = "idempotency-key";
pub(crate) const REPLAYED: &str = "idempotent-replayed";
/// The longest key.
pub(crate) const MAX_KEY: usize = 100;
/// How long a repeat waits for the request that holds its key to answer.
const WAIT: Duration = Duration::from_secs(10);
/// The largest answer kept for replay (create answers are small JSON objects).
const MAX_ANSWER: usize = 256 * 1024;

/// A key of 1 to 100 printable ASCII characters.
pub(crate) fn check_key(raw: &[u8]) -> Result<String, WebError> {
    let ok =
        !raw.is_empty() && raw.len() <= MAX_KEY && raw.iter().all(|b| (0x21..=0x7e).contains(b));
    match std::str::from_utf8(raw) {
        Ok(s) if ok => Ok(s.to_string()),
        _ => Err(WebError::Idempotency {
            status: StatusCode::BAD_REQUEST,
            code: "idempotency.key",
            message: "幂等键应为1至100个可打印ASCII字符（不含空格）",
        }),
    }
}

/// SHA-256 (hex) of the parts that make a request what it is.
pub(crate) fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefixed, so that no two lists of parts hash alike by running together.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// A fresh key for a form: 128 random bits, hex.
pub(crate) fn new_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A form's fingerprint: what it creates (the ledger type) and its parts in order, names, file
/// names, types and bytes (the CSRF token and the key itself are not parts). A file box left
/// empty is not a part either: a browser sends it as a nameless empty file, a phone's queue
/// resending the entry leaves it out, and both ask for the same record.
pub(crate) fn form_fingerprint(what: &str, parts: &[crate::shared::forms::FormPart]) -> String {
    let mut list: Vec<&[u8]> = vec![b"form", what.as_bytes()];
    let empty_box = |p: &crate::shared::forms::FormPart| {
        p.file_name.as_deref() == Some("") && p.bytes.is_empty()
    };
    for p in parts.iter().filter(|p| !empty_box(p)) {
        list.push(p.name.as_bytes());
        list.push(p.file_name.as_deref().unwrap_or("\u{0}").as_bytes());
        list.push(p.content_type.as_bytes());
        list.push(&p.bytes);
    }
    fingerprint(list)
}

/// The kept form of a page's answer (a redirect: its status and `Location`).
pub(crate) fn answer_of(res: &Response) -> SavedAnswer {
    SavedAnswer {
        status: res.status().as_u16(),
        content_type: None,
        body: String::new(),
        location: res
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(String::from),
    }
}

/// Takes the key, waiting while another request holds it: `None` when the caller's request is to
/// run, or the answer to give instead.
pub(crate) async fn take(
    st: &AppState,
    user: UserId,
    key: &str,
    fingerprint: &str,
) -> Result<Option<SavedAnswer>, WebError> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match st
            .store
            .claim_idempotency_key(user, key, fingerprint)
            .await?
        {
            Claim::Taken => return Ok(None),
            Claim::Replay(a) => return Ok(Some(a)),
            Claim::Mismatch => {
                return Err(WebError::Idempotency {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    code: "idempotency.mismatch",
                    message: "该幂等键已用于另一项不同的提交，请勿重复使用",
                })
            }
            Claim::Unanswered => {
                return Err(WebError::Idempotency {
                    status: StatusCode::CONFLICT,
                    code: "idempotency.unanswered",
                    message: "使用该幂等键的提交未能完成，是否已保存不明，请核对后再登记",
                })
            }
            Claim::InProgress if tokio::time::Instant::now() >= deadline => {
                return Err(WebError::Idempotency {
                    status: StatusCode::CONFLICT,
                    code: "idempotency.in_progress",
                    message: "使用该幂等键的提交正在处理，请稍后再试",
                })
            }
            Claim::InProgress => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Keeps a successful answer for the key's repeats, or gives the key back after a refusal.
/// A failure to keep the answer leaves the key taken (its repeats are refused, never run).
pub(crate) async fn settle(st: &AppState, user: UserId, key: &str, answer: Option<SavedAnswer>) {
    let r = match &answer {
        Some(a) => st.store.complete_idempotency_key(user, key, a).await,
        None => st.store.release_idempotency_key(user, key).await,
    };
    if let Err(e) = r {
        tracing::warn!(error = %e, "idempotency key not settled");
    }
}

/// The kept answer, given again.
pub(crate) fn replay(a: SavedAnswer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
    let mut res = (status, a.body).into_response();
    let h = res.headers_mut();
    h.remove(header::CONTENT_TYPE);
    if let Some(v) = a.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Some(v) = a.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LOCATION, v);
    }
    h.insert(REPLAYED, HeaderValue::from_static("true"));
    res
}

/// The API's keys: every `POST` under `/api/v1/` with an `Idempotency-Key` of a logged-in
/// caller. Without the header, or without a caller (a login), the request goes on untouched.
pub(crate) async fn api_keys(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.uri().path().starts_with("/api/v1/") {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER).map(|v| v.as_bytes().to_vec()) else {
        return next.run(req).await;
    };
    let key = match check_key(&raw) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let (mut parts, body) = req.into_parts();
    let user = match ApiUser::from_request_parts(&mut parts, &st).await {
        Ok(ApiUser(s)) => s.actor.user_id,
        Err(_) => None,
    };
    let Some(user) = user else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let bytes: Bytes = match axum::body::to_bytes(body, crate::shared::load::FILE_BODY_LIMIT).await
    {
        Ok(b) => b,
        Err(_) => return WebError::TooLarge("提交的内容过大".into()).into_response(),
    };
    let ctype = parts
        .headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or_default();
    let fp = fingerprint([b"POST".as_slice(), target.as_bytes(), ctype, &bytes]);
    match take(&st, user, &key, &fp).await {
        Err(e) => return e.into_response(),
        Ok(Some(a)) => return replay(a),
        Ok(None) => {}
    }
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if !res.status().is_success() {
        settle(&st, user, &key, None).await;
        return res;
    }
    let (rp, rb) = res.into_parts();
    let Ok(answer) = axum::body::to_bytes(rb, MAX_ANSWER).await else {
        // Created, but the answer could not be kept: the key stays taken, unanswered.
        return WebError::Render("回应过大，无法保存".into()).into_response();
    };
    let saved = SavedAnswer {
        status: rp.status.as_u16(),
        content_type: rp
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        body: String::from_utf8_lossy(&answer).into_owned(),
        location: rp
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(String::from),
    };
    settle(&st, user, &key, Some(saved)).await;
    Response::from_parts(rp, Body::from(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_printable_ascii() {
        assert_eq!(check_key(b"abc-123").ok().as_deref(), Some("abc-123"));
        assert!(check_key(&[b'k'; 100]).is_ok());
        assert!(check_key(&[b'k'; 101]).is_err());
        assert!(check_key(b"").is_err());
        assert!(check_key(b"a b").is_err());
        assert!(check_key("键".as_bytes()).is_err());
    }

    #[test]
    fn an_empty_file_box_does_not_change_a_form_s_fingerprint() {
        use crate::shared::forms::FormPart;
        let part = |name: &str, file_name: Option<&str>, bytes: &'static [u8]| FormPart {
            name: name.into(),
            file_name: file_name.map(String::from),
            content_type: "application/octet-stream".into(),
            bytes: Bytes::from_static(bytes),
            cut_off: false,
        };
        let typed = vec![part("theme", None, b"x")];
        let with_box = vec![part("theme", None, b"x"), part("photos", Some(""), b"")];
        let with_photo = vec![
            part("theme", None, b"x"),
            part("photos", Some("a.png"), b""),
        ];
        assert_eq!(
            form_fingerprint("theme_day", &typed),
            form_fingerprint("theme_day", &with_box)
        );
        assert_ne!(
            form_fingerprint("theme_day", &typed),
            form_fingerprint("theme_day", &with_photo)
        );
    }

    #[test]
    fn fingerprints_do_not_run_together() {
        assert_ne!(
            fingerprint([b"ab".as_slice(), b"c"]),
            fingerprint([b"a".as_slice(), b"bc"])
        );
    }
}
