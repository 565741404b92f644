//! The county dashboard (数据大屏): the arithmetic of its headline figures and the charts it
//! draws on the server (`svg`). No I/O. Shares are `phrasing::percent`.

pub mod svg;

use chrono::{Datelike, NaiveDate};

/// How this period compares with the last: "+12", "-3" or "持平".
pub fn change(now: i64, before: i64) -> String {
    match now - before {
        0 => "持平".to_string(),
        d if d > 0 => format!("+{d}"),
        d => d.to_string(),
    }
}

/// The first days of the `n` months ending with the month of `last` (oldest first).
pub fn months_ending(last: NaiveDate, n: u32) -> Vec<NaiveDate> {
    let mut out = Vec::with_capacity(n as usize);
    let (mut y, mut m) = (last.year(), last.month());
    for _ in 0..n {
        match NaiveDate::from_ymd_opt(y, m, 1) {
            Some(d) => out.push(d),
            None => break,
        }
        (y, m) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    }
    out.reverse();
    out
}

/// The two ends of a ranking of `len` lines: the indices of the first `n` and of the last `n`
/// that are not already among the first.
pub fn both_ends(len: usize, n: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let top = 0..n.min(len);
    let bottom = len.saturating_sub(n).max(top.end)..len;
    (top, bottom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_signed() {
        assert_eq!(change(12, 10), "+2");
        assert_eq!(change(8, 10), "-2");
        assert_eq!(change(3, 3), "持平");
    }

    #[test]
    fn twelve_months_cross_the_year() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).expect("date");
        let m = months_ending(d(2026, 3, 17), 12);
        assert_eq!(m.len(), 12);
        assert_eq!(m[0], d(2025, 4, 1));
        assert_eq!(m[9], d(2026, 1, 1));
        assert_eq!(m[11], d(2026, 3, 1));
    }

    #[test]
    fn the_ends_of_a_short_ranking_do_not_repeat() {
        assert_eq!(both_ends(14, 5), (0..5, 9..14));
        assert_eq!(both_ends(7, 5), (0..5, 5..7));
        assert_eq!(both_ends(3, 5), (0..3, 3..3));
        assert_eq!(both_ends(0, 5), (0..0, 0..0));
    }
}
