//! Free text as it enters: every name, note, reason, label, option and search a caller types has
//! a rule here — its field, its Chinese label, its longest length and whether it may span lines —
//! and is checked by that rule before it is used or stored.
//!
//! A length is counted in characters (Unicode scalar values) of the text as given, before it is
//! trimmed, which is how JSON Schema's `maxLength` counts: the OpenAPI document states the same
//! bound for each field and the server enforces exactly that. Refused everywhere: the C0 and C1
//! control characters (tab, line feed and carriage return only in multi-line text), DEL, and the
//! Unicode bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which can
//! make a name display as something else than it is; single-line text also refuses the line and
//! paragraph separators U+2028 and U+2029.

use crate::ledger::FieldError;

/// Whether a text may hold line breaks (a note) or not (a name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    Single,
    Multi,
}

/// The rule of one text input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    /// The field errors name: `name`, `note` …
    pub field: &'static str,
    /// The field's name in messages: 姓名, 备注 …
    pub label: &'static str,
    /// The longest text accepted, in characters.
    pub max: usize,
    pub lines: Lines,
}

const fn single(field: &'static str, label: &'static str, max: usize) -> TextRule {
    TextRule {
        field,
        label,
        max,
        lines: Lines::Single,
    }
}

const fn multi(field: &'static str, label: &'static str, max: usize) -> TextRule {
    TextRule {
        field,
        label,
        max,
        lines: Lines::Multi,
    }
}

pub const PERSON_NAME: TextRule = single("name", "姓名", 30);
pub const ORG_NAME: TextRule = single("name", "名称", 60);
pub const DISPLAY_NAME: TextRule = single("display_name", "显示名称", 30);
pub const USERNAME: TextRule = single("username", "用户名", 40);
/// An organisation's official code: a 6-, 9- or 12-digit 行政区划代码 or an 18-character 统一社会信用代码.
pub const ORG_CODE: TextRule = single("code", "组织编码", 18);
pub const LINK_NOTE: TextRule = multi("note", "备注", 500);
pub const VOID_REASON: TextRule = multi("reason", "作废原因", 200);
pub const EDIT_REASON: TextRule = multi("reason", "修改原因", 200);
/// What a search box takes: part of a name, a code, a 身份证号 or a phone number.
pub const SEARCH: TextRule = single("q", "搜索内容", 60);
pub const FILE_NAME: TextRule = single("name", "文件名", 200);
pub const LEDGER_TYPE_NAME: TextRule = single("name", "类型名称", 40);
pub const LEDGER_TYPE_DESCRIPTION: TextRule = multi("description", "类型说明", 500);
pub const VERB: TextRule = single("verb", "通报动词", 10);
pub const COUNT_UNIT: TextRule = single("count_unit", "计数单位", 10);
pub const FIELD_LABEL: TextRule = single("label", "字段名称", 40);
pub const FIELD_UNIT: TextRule = single("unit", "单位", 10);
pub const FIELD_PHRASE: TextRule = single("phrase", "通报用语", 40);
pub const OPTION: TextRule = single("options", "选项", 40);
pub const CADENCE_LABEL: TextRule = single("label", "周期要求名称", 40);
/// A record filter's field key or option (`/api/v1/records?field=…&option=…`).
pub const FILTER: TextRule = single("field", "筛选条件", 40);
/// An audit-log filter (`/api/v1/audit?entity=…`).
pub const AUDIT_ENTITY: TextRule = single("entity", "对象类型", 40);
/// The audit log's other filters: who acted (a user name, exactly), the action, the object's id
/// (a refusal's is its method and path, up to 200 characters).
pub const AUDIT_ACTOR: TextRule = single("actor", "操作人", 40);
pub const AUDIT_ACTION: TextRule = single("action", "操作", 40);
pub const AUDIT_ENTITY_ID: TextRule = single("entity_id", "对象编号", 210);

/// Whether `c` may never appear in text of this kind.
pub fn is_forbidden(c: char, lines: Lines) -> bool {
    let line_break = matches!(c, '\t' | '\n' | '\r');
    let bidi = matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    );
    let separator = matches!(c, '\u{2028}' | '\u{2029}');
    (c.is_control() && !(line_break && lines == Lines::Multi))
        || bidi
        || (separator && lines == Lines::Single)
}

impl TextRule {
    /// The text trimmed, when it obeys the rule; a blank text is returned empty (whether a field
    /// may be blank is its caller's rule).
    pub fn check(&self, value: &str) -> Result<String, FieldError> {
        self.check_at(self.field, value)
    }

    /// `check` for a field reported under another name (`fields[2].label`, `options[1]`).
    pub fn check_at(&self, field: impl Into<String>, value: &str) -> Result<String, FieldError> {
        if value.chars().count() > self.max {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("“{}”不能超过{}个字", self.label, self.max),
            ));
        }
        if value.chars().any(|c| is_forbidden(c, self.lines)) {
            return Err(FieldError::new(
                field,
                "bad_chars",
                format!("“{}”不能包含控制字符或文字方向控制符", self.label),
            ));
        }
        Ok(value.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<String, FieldError>) -> String {
        r.err().map(|e| e.code).unwrap_or_default()
    }

    #[test]
    fn the_bound_is_counted_in_characters_before_trimming() {
        assert_eq!(
            PERSON_NAME.check(&"张".repeat(30)).unwrap().chars().count(),
            30
        );
        assert_eq!(code(PERSON_NAME.check(&"张".repeat(31))), "too_long");
        assert_eq!(
            code(PERSON_NAME.check(&format!("{} ", "张".repeat(30)))),
            "too_long"
        );
        assert_eq!(PERSON_NAME.check("  张三 ").unwrap(), "张三");
        let e = LINK_NOTE.check(&"注".repeat(501)).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("note", "“备注”不能超过500个字")
        );
    }

    #[test]
    fn control_and_bidi_characters_are_refused() {
        for bad in [
            "\u{0}", "\u{7}", "\u{1b}", "\u{7f}", "\u{85}", "\u{9f}", "\u{202E}", "\u{202A}",
            "\u{2066}", "\u{2069}", "\u{200F}", "\u{061C}",
        ] {
            for rule in [PERSON_NAME, LINK_NOTE] {
                let e = rule.check(&format!("张{bad}三")).unwrap_err();
                assert_eq!(e.code, "bad_chars", "{bad:?}");
                assert!(e.message.contains(rule.label));
            }
        }
        for lf in ["\n", "\r", "\t", "\u{2028}"] {
            assert_eq!(code(PERSON_NAME.check(&format!("张{lf}三"))), "bad_chars");
        }
        assert_eq!(
            LINK_NOTE.check("第一行\r\n\t第二行").unwrap(),
            "第一行\r\n\t第二行"
        );
        assert_eq!(code(LINK_NOTE.check("第一行\u{2028}第二行")), "");
        assert_eq!(
            OPTION
                .check_at("options[3]", "乙\u{202E}")
                .unwrap_err()
                .field,
            "options[3]"
        );
    }

    #[test]
    fn ordinary_text_passes() {
        for ok in [
            "张三",
            "Zhang San",
            "阿卜杜拉·买买提",
            "鸡黍镇（2024）",
            "O'Neil",
            "😀",
        ] {
            assert_eq!(PERSON_NAME.check(ok).unwrap(), ok);
        }
        assert_eq!(SEARCH.check("").unwrap(), "");
    }
}
