//! What a sheet names in words — an organisation by code, path or name, a person by 身份证号 or
//! name — found in the importer's scope, so that each row becomes a record the store checks.

use std::collections::HashMap;
use taizhang_office::import::normalize::CellError;
use taizhang_store::imports::PersonRef;
use taizhang_store::{Actor, Org, Store, StoreResult};

/// Organisations read at a time while the index is built.
const ORG_PAGE: i64 = 2_000;

/// The organisations the importer may see, by code, by name and by path. An organisation
/// sheet's import adds the rows it is about to create (with ids below zero) as it places them.
#[derive(Clone)]
pub(crate) struct OrgIndex {
    by_code: HashMap<String, i64>,
    by_name: HashMap<String, Vec<i64>>,
    /// Each organisation's names from the root down to it.
    paths: HashMap<i64, Vec<String>>,
    /// Each organisation's parent, where the importer sees it.
    parents: HashMap<i64, i64>,
}

impl OrgIndex {
    pub(crate) async fn load(store: &Store, actor: &Actor) -> StoreResult<OrgIndex> {
        let mut orgs: Vec<(Org, Option<String>)> = Vec::new();
        let mut after = 0;
        loop {
            let page = store.orgs_after(actor, after, ORG_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.0.id.get();
            let n = page.len();
            orgs.extend(page);
            if (n as i64) < ORG_PAGE {
                break;
            }
        }
        let parents: HashMap<i64, (Option<i64>, String)> = orgs
            .iter()
            .map(|(o, _)| (o.id.get(), (o.parent_id.map(|p| p.get()), o.name.clone())))
            .collect();
        let mut index = OrgIndex {
            by_code: HashMap::new(),
            by_name: HashMap::new(),
            paths: HashMap::new(),
            parents: orgs
                .iter()
                .filter_map(|(o, _)| Some((o.id.get(), o.parent_id?.get())))
                .collect(),
        };
        // The name of the parent of each organisation (the top one's parent may be out of sight).
        let parent_names: HashMap<i64, &str> = orgs
            .iter()
            .filter_map(|(o, n)| Some((o.id.get(), n.as_deref()?)))
            .collect();
        for (o, _) in &orgs {
            let id = o.id.get();
            if let Some(code) = &o.code {
                index.by_code.insert(code.clone(), id);
            }
            index
                .by_name
                .entry(core_name(&o.name).to_string())
                .or_default()
                .push(id);
            // Up through the parents the importer sees, and the name of the one above the top
            // (so that a township cadre's "金乡县/鸡黍镇/…" still names the county). The bound
            // only guards the loop: the tree has no cycles.
            let mut path = vec![o.name.clone()];
            let mut at = id;
            while path.len() <= 64 {
                let Some(up) = parents.get(&at).and_then(|p| p.0) else {
                    break;
                };
                match parents.get(&up) {
                    Some((_, name)) => {
                        path.push(name.clone());
                        at = up;
                    }
                    None => {
                        path.extend(parent_names.get(&at).map(|n| n.to_string()));
                        break;
                    }
                }
            }
            path.reverse();
            index.paths.insert(id, path);
        }
        Ok(index)
    }

    /// Adds an organisation about to be created (`id`, below zero for one not yet written)
    /// under `parent`, so that the rows below it can name it.
    pub(crate) fn add(&mut self, id: i64, name: &str, code: Option<&str>, parent: i64) {
        if let Some(code) = code {
            self.by_code.insert(code.to_string(), id);
        }
        self.by_name
            .entry(core_name(name).to_string())
            .or_default()
            .push(id);
        let mut path = self.paths.get(&parent).cloned().unwrap_or_default();
        path.push(name.to_string());
        self.paths.insert(id, path);
        self.parents.insert(id, parent);
    }

    /// The organisation with this code.
    pub(crate) fn by_code(&self, code: &str) -> Option<i64> {
        self.by_code.get(code).copied()
    }

    /// The organisation under `parent` with this name (compared by its core name).
    pub(crate) fn child_named(&self, parent: i64, name: &str) -> Option<i64> {
        self.by_name
            .get(core_name(name))?
            .iter()
            .copied()
            .find(|id| self.parents.get(id) == Some(&parent))
    }

    /// The organisation a cell names: `o{id}`, a code, a path ("鸡黍镇/西李村", levels between
    /// may be left out) or a name unique in the importer's scope.
    pub(crate) fn find(&self, text: &str, label: &str) -> Result<i64, CellError> {
        let t = text.trim();
        if let Some(id) = t
            .strip_prefix('o')
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|id| self.paths.contains_key(id))
        {
            return Ok(id);
        }
        if let Some(id) = self.by_code.get(t) {
            return Ok(*id);
        }
        let segments: Vec<&str> = t
            .split(['/', '／', '>', '＞', '\\'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let Some(last) = segments.last() else {
            return Err(not_found(label, t));
        };
        let candidates: Vec<i64> = self
            .by_name
            .get(core_name(last))
            .map(|ids| {
                ids.iter()
                    .copied()
                    .filter(|id| {
                        self.paths
                            .get(id)
                            .is_some_and(|p| path_ends_with(p, &segments))
                    })
                    .collect()
            })
            .unwrap_or_default();
        match candidates.as_slice() {
            [one] => Ok(*one),
            [] => Err(not_found(label, t)),
            _ => Err(CellError::new(
                "import.org_ambiguous",
                format!("“{label}”中的“{t}”对应多个组织，请填写组织编码或从上级写起的完整路径"),
            )),
        }
    }
}

/// A name as sheets shorten it: without "中共" before it or "党委", "党支部", "党总支" … after it,
/// and "县委" as "县" ("中共金乡县委", "金乡县委" and "金乡县" are one name; "鸡黍镇党委" is "鸡黍镇").
pub(crate) fn core_name(name: &str) -> &str {
    let n = name.trim();
    let n = n.strip_prefix("中共").unwrap_or(n);
    for suffix in [
        "党总支部委员会",
        "党支部委员会",
        "党委员会",
        "党工委",
        "党总支",
        "党支部",
        "党委",
    ] {
        if let Some(rest) = n.strip_suffix(suffix) {
            if !rest.is_empty() {
                return rest;
            }
        }
    }
    for level in ["县委", "市委", "区委", "镇委", "乡委"] {
        if n.ends_with(level) && n.len() > level.len() {
            return &n[..n.len() - "委".len()];
        }
    }
    n
}

/// Whether `segments` name the organisation at the end of `path`: the last segment is the
/// organisation itself and the others its ancestors in order, each compared by its core name.
/// Levels may be skipped ("鸡黍镇/李集村" for a village under a 管区), none may be wrong.
fn path_ends_with(path: &[String], segments: &[&str]) -> bool {
    let (Some(last), Some(own)) = (segments.last(), path.last()) else {
        return false;
    };
    if core_name(last) != core_name(own) {
        return false;
    }
    let mut wanted = segments[..segments.len() - 1].iter().rev().peekable();
    for ancestor in path[..path.len() - 1].iter().rev() {
        if wanted
            .peek()
            .is_some_and(|w| core_name(w) == core_name(ancestor))
        {
            wanted.next();
        }
    }
    wanted.peek().is_none()
}

fn not_found(label: &str, t: &str) -> CellError {
    CellError::new(
        "import.org_not_found",
        format!("“{label}”中的“{t}”不是您可管理的组织，请核对组织名称或编码"),
    )
}

/// The people of a batch, looked up once: by 身份证号, and by name.
#[derive(Default)]
pub(crate) struct PeopleIndex {
    by_number: HashMap<String, PersonRef>,
    by_name: HashMap<String, Vec<PersonRef>>,
}

/// Names or numbers looked up per call.
const LOOKUP_CHUNK: usize = 1_000;

impl PeopleIndex {
    pub(crate) async fn load(
        store: &Store,
        actor: &Actor,
        words: impl IntoIterator<Item = String>,
        today: chrono::NaiveDate,
    ) -> StoreResult<PeopleIndex> {
        let mut numbers = Vec::new();
        let mut names = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for w in words {
            if !seen.insert(w.clone()) {
                continue;
            }
            match taizhang_domain::IdNumber::parse(&w, today) {
                Ok(n) => numbers.push(n),
                Err(_) => names.push(w),
            }
        }
        let mut index = PeopleIndex::default();
        for chunk in numbers.chunks(LOOKUP_CHUNK) {
            for (n, p) in store.people_by_id_numbers(actor, chunk).await? {
                index.by_number.insert(n, p);
            }
        }
        for chunk in names.chunks(LOOKUP_CHUNK) {
            for p in store.people_named(actor, chunk).await? {
                index.by_name.entry(p.name.clone()).or_default().push(p);
            }
        }
        Ok(index)
    }

    /// The person a sheet names for a record of organisation `org_id`: by 身份证号, or by a
    /// name that is unique in scope (or unique among the record's organisation's people).
    pub(crate) fn find(
        &self,
        word: &str,
        org_id: Option<i64>,
        label: &str,
        today: chrono::NaiveDate,
    ) -> Result<i64, CellError> {
        if let Ok(n) = taizhang_domain::IdNumber::parse(word, today) {
            return self
                .by_number
                .get(n.as_str())
                .map(|p| p.id.get())
                .ok_or_else(|| {
                    CellError::new(
                        "import.person_not_found",
                        format!("“{label}”中的身份证号不是您可管理的人员"),
                    )
                });
        }
        let all = self.by_name.get(word).map(Vec::as_slice).unwrap_or(&[]);
        match all {
            [one] => Ok(one.id.get()),
            [] => Err(CellError::new(
                "import.person_not_found",
                format!("“{label}”中的“{word}”不是您可管理的人员，请先登记该人员"),
            )),
            many => {
                let here: Vec<&PersonRef> =
                    many.iter().filter(|p| Some(p.org_id) == org_id).collect();
                match here.as_slice() {
                    [one] => Ok(one.id.get()),
                    _ => Err(CellError::new(
                        "import.person_ambiguous",
                        format!("“{label}”中的“{word}”有重名，请改填身份证号"),
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_are_compared_without_their_party_suffixes() {
        assert_eq!(core_name("中共金乡县委"), "金乡县");
        assert_eq!(core_name("金乡县委"), "金乡县");
        assert_eq!(core_name("鸡黍镇党委"), "鸡黍镇");
        assert_eq!(core_name("西李村党支部"), "西李村");
        assert_eq!(core_name("县直机关党工委"), "县直机关");
        assert_eq!(core_name("党支部"), "党支部");
        assert_eq!(core_name(" 寻庄村 "), "寻庄村");
    }

    #[test]
    fn a_path_names_its_ancestors_in_order_and_may_skip_levels() {
        let p = path(&[
            "中共金乡县委",
            "鸡黍镇党委",
            "鸡黍镇第一管区",
            "西李村党支部",
        ]);
        assert!(path_ends_with(&p, &["西李村"]));
        assert!(path_ends_with(&p, &["鸡黍镇", "西李村"]));
        assert!(path_ends_with(&p, &["金乡县", "鸡黍镇", "西李村"]));
        assert!(path_ends_with(&p, &["鸡黍镇第一管区", "西李村党支部"]));
        assert!(!path_ends_with(&p, &["王丕镇", "西李村"]));
        assert!(!path_ends_with(&p, &["金乡县", "王丕镇", "西李村"]));
        assert!(
            !path_ends_with(&p, &["鸡黍镇", "金乡县", "西李村"]),
            "out of order"
        );
        assert!(!path_ends_with(&p, &["鸡黍镇"]));
        assert!(!path_ends_with(&p, &[]));
    }
}
