//! The audit and field-encryption keys: from the environment, from a key file, or created with a
//! random key on first start.

use crate::{audit, crypto, StoreError, StoreOptions, StoreResult};
use std::path::{Path, PathBuf};

/// A key read from the environment (hex), from a key file named by the environment, or from
/// `default_file` in the data directory, created with a random key on first start. Returns the
/// key and the path of its key file when this call created it.
fn resolve_key<K>(
    data_dir: &Path,
    (hex_var, file_var, default_file): (&str, &str, &str),
    parse: impl Fn(&str) -> Result<K, String>,
    random: impl Fn() -> (K, String),
) -> StoreResult<(K, Option<PathBuf>)> {
    if let Ok(hex_key) = std::env::var(hex_var) {
        return parse(&hex_key)
            .map(|k| (k, None))
            .map_err(StoreError::Config);
    }
    let path = std::env::var_os(file_var)
        .map(PathBuf::from)
        .unwrap_or_else(|| data_dir.join(default_file));
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text)
            .map(|k| (k, None))
            .map_err(|e| StoreError::Config(format!("{}：{e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (key, hex_text) = random();
            if let Some(dir) = path.parent() {
                crate::files::create_private_dir(dir)?;
            }
            crate::files::write_private(&path, hex_text.as_bytes())?;
            tracing::info!(path = %path.display(), "created a new key file");
            Ok((key, Some(path)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The audit key (`TAIZHANG_AUDIT_KEY`, `TAIZHANG_AUDIT_KEY_FILE`, `audit.key`; algorithm from
/// `TAIZHANG_AUDIT_MAC`).
pub(crate) fn resolve_audit_key(
    opts: &StoreOptions,
    data_dir: &Path,
) -> StoreResult<(audit::AuditKey, Option<PathBuf>)> {
    if let Some(k) = &opts.audit_key {
        return Ok((k.clone(), None));
    }
    let alg = match std::env::var("TAIZHANG_AUDIT_MAC") {
        Ok(name) => audit::MacAlg::parse(&name).ok_or_else(|| {
            StoreError::Config(format!("未知的审计算法 {name}，可选 hmac-sha256、hmac-sm3"))
        })?,
        Err(_) => audit::MacAlg::HmacSha256,
    };
    resolve_key(
        data_dir,
        ("TAIZHANG_AUDIT_KEY", "TAIZHANG_AUDIT_KEY_FILE", "audit.key"),
        |text| audit::AuditKey::from_hex(alg, text),
        || {
            let k = audit::AuditKey::random(alg);
            let hex_text = k.to_hex();
            (k, hex_text)
        },
    )
}

/// The field-encryption key (`TAIZHANG_FIELD_KEY`, `TAIZHANG_FIELD_KEY_FILE`, `field.key`;
/// cipher from `TAIZHANG_FIELD_CIPHER` = `aes-256-gcm` | `sm4-gcm`).
pub(crate) fn resolve_field_key(
    opts: &StoreOptions,
    data_dir: &Path,
) -> StoreResult<(crypto::FieldKey, Option<PathBuf>)> {
    if let Some(k) = &opts.field_key {
        return Ok((k.clone(), None));
    }
    let cipher = match std::env::var("TAIZHANG_FIELD_CIPHER") {
        Ok(name) => crypto::Cipher::parse(&name).ok_or_else(|| {
            StoreError::Config(format!(
                "未知的字段加密算法 {name}，可选 aes-256-gcm、sm4-gcm"
            ))
        })?,
        Err(_) => crypto::Cipher::Aes256Gcm,
    };
    resolve_key(
        data_dir,
        ("TAIZHANG_FIELD_KEY", "TAIZHANG_FIELD_KEY_FILE", "field.key"),
        |text| crypto::FieldKey::from_hex(cipher, text),
        || {
            let k = crypto::FieldKey::random(cipher);
            let hex_text = k.to_hex();
            (k, hex_text)
        },
    )
}
