//! The audit log's hash chain: each entry's hash covers its content and the previous hash, so a
//! changed or removed entry breaks every hash after it.

use crate::{Actor, StoreResult};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use taizhang_domain::{AuditSeq, CountyId};
use utoipa::ToSchema;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The keyed hash that chains audit entries. The key lives outside the database (an environment
/// variable or a key file), so a database dump alone cannot forge a consistent chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacAlg {
    /// HMAC-SHA-256, the default.
    HmacSha256,
    /// HMAC-SM3 (GB/T 32905), where 密评 asks for 国密 algorithms.
    HmacSm3,
}

impl MacAlg {
    pub fn parse(s: &str) -> Option<MacAlg> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hmac-sha256" | "sha256" => Some(MacAlg::HmacSha256),
            "hmac-sm3" | "sm3" => Some(MacAlg::HmacSm3),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct AuditKey {
    pub alg: MacAlg,
    key: Vec<u8>,
}

impl std::fmt::Debug for AuditKey {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({:?})", self.alg)
    }
}

impl AuditKey {
    pub fn new(alg: MacAlg, key: Vec<u8>) -> Result<AuditKey, String> {
        if key.len() < 32 {
            return Err("审计密钥至少32字节".into());
        }
        Ok(AuditKey { alg, key })
    }

    /// From hex text (a key file's content or an environment variable).
    pub fn from_hex(alg: MacAlg, text: &str) -> Result<AuditKey, String> {
        let key = hex::decode(text.trim()).map_err(|_| "审计密钥应为十六进制文本".to_string())?;
        AuditKey::new(alg, key)
    }

    pub fn random(alg: MacAlg) -> AuditKey {
        use rand::RngCore;
        let mut key = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        AuditKey { alg, key }
    }

    pub fn to_hex(&self) -> String {
        hex::encode(&self.key)
    }

    fn mac(&self, parts: &[&str]) -> String {
        use hmac::{Mac, SimpleHmac};
        fn feed<M: Mac>(mut m: M, parts: &[&str]) -> Vec<u8> {
            for part in parts {
                // Length-prefixed, so that field boundaries count.
                m.update(&(part.len() as u64).to_le_bytes());
                m.update(part.as_bytes());
            }
            m.finalize().into_bytes().to_vec()
        }
        let bytes = match self.alg {
            MacAlg::HmacSha256 => feed(
                <SimpleHmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length"),
                parts,
            ),
            MacAlg::HmacSm3 => feed(
                <SimpleHmac<sm3::Sm3> as Mac>::new_from_slice(&self.key).expect("any key length"),
                parts,
            ),
        };
        hex::encode(bytes)
    }
}

#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    key: &AuditKey,
    prev_hash: &str,
    county_id: i64,
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    key.mac(&[
        prev_hash,
        &county_id.to_string(),
        &seq.to_string(),
        at,
        actor,
        action,
        entity,
        entity_id,
        before.unwrap_or("-"),
        after.unwrap_or("-"),
    ])
}

/// JSON with object keys sorted, so that a hash does not depend on how a backend stores JSON
/// (PostgreSQL's jsonb reorders keys).
pub fn canonical_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&m[*k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Personal fields are masked before they enter the audit log.
pub fn mask_personal(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(obj) = v.as_object_mut() {
        for (k, val) in obj.iter_mut() {
            if let serde_json::Value::String(s) = val {
                if k == "id_number" {
                    if let Ok(id) = taizhang_domain::IdNumber::parse(s, crate::today()) {
                        *s = id.masked();
                    }
                } else if k == "phone" {
                    if let Ok(p) = taizhang_domain::Phone::parse(s) {
                        *s = p.masked();
                    }
                } else if k == "password" || k == "password_hash" {
                    *s = "***".into();
                }
            }
        }
    }
    v
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    #[schema(value_type = i64)]
    pub seq: AuditSeq,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    /// Absent (null) for a creation and for events that change no object.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// Absent (null) for a deletion and for events that change no object.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub hash: String,
}

forward! {
    pub async fn audit_entries(
        &self,
        actor: &Actor,
        entity: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(i64, Vec<AuditEntry>)> => audit::audit_entries(actor, entity, limit, offset);

    /// Walks the county's audit chain; returns the number of entries, or the first broken one.
    pub async fn verify_audit_chain(&self, county_id: CountyId) -> StoreResult<Result<i64, i64>>
        => audit::verify_audit_chain(county_id.get());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_depend_on_every_part_and_the_key() {
        let k = AuditKey::new(MacAlg::HmacSha256, vec![7; 32]).unwrap();
        let h = |key: &AuditKey, seq: i64, actor: &str, action: &str, id: &str| {
            entry_hash(
                key,
                GENESIS,
                1,
                seq,
                "t",
                actor,
                action,
                "org",
                id,
                None,
                Some("{}"),
            )
        };
        let a = h(&k, 1, "admin", "create", "5");
        assert_ne!(a, h(&k, 1, "admin", "create", "6"));
        assert_ne!(a, h(&k, 2, "admin", "create", "5"));
        // field boundaries matter: "ab"+"c" differs from "a"+"bc"
        assert_ne!(h(&k, 1, "ab", "c", "5"), h(&k, 1, "a", "bc", "5"));
        let other = AuditKey::new(MacAlg::HmacSha256, vec![8; 32]).unwrap();
        assert_ne!(a, h(&other, 1, "admin", "create", "5"));
        let sm3 = AuditKey::new(MacAlg::HmacSm3, vec![7; 32]).unwrap();
        assert_ne!(a, h(&sm3, 1, "admin", "create", "5"));
        assert_eq!(a.len(), 64);
        assert_eq!(h(&sm3, 1, "admin", "create", "5").len(), 64);
        assert!(
            AuditKey::new(MacAlg::HmacSha256, vec![1; 16]).is_err(),
            "short keys are refused"
        );
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231 test case 2, through the same primitive (without the length prefixes).
        use hmac::{Mac, SimpleHmac};
        let mut m = <SimpleHmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        m.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(m.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn personal_fields_are_masked() {
        let v = mask_personal(
            serde_json::json!({"id_number": "11010519491231002X", "phone": "13805375678", "name": "张三"}),
        );
        assert_eq!(v["id_number"], "1101**********002X");
        assert_eq!(v["phone"], "138****5678");
        assert_eq!(v["name"], "张三");
    }
}
