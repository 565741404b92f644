//! The one error type of the import room: what makes a whole file unreadable, each with a stable
//! code and a Chinese message a county cadre can act on. Problems of one cell are not errors of
//! this kind but [`super::normalize::CellError`]s, collected per row.

use super::cell::column_name;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("文件是空的（0字节）")]
    EmptyFile,
    #[error("这不是电子表格文件（{0}）：请上传 .xlsx 或 .csv 文件")]
    NotASpreadsheet(&'static str),
    #[error("文件设置了打开密码（已加密）：请在 Excel 或 WPS 中取消密码，另存为 .xlsx 后再导入")]
    Encrypted,
    #[error("这是旧版 Office 文件（如 Excel 97-2003 的 .xls）：请在 Excel 或 WPS 中另存为 .xlsx 后再导入")]
    LegacyOffice,
    #[error("这是 UTF-16 编码的文本文件：请另存为 UTF-8 或 GB18030（GBK）编码的 CSV 后再导入")]
    Utf16,
    #[error(".xlsx 文件已损坏，无法读取（{0}）：请在 Excel 或 WPS 中打开并重新保存后再导入")]
    CorruptXlsx(String),
    #[error("工作簿中没有名为“{name}”的工作表（现有：{}）", .available.join("、"))]
    NoSuchSheet {
        name: String,
        available: Vec<String>,
    },
    #[error("工作表是空的，没有任何内容")]
    EmptySheet,
    #[error("工作表只有表头，没有数据行")]
    NoDataRows,
    #[error("数据超过{max}行（第{row}行起超出）：请拆分成多个文件分别导入")]
    TooManyRows { max: usize, row: u32 },
    #[error("工作簿的“{part}”解压后超过{}MB：文件过大或已损坏，请拆分成多个文件后再导入", .max.div_ceil(1024 * 1024))]
    XlsxTooLarge { part: String, max: u64 },
    #[error("第{row}行{}列的内容超过{max}个字", column_name(*.column))]
    CellTooLong { row: u32, column: usize, max: usize },
    #[error("CSV 文件第{row}行附近的一行超过{max}字节，可能是引号未闭合：请检查该行")]
    RecordTooLong { row: u32, max: usize },
    #[error(
        "CSV 文件以 UTF-8 标记（BOM）开头，但其中有不是 UTF-8 的文字：请重新以 UTF-8 编码保存"
    )]
    BadUtf8,
    #[error("CSV 文件第{row}行无法读取：{detail}")]
    BadCsv { row: u32, detail: String },
    #[error("读取文件失败：{0}")]
    Io(String),
    #[error("表头缺少必填列：{}", .0.join("、"))]
    MissingColumns(Vec<String>),
    #[error("已保存的列对应关系把“{column}”对应到未知字段“{field}”：请重新设置列对应关系")]
    BadMapping { column: String, field: String },
}

impl ImportError {
    /// The stable code programs and tests match on.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::EmptyFile => "import.empty_file",
            ImportError::NotASpreadsheet(_) => "import.not_a_spreadsheet",
            ImportError::Encrypted => "import.encrypted",
            ImportError::LegacyOffice => "import.legacy_office",
            ImportError::Utf16 => "import.utf16",
            ImportError::CorruptXlsx(_) => "import.corrupt_xlsx",
            ImportError::NoSuchSheet { .. } => "import.no_such_sheet",
            ImportError::EmptySheet => "import.empty_sheet",
            ImportError::NoDataRows => "import.no_data_rows",
            ImportError::TooManyRows { .. } => "import.too_many_rows",
            ImportError::XlsxTooLarge { .. } => "import.xlsx_too_large",
            ImportError::CellTooLong { .. } => "import.cell_too_long",
            ImportError::RecordTooLong { .. } => "import.record_too_long",
            ImportError::BadUtf8 => "import.bad_utf8",
            ImportError::BadCsv { .. } => "import.bad_csv",
            ImportError::Io(_) => "import.io",
            ImportError::MissingColumns(_) => "import.missing_columns",
            ImportError::BadMapping { .. } => "import.bad_mapping",
        }
    }
}

impl From<std::io::Error> for ImportError {
    fn from(e: std::io::Error) -> Self {
        ImportError::Io(e.to_string())
    }
}
