//! Finding organisations and people by what a user can type on a phone: part of the name, its
//! pinyin (`jishu` finds 鸡黍镇) or the pinyin's initials (`jsz` finds 鸡黍镇, `zs` finds 张三).
//!
//! Each name is stored with its *search key*: the whole pinyin of the name, a space, and the
//! initials — `鸡黍镇` → `jishuzhen jsz`. A query of Latin letters is matched as part of the key;
//! any other query is matched as part of the name. Characters with several readings take their
//! most common one (单 is `dan`, not `shan`), which is what a user types first.

use pinyin::ToPinyin;

/// The longest search key kept: a name's 60 characters at up to 7 letters each, and initials.
pub const MAX_KEY: usize = 60 * 8;

/// The search key of a name: its whole pinyin, a space, and the initials of each syllable.
/// Latin letters and digits in the name are kept (lowercased) in both parts; anything else
/// (punctuation, symbols) is left out.
pub fn search_key(name: &str) -> String {
    let mut whole = String::new();
    let mut initials = String::new();
    for (c, py) in name.chars().zip(name.to_pinyin()) {
        match py {
            Some(p) => {
                let plain = p.plain();
                whole.push_str(plain);
                initials.extend(plain.chars().next());
            }
            None if c.is_ascii_alphanumeric() => {
                let c = c.to_ascii_lowercase();
                whole.push(c);
                initials.push(c);
            }
            None => {}
        }
    }
    if whole.is_empty() {
        return String::new();
    }
    let mut key = whole;
    key.push(' ');
    key.push_str(&initials);
    key.truncate(MAX_KEY);
    key
}

/// An identifier of lowercase letters and digits spelled from a name's pinyin (`道路里程` →
/// `daolulicheng`), at most `max_len` long and starting with a letter, for the keys a county
/// should not have to invent. `None` when the name has nothing to spell.
pub fn pinyin_ident(name: &str, max_len: usize) -> Option<String> {
    let key = search_key(name);
    let whole: String = key
        .split(' ')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .collect();
    let mut ident = match whole.chars().next() {
        None => return None,
        Some(c) if c.is_ascii_digit() => format!("k{whole}"),
        Some(_) => whole,
    };
    ident.truncate(max_len.max(1));
    Some(ident)
}

/// What a search box's text asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Nothing typed.
    Empty,
    /// Latin letters (spaces and apostrophes ignored, lowercased): part of a search key.
    Pinyin(String),
    /// Anything else, trimmed: part of a name, or a code.
    Text(String),
}

impl Query {
    pub fn parse(text: &str) -> Query {
        let t = text.trim();
        if t.is_empty() {
            return Query::Empty;
        }
        if t.chars()
            .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '\'')
        {
            let p: String = t
                .chars()
                .filter(char::is_ascii_alphabetic)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            return Query::Pinyin(p);
        }
        Query::Text(t.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_spelled_from_names() {
        assert_eq!(
            pinyin_ident("道路里程", 40).as_deref(),
            Some("daolulicheng")
        );
        assert_eq!(
            pinyin_ident("3号 走访", 40).as_deref(),
            Some("k3haozoufang")
        );
        assert_eq!(pinyin_ident("到会人数", 6).as_deref(), Some("daohui"));
        assert_eq!(pinyin_ident("——", 40), None);
    }

    #[test]
    fn keys_hold_whole_pinyin_and_initials() {
        assert_eq!(search_key("鸡黍镇"), "jishuzhen jsz");
        assert_eq!(search_key("张三"), "zhangsan zs");
        assert_eq!(search_key("寻庄村党支部"), "xunzhuangcundangzhibu xzcdzb");
        assert_eq!(search_key("第1网格"), "di1wangge d1wg");
        assert_eq!(search_key("（城关）社区"), "chengguanshequ cgsq");
        assert_eq!(search_key("ABC公司"), "abcgongsi abcgs");
        assert_eq!(search_key("——"), "");
        assert_eq!(search_key(""), "");
    }

    #[test]
    fn a_long_name_keeps_a_bounded_key() {
        let name = "庄".repeat(60);
        let key = search_key(&name);
        assert!(key.len() <= MAX_KEY, "{}", key.len());
        assert!(key.starts_with("zhuangzhuang"));
    }

    #[test]
    fn queries_of_letters_are_pinyin_and_the_rest_text() {
        assert_eq!(Query::parse("  "), Query::Empty);
        assert_eq!(Query::parse("JSZ"), Query::Pinyin("jsz".into()));
        assert_eq!(Query::parse("ji shu"), Query::Pinyin("jishu".into()));
        assert_eq!(Query::parse("xi'an"), Query::Pinyin("xian".into()));
        assert_eq!(Query::parse("鸡黍"), Query::Text("鸡黍".into()));
        assert_eq!(Query::parse(" 370828101 "), Query::Text("370828101".into()));
        assert_eq!(Query::parse("张san"), Query::Text("张san".into()));
    }

    #[test]
    fn the_queries_users_type_are_found_in_the_keys() {
        let key = search_key("鸡黍镇");
        for q in ["jsz", "jishu", "jishuzhen", "zhen", "js"] {
            let Query::Pinyin(p) = Query::parse(q) else {
                panic!("{q} is not pinyin")
            };
            assert!(key.contains(&p), "{q} in {key}");
        }
        assert!(search_key("张三").contains("zs"));
    }
}
