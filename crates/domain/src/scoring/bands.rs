//! Thresholds that turn a score into an outcome — stars (评星定级), grades, colour flags
//! (红黄蓝, 绿蓝黄红, 蓝红牌): bands over a declared range, each from its lower bound (included)
//! to the next band's. A scheme's bands must cover the range exactly: a gap leaves some scores
//! without an outcome and an overlap gives some two, so both are refused when the scheme is
//! saved, naming the bands.

use super::score::Score;

/// How many bands a scale may have.
pub const MAX_BANDS: usize = 20;

/// One band as written: `from` (included) to `to` (excluded, except in the last band).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BandSpec {
    pub from: Score,
    pub to: Score,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BandError {
    pub code: &'static str,
    /// The band (from 1, as written) the problem is found at.
    pub band: usize,
    pub message: String,
}

/// A checked scale: sorted, adjoining, covering `[min, max]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bands {
    min: Score,
    max: Score,
    /// Lower bounds and labels, ascending.
    bands: Vec<(Score, String)>,
}

impl Bands {
    pub fn new(min: Score, max: Score, specs: &[BandSpec]) -> Result<Bands, BandError> {
        let err = |code, band, message: String| BandError {
            code,
            band,
            message,
        };
        if specs.is_empty() || specs.len() > MAX_BANDS {
            return Err(err(
                "bands.count",
                0,
                format!("分档应有1至{MAX_BANDS}档（现有{}档）", specs.len()),
            ));
        }
        if min >= max {
            return Err(err(
                "bands.range",
                0,
                format!("分值范围的下限{min}应小于上限{max}"),
            ));
        }
        let mut order: Vec<usize> = (0..specs.len()).collect();
        order.sort_by_key(|&i| (specs[i].from, i));
        for (n, &i) in order.iter().enumerate() {
            let b = &specs[i];
            if b.label.trim().is_empty() || b.label.chars().count() > 20 {
                return Err(err(
                    "bands.label",
                    i + 1,
                    format!("第{}档的名称应为1至20个字", i + 1),
                ));
            }
            if b.from >= b.to {
                return Err(err(
                    "bands.empty",
                    i + 1,
                    format!(
                        "第{}档“{}”的下限{}应小于上限{}",
                        i + 1,
                        b.label,
                        b.from,
                        b.to
                    ),
                ));
            }
            if n == 0 && b.from != min {
                let code = if b.from > min {
                    "bands.gap"
                } else {
                    "bands.outside"
                };
                return Err(err(
                    code,
                    i + 1,
                    format!("最低一档“{}”应从{min}开始（现为{}）", b.label, b.from),
                ));
            }
            match order.get(n + 1) {
                Some(&j) => {
                    let next = &specs[j];
                    if b.to < next.from {
                        return Err(err(
                            "bands.gap",
                            i + 1,
                            format!(
                                "第{}档“{}”与第{}档“{}”之间有空档：{}至{}分没有对应结果",
                                i + 1,
                                b.label,
                                j + 1,
                                next.label,
                                b.to,
                                next.from
                            ),
                        ));
                    }
                    if b.to > next.from {
                        return Err(err(
                            "bands.overlap",
                            i + 1,
                            format!(
                                "第{}档“{}”与第{}档“{}”重叠：{}至{}分同时属于两档",
                                i + 1,
                                b.label,
                                j + 1,
                                next.label,
                                next.from,
                                b.to
                            ),
                        ));
                    }
                }
                None if b.to != max => {
                    let code = if b.to < max {
                        "bands.gap"
                    } else {
                        "bands.outside"
                    };
                    return Err(err(
                        code,
                        i + 1,
                        format!("最高一档“{}”应到{max}为止（现为{}）", b.label, b.to),
                    ));
                }
                None => {}
            }
        }
        Ok(Bands {
            min,
            max,
            bands: order
                .iter()
                .map(|&i| (specs[i].from, specs[i].label.clone()))
                .collect(),
        })
    }

    /// The band a score falls in; a score outside the range has none (the scheme's total is
    /// expected to be bounded, and an unbounded one is reported, not silently clamped).
    pub fn classify(&self, score: Score) -> Option<&str> {
        if score < self.min || score > self.max {
            return None;
        }
        let i = self.bands.partition_point(|(from, _)| *from <= score);
        self.bands.get(i.checked_sub(1)?).map(|(_, l)| l.as_str())
    }

    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.bands.iter().map(|(_, l)| l.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: &str) -> Score {
        Score::parse(n).unwrap()
    }

    fn band(from: &str, to: &str, label: &str) -> BandSpec {
        BandSpec {
            from: s(from),
            to: s(to),
            label: label.into(),
        }
    }

    fn stars() -> Vec<BandSpec> {
        vec![
            band("90", "100", "五星"),
            band("0", "60", "未评星"),
            band("60", "70", "二星"),
            band("70", "80", "三星"),
            band("80", "90", "四星"),
        ]
    }

    #[test]
    fn scores_fall_in_one_band_each() {
        let b = Bands::new(s("0"), s("100"), &stars()).unwrap();
        assert_eq!(b.classify(s("0")), Some("未评星"));
        assert_eq!(b.classify(s("59.9999")), Some("未评星"));
        assert_eq!(b.classify(s("60")), Some("二星"));
        assert_eq!(b.classify(s("89.5")), Some("四星"));
        assert_eq!(b.classify(s("100")), Some("五星"));
        assert_eq!(b.classify(s("100.0001")), None);
        assert_eq!(b.classify(s("-1")), None);
        assert_eq!(
            b.labels().collect::<Vec<_>>(),
            ["未评星", "二星", "三星", "四星", "五星"]
        );
    }

    #[test]
    fn gaps_and_overlaps_are_refused_naming_the_bands() {
        let mut gap = stars();
        gap[3] = band("72", "80", "三星");
        let e = Bands::new(s("0"), s("100"), &gap).unwrap_err();
        assert_eq!((e.code, e.band), ("bands.gap", 3));
        assert_eq!(
            e.message,
            "第3档“二星”与第4档“三星”之间有空档：70至72分没有对应结果"
        );
        let mut overlap = stars();
        overlap[2] = band("60", "75", "二星");
        let e = Bands::new(s("0"), s("100"), &overlap).unwrap_err();
        assert_eq!((e.code, e.band), ("bands.overlap", 3));
        let e = Bands::new(s("0"), s("120"), &stars()).unwrap_err();
        assert_eq!((e.code, e.band), ("bands.gap", 1));
        let e = Bands::new(s("10"), s("100"), &stars()).unwrap_err();
        assert_eq!((e.code, e.band), ("bands.outside", 2));
        let e = Bands::new(s("0"), s("100"), &[band("0", "0", "空")]).unwrap_err();
        assert_eq!(e.code, "bands.empty");
        let e = Bands::new(s("0"), s("100"), &[]).unwrap_err();
        assert_eq!(e.code, "bands.count");
        let e = Bands::new(s("0"), s("100"), &[band("0", "100", " ")]).unwrap_err();
        assert_eq!(e.code, "bands.label");
        let e = Bands::new(s("5"), s("5"), &[band("5", "6", "一")]).unwrap_err();
        assert_eq!(e.code, "bands.range");
    }
}
