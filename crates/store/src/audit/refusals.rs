//! Refused access as security events: a signed-in user answered 403 or 404 because their role or
//! scope does not reach what they asked for. Each refusal becomes an audit entry (`refused`), at
//! most [`PER_WINDOW`] per user in a [`WINDOW`] that starts at their first refusal; the rest of
//! that window are counted and written as one summary entry once it has closed, so a flood of
//! refused requests cannot fill the disk. The counts are kept in memory, per server process.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;

/// Refusals recorded one by one per user and window.
pub const PER_WINDOW: u32 = 20;
/// A window's length, from a user's first refusal in it.
pub const WINDOW: Duration = Duration::seconds(60);
/// Longer request paths are cut to this many characters in the entry.
const PATH_CHARS: usize = 200;

/// One refused request, as the web layer saw it.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub method: String,
    /// The path, without the query (which may hold a searched name or number).
    pub path: String,
    pub status: u16,
    /// `not_found` (outside the scope, or missing) or `forbidden` (the role).
    pub reason: String,
}

impl Refusal {
    /// The entry's object: method and path.
    pub(crate) fn entity_id(&self) -> String {
        format!("{} {}", self.method, short_path(&self.path))
    }

    pub(crate) fn details(&self) -> Value {
        json!({"method": self.method, "path": short_path(&self.path), "status": self.status, "reason": self.reason})
    }
}

fn short_path(path: &str) -> String {
    path.chars().take(PATH_CHARS).collect()
}

/// Who is refused: county, user id and user name.
pub(crate) type Key = (i64, Option<i64>, String);

struct Window {
    started: DateTime<Utc>,
    recorded: u32,
    suppressed: u64,
}

/// A closed window's refusals beyond [`PER_WINDOW`], for its one summary entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) key: Key,
    pub(crate) from: DateTime<Utc>,
    pub(crate) more: u64,
}

impl Summary {
    pub(crate) fn details(&self) -> Value {
        json!({
            "more": self.more,
            "from": self.from,
            "to": self.from + WINDOW,
            "note": format!("另有{}次被拒访问未逐条记录（每人每分钟逐条记录前{PER_WINDOW}次）", self.more),
        })
    }
}

/// The per-user windows.
#[derive(Default)]
pub(crate) struct RefusalLimiter {
    windows: Mutex<HashMap<Key, Window>>,
}

impl RefusalLimiter {
    /// Whether the refusal of `key` at `now` is recorded one by one, and the summaries of every
    /// window that has closed by `now` (to be written first).
    pub(crate) fn admit(&self, key: Key, now: DateTime<Utc>) -> (bool, Vec<Summary>) {
        let Ok(mut windows) = self.windows.lock() else {
            return (true, Vec::new());
        };
        let closed = close(&mut windows, now);
        let w = windows.entry(key).or_insert(Window {
            started: now,
            recorded: 0,
            suppressed: 0,
        });
        let record = w.recorded < PER_WINDOW;
        if record {
            w.recorded += 1;
        } else {
            w.suppressed += 1;
        }
        (record, closed)
    }

    /// The summaries of every window closed by `now`.
    pub(crate) fn closed(&self, now: DateTime<Utc>) -> Vec<Summary> {
        match self.windows.lock() {
            Ok(mut windows) => close(&mut windows, now),
            Err(_) => Vec::new(),
        }
    }
}

fn close(windows: &mut HashMap<Key, Window>, now: DateTime<Utc>) -> Vec<Summary> {
    let done: Vec<Key> = windows
        .iter()
        .filter(|(_, w)| w.started + WINDOW <= now)
        .map(|(k, _)| k.clone())
        .collect();
    let mut out: Vec<Summary> = done
        .into_iter()
        .filter_map(|k| {
            let w = windows.remove(&k)?;
            (w.suppressed > 0).then_some(Summary {
                key: k,
                from: w.started,
                more: w.suppressed,
            })
        })
        .collect();
    out.sort_by_key(|s| s.from);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_recorded_up_to_the_cap_then_summarised_once() {
        let l = RefusalLimiter::default();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let key = (1, Some(7), "jishu".to_string());
        let mut recorded = 0;
        for i in 0..1000 {
            let (r, closed) = l.admit(key.clone(), t0 + Duration::milliseconds(i * 50));
            assert!(closed.is_empty());
            recorded += u32::from(r);
        }
        assert_eq!(recorded, PER_WINDOW);
        // Another user has a window of their own.
        assert!(l.admit((1, Some(8), "gaohe".into()), t0).0);
        assert!(l.closed(t0 + WINDOW - Duration::milliseconds(1)).is_empty());
        let closed = l.closed(t0 + WINDOW);
        assert_eq!(
            closed,
            vec![Summary {
                key: key.clone(),
                from: t0,
                more: 1000 - u64::from(PER_WINDOW)
            }]
        );
        assert!(l.closed(t0 + WINDOW).is_empty(), "summarised once");
        // The next window starts afresh.
        assert!(l.admit(key, t0 + WINDOW * 2).0);
    }
}
