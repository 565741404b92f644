//! Chinese number phrasing as the newspapers print it: "1.4万余户", "2400余人", "653处",
//! "5300余万元", "占比11.3%". Small counts are exact; larger ones are truncated (never rounded
//! up) and marked 余 when something was cut off.

/// Phrases a count with its unit: `approx(14_230, "户") == "1.4万余户"`. Total: any i64,
/// `i64::MIN` included, is phrased.
pub fn approx(n: i64, unit: &str) -> String {
    if n < 0 {
        return format!("负{}", approx_magnitude(n.unsigned_abs(), unit));
    }
    approx_magnitude(n.unsigned_abs(), unit)
}

fn approx_magnitude(n: u64, unit: &str) -> String {
    let yu = |cut: bool| if cut { "余" } else { "" };
    if n < 1_000 {
        format!("{n}{unit}")
    } else if n < 10_000 {
        let h = n / 100 * 100;
        format!("{h}{}{unit}", yu(h != n))
    } else if n < 10_000_000 {
        // tenths of 万
        let t = n / 1_000;
        let cut = t * 1_000 != n;
        let w = if t.is_multiple_of(10) {
            format!("{}", t / 10)
        } else {
            format!("{}.{}", t / 10, t % 10)
        };
        format!("{w}万{}{unit}", yu(cut))
    } else if n < 100_000_000 {
        // hundreds of 万, with 余 before 万: "5300余万元"
        let h = n / 1_000_000 * 100;
        let cut = h * 10_000 != n;
        format!("{h}{}万{unit}", yu(cut))
    } else {
        let t = n / 10_000_000;
        let cut = t * 10_000_000 != n;
        let y = if t.is_multiple_of(10) {
            format!("{}", t / 10)
        } else {
            format!("{}.{}", t / 10, t % 10)
        };
        format!("{y}亿{}{unit}", yu(cut))
    }
}

/// Exact count with thousands left unseparated, as the papers print them: "19055户".
pub fn exact(n: i64, unit: &str) -> String {
    format!("{n}{unit}")
}

/// A share with one decimal, rounded half up: "11.3%".
/// `None` when the whole is zero.
pub fn percent(part: i64, whole: i64) -> Option<String> {
    if whole == 0 {
        return None;
    }
    // round half up to one decimal
    let tenths = (part as i128 * 1000 * 2 + whole as i128) / (whole as i128 * 2);
    Some(format!("{}.{}%", tenths / 10, (tenths % 10).abs()))
}

/// Formats a value scaled by 10^scale ("12345" scale 2 → "123.45"), without trailing zeros.
/// Total: any value and scale.
pub fn scaled(value: i64, scale: u32) -> String {
    if scale == 0 {
        return value.to_string();
    }
    // Every i64, `i64::MIN` included, has a magnitude in u64; a scale past 10^19 leaves it whole.
    let p = 10_u64.checked_pow(scale).unwrap_or(u64::MAX);
    let sign = if value < 0 { "-" } else { "" };
    let v = value.unsigned_abs();
    let frac = format!("{:0width$}", v % p, width = scale as usize);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{}", v / p)
    } else {
        format!("{sign}{}.{frac}", v / p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_sentences() {
        // "走访群众1.4万余户"
        assert_eq!(approx(14_230, "户"), "1.4万余户");
        // "培训2400余人"
        assert_eq!(approx(2_437, "人"), "2400余人");
        // "在线收看2.6万余人次"
        assert_eq!(approx(26_500, "人次"), "2.6万余人次");
        // "排查冬季安全风险隐患653处", "征求意见建议97条"
        assert_eq!(approx(653, "处"), "653处");
        assert_eq!(approx(97, "条"), "97条");
        // "累计争取各类帮扶资金5300余万元" (amount in 元)
        assert_eq!(approx(53_120_000, "元"), "5300余万元");
        // "吸纳成员1300余名", "9000余件"
        assert_eq!(approx(1_306, "名"), "1300余名");
        assert_eq!(approx(9_012, "件"), "9000余件");
    }

    #[test]
    fn exact_values_carry_no_yu() {
        assert_eq!(approx(2_400, "人"), "2400人");
        assert_eq!(approx(26_000, "人次"), "2.6万人次");
        assert_eq!(approx(10_000, "户"), "1万户");
        assert_eq!(approx(10_050, "户"), "1万余户");
        assert_eq!(approx(200_000_000, "元"), "2亿元");
        assert_eq!(approx(123_456_789, "元"), "1.2亿余元");
    }

    #[test]
    fn percentages() {
        // "完工25个、占比11.3%" of 221 planned roads; "开工率44.8%" = 77 of 172
        assert_eq!(percent(25, 221).unwrap(), "11.3%");
        assert_eq!(percent(77, 172).unwrap(), "44.8%");
        assert_eq!(percent(1, 3).unwrap(), "33.3%");
        assert_eq!(percent(2, 3).unwrap(), "66.7%");
        assert_eq!(percent(5, 5).unwrap(), "100.0%");
        assert_eq!(percent(1, 0), None);
    }

    #[test]
    fn scaled_values() {
        assert_eq!(scaled(12_345, 2), "123.45");
        assert_eq!(scaled(12_300, 2), "123");
        assert_eq!(scaled(12_310, 2), "123.1");
        assert_eq!(scaled(-5, 2), "-0.05");
        assert_eq!(scaled(7, 0), "7");
    }
}
