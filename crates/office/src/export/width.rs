//! Column widths fitted to CJK text.

/// The narrowest and widest a column is made, in Excel's character units.
pub const MIN_WIDTH: u16 = 6;
pub const MAX_WIDTH: u16 = 60;

/// How many half-width cells `s` takes: a CJK (or other wide) character counts as two.
pub fn display_width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

/// East Asian wide and full-width characters: CJK ideographs and punctuation, kana, hangul,
/// full-width forms.
fn is_wide(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD)
}

/// The width a column gets for its widest value: two units of margin, within the bounds.
pub(crate) fn column_width(widest: usize) -> u16 {
    let w = u16::try_from(widest.saturating_add(2)).unwrap_or(MAX_WIDTH);
    w.clamp(MIN_WIDTH, MAX_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_counts_twice_and_widths_are_bounded() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("鸡黍镇"), 6);
        assert_eq!(display_width("金乡县（2024）"), 14);
        assert_eq!(display_width("ＡＢ"), 4);
        assert_eq!(column_width(0), MIN_WIDTH);
        assert_eq!(column_width(6), 8);
        assert_eq!(column_width(10_000), MAX_WIDTH);
    }
}
