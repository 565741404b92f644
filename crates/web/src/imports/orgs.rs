//! An organisation sheet (导入组织): each row an organisation under its parent, named by code,
//! name or path ("金乡县/鸡黍镇/西李村"). The whole sheet is read first (the ledger import's
//! reading pass, [`super::run`]), then each row is placed: under an organisation the importer
//! may see, or under another row of the sheet, whatever the rows' order. A row whose parent
//! cannot be found, or that is its own ancestor through other rows, is refused with its reason.
//! An organisation already there (the same code, or the same name under the same parent) is
//! counted as unchanged, so importing the sheet again creates nothing twice. The store writes
//! the new ones in one transaction (`bulk_orgs`, `create_org`'s checks): all or nothing, or only
//! the valid rows and those below them.

use super::resolve::{core_name, OrgIndex};
use super::run::{Parser, Pass, Ran, Rows, Run, RunError};
use taizhang_domain::import::{ImportMode, ImportState};
use taizhang_domain::OrgId;
use taizhang_office::import::header::{HeaderMap, Target};
use taizhang_office::import::normalize::{join_errors, CellError};
use taizhang_office::import::rows::{org_row, OrgRow};
use taizhang_office::import::Row;
use taizhang_store::{BulkOrg, BulkOrgOutcome, BulkParent, NewOrg, StoreError};

/// The most rows an organisation sheet may have: every organisation of a large county many
/// times over, placed in one transaction.
const MAX_ORG_ROWS: i64 = 50_000;

/// The rows read, kept until the whole sheet is in.
#[derive(Default)]
struct OrgRows {
    rows: Vec<(Row, OrgRow)>,
    header: Option<HeaderMap>,
}

impl Rows for OrgRows {
    type Parsed = Result<OrgRow, Vec<CellError>>;

    fn target(&self) -> Target {
        Target::organisations()
    }

    fn parser(&self) -> Parser<Self::Parsed> {
        Box::new(org_row)
    }

    async fn batch(
        &mut self,
        _run: &Run<'_>,
        batch: Vec<(Row, Self::Parsed)>,
        header: &HeaderMap,
        _write: bool,
        pass: &mut Pass,
    ) -> Result<(), StoreError> {
        if self.header.is_none() {
            self.header = Some(header.clone());
        }
        pass.counts.rows_read += batch.len() as i64;
        for (row, parsed) in batch {
            match parsed {
                Ok(o) => self.rows.push((row, o)),
                Err(e) => pass.reject(row, join_errors(&e)),
            }
        }
        Ok(())
    }
}

/// Where a row of the sheet ended up while placing.
enum Placed {
    /// Not placed yet: its parent is not found (so far).
    Pending,
    /// Already there: nothing to write.
    Existing,
    /// To be created by the `bulk_orgs` call.
    New,
    Refused(Vec<CellError>),
}

/// Reads the whole sheet, places every row and has the store write the new organisations.
pub(super) async fn run(run: &Run<'_>) -> Result<Ran, RunError> {
    let mut rows = OrgRows::default();
    let mut pass = match run.pass(&mut rows, false).await? {
        Ok(p) => p,
        Err(m) => return Ok(Err(m)),
    };
    if pass.counts.rows_read > MAX_ORG_ROWS {
        return Ok(Err(format!(
            "组织表最多{MAX_ORG_ROWS}行，本表有{}行，请分成几个文件导入",
            pass.counts.rows_read
        )));
    }
    let Some(header) = rows.header.take() else {
        return Ok(Ok((ImportState::Done, pass)));
    };
    let sheet = rows.rows;
    let label = |key: &str| header.label(key);
    let at = |e: CellError, key: &str| header.place(e, key);
    // Each row's parent as text, the column it came from, or its error.
    let mut placed: Vec<Placed> = Vec::with_capacity(sheet.len());
    let mut parents: Vec<(String, &'static str)> = Vec::with_capacity(sheet.len());
    for (_, o) in &sheet {
        match parent_text(o) {
            Ok(p) => {
                parents.push(p);
                placed.push(Placed::Pending);
            }
            // The county's 县委 (or any organisation already there by its code) needs no
            // parent to be found: it is unchanged.
            Err(_)
                if o.code
                    .as_deref()
                    .and_then(|c| run.orgs.by_code(c))
                    .is_some() =>
            {
                parents.push((String::new(), "parent"));
                placed.push(Placed::Existing);
            }
            Err(message) => {
                parents.push((String::new(), "parent"));
                let key = if header.column("parent").is_some() {
                    "parent"
                } else {
                    "path"
                };
                placed.push(Placed::Refused(vec![at(
                    CellError::new("import.no_parent", message),
                    key,
                )]));
            }
        }
    }
    // Rounds of placing: each round places the rows whose parent is known by now, until a
    // round places none.
    let mut index: OrgIndex = run.orgs.clone();
    let mut bulk: Vec<BulkOrg> = Vec::new();
    let mut bulk_rows: Vec<usize> = Vec::new();
    loop {
        let mut progress = false;
        for i in 0..sheet.len() {
            if !matches!(placed[i], Placed::Pending) {
                continue;
            }
            let o = &sheet[i].1;
            let (text, key) = &parents[i];
            let parent = match index.find(text, &label(key)) {
                Ok(id) => id,
                Err(e) if e.code == "import.org_not_found" => continue,
                Err(e) => {
                    placed[i] = Placed::Refused(vec![at(e, key)]);
                    continue;
                }
            };
            progress = true;
            let existing = o
                .code
                .as_deref()
                .and_then(|c| index.by_code(c))
                .or_else(|| index.child_named(parent, &o.name));
            if existing.is_some() {
                placed[i] = Placed::Existing;
                continue;
            }
            let Some(kind) = o.kind else {
                let message = format!("请填写“{}”", label("kind"));
                placed[i] =
                    Placed::Refused(vec![at(CellError::new("field.required", message), "kind")]);
                continue;
            };
            let at_bulk = bulk.len();
            bulk.push(BulkOrg {
                parent: if parent < 0 {
                    BulkParent::Row((-parent - 1) as usize)
                } else {
                    BulkParent::Org(OrgId::new(parent))
                },
                org: NewOrg {
                    kind,
                    name: o.name.clone(),
                    code: o.code.clone(),
                    established_on: o.founded_on,
                },
            });
            bulk_rows.push(i);
            index.add(-(at_bulk as i64) - 1, &o.name, o.code.as_deref(), parent);
            placed[i] = Placed::New;
        }
        if !progress {
            break;
        }
    }
    // The rows left: their parent is missing, refused, or among themselves (a cycle). Each is
    // told by the state of the others before any of them is refused here.
    let left: Vec<usize> = (0..sheet.len())
        .filter(|&i| matches!(placed[i], Placed::Pending))
        .collect();
    let mut reasons = Vec::with_capacity(left.len());
    for &i in &left {
        let (text, key) = &parents[i];
        let named = |j: usize| j != i && names_row(text, &sheet[j].1);
        let message = if let Some(j) =
            (0..sheet.len()).find(|&j| named(j) && matches!(placed[j], Placed::Refused(_)))
        {
            format!(
                "上级组织“{text}”（第{}行）有错误未能导入，请一并改正",
                sheet[j].0.number
            )
        } else if left.iter().any(|&j| named(j)) {
            format!("上级组织“{text}”与本表中的下级组织互为上级（循环），无法确定上下级关系")
        } else {
            format!(
                "“{}”中的上级组织“{text}”不存在或不是您可管理的组织，请核对名称、编码或路径",
                label(key)
            )
        };
        reasons.push(at(CellError::new("import.parent_not_found", message), key));
    }
    for (i, reason) in left.into_iter().zip(reasons) {
        placed[i] = Placed::Refused(vec![reason]);
    }
    let refused_before = placed.iter().any(|p| matches!(p, Placed::Refused(_)));
    let all = run.source.import.mode == ImportMode::All;
    // All or nothing with a row already refused: the store only checks the others.
    let write = !(all && refused_before);
    let outcomes = if bulk.is_empty() {
        Vec::new()
    } else {
        run.store
            .bulk_orgs(run.actor, &bulk, write, all)
            .await
            .map_err(|e| format!("导入中断：{e}"))?
    };
    for (k, outcome) in outcomes.into_iter().enumerate() {
        let i = bulk_rows[k];
        match outcome {
            BulkOrgOutcome::Written(_) => {
                pass.counts.accepted += 1;
                pass.counts.written += 1;
            }
            BulkOrgOutcome::Passed(_) => pass.counts.accepted += 1,
            BulkOrgOutcome::Rejected(errors) => {
                placed[i] = Placed::Refused(
                    errors
                        .into_iter()
                        .map(|e| {
                            let key = match e.field.as_str() {
                                "parent" => parents[i].1,
                                "org" if e.code == "org.code_in_use" => "code",
                                "established_on" => "founded_on",
                                "org" => "name",
                                other => other,
                            };
                            at(CellError::new(&e.code, e.message), key)
                        })
                        .collect(),
                )
            }
        }
    }
    for (i, (row, _)) in sheet.into_iter().enumerate() {
        match std::mem::replace(&mut placed[i], Placed::Pending) {
            Placed::Existing => pass.counts.unchanged += 1,
            Placed::Refused(e) => pass.reject(row, join_errors(&e)),
            Placed::New | Placed::Pending => {}
        }
    }
    pass.rejected.sort_by_key(|(r, _)| r.number);
    let state = if all && pass.counts.rejected > 0 {
        ImportState::Refused
    } else {
        ImportState::Done
    };
    run.report(ImportState::Writing, &pass.counts).await?;
    Ok(Ok((state, pass)))
}

/// The parent a row names, and the column it names it in: the 上级组织 column, or the path
/// without the organisation itself at its end.
fn parent_text(o: &OrgRow) -> Result<(String, &'static str), String> {
    if let Some(p) = o.parent.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        return Ok((p.to_string(), "parent"));
    }
    let Some(path) = &o.path else {
        return Err("请填写上级组织或所在路径".to_string());
    };
    let mut names: &[String] = path;
    if names
        .last()
        .is_some_and(|last| core_name(last) == core_name(&o.name))
    {
        names = &names[..names.len() - 1];
    }
    if names.is_empty() {
        return Err("所在路径中没有上级组织，应写作“金乡县/鸡黍镇/西李村”".to_string());
    }
    Ok((names.join("/"), "path"))
}

/// Whether a parent's text names the organisation of this row (its code, or its name at the
/// end of the text).
fn names_row(text: &str, o: &OrgRow) -> bool {
    let last = text
        .rsplit(['/', '／', '>', '＞', '\\'])
        .next()
        .unwrap_or(text)
        .trim();
    o.code.as_deref() == Some(text.trim()) || core_name(last) == core_name(&o.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, parent: Option<&str>, path: Option<&[&str]>) -> OrgRow {
        OrgRow {
            name: name.into(),
            code: Some("370828005988".into()),
            parent: parent.map(String::from),
            path: path.map(|p| p.iter().map(|s| s.to_string()).collect()),
            kind: None,
            founded_on: None,
        }
    }

    #[test]
    fn a_row_names_its_parent_by_the_parent_column_or_its_path() {
        let by_parent = row("西李村", Some(" 鸡黍镇 "), Some(&["别处"]));
        assert_eq!(
            parent_text(&by_parent),
            Ok(("鸡黍镇".to_string(), "parent"))
        );
        // The path may end with the organisation itself, or stop at its parent.
        let own = row("西李村", None, Some(&["金乡县", "鸡黍镇", "西李村党支部"]));
        assert_eq!(parent_text(&own), Ok(("金乡县/鸡黍镇".to_string(), "path")));
        let up = row("西李村", None, Some(&["金乡县", "鸡黍镇"]));
        assert_eq!(parent_text(&up), Ok(("金乡县/鸡黍镇".to_string(), "path")));
        assert!(parent_text(&row("西李村", None, Some(&["西李村"]))).is_err());
        assert!(parent_text(&row("西李村", None, None)).is_err());
    }

    #[test]
    fn a_parent_text_names_a_row_by_code_or_by_its_last_name() {
        let village = row("西李村党支部", None, None);
        assert!(names_row("金乡县/鸡黍镇/西李村", &village));
        assert!(names_row("西李村", &village));
        assert!(names_row("370828005988", &village));
        assert!(!names_row("西李村/第一党小组", &village));
        assert!(!names_row("东李村", &village));
    }
}
