//! Every action and kind of object the code writes into the audit log has a Chinese name
//! (`taizhang_domain::audit::names`): the calls that write entries are found in the sources of
//! the store and the web layer, and the value each passes is checked. A call this reading does
//! not understand fails the test too, so that a new way of writing entries is looked at.

use std::path::{Path, PathBuf};
use taizhang_domain::audit::{ACTIONS, ENTITIES};

/// A function that writes (or hands on) an entry: where its action and its object's kind are
/// among the arguments, when they are.
struct Writer {
    name: &'static str,
    action: fn(&[String]) -> Option<usize>,
    entity: fn(&[String]) -> Option<usize>,
}

/// `audit_login_event` is called with the pools (`p`) in the store's queries, without them
/// through `dispatch!` and on the `Store`; only the first two forms name the object.
fn login_offset(args: &[String]) -> usize {
    usize::from(args.first().is_some_and(|a| a == "p"))
}

const WRITERS: &[Writer] = &[
    Writer {
        name: "audit_as",
        action: |_| Some(3),
        entity: |_| Some(4),
    },
    Writer {
        name: "audit",
        action: |_| Some(4),
        entity: |_| Some(5),
    },
    Writer {
        name: "finish_reset",
        action: |_| Some(3),
        entity: |_| None,
    },
    Writer {
        name: "decide",
        action: |_| Some(5),
        entity: |_| None,
    },
    Writer {
        name: "audit_attachment",
        action: |_| None,
        entity: |_| Some(3),
    },
    Writer {
        name: "audit_login_event",
        action: |a| Some(1 + login_offset(a)),
        entity: |a| (a.len() >= 4 + login_offset(a)).then(|| 2 + login_offset(a)),
    },
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The arguments of the call whose `(` is at `open`, as text, split at the top-level commas.
fn arguments(src: &str, open: usize) -> Vec<String> {
    let bytes = src.as_bytes();
    let (mut depth, mut i, mut start) = (0usize, open + 1, open + 1);
    let mut args = Vec::new();
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' if depth > 0 => depth -= 1,
            b')' => {
                args.push(src[start..i].trim().to_string());
                return args.into_iter().filter(|a| !a.is_empty()).collect();
            }
            b',' if depth == 0 => {
                args.push(src[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    panic!("unclosed call at {open}")
}

/// The text of a string literal argument, or of the first member of a tuple of one.
fn literal(arg: &str) -> Option<&str> {
    let arg = arg.trim_start_matches('(').trim_start_matches('&').trim();
    let rest = arg.strip_prefix('"')?;
    rest.split('"').next()
}

/// The name of the function the text at `at` is in.
fn enclosing_fn(src: &str, at: usize) -> &str {
    let start = src[..at].rfind("fn ").expect("inside a function") + 3;
    let name = &src[start..];
    &name[..name.find(['(', '<']).unwrap_or(0)]
}

/// The keys a local `let action = if … { "a" } else { "b" };` (or a tuple starting with the
/// key) can take, from the statement before `at` in the same function.
fn local_keys<'a>(src: &'a str, at: usize, var: &str) -> Vec<&'a str> {
    let body = &src[src[..at].rfind("fn ").unwrap_or(0)..at];
    let Some(let_at) = [format!("let {var} ="), format!("let ({var},")]
        .iter()
        .filter_map(|p| body.rfind(p.as_str()))
        .max()
    else {
        return Vec::new();
    };
    let statement = &body[let_at..let_at + body[let_at..].find(";\n").unwrap_or(0)];
    // The odd parts are inside quotes: a key stands alone in a block or opens a tuple, where a
    // JSON object's key is followed by a colon.
    let parts: Vec<&str> = statement.split('"').collect();
    (1..parts.len().saturating_sub(1))
        .step_by(2)
        .filter(|&i| {
            let before = parts[i - 1].trim_end().chars().last();
            let after = parts[i + 1].trim_start().chars().next();
            matches!(before, Some('{' | '('))
                && matches!(after, Some(',' | '}' | ')'))
                && !parts[i].contains(' ')
        })
        .map(|i| parts[i])
        .collect()
}

/// Where a key is written (file, offset and writer) and the key.
type Found = (String, String);

/// Every (file, action or entity, key) the code writes, and the calls it could not read.
fn written() -> (Vec<Found>, Vec<Found>, Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for crate_dir in ["store/src", "web/src"] {
        sources(&root.join(crate_dir), &mut files);
    }
    let (mut actions, mut entities, mut unread) = (Vec::new(), Vec::new(), Vec::new());
    let forwarders: Vec<&str> = WRITERS.iter().map(|w| w.name).collect();
    for file in files {
        // The definitions of the chain's append itself.
        if file.ends_with("backend/common.rs") {
            continue;
        }
        let src = std::fs::read_to_string(&file).expect("source");
        for w in WRITERS {
            let needle = format!("{}(", w.name);
            for (at, _) in src.match_indices(&needle) {
                let prev = src[..at].chars().last().unwrap_or(' ');
                let defined = src[..at].ends_with("fn ");
                if prev.is_alphanumeric() || prev == '_' || defined {
                    continue;
                }
                let args = arguments(&src, at + needle.len() - 1);
                let place = format!("{}:{at} {}", file.display(), w.name);
                let mut check =
                    |index: Option<usize>, var: &str, out: &mut Vec<(String, String)>| {
                        let Some(arg) = index.and_then(|i| args.get(i)) else {
                            return;
                        };
                        if let Some(key) = literal(arg) {
                            out.push((place.clone(), key.to_string()));
                        } else if arg == var && forwarders.contains(&enclosing_fn(&src, at)) {
                            // Handed on by a writer whose own callers are read.
                        } else if arg == var && !local_keys(&src, at, var).is_empty() {
                            for key in local_keys(&src, at, var) {
                                out.push((place.clone(), key.to_string()));
                            }
                        } else {
                            unread.push(format!("{place}: {var} = {arg}"));
                        }
                    };
                check((w.action)(&args), "action", &mut actions);
                check((w.entity)(&args), "entity", &mut entities);
            }
        }
    }
    (actions, entities, unread)
}

#[test]
fn every_audited_action_and_object_has_a_chinese_name() {
    let (actions, entities, unread) = written();
    assert!(unread.is_empty(), "calls to read by hand: {unread:#?}");
    assert!(actions.len() > 30 && entities.len() > 30, "{actions:?}");
    let unnamed = |found: &[Found], table: &[(&str, &str)]| -> Vec<String> {
        found
            .iter()
            .filter(|(_, key)| table.iter().all(|(k, _)| k != key))
            .map(|(place, key)| format!("{place}: {key}"))
            .collect()
    };
    assert_eq!(
        unnamed(&actions, ACTIONS),
        Vec::<String>::new(),
        "actions without a name"
    );
    assert_eq!(
        unnamed(&entities, ENTITIES),
        Vec::<String>::new(),
        "objects without a name"
    );
    // Both tables name only what is written (a stale name would hide a renamed key).
    for (table, found) in [(ACTIONS, &actions), (ENTITIES, &entities)] {
        for (key, _) in table {
            assert!(
                found.iter().any(|(_, k)| k == key),
                "{key} is never written"
            );
        }
    }
}
