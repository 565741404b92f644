//! The audit log's hash chain: each entry's hash covers its content and the previous hash, so a
//! changed or removed entry breaks every hash after it.

use sha2::{Digest, Sha256};

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
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
    let mut h = Sha256::new();
    for part in [
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
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
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
                    if let Ok(id) = taizhang_domain::IdNumber::parse(s) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_depend_on_every_part() {
        let a = entry_hash(
            GENESIS,
            1,
            1,
            "t",
            "admin",
            "create",
            "org",
            "5",
            None,
            Some("{}"),
        );
        let b = entry_hash(
            GENESIS,
            1,
            1,
            "t",
            "admin",
            "create",
            "org",
            "6",
            None,
            Some("{}"),
        );
        let c = entry_hash(
            GENESIS,
            1,
            2,
            "t",
            "admin",
            "create",
            "org",
            "5",
            None,
            Some("{}"),
        );
        assert_ne!(a, b);
        assert_ne!(a, c);
        // field boundaries matter: "ab"+"c" differs from "a"+"bc"
        assert_ne!(
            entry_hash(GENESIS, 1, 1, "t", "ab", "c", "org", "5", None, None),
            entry_hash(GENESIS, 1, 1, "t", "a", "bc", "org", "5", None, None)
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
