//! A member sheet (导入党员): each row a person in their branch. The row is read and checked by
//! `member_row` (身份证号 check digit, birth date and gender against the number, phone), the
//! branch found among the organisations the importer may see, and the store matches the person
//! to the people on file by the blind index of their 身份证号: a new person is created, a
//! changed one updated (their id kept), the same one left alone. The runner's passes, counts,
//! progress and rejected rows are the ledger import's ([`super::run`]).

use super::run::{Parser, Pass, Rows, Run};
use std::collections::HashMap;
use taizhang_office::import::header::{HeaderMap, Target};
use taizhang_office::import::normalize::{join_errors, CellError};
use taizhang_office::import::rows::{member_row, MemberRow};
use taizhang_office::import::Row;
use taizhang_store::imports::{PersonImport, PersonImportOutcome};
use taizhang_store::StoreError;

/// The member sheet's rows, with the sheet row where each 身份证号 first appeared (a number
/// repeated further down is refused there, across batches too).
#[derive(Default)]
pub(super) struct PeopleRows {
    first_row: HashMap<String, u32>,
}

/// The column an error of the store's field belongs to.
fn field_key(field: &str) -> &str {
    match field {
        "org" => "branch",
        other => other,
    }
}

impl Rows for PeopleRows {
    type Parsed = Result<MemberRow, Vec<CellError>>;

    fn target(&self) -> Target {
        Target::members()
    }

    fn parser(&self) -> Parser<Self::Parsed> {
        let today = taizhang_store::today();
        Box::new(move |header: &HeaderMap, row: &Row| member_row(header, row, today))
    }

    async fn batch(
        &mut self,
        run: &Run<'_>,
        batch: Vec<(Row, Self::Parsed)>,
        header: &HeaderMap,
        write: bool,
        pass: &mut Pass,
    ) -> Result<(), StoreError> {
        let label = |key: &str| header.label(key);
        let at = |e: CellError, key: &str| header.place(e, key);
        let mut errors: Vec<Option<Vec<CellError>>> = vec![None; batch.len()];
        let mut people = Vec::new();
        let mut places = Vec::new();
        for (i, (row, parsed)) in batch.iter().enumerate() {
            let m = match parsed {
                Ok(m) => m,
                Err(e) => {
                    errors[i] = Some(e.clone());
                    continue;
                }
            };
            let mut problems = Vec::new();
            let org = match run.orgs.find(&m.branch, &label("branch")) {
                Ok(id) => Some(id),
                Err(e) => {
                    problems.push(at(e, "branch"));
                    None
                }
            };
            if let Some(n) = &m.id_number {
                let first = *self
                    .first_row
                    .entry(n.as_str().to_string())
                    .or_insert(row.number);
                if first != row.number {
                    let message = format!("“{}”与第{first}行重复", label("id_number"));
                    problems.push(at(
                        CellError::new("import.repeated_id_number", message),
                        "id_number",
                    ));
                }
            }
            match (org, problems.is_empty()) {
                (Some(org), true) => {
                    places.push(i);
                    people.push(PersonImport {
                        org_id: taizhang_domain::OrgId::new(org),
                        name: m.name.clone(),
                        gender: m.gender.clone(),
                        id_number: m.id_number.as_ref().map(|n| n.as_str().to_string()),
                        phone: m.phone.as_ref().map(|x| x.as_str().to_string()),
                        party_member: m.party_member.unwrap_or(true),
                        retired: m.retired,
                        profile: m.profile,
                    });
                }
                _ => errors[i] = Some(problems),
            }
        }
        let outcomes = run.store.import_people(run.actor, &people, write).await?;
        let n = &mut pass.counts;
        n.rows_read += batch.len() as i64;
        for (k, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                PersonImportOutcome::Created(_) => {
                    n.accepted += 1;
                    n.written += i64::from(write);
                }
                PersonImportOutcome::Updated(_) => {
                    n.accepted += 1;
                    n.updated += i64::from(write);
                }
                PersonImportOutcome::Unchanged(_) => n.unchanged += 1,
                PersonImportOutcome::Rejected(field_errors) => {
                    errors[places[k]] = Some(
                        field_errors
                            .into_iter()
                            .map(|e| {
                                let key = field_key(&e.field).to_string();
                                at(CellError::new(&e.code, e.message), &key)
                            })
                            .collect(),
                    );
                }
            }
        }
        for (i, (row, _)) in batch.into_iter().enumerate() {
            if let Some(e) = errors[i].take() {
                pass.reject(row, join_errors(&e));
            }
        }
        Ok(())
    }
}
