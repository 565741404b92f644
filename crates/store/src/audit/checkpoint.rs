//! Checkpoints anchor the head of each county's audit chain outside the database: the last
//! verified entry's `seq` and hash, under a keyed MAC, in `audit.checkpoint` in the data
//! directory (beside `audit.key`). The chain alone proves that no entry inside it changed; it
//! cannot tell that its last entries were removed. A checkpoint can: a chain shorter than its
//! checkpoint, or one whose entry at the checkpoint's `seq` has another hash, is reported.
//!
//! One line per county: `v1 <county_id> <county code> <chain> <seq> <hash> <mac>`, where `chain`
//! is the hash of the county's first entry (it tells this database's chain from another's that
//! shares the directory) and the MAC covers every other field. The file is rewritten whole
//! (a new file, then a rename), readable only by its owner.

use super::AuditKey;
use crate::{StoreError, StoreResult};
use std::path::{Path, PathBuf};

pub const FILE: &str = "audit.checkpoint";

/// The anchored head of one county's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub county_id: i64,
    pub county_code: String,
    /// The hash of the chain's first entry.
    pub chain: String,
    pub seq: i64,
    pub hash: String,
}

impl Checkpoint {
    fn mac(&self, key: &AuditKey) -> String {
        key.mac(&[
            "checkpoint-v1",
            &self.county_id.to_string(),
            &self.county_code,
            &self.chain,
            &self.seq.to_string(),
            &self.hash,
        ])
    }

    fn line(&self, key: &AuditKey) -> String {
        format!(
            "v1 {} {} {} {} {} {}",
            self.county_id,
            self.county_code,
            self.chain,
            self.seq,
            self.hash,
            self.mac(key)
        )
    }
}

/// What the file says about a county.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    None,
    Valid(Checkpoint),
    /// A line for the county whose MAC does not match: changed, or written under another key.
    Invalid,
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// Every line, parsed; `None` for a line that does not parse.
fn lines(data_dir: &Path) -> StoreResult<Vec<(Option<Checkpoint>, String, String)>> {
    let text = match std::fs::read_to_string(path(data_dir)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let parsed = match f.as_slice() {
                ["v1", county, code, chain, seq, hash, _mac] => {
                    match (county.parse(), seq.parse()) {
                        (Ok(county_id), Ok(seq)) => Some(Checkpoint {
                            county_id,
                            county_code: code.to_string(),
                            chain: chain.to_string(),
                            seq,
                            hash: hash.to_string(),
                        }),
                        _ => None,
                    }
                }
                _ => None,
            };
            let mac = f.last().map(|m| m.to_string()).unwrap_or_default();
            let county = f.get(1).map(|c| c.to_string()).unwrap_or_default();
            (parsed, county, mac)
        })
        .collect())
}

/// The checkpoint of a county, if the file has one.
pub fn find(data_dir: &Path, key: &AuditKey, county_id: i64) -> StoreResult<Found> {
    for (parsed, county, mac) in lines(data_dir)? {
        if county != county_id.to_string() {
            continue;
        }
        return Ok(match parsed {
            Some(cp) if cp.mac(key) == mac => Found::Valid(cp),
            _ => Found::Invalid,
        });
    }
    Ok(Found::None)
}

/// Records a county's checkpoint, replacing its line.
pub fn write(data_dir: &Path, key: &AuditKey, cp: &Checkpoint) -> StoreResult<()> {
    let county = cp.county_id.to_string();
    let mut out: Vec<String> = std::fs::read_to_string(path(data_dir))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && l.split(' ').nth(1) != Some(county.as_str()))
        .map(str::to_string)
        .collect();
    out.push(cp.line(key));
    crate::files::create_private_dir(data_dir)?;
    let tmp = data_dir.join(format!(".{FILE}.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    crate::files::write_private(&tmp, format!("{}\n", out.join("\n")).as_bytes())
        .map_err(StoreError::from)?;
    std::fs::rename(&tmp, path(data_dir))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::MacAlg;

    #[test]
    fn a_checkpoint_is_read_back_and_a_changed_one_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let key = AuditKey::new(MacAlg::HmacSha256, vec![5; 32]).unwrap();
        assert_eq!(find(dir.path(), &key, 1).unwrap(), Found::None);
        let cp = Checkpoint {
            county_id: 1,
            county_code: "370828".into(),
            chain: "aa".repeat(32),
            seq: 40,
            hash: "bb".repeat(32),
        };
        write(dir.path(), &key, &cp).unwrap();
        let two = Checkpoint {
            county_id: 2,
            seq: 3,
            ..cp.clone()
        };
        write(dir.path(), &key, &two).unwrap();
        write(
            dir.path(),
            &key,
            &Checkpoint {
                seq: 41,
                ..cp.clone()
            },
        )
        .unwrap();
        assert_eq!(
            find(dir.path(), &key, 1).unwrap(),
            Found::Valid(Checkpoint {
                seq: 41,
                ..cp.clone()
            })
        );
        assert_eq!(find(dir.path(), &key, 2).unwrap(), Found::Valid(two));
        // Lowering the seq by hand (to hide a truncation) breaks the MAC.
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        std::fs::write(path(dir.path()), text.replace(" 41 ", " 30 ")).unwrap();
        assert_eq!(find(dir.path(), &key, 1).unwrap(), Found::Invalid);
        let other = AuditKey::new(MacAlg::HmacSha256, vec![6; 32]).unwrap();
        assert_eq!(find(dir.path(), &other, 2).unwrap(), Found::Invalid);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
