//! A data row read into what its importer needs, every cell's problem reported with its column:
//! a member ([`member_row`]), an organisation ([`org_row`]) or a ledger record ([`ledger_row`]).
//! What needs the database — the organisation a row names, the people a record names, a person
//! already on file — is left as text for the importer to look up; the store checks the rest
//! again when it writes.

use super::cell::{Cell, Row};
use super::header::{HeaderMap, LEDGER_DATE, LEDGER_KEY, LEDGER_ORG};
use super::normalize::{self as n, CellError};
use chrono::NaiveDate;
use serde_json::{Map, Value};
use taizhang_domain::ledger::{FieldKind, LedgerTypeDef};
use taizhang_domain::org::{is_valid_code, validate_name, OrgKind};
use taizhang_domain::person::{
    check_person, check_profile, PartyProfile, PersonInput, ProfileInput,
};
use taizhang_domain::phrasing::scaled;
use taizhang_domain::{IdNumber, Phone};

/// A member sheet's row, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub name: String,
    /// "男" or "女": as given, or from the 身份证号.
    pub gender: Option<String>,
    pub id_number: Option<IdNumber>,
    pub phone: Option<Phone>,
    /// The branch as the sheet names it (a name, a code or a path), for the importer to find.
    pub branch: String,
    pub birth_date: Option<NaiveDate>,
    /// 民族, 学历, 人员类别, 入党日期, 转正日期, checked by the domain's profile rules.
    pub profile: PartyProfile,
    /// 党员: whether the person is a Party member (a member sheet's rows are, unless it says 否).
    pub party_member: Option<bool>,
    /// 退休: none where the sheet does not say.
    pub retired: Option<bool>,
}

/// An organisation sheet's row, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRow {
    pub name: String,
    pub code: Option<String>,
    /// The parent as the sheet names it (a name or a code).
    pub parent: Option<String>,
    /// The names from the top down to the parent or to the organisation itself, as given.
    pub path: Option<Vec<String>>,
    pub kind: Option<OrgKind>,
    pub founded_on: Option<NaiveDate>,
}

/// A ledger sheet's row: the record's values as `LedgerTypeDef::validate_record` takes them,
/// and the people and organisation fields as the sheet names them, to be looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerRow {
    pub org: String,
    /// The row's key (编号), when the sheet has a key column: at most 100 characters.
    pub key: Option<String>,
    pub occurred_on: NaiveDate,
    pub values: Map<String, Value>,
    /// (field key, names or 身份证号 as written) of each people or organisation field.
    pub references: Vec<(String, Vec<String>)>,
}

/// Collects one row's problems, each with the column it belongs to.
struct Problems<'h> {
    header: &'h HeaderMap,
    errors: Vec<CellError>,
}

impl<'h> Problems<'h> {
    fn new(header: &'h HeaderMap) -> Self {
        Problems {
            header,
            errors: Vec::new(),
        }
    }

    fn label(&self, key: &str) -> String {
        self.header.label(key)
    }

    /// The value, or none with its error noted under `key`'s column.
    fn take<T>(&mut self, key: &str, read: Result<Option<T>, CellError>) -> Option<T> {
        match read {
            Ok(v) => v,
            Err(e) => {
                self.push(key, e);
                None
            }
        }
    }

    /// `key`'s cell read by `reader` (given the column's header for its messages), or none
    /// with its error noted.
    fn read<T>(
        &mut self,
        row: &Row,
        key: &str,
        reader: impl FnOnce(&Cell, &str) -> Result<Option<T>, CellError>,
    ) -> Option<T> {
        let read = reader(self.header.cell(row, key), &self.label(key));
        self.take(key, read)
    }

    fn push(&mut self, key: &str, e: CellError) {
        self.errors.push(self.header.place(e, key));
    }

    fn required(&mut self, key: &str, value: Option<String>) -> String {
        value.unwrap_or_else(|| {
            let message = format!("请填写“{}”", self.label(key));
            self.push(key, CellError::new("field.required", message));
            String::new()
        })
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<CellError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }
}

/// Reads a member row; `today` is the day 身份证号 birth dates are checked against.
pub fn member_row(
    header: &HeaderMap,
    row: &Row,
    today: NaiveDate,
) -> Result<MemberRow, Vec<CellError>> {
    let mut p = Problems::new(header);
    let cell = |key: &str| header.cell(row, key);
    let name_text = n::text(cell("name"));
    let id = p.read(row, "id_number", |c, l| n::id_number(c, l, today));
    let phone = p.read(row, "phone", n::phone);
    let gender = p.read(row, "gender", n::gender);
    let checked = check_person(
        PersonInput {
            name: name_text.as_deref().unwrap_or(""),
            gender: gender.map(|g| g.label_cn()),
            id_number: id.as_ref().map(IdNumber::as_str),
            phone: phone.as_ref().map(Phone::as_str),
        },
        today,
    );
    let person = match checked {
        Ok(person) => Some(person),
        Err(errors) => {
            for e in errors {
                let key = if e.field == "name" {
                    "name"
                } else {
                    e.field.as_str()
                };
                let message = if e.code == "person.bad_name" {
                    format!("请填写“{}”", p.label("name"))
                } else {
                    e.message
                };
                p.push(key, CellError::new(&e.code, message));
            }
            None
        }
    };
    let birth_date = p.read(row, "birth_date", n::calendar_date);
    if let (Some(b), Some(id)) = (birth_date, &id) {
        if b != id.birth_date() {
            let message = format!(
                "“{}”与身份证号中的出生日期（{}）不一致",
                p.label("birth_date"),
                id.birth_date().format("%Y-%m-%d")
            );
            p.push(
                "birth_date",
                CellError::new("import.birth_date_mismatch", message),
            );
        }
    }
    let party_member = p.read(row, "party_member", n::yes_no);
    let retired = p.read(row, "retired", n::yes_no);
    let joined_on = p.read(row, "joined_on", n::calendar_date);
    let confirmed_on = p.read(row, "confirmed_on", n::calendar_date);
    let [ethnicity, education, category] =
        ["ethnicity", "education", "category"].map(|key| n::text(cell(key)));
    let checked_profile = check_profile(
        ProfileInput {
            ethnicity: ethnicity.as_deref(),
            education: education.as_deref(),
            category: category.as_deref(),
            joined_on,
            confirmed_on,
        },
        id.as_ref().map(IdNumber::birth_date).or(birth_date),
        party_member.unwrap_or(true),
        today,
    );
    let profile = match checked_profile {
        Ok(profile) => profile,
        Err(errors) => {
            for e in errors {
                let message = in_sheet_terms(&p, e.message);
                p.push(&e.field, CellError::new(&e.code, message));
            }
            PartyProfile::default()
        }
    };
    let branch = p.required("branch", n::text(cell("branch")));
    let Some(person) = person else {
        return Err(p.errors);
    };
    p.finish(MemberRow {
        name: person.name,
        gender: person.gender,
        id_number: person.id_number,
        phone: person.phone,
        branch,
        birth_date,
        profile,
        party_member,
        retired,
    })
}

/// A domain message about a profile, naming each column as the sheet's header does.
fn in_sheet_terms(p: &Problems<'_>, message: String) -> String {
    [
        ("ethnicity", "民族"),
        ("education", "学历"),
        ("category", "人员类别"),
        ("joined_on", "入党日期"),
        ("confirmed_on", "转正日期"),
    ]
    .iter()
    .filter(|(key, _)| p.header.column(key).is_some())
    .fold(message, |m, (key, standard)| {
        m.replace(&format!("“{standard}”"), &format!("“{}”", p.label(key)))
    })
}

/// Reads an organisation row.
pub fn org_row(header: &HeaderMap, row: &Row) -> Result<OrgRow, Vec<CellError>> {
    let mut p = Problems::new(header);
    let cell = |key: &str| header.cell(row, key);
    let name = match validate_name(&n::text(cell("name")).unwrap_or_default(), "field.required") {
        Ok(name) => name,
        Err(e) => {
            let label = p.label("name");
            let message = if e.code == "field.required" {
                format!("请填写“{label}”")
            } else {
                format!("“{label}”：{}", e.message)
            };
            p.push("name", CellError::new(&e.code, message));
            String::new()
        }
    };
    let code = n::text(cell("code")).map(|c| n::fold_width(&c).to_ascii_uppercase());
    if let Some(c) = &code {
        if !is_valid_code(c) {
            let message = format!(
                "“{}”应为6、9或12位数字的区划代码，或18位统一社会信用代码",
                p.label("code")
            );
            p.push("code", CellError::new("import.bad_org_code", message));
        }
    }
    let parent = n::text(cell("parent"));
    let path = p.read(row, "path", n::org_path);
    let kind = p.read(row, "kind", n::org_kind);
    let founded_on = p.read(row, "founded_on", n::date);
    p.finish(OrgRow {
        name,
        code,
        parent,
        path,
        kind,
        founded_on,
    })
}

/// Names in one cell: split at "、", ",", "，", ";", "；" or line breaks.
fn names(s: &str) -> Vec<String> {
    s.split(['、', ',', '，', ';', '；', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Reads a ledger record row of type `def`, and checks its values by the type's rules.
pub fn ledger_row(
    def: &LedgerTypeDef,
    header: &HeaderMap,
    row: &Row,
) -> Result<LedgerRow, Vec<CellError>> {
    let mut p = Problems::new(header);
    let org = p.required(LEDGER_ORG, n::text(header.cell(row, LEDGER_ORG)));
    let occurred_on = p.read(row, LEDGER_DATE, n::date);
    if occurred_on.is_none()
        && !p
            .errors
            .iter()
            .any(|e| e.column == header.column(LEDGER_DATE))
    {
        let message = format!("请填写“{}”", p.label(LEDGER_DATE));
        p.push(LEDGER_DATE, CellError::new("field.required", message));
    }
    let mut values = Map::new();
    let mut references = Vec::new();
    let mut unread = Vec::new();
    for f in def.active_fields() {
        let Some(column) = header.column(&f.key) else {
            continue;
        };
        let cell = row.cell(column);
        let label = p.label(&f.key);
        let value = match &f.kind {
            FieldKind::Text { .. } | FieldKind::LongText { .. } => {
                Ok(n::text(cell).map(Value::from))
            }
            FieldKind::Integer { .. } => n::integer(cell, &label).map(|v| v.map(Value::from)),
            FieldKind::Decimal { scale, .. } => {
                n::decimal(cell, &label, *scale).map(|v| v.map(|v| Value::from(scaled(v, *scale))))
            }
            FieldKind::Date => n::date(cell, &label)
                .map(|v| v.map(|d| Value::from(d.format("%Y-%m-%d").to_string()))),
            FieldKind::Choice { options, .. } => {
                n::choice(cell, &label, options).map(|v| v.map(Value::from))
            }
            FieldKind::MultiChoice { options } => {
                n::multi_choice(cell, &label, options).map(|v| v.map(Value::from))
            }
            FieldKind::People { .. } | FieldKind::Organisation => {
                if let Some(s) = n::text(cell) {
                    references.push((f.key.clone(), names(&s)));
                }
                Ok(None)
            }
            FieldKind::Attachment { .. } => match n::text(cell) {
                None => Ok(None),
                Some(_) => Err(CellError::new(
                    "import.attachment",
                    format!("“{label}”是附件，不能从表格导入：请清空该列，导入后在页面上传"),
                )),
            },
        };
        match value {
            Ok(Some(v)) => {
                values.insert(f.key.clone(), v);
            }
            Ok(None) => {}
            Err(e) => {
                unread.push(f.key.clone());
                p.push(&f.key, e);
            }
        }
    }
    // The type's own rules, for the values read: ranges, lengths, required fields. A field
    // already refused above, or named for looking up, is not reported twice.
    if let Err(errors) = def.validate_record(&values) {
        for e in errors {
            let pending = references.iter().any(|(k, _)| *k == e.field);
            if unread.contains(&e.field) || (pending && e.code == "field.required") {
                continue;
            }
            let key = e.field.clone();
            p.push(&key, CellError::new(&e.code, e.message));
        }
    }
    let key = n::text(header.cell(row, LEDGER_KEY));
    if key
        .as_ref()
        .is_some_and(|k| k.chars().count() > 100 || k.chars().any(char::is_control))
    {
        let message = format!("“{}”不能超过100个字，也不能含控制字符", p.label(LEDGER_KEY));
        p.push(LEDGER_KEY, CellError::new("import.bad_key", message));
    }
    let occurred_on = occurred_on.unwrap_or_default();
    p.finish(LedgerRow {
        org,
        key,
        occurred_on,
        values,
        references,
    })
}
