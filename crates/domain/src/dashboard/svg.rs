//! Charts drawn as SVG text: horizontal bars (a ranking) and columns (records per month). Every
//! chart has a `viewBox` and `width="100%"`, so that it shrinks to a phone's width, and a
//! `<title>` for screen readers; every text in it is escaped.

/// Escapes text for SVG (XML) content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

const WIDTH: i64 = 360;
const ROW: i64 = 26;
const LABEL: i64 = 112;
const VALUE: i64 = 48;

fn open(title: &str, height: i64) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{t}" class="chart"><title>{t}</title>"#,
        t = escape(title)
    )
}

/// One bar per line, longest for the largest value, labelled with the name and the value.
pub fn bars(title: &str, lines: &[(String, i64)]) -> String {
    let height = ROW * lines.len().max(1) as i64 + 4;
    let mut out = open(title, height);
    let max = lines.iter().map(|l| l.1).max().unwrap_or(0).max(1);
    let room = WIDTH - LABEL - VALUE;
    for (i, (name, value)) in lines.iter().enumerate() {
        let y = ROW * i as i64 + 2;
        let w = room * value.max(&0) / max;
        out.push_str(&format!(
            r##"<text x="{lx}" y="{ty}" text-anchor="end" font-size="13">{name}</text><rect x="{LABEL}" y="{ry}" width="{w}" height="{h}" fill="#b71c1c"/><text x="{vx}" y="{ty}" font-size="13">{value}</text>"##,
            lx = LABEL - 6,
            ty = y + 17,
            ry = y + 4,
            h = ROW - 8,
            vx = LABEL + w + 4,
            name = escape(&short(name, 8)),
        ));
    }
    if lines.is_empty() {
        out.push_str(r#"<text x="4" y="18" font-size="13">暂无数据</text>"#);
    }
    out.push_str("</svg>");
    out
}

/// One column per line (a month), labelled below with the name and above with the value.
pub fn columns(title: &str, lines: &[(String, i64)]) -> String {
    let height: i64 = 150;
    let (top, base) = (18, height - 22);
    let mut out = open(title, height);
    let max = lines.iter().map(|l| l.1).max().unwrap_or(0).max(1);
    let n = lines.len().max(1) as i64;
    let slot = WIDTH / n;
    for (i, (name, value)) in lines.iter().enumerate() {
        let x = slot * i as i64;
        let h = (base - top) * value.max(&0) / max;
        let cx = x + slot / 2;
        out.push_str(&format!(
            r##"<rect x="{rx}" y="{ry}" width="{w}" height="{h}" fill="#b71c1c"/><text x="{cx}" y="{vy}" text-anchor="middle" font-size="10">{value}</text><text x="{cx}" y="{ly}" text-anchor="middle" font-size="10">{name}</text>"##,
            rx = x + 3,
            ry = base - h,
            w = (slot - 6).max(1),
            vy = base - h - 4,
            ly = height - 6,
            name = escape(name),
        ));
    }
    out.push_str(&format!(
        r##"<line x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="#999"/></svg>"##
    ));
    out
}

/// At most `n` characters, the rest cut with "…".
fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The elements of a chart in order of opening, checking that each closes where it should.
    fn well_formed(svg: &str) -> Vec<String> {
        let mut stack: Vec<String> = Vec::new();
        let mut opened = Vec::new();
        let mut rest = svg;
        while let Some(at) = rest.find('<') {
            let end = rest[at..].find('>').expect("an unclosed tag") + at;
            let tag = &rest[at + 1..end];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "{svg}");
            } else {
                let name: String = tag.chars().take_while(|c| c.is_alphanumeric()).collect();
                opened.push(name.clone());
                if !tag.ends_with('/') {
                    stack.push(name);
                }
            }
            // Between tags only escaped text.
            let text = &rest[end + 1..];
            let next = text.find('<').unwrap_or(text.len());
            assert!(
                !text[..next].contains('>') && !text[..next].contains('"'),
                "{svg}"
            );
            rest = text;
        }
        assert!(stack.is_empty(), "{svg}");
        opened
    }

    #[test]
    fn bars_are_one_rect_per_line_scaled_to_the_largest() {
        let lines = vec![("鸡黍镇".to_string(), 40), ("太平镇".to_string(), 10)];
        let svg = bars("各镇街记录数", &lines);
        let tags = well_formed(&svg);
        assert_eq!(tags.iter().filter(|t| *t == "rect").count(), 2);
        assert!(svg.starts_with("<svg ") && svg.contains(r#"viewBox="0 0 360 56""#));
        assert!(svg.contains(r#"width="100%""#));
        // The largest fills the room between label and value; a quarter of it a quarter.
        assert!(svg.contains(r#"width="200" height="18""#), "{svg}");
        assert!(svg.contains(r#"width="50" height="18""#), "{svg}");
        assert!(svg.contains(">鸡黍镇</text>") && svg.contains(">40</text>"));
    }

    #[test]
    fn text_in_a_chart_is_escaped() {
        let lines = vec![(r#"<b>"&'x"#.to_string(), 1)];
        let svg = bars("a<b", &lines);
        well_formed(&svg);
        assert!(svg.contains("&lt;b&gt;&quot;&amp;&#39;x"), "{svg}");
        assert!(svg.contains("<title>a&lt;b</title>"));
        assert!(!svg.contains("<b>"));
        let svg = columns("<x>", &lines);
        well_formed(&svg);
        assert!(!svg.contains("<b>") && !svg.contains("<x>"));
    }

    #[test]
    fn columns_are_one_per_month() {
        let lines: Vec<(String, i64)> = (1..=12).map(|m| (format!("{m}月"), m * 10)).collect();
        let svg = columns("近12个月记录数", &lines);
        let tags = well_formed(&svg);
        assert_eq!(tags.iter().filter(|t| *t == "rect").count(), 12);
        // The largest month reaches the top; twelve columns in 360 px are 30 px apart.
        assert!(
            svg.contains(r#"x="333" y="18" width="24" height="110""#),
            "{svg}"
        );
        assert!(svg.contains(">12月</text>"));
    }

    #[test]
    fn empty_charts_say_so() {
        let svg = bars("空", &[]);
        well_formed(&svg);
        assert!(svg.contains("暂无数据"));
        well_formed(&columns("空", &[]));
    }

    #[test]
    fn long_names_are_cut() {
        assert_eq!(short("一二三四五六七八九", 8), "一二三四五六七…");
        assert_eq!(short("鸡黍镇", 8), "鸡黍镇");
    }
}
