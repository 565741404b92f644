//! The header row: found among the first rows of a sheet (a title or a note may sit above it),
//! and its names matched to the fields of what is imported — by the field's Chinese name or one
//! of its aliases (the national Party-member information system's member and organisation
//! sheets' headers among them), tolerant of full-width characters, spaces and line breaks inside
//! a name, "*" marks and bracketed notes such as "（必填）" or "(YYYY-MM-DD)". A saved mapping
//! (header → field key, per county) overrides the matching.

use super::cell::{Cell, Row};
use super::reader::{Rows, HEADER_SEARCH_ROWS};
use super::ImportError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use taizhang_domain::ledger::LedgerTypeDef;

/// One field a column can be read into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetField {
    /// The field's key, as the saved mapping and the importer name it.
    pub key: String,
    /// Its header in Chinese, as the templates write it.
    pub label: String,
    /// Other headers that mean the same field.
    pub aliases: Vec<String>,
    pub required: bool,
}

/// What a sheet is imported into: its fields, and groups of which at least one must be present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub fields: Vec<TargetField>,
    pub one_of: Vec<Vec<String>>,
}

fn field(key: &str, label: &str, aliases: &[&str], required: bool) -> TargetField {
    TargetField {
        key: key.into(),
        label: label.into(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        required,
    }
}

/// The key of a ledger sheet's organisation column (not a ledger field key: those start with
/// a letter).
pub const LEDGER_ORG: &str = "_org";
/// The key of a ledger sheet's date column.
pub const LEDGER_DATE: &str = "_occurred_on";
/// The key of a ledger sheet's row key column (编号): when the sheet has one, it names each
/// record, so that importing the row again writes nothing twice.
pub const LEDGER_KEY: &str = "_key";

impl Target {
    /// The member sheet (党员信息), as the national system exports it.
    pub fn members() -> Target {
        Target {
            fields: vec![
                field("name", "姓名", &["名字", "党员姓名"], true),
                field("gender", "性别", &[], false),
                field(
                    "id_number",
                    "公民身份号码",
                    &[
                        "身份证号",
                        "身份证号码",
                        "身份证",
                        "公民身份证号码",
                        "居民身份证号码",
                        "证件号码",
                    ],
                    false,
                ),
                field("ethnicity", "民族", &[], false),
                field("birth_date", "出生日期", &["出生时间"], false),
                field("education", "学历", &["文化程度", "最高学历"], false),
                field("category", "人员类别", &["党员类别"], false),
                field("joined_on", "入党日期", &["入党时间"], false),
                field("confirmed_on", "转正日期", &["转正时间"], false),
                field(
                    "branch",
                    "所在党支部",
                    &[
                        "所在党组织",
                        "所属党支部",
                        "所属党组织",
                        "所在支部",
                        "党支部",
                        "党组织",
                        "所在组织",
                    ],
                    true,
                ),
                field("party_member", "党员", &["是否党员"], false),
                field("retired", "退休", &["是否退休"], false),
                field(
                    "phone",
                    "联系电话",
                    &["手机号码", "手机号", "手机", "联系方式", "电话", "电话号码"],
                    false,
                ),
            ],
            one_of: Vec::new(),
        }
    }

    /// The organisation sheet (党组织信息): each organisation placed under its parent, named by
    /// name or code, or by its path ("金乡县/鸡黍镇/西李村").
    pub fn organisations() -> Target {
        Target {
            fields: vec![
                field("name", "组织名称", &["党组织名称", "名称"], true),
                field(
                    "code",
                    "组织代码",
                    &["组织编码", "党组织代码", "党组织编码"],
                    false,
                ),
                field(
                    "parent",
                    "上级组织",
                    &[
                        "上级党组织",
                        "上级组织名称",
                        "上级党组织名称",
                        "上级组织代码",
                        "上级组织编码",
                    ],
                    false,
                ),
                field("path", "所在路径", &["组织路径", "路径", "层级"], false),
                field(
                    "kind",
                    "组织类别",
                    &["组织类型", "党组织类别", "党组织类型"],
                    false,
                ),
                field("founded_on", "成立日期", &["成立时间", "建立日期"], false),
            ],
            one_of: vec![vec!["parent".into(), "path".into()]],
        }
    }

    /// A ledger type's sheet: the organisation and the date of each record, then the type's
    /// fields in use, by their labels (or their keys).
    pub fn ledger(def: &LedgerTypeDef) -> Target {
        let mut fields = vec![
            field(
                LEDGER_ORG,
                "组织",
                &[
                    "所在组织",
                    "所属组织",
                    "组织名称",
                    "组织编码",
                    "组织代码",
                    "党组织",
                    "所在党支部",
                    "党支部",
                ],
                true,
            ),
            field(
                LEDGER_DATE,
                "日期",
                &[
                    "发生日期",
                    "活动日期",
                    "开展日期",
                    "记录日期",
                    "时间",
                    "活动时间",
                ],
                true,
            ),
            field(
                LEDGER_KEY,
                "编号",
                &["记录编号", "台账编号", "唯一编号"],
                false,
            ),
        ];
        fields.extend(def.active_fields().map(|f| TargetField {
            key: f.key.clone(),
            label: f.label.clone(),
            aliases: vec![f.key.clone()],
            required: f.required,
        }));
        Target {
            fields,
            one_of: Vec::new(),
        }
    }

    pub fn field(&self, key: &str) -> Option<&TargetField> {
        self.fields.iter().find(|f| f.key == key)
    }
}

/// A county's saved choice of which column goes into which field: the header as the sheet writes
/// it → the field's key; an empty key leaves the column unread. Headers are compared as the
/// matching compares them ([`normalize_header`]). Columns it does not name are matched by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedMapping {
    pub columns: BTreeMap<String, String>,
}

impl SavedMapping {
    /// A mapping as a user writes it, one column a line: "表头=字段", the field by its label,
    /// an alias or its key ("身份证=公民身份号码", "备注=" leaves the column unread). Blank lines
    /// are skipped; a line naming no field of `target` is refused with its line number.
    pub fn from_lines(text: &str, target: &Target) -> Result<SavedMapping, String> {
        let mut columns = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let Some((header, field)) = line.split_once(['=', '＝']) else {
                return Err(format!("第{}行应写作“表头=字段”", n + 1));
            };
            let (header, field) = (header.trim(), normalize_header(field));
            if header.is_empty() {
                return Err(format!("第{}行缺少表头", n + 1));
            }
            let key = if field.is_empty() {
                String::new()
            } else {
                target
                    .fields
                    .iter()
                    .find(|f| {
                        f.key == field
                            || normalize_header(&f.label) == field
                            || f.aliases.iter().any(|a| normalize_header(a) == field)
                    })
                    .map(|f| f.key.clone())
                    .ok_or_else(|| format!("第{}行的“{}”不是可导入的字段", n + 1, field))?
            };
            columns.insert(header.to_string(), key);
        }
        Ok(SavedMapping { columns })
    }
}

/// The header row found, and which column each field is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMap {
    /// The header row's number in the sheet.
    pub row: u32,
    /// Each column's header as the sheet writes it.
    pub headers: Vec<String>,
    /// Field key → column (0 = A).
    pub columns: BTreeMap<String, usize>,
    /// Columns read into no field: unknown headers, a second column for a field already
    /// matched, or left unread by the mapping.
    pub unread: Vec<usize>,
}

const EMPTY: Cell = Cell::Empty;

impl HeaderMap {
    pub fn column(&self, key: &str) -> Option<usize> {
        self.columns.get(key).copied()
    }

    /// The cell of field `key` in `row` (empty when the sheet has no such column).
    pub fn cell<'r>(&self, row: &'r Row, key: &str) -> &'r Cell {
        self.column(key).map_or(&EMPTY, |c| row.cell(c))
    }

    /// A column's header, for messages ("“身份证号”……").
    pub fn header(&self, column: usize) -> &str {
        self.headers.get(column).map_or("", String::as_str)
    }

    /// The header of field `key`'s column as the sheet writes it (the key when it has none):
    /// how messages name the field.
    pub fn label(&self, key: &str) -> String {
        self.column(key)
            .map_or(key, |c| self.header(c).trim())
            .to_string()
    }

    /// `e` placed in field `key`'s column (left as it is when the sheet has none).
    pub fn place(&self, e: super::normalize::CellError, key: &str) -> super::normalize::CellError {
        match self.column(key) {
            Some(c) => e.at(c),
            None => e,
        }
    }
}

/// A header as it is compared: full-width letters, digits and signs made half-width, spaces and
/// line breaks removed, "*" marks and trailing bracketed notes ("（必填）", "(YYYY-MM-DD)",
/// "【选填】") and colons dropped, Latin letters in lower case.
pub fn normalize_header(header: &str) -> String {
    let mut s: String = header
        .chars()
        .filter_map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => {
                char::from_u32(c as u32 - 0xFEE0).map(|c| c.to_ascii_lowercase())
            }
            '【' | '〔' => Some('['),
            '】' | '〕' => Some(']'),
            c if c.is_whitespace() => None,
            c => Some(c.to_ascii_lowercase()),
        })
        .collect();
    loop {
        let before = s.len();
        s = s.trim_matches(|c| c == '*' || c == ':').to_string();
        for (open, close) in [('(', ')'), ('[', ']'), ('<', '>')] {
            if s.ends_with(close) {
                if let Some(at) = s.rfind(open) {
                    if at > 0 {
                        s.truncate(at);
                    }
                }
            }
        }
        if s.len() == before {
            return s;
        }
    }
}

/// Matches one row's headers to `target`'s fields. How well a column names a field: by the saved
/// mapping, by the field's label, by an alias; the best-named column of each field wins, the
/// leftmost among equals.
pub fn match_header(
    target: &Target,
    row: &Row,
    mapping: Option<&SavedMapping>,
) -> Result<HeaderMap, ImportError> {
    let mut names: HashMap<String, (&str, u8)> = HashMap::new();
    for f in &target.fields {
        for alias in &f.aliases {
            names.entry(normalize_header(alias)).or_insert((&f.key, 2));
        }
    }
    for f in &target.fields {
        names.insert(normalize_header(&f.label), (&f.key, 1));
    }
    let mut mapped: HashMap<String, &str> = HashMap::new();
    if let Some(m) = mapping {
        for (column, key) in &m.columns {
            if !key.is_empty() && target.field(key).is_none() {
                return Err(ImportError::BadMapping {
                    column: column.clone(),
                    field: key.clone(),
                });
            }
            mapped.insert(normalize_header(column), key);
        }
    }
    let headers: Vec<String> = row.cells.iter().map(Cell::display).collect();
    // field key → (rank, column)
    let mut best: BTreeMap<String, (u8, usize)> = BTreeMap::new();
    let mut unread = Vec::new();
    for (column, header) in headers.iter().enumerate() {
        let norm = normalize_header(header);
        let choice = match mapped.get(&norm) {
            Some(&"") => None,
            Some(key) => Some((*key, 0)),
            None => names.get(&norm).copied(),
        };
        let Some((key, rank)) = choice else {
            if !header.trim().is_empty() {
                unread.push(column);
            }
            continue;
        };
        match best.get(key) {
            Some(&(r, _)) if r <= rank => unread.push(column),
            Some(&(_, previous)) => {
                unread.push(previous);
                best.insert(key.to_string(), (rank, column));
            }
            None => {
                best.insert(key.to_string(), (rank, column));
            }
        }
    }
    unread.sort_unstable();
    let columns: BTreeMap<String, usize> = best.into_iter().map(|(k, (_, c))| (k, c)).collect();
    let mut missing: Vec<String> = target
        .fields
        .iter()
        .filter(|f| f.required && !columns.contains_key(&f.key))
        .map(|f| f.label.clone())
        .collect();
    for group in &target.one_of {
        if !group.iter().any(|k| columns.contains_key(k)) {
            let labels: Vec<&str> = group
                .iter()
                .filter_map(|k| target.field(k).map(|f| f.label.as_str()))
                .collect();
            missing.push(format!("{}（至少一列）", labels.join("或")));
        }
    }
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns(missing));
    }
    Ok(HeaderMap {
        row: row.number,
        headers,
        columns,
        unread,
    })
}

/// A sheet's data rows below its header: found among the first [`HEADER_SEARCH_ROWS`] rows as
/// the first that names every required field; the rows above it are titles. Yields at most
/// `max_data_rows` rows (the reader's bound), and refuses a sheet with none.
impl<R: std::io::Read + std::io::Seek> super::Workbook<R> {
    /// The sheet's data rows for `target`, below its header (see [`Table`]).
    pub fn table(
        &mut self,
        target: &Target,
        mapping: Option<&SavedMapping>,
    ) -> Result<Table<'_>, ImportError> {
        let max = self.options().max_data_rows;
        Table::new(self.rows()?, target, mapping, max)
    }
}

pub struct Table<'a> {
    rows: Rows<'a>,
    header: HeaderMap,
    title_rows: u32,
    data_rows: usize,
    max_data_rows: usize,
    finished: bool,
}

impl<'a> Table<'a> {
    pub fn new(
        mut rows: Rows<'a>,
        target: &Target,
        mapping: Option<&SavedMapping>,
        max_data_rows: usize,
    ) -> Result<Self, ImportError> {
        // When no row names every required field, the row that comes closest says what is missing.
        let mut closest: Option<ImportError> = None;
        for seen in 0..HEADER_SEARCH_ROWS {
            let Some(row) = rows.next().transpose()? else {
                break;
            };
            match match_header(target, &row, mapping) {
                Ok(header) => {
                    return Ok(Table {
                        rows,
                        header,
                        title_rows: seen as u32,
                        data_rows: 0,
                        max_data_rows,
                        finished: false,
                    })
                }
                Err(e @ ImportError::BadMapping { .. }) => return Err(e),
                Err(e) => {
                    let missing = |e: &ImportError| match e {
                        ImportError::MissingColumns(m) => m.len(),
                        _ => usize::MAX,
                    };
                    if closest.as_ref().is_none_or(|c| missing(&e) < missing(c)) {
                        closest = Some(e);
                    }
                }
            }
        }
        Err(closest.unwrap_or(ImportError::EmptySheet))
    }

    pub fn header(&self) -> &HeaderMap {
        &self.header
    }

    /// Rows above the header (a title, a note).
    pub fn title_rows(&self) -> u32 {
        self.title_rows
    }

    /// Data rows read so far.
    pub fn data_rows(&self) -> usize {
        self.data_rows
    }

    /// Blank rows passed over so far.
    pub fn blank_rows(&self) -> u32 {
        self.rows.blank_rows()
    }

    fn next_row(&mut self) -> Result<Option<Row>, ImportError> {
        match self.rows.next().transpose()? {
            None if self.data_rows == 0 => Err(ImportError::NoDataRows),
            None => Ok(None),
            Some(row) => {
                self.data_rows += 1;
                if self.data_rows > self.max_data_rows {
                    return Err(ImportError::TooManyRows {
                        max: self.max_data_rows,
                        row: row.number,
                    });
                }
                Ok(Some(row))
            }
        }
    }
}

impl Iterator for Table<'_> {
    type Item = Result<Row, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let next = self.next_row();
        if !matches!(next, Ok(Some(_))) {
            self.finished = true;
        }
        next.transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{ReadOptions, Workbook};
    use std::io::Cursor;

    fn header_row(names: &[&str]) -> Row {
        Row {
            number: 1,
            cells: names.iter().map(|n| Cell::Text(n.to_string())).collect(),
        }
    }

    fn columns(map: &HeaderMap) -> Vec<(&str, usize)> {
        map.columns.iter().map(|(k, c)| (k.as_str(), *c)).collect()
    }

    #[test]
    fn a_mapping_is_written_as_lines_of_header_and_field() {
        let m = SavedMapping::from_lines(
            "身份证=公民身份号码\n\n 电话 ＝ phone\n备注=\n支部=所在党组织",
            &Target::members(),
        )
        .expect("a mapping");
        let got: Vec<(&str, &str)> = m
            .columns
            .iter()
            .map(|(h, k)| (h.as_str(), k.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("备注", ""),
                ("支部", "branch"),
                ("电话", "phone"),
                ("身份证", "id_number")
            ]
        );
        let e = SavedMapping::from_lines("姓名=姓名\n籍贯=籍贯", &Target::members()).unwrap_err();
        assert!(e.contains("第2行") && e.contains("籍贯"), "{e}");
        assert!(SavedMapping::from_lines("姓名", &Target::members()).is_err());
        // Used as saved: the mapped column wins over the matching.
        let map = match_header(
            &Target::members(),
            &header_row(&["身份证", "名字", "支部"]),
            Some(&m),
        )
        .expect("matched");
        assert_eq!(
            columns(&map),
            [("branch", 2), ("id_number", 0), ("name", 1)]
        );
    }

    #[test]
    fn headers_are_compared_without_marks_notes_and_full_width_forms() {
        for (header, norm) in [
            ("姓名", "姓名"),
            ("\u{3000}姓\u{3000}名（必填）", "姓名"),
            ("*出生日期(YYYY-MM-DD)", "出生日期"),
            ("出生\n日期 ", "出生日期"),
            ("联系电话：", "联系电话"),
            ("身份证号【必填】*", "身份证号"),
            ("入党日期（格式：2024.5.1）（必填）", "入党日期"),
            ("ＩＤ", "id"),
            ("Name", "name"),
            ("(备注)", "(备注)"),
            ("", ""),
        ] {
            assert_eq!(normalize_header(header), norm, "{header:?}");
        }
    }

    #[test]
    fn the_national_systems_member_sheet_is_matched_by_its_headers() {
        let row = header_row(&[
            "序号",
            "姓名",
            "性别",
            "公民身份号码",
            "民族",
            "出生日期",
            "学历",
            "人员类别",
            "入党日期",
            "转正日期",
            "所在党支部",
            "联系电话",
            "手机号码",
        ]);
        let map = match_header(&Target::members(), &row, None).unwrap();
        assert_eq!(
            columns(&map),
            vec![
                ("birth_date", 5),
                ("branch", 10),
                ("category", 7),
                ("confirmed_on", 9),
                ("education", 6),
                ("ethnicity", 4),
                ("gender", 2),
                ("id_number", 3),
                ("joined_on", 8),
                ("name", 1),
                ("phone", 11),
            ]
        );
        // 序号 is no field; 手机号码 is a second column for the phone, behind 联系电话.
        assert_eq!(map.unread, vec![0, 12]);
        assert_eq!(map.header(3), "公民身份号码");
        let aliases = header_row(&["身份证号（必填）", " 姓名 ", "所在党组织", "手机号码"]);
        let map = match_header(&Target::members(), &aliases, None).unwrap();
        assert_eq!(
            columns(&map),
            vec![("branch", 2), ("id_number", 0), ("name", 1), ("phone", 3)]
        );
    }

    #[test]
    fn missing_required_columns_are_named() {
        let e = match_header(&Target::members(), &header_row(&["姓名", "性别"]), None).unwrap_err();
        assert_eq!(e, ImportError::MissingColumns(vec!["所在党支部".into()]));
        assert_eq!(e.to_string(), "表头缺少必填列：所在党支部");
        assert_eq!(e.code(), "import.missing_columns");
        let orgs =
            match_header(&Target::organisations(), &header_row(&["组织代码"]), None).unwrap_err();
        assert_eq!(
            orgs.to_string(),
            "表头缺少必填列：组织名称、上级组织或所在路径（至少一列）"
        );
        let by_path = header_row(&["组织名称", "组织编码", "所在路径", "组织类别", "成立日期"]);
        let map = match_header(&Target::organisations(), &by_path, None).unwrap();
        assert_eq!(
            columns(&map),
            vec![
                ("code", 1),
                ("founded_on", 4),
                ("kind", 3),
                ("name", 0),
                ("path", 2)
            ]
        );
    }

    #[test]
    fn a_saved_mapping_overrides_the_matching_and_is_checked() {
        let mapping = SavedMapping {
            columns: [
                ("支部名称".to_string(), "branch".to_string()),
                ("手机号码（必填）".to_string(), "phone".to_string()),
                ("联系电话".to_string(), String::new()),
            ]
            .into_iter()
            .collect(),
        };
        let row = header_row(&["姓名", "联系电话", "手机号码", "支部名称"]);
        let map = match_header(&Target::members(), &row, Some(&mapping)).unwrap();
        assert_eq!(
            columns(&map),
            vec![("branch", 3), ("name", 0), ("phone", 2)]
        );
        // 联系电话 is left unread by the mapping.
        assert_eq!(map.unread, vec![1]);
        let json = serde_json::to_string(&mapping).unwrap();
        assert_eq!(
            json,
            r#"{"columns":{"手机号码（必填）":"phone","支部名称":"branch","联系电话":""}}"#
        );
        assert_eq!(
            serde_json::from_str::<SavedMapping>(&json).unwrap(),
            mapping
        );
        let bad = SavedMapping {
            columns: [("备注".to_string(), "remark".to_string())]
                .into_iter()
                .collect(),
        };
        let e = match_header(&Target::members(), &row, Some(&bad)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "已保存的列对应关系把“备注”对应到未知字段“remark”：请重新设置列对应关系"
        );
    }

    #[test]
    fn a_ledger_sheet_is_matched_by_the_types_labels_and_keys() {
        let types = taizhang_domain::builtin::builtin_types();
        let training = types.iter().find(|t| t.key == "training").unwrap();
        let target = Target::ledger(training);
        let row = header_row(&["所在党支部", "活动日期", "培训主题", "form", "培训人次"]);
        let map = match_header(&target, &row, None).unwrap();
        assert_eq!(
            columns(&map),
            vec![
                (LEDGER_DATE, 1),
                (LEDGER_ORG, 0),
                ("attendance", 4),
                ("form", 3),
                ("title", 2),
            ]
        );
        let e = match_header(&target, &header_row(&["组织", "日期"]), None).unwrap_err();
        assert_eq!(e.to_string(), "表头缺少必填列：培训主题、形式");
    }

    fn table_of(csv: &str) -> Result<(u32, u32, Vec<u32>, usize), ImportError> {
        let mut book =
            Workbook::open(Cursor::new(csv.as_bytes().to_vec()), ReadOptions::default())?;
        let mut table = book.table(&Target::members(), None)?;
        let numbers = table
            .by_ref()
            .map(|r| r.map(|r| r.number))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((
            table.header().row,
            table.title_rows(),
            numbers,
            table.data_rows(),
        ))
    }

    #[test]
    fn the_header_is_found_below_titles_and_the_data_rows_follow_it() {
        let csv = "某某镇党员信息表,,\n填报单位：鸡黍镇,,\n\n姓名,所在党支部,\n张三,西李村党支部,\n\n李四,西李村党支部,\n";
        assert_eq!(table_of(csv), Ok((4, 2, vec![5, 7], 2)));
        assert_eq!(table_of("姓名,所在党支部\n"), Err(ImportError::NoDataRows));
        // The row that comes closest to a header says what is missing.
        assert_eq!(
            table_of("党员信息表\n姓名,性别\n张三,男\n"),
            Err(ImportError::MissingColumns(vec!["所在党支部".into()]))
        );
        let mut late = "标题\n".repeat(HEADER_SEARCH_ROWS);
        late.push_str("姓名,所在党支部\n张三,西李村\n");
        assert_eq!(
            table_of(&late),
            Err(ImportError::MissingColumns(vec![
                "姓名".into(),
                "所在党支部".into()
            ]))
        );
    }

    #[test]
    fn the_data_rows_are_bounded_below_the_header() {
        let mut csv = "标题\n姓名,所在党支部\n".to_string();
        for i in 0..4 {
            csv.push_str(&format!("人{i},支部\n"));
        }
        let options = ReadOptions {
            max_data_rows: 3,
            ..Default::default()
        };
        let mut book = Workbook::open(Cursor::new(csv.into_bytes()), options).unwrap();
        let table = book.table(&Target::members(), None).unwrap();
        let read: Vec<_> = table.collect();
        assert_eq!(read.len(), 4);
        assert_eq!(read[3], Err(ImportError::TooManyRows { max: 3, row: 6 }));
    }
}
