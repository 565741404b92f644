//! The audit log's hash chain: each entry's hash covers its content and the previous hash, so a
//! changed or removed entry breaks every hash after it.

pub mod checkpoint;
pub mod refusals;

use crate::{Actor, StoreResult};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use taizhang_domain::audit::AuditFilterInput;
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

/// One audit entry's columns as stored (JSON already canonical), for hashing and checking.
#[derive(Debug, Clone, Copy)]
pub struct EntryParts<'a> {
    pub prev_hash: &'a str,
    pub county_id: i64,
    pub seq: i64,
    pub at: &'a str,
    pub actor_user_id: Option<i64>,
    pub actor: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

/// The keyed hash of an entry over every column (scheme 2, every entry written now).
pub fn entry_hash(key: &AuditKey, e: &EntryParts) -> String {
    hash_with(key, e, true)
}

/// Scheme 1, which left `actor_user_id` out: only checked, for the entries written before
/// scheme 2, never written.
fn entry_hash_v1(key: &AuditKey, e: &EntryParts) -> String {
    hash_with(key, e, false)
}

fn hash_with(key: &AuditKey, e: &EntryParts, scheme2: bool) -> String {
    let mut parts: Vec<String> = Vec::with_capacity(12);
    if scheme2 {
        parts.push("v2".into());
    }
    parts.extend([
        e.prev_hash.to_string(),
        e.county_id.to_string(),
        e.seq.to_string(),
        e.at.to_string(),
    ]);
    if scheme2 {
        parts.push(
            e.actor_user_id
                .map_or_else(|| "-".into(), |u| u.to_string()),
        );
    }
    parts.extend(
        [
            e.actor,
            e.action,
            e.entity,
            e.entity_id,
            e.before.unwrap_or("-"),
            e.after.unwrap_or("-"),
        ]
        .map(str::to_string),
    );
    key.mac(&parts.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Walks one county's chain entry by entry, in order of `seq`. Every entry must carry the hash
/// of the one before, its own `seq` one higher, and a hash of every column under the key. Entries
/// of scheme 1 (without `actor_user_id`) are accepted only as the chain's first part, before any
/// entry of scheme 2: a database written before the change keeps verifying, and every later
/// entry is held to the full scheme.
#[derive(Debug, Clone)]
pub struct ChainWalk {
    prev: String,
    seq: i64,
    legacy_open: bool,
    /// Entries vouched for by scheme 1.
    pub legacy: i64,
}

impl Default for ChainWalk {
    fn default() -> Self {
        ChainWalk {
            prev: GENESIS.to_string(),
            seq: 0,
            legacy_open: true,
            legacy: 0,
        }
    }
}

impl ChainWalk {
    /// Checks the next entry and its stored hash; false when it breaks the chain.
    pub fn step(&mut self, key: &AuditKey, e: &EntryParts, hash: &str) -> bool {
        if e.seq != self.seq + 1 || e.prev_hash != self.prev {
            return false;
        }
        if entry_hash(key, e) == hash {
            self.legacy_open = false;
        } else if self.legacy_open && entry_hash_v1(key, e) == hash {
            self.legacy += 1;
        } else {
            return false;
        }
        self.seq = e.seq;
        self.prev = hash.to_string();
        true
    }

    /// Entries walked so far (the last one's `seq`).
    pub fn entries(&self) -> i64 {
        self.seq
    }

    /// The hash of the last entry walked.
    pub fn head(&self) -> &str {
        &self.prev
    }
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

/// One page of the audit log as asked for: the filters as typed (checked by the store, see
/// [`taizhang_domain::audit::AuditFilter::parse`]), where the page starts, and its length (1
/// to [`taizhang_domain::audit::MAX_PAGE`]).
/// `offset` counts only from the newest entries (no `before` or `after`).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub filter: AuditFilterInput,
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub offset: i64,
    pub limit: i64,
}

/// A page of the audit log, newest first, with the cursors of the pages either side.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    /// Entries matching the filters, on every page.
    pub total: i64,
    pub entries: Vec<AuditEntry>,
    /// `after` for the page of newer entries; absent (null) on the newest page.
    pub newer: Option<i64>,
    /// `before` for the page of older entries; absent (null) on the oldest page.
    pub older: Option<i64>,
}

forward! {
    /// A page of the county's log matching the filters (审计管理员 only).
    pub async fn audit_page(&self, actor: &Actor, q: &AuditQuery) -> StoreResult<AuditPage>
        => audit::audit_page(actor, q);

    /// Entries older than `before` (a `seq`), newest first: the export's pages.
    pub async fn audit_entries_before(
        &self,
        actor: &Actor,
        entity: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>> => audit::audit_entries_before(actor, entity, before, limit);

    /// Audits an export (`export`): the list's name, its filters (`details`, an object) and
    /// how many rows it held.
    pub async fn record_export(
        &self,
        actor: &Actor,
        list: &str,
        rows: usize,
        details: serde_json::Value,
    ) -> StoreResult<()> => audit::record_export(actor, list, rows, details);

    /// Walks the county's audit chain; returns the number of entries, or the first broken one.
    /// The chain alone: [`Store::check_audit_chain`] also holds it to its checkpoint.
    pub async fn verify_audit_chain(&self, county_id: CountyId) -> StoreResult<Result<i64, i64>>
        => audit::verify_audit_chain(county_id.get());
}

/// What a check of a county's chain against its checkpoint finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every entry verified (`legacy` of them by the scheme before `actor_user_id` was covered);
    /// `anchored` is the checkpoint's `seq` the chain was held to, if there was one.
    Intact {
        entries: i64,
        legacy: i64,
        head: String,
        anchored: Option<i64>,
    },
    /// The first entry whose hash, `seq` or link to the one before does not match.
    Broken { seq: i64 },
    /// Shorter than its checkpoint: entries `entries + 1` to `checkpoint` are missing.
    Truncated { entries: i64, checkpoint: i64 },
    /// The entry at the checkpoint's `seq` has another hash than the checkpoint vouched for.
    Diverged { seq: i64 },
    /// The checkpoint's MAC does not match: the file was changed, or the key is another.
    BadCheckpoint,
}

impl ChainCheck {
    /// What is wrong with a checked chain, in words for the administrators; `None` when intact.
    pub fn problem(&self) -> Option<String> {
        match self {
            ChainCheck::Intact { .. } => None,
            ChainCheck::Broken { seq } => Some(format!(
                "审计链在第{seq}条处断裂：该条或其前一条已被改动、删除，或密钥不符，请立即核查"
            )),
            ChainCheck::Truncated {
                entries,
                checkpoint,
            } => Some(format!(
                "审计链被截断：检查点记录至第{checkpoint}条，现仅有{entries}条，缺失第{}至{checkpoint}条",
                entries + 1
            )),
            ChainCheck::Diverged { seq } => Some(format!(
                "审计链与检查点不符：第{seq}条的哈希已不是检查点记录的哈希（该条及其后已被替换）"
            )),
            ChainCheck::BadCheckpoint => Some(
                "审计检查点文件校验失败：已被改动，或所用审计密钥不同".to_string(),
            ),
        }
    }
}

impl crate::Store {
    /// The newest entries about one kind of object, `limit` from `offset`, and how many there
    /// are: [`Store::audit_page`] with that filter alone.
    pub async fn audit_entries(
        &self,
        actor: &Actor,
        entity: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(i64, Vec<AuditEntry>)> {
        let q = AuditQuery {
            filter: AuditFilterInput {
                entity: entity.map(String::from),
                ..AuditFilterInput::default()
            },
            offset,
            limit,
            ..AuditQuery::default()
        };
        let page = self.audit_page(actor, &q).await?;
        Ok((page.total, page.entries))
    }

    fn audit_key(&self) -> &AuditKey {
        match &self.backend {
            crate::Backend::Sqlite(p) => &p.audit_key,
            crate::Backend::Postgres(p) => &p.audit_key,
        }
    }

    /// Walks the county's chain and holds it to its checkpoint in the data directory (see
    /// [`checkpoint`]); with `advance`, an intact chain's head becomes the new checkpoint (and is
    /// logged, a second anchor outside the machine where logs are shipped).
    pub async fn check_audit_chain(
        &self,
        county: &crate::County,
        advance: bool,
    ) -> StoreResult<ChainCheck> {
        let id = county.id.get();
        let walk = match dispatch!(self, audit::walk_audit_chain(id))? {
            Ok(w) => w,
            Err(seq) => return Ok(ChainCheck::Broken { seq }),
        };
        let first = match walk.entries() {
            0 => None,
            _ => dispatch!(self, audit::entry_hash_at(id, 1))?,
        };
        let anchored = match checkpoint::find(self.data_dir(), self.audit_key(), id)? {
            checkpoint::Found::Invalid => return Ok(ChainCheck::BadCheckpoint),
            checkpoint::Found::None => None,
            // Another database's chain that shared this directory: not this one's anchor.
            checkpoint::Found::Valid(cp)
                if cp.county_code != county.code
                    || first.as_deref().is_some_and(|f| f != cp.chain) =>
            {
                None
            }
            checkpoint::Found::Valid(cp) if cp.seq > walk.entries() => {
                return Ok(ChainCheck::Truncated {
                    entries: walk.entries(),
                    checkpoint: cp.seq,
                })
            }
            checkpoint::Found::Valid(cp) => {
                if dispatch!(self, audit::entry_hash_at(id, cp.seq))?.as_deref()
                    != Some(cp.hash.as_str())
                {
                    return Ok(ChainCheck::Diverged { seq: cp.seq });
                }
                Some(cp.seq)
            }
        };
        if let (true, Some(chain)) = (advance, first) {
            let cp = checkpoint::Checkpoint {
                county_id: id,
                county_code: county.code.clone(),
                chain,
                seq: walk.entries(),
                hash: walk.head().to_string(),
            };
            checkpoint::write(self.data_dir(), self.audit_key(), &cp)?;
            tracing::info!(
                county = %county.code,
                seq = cp.seq,
                hash = %cp.hash,
                "audit chain head anchored"
            );
        }
        Ok(ChainCheck::Intact {
            entries: walk.entries(),
            legacy: walk.legacy,
            head: walk.head().to_string(),
            anchored,
        })
    }

    /// Audits a refused request of a signed-in user (`refused`), within the per-user cap (see
    /// [`refusals`]); first writes the summaries of windows that have closed.
    pub async fn record_refusal(
        &self,
        actor: &Actor,
        refusal: &refusals::Refusal,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let key = (
            actor.county_id.get(),
            actor.user_id.map(|u| u.get()),
            actor.username.clone(),
        );
        let (record, closed) = self.refusals.admit(key, now);
        self.write_refusal_summaries(closed).await?;
        if record {
            dispatch!(self, audit::record_refused(actor, refusal))?;
        }
        Ok(())
    }

    /// Writes the summary entries of the refusal windows closed by `now`; returns how many.
    pub async fn flush_refusals(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        self.write_refusal_summaries(self.refusals.closed(now))
            .await
    }

    async fn write_refusal_summaries(&self, closed: Vec<refusals::Summary>) -> StoreResult<usize> {
        for s in &closed {
            dispatch!(self, audit::record_refusal_summary(s))?;
        }
        Ok(closed.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(seq: i64, actor: &'a str, action: &'a str, id: &'a str) -> EntryParts<'a> {
        EntryParts {
            prev_hash: GENESIS,
            county_id: 1,
            seq,
            at: "t",
            actor_user_id: Some(3),
            actor,
            action,
            entity: "org",
            entity_id: id,
            before: None,
            after: Some("{}"),
        }
    }

    #[test]
    fn hashes_depend_on_every_part_and_the_key() {
        let k = AuditKey::new(MacAlg::HmacSha256, vec![7; 32]).unwrap();
        let h = |key: &AuditKey, seq: i64, actor: &str, action: &str, id: &str| {
            entry_hash(key, &parts(seq, actor, action, id))
        };
        let a = h(&k, 1, "admin", "create", "5");
        assert_ne!(a, h(&k, 1, "admin", "create", "6"));
        assert_ne!(a, h(&k, 2, "admin", "create", "5"));
        // field boundaries matter: "ab"+"c" differs from "a"+"bc"
        assert_ne!(h(&k, 1, "ab", "c", "5"), h(&k, 1, "a", "bc", "5"));
        // the acting user's id is covered, and its absence differs from any id
        let base = parts(1, "admin", "create", "5");
        for other in [Some(4), None] {
            let changed = EntryParts {
                actor_user_id: other,
                ..base
            };
            assert_ne!(a, entry_hash(&k, &changed));
        }
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
    fn old_entries_verify_only_before_the_first_new_one() {
        let k = AuditKey::new(MacAlg::HmacSha256, vec![7; 32]).unwrap();
        let first = parts(1, "admin", "create", "5");
        let old = entry_hash_v1(&k, &first);
        let mut walk = ChainWalk::default();
        assert!(
            walk.step(&k, &first, &old),
            "a scheme-1 entry still verifies"
        );
        let second = EntryParts {
            prev_hash: &old,
            ..parts(2, "admin", "create", "6")
        };
        let new = entry_hash(&k, &second);
        assert!(walk.step(&k, &second, &new));
        assert_eq!((walk.entries(), walk.legacy), (2, 1));
        // After a scheme-2 entry, scheme 1 no longer vouches for anything.
        let third = EntryParts {
            prev_hash: &new,
            ..parts(3, "admin", "create", "7")
        };
        assert!(!walk.clone().step(&k, &third, &entry_hash_v1(&k, &third)));
        // A changed user id breaks a scheme-2 entry (the old scheme does not rescue it).
        let mut again = ChainWalk::default();
        let moved = EntryParts {
            actor_user_id: Some(99),
            ..first
        };
        assert!(!again.step(&k, &moved, &entry_hash(&k, &first)));
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
