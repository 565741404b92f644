//! Charts drawn on the server as SVG: no script, prints well, scales on a phone.

use taizhang_domain::dashboard::svg::escape as esc;

/// A horizontal bar chart: one bar per (label, value), largest first as given.
pub fn bars(title: &str, items: &[(String, i64)]) -> String {
    let row = 22;
    let label_w = 130;
    let bar_w = 360;
    let height = 30 + row * items.len().max(1);
    let max = items.iter().map(|x| x.1).max().unwrap_or(0).max(1);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {height}" width="100%" role="img" aria-label="{t}" font-size="12" font-family="sans-serif"><title>{t}</title>"#,
        w = label_w + bar_w + 60,
        t = esc(title)
    );
    s.push_str(&format!(
        r#"<text x="0" y="16" font-weight="bold">{}</text>"#,
        esc(title)
    ));
    for (i, (label, value)) in items.iter().enumerate() {
        let y = 26 + i * row;
        let w = (*value as f64 / max as f64 * bar_w as f64).round() as i64;
        s.push_str(&format!(
            r##"<text x="{lx}" y="{ty}" text-anchor="end">{l}</text><rect x="{bx}" y="{y}" width="{w}" height="16" fill="#c0392b"/><text x="{vx}" y="{ty}">{value}</text>"##,
            lx = label_w - 6,
            ty = y + 12,
            l = esc(label),
            bx = label_w,
            vx = label_w as i64 + w + 4,
        ));
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_escape_labels() {
        let svg = bars("记录数", &[("鸡黍镇".into(), 200), ("<b>".into(), 100)]);
        assert!(svg.contains(r#"width="360""#));
        assert!(svg.contains(r#"width="180""#));
        assert!(svg.contains("&lt;b&gt;"));
        assert!(!svg.contains("<b>"));
    }
}
