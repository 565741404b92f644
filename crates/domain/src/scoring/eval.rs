//! Scoring one subject with a checked scheme: each indicator's measure (what the records,
//! ratings, checklist or entries say) becomes its points — times `points_per`, held between
//! `minimum` and `cap` — formulas follow in the order they read each other, then the total, the
//! grade and the flag. The breakdown keeps every line, so a score opens to how it was reached.

use super::formula::EvalError;
use super::scheme::{Indicator, IndicatorKind, Relation, Scheme};
use super::score::{Score, ScoreError};
use serde::Serialize;
use std::collections::HashMap;

/// One indicator's line in a subject's breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub key: String,
    pub name: String,
    pub dimension: Option<String>,
    /// What was measured: a count, a sum, a share, a weighted rating, points of items.
    pub measure: Score,
    pub points: Score,
    /// Whether the default total adds it.
    pub counts: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// In the order the scheme lists its indicators.
    pub lines: Vec<Line>,
    pub total: Score,
    pub grade: Option<String>,
    pub flag: Option<String>,
}

impl Scheme {
    /// Scores one subject. `measure_of` answers an indicator's measure by key; an indicator it
    /// knows nothing of measured zero (no record, no rating, no item met).
    pub fn score(&self, measure_of: &dyn Fn(&str) -> Option<Score>) -> Result<Outcome, EvalError> {
        let inds = &self.spec.indicators;
        let mut points: HashMap<&str, Score> = HashMap::with_capacity(inds.len());
        let mut lines: Vec<Option<Line>> = vec![None; inds.len()];
        for &n in &self.order {
            let ind = &inds[n];
            let measure = match (ind.kind, self.formulas.get(&ind.key)) {
                (IndicatorKind::Formula, Some(f)) => f.eval(&|k| points.get(k).copied())?,
                _ => measure_of(&ind.key).unwrap_or(Score::ZERO),
            };
            let p = points_of(ind, measure)?;
            points.insert(ind.key.as_str(), p);
            lines[n] = Some(Line {
                key: ind.key.clone(),
                name: ind.name.clone(),
                dimension: ind.dimension.clone(),
                measure,
                points: p,
                counts: ind.counts,
            });
        }
        let lines: Vec<Line> = lines.into_iter().flatten().collect();
        let total = match &self.total {
            Some(f) => f.eval(&|k| points.get(k).copied())?,
            None => lines
                .iter()
                .filter(|l| l.counts)
                .try_fold(Score::ZERO, |acc, l| acc.checked_add(l.points))?,
        };
        Ok(Outcome {
            grade: self
                .grade
                .as_ref()
                .and_then(|b| b.classify(total))
                .map(String::from),
            flag: self
                .flag
                .as_ref()
                .and_then(|b| b.classify(total))
                .map(String::from),
            lines,
            total,
        })
    }

    /// The indicator under `key`.
    pub fn indicator(&self, key: &str) -> Option<&Indicator> {
        self.spec.indicators.iter().find(|i| i.key == key)
    }
}

fn points_of(ind: &Indicator, measure: Score) -> Result<Score, ScoreError> {
    let mut p = match ind.points_per {
        Some(per) => measure.checked_mul(per)?,
        None => measure,
    };
    if let Some(cap) = ind.cap {
        p = p.min(cap);
    }
    if let Some(min) = ind.minimum {
        p = p.max(min);
    }
    Ok(p)
}

/// Why a rating was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatingError {
    #[error("评分{given}超出范围（{min}至{max}）")]
    OutOfRange {
        given: Score,
        min: Score,
        max: Score,
    },
    #[error("本指标不接受{0}评分")]
    NotARater(&'static str),
    #[error("本指标不是评分指标")]
    NotARating,
}

impl Relation {
    pub fn label_cn(self) -> &'static str {
        match self {
            Relation::Own => "自评",
            Relation::Peer => "互评",
            Relation::Leader => "领导鉴评",
            Relation::Inspector => "督查组",
        }
    }
}

impl Indicator {
    /// Checks one rating against the indicator's range and raters.
    pub fn check_rating(&self, relation: Relation, given: Score) -> Result<(), RatingError> {
        let [min, max] = match (self.kind, self.range) {
            (IndicatorKind::Rating, Some(r)) => r,
            _ => return Err(RatingError::NotARating),
        };
        if !self.raters.iter().any(|r| r.relation == relation) {
            return Err(RatingError::NotARater(relation.label_cn()));
        }
        if given < min || given > max {
            return Err(RatingError::OutOfRange { given, min, max });
        }
        Ok(())
    }

    /// The measure of a rating: the mean rating of each kind of rater, weighted, over the
    /// declared total of the weights. A kind of rater that gave no rating counts its weight with
    /// nothing (a missing leader's rating lowers the score rather than raising the others').
    pub fn combine_ratings(&self, given: &[(Relation, Score)]) -> Result<Score, RatingError> {
        let total = match (self.kind, self.weights_total) {
            (IndicatorKind::Rating, Some(t)) => t,
            _ => return Err(RatingError::NotARating),
        };
        for (rel, s) in given {
            self.check_rating(*rel, *s)?;
        }
        let mut sum = Score::ZERO;
        for r in &self.raters {
            let mine: Vec<Score> = given
                .iter()
                .filter(|(rel, _)| *rel == r.relation)
                .map(|(_, s)| *s)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let n = Score::points(mine.len() as i64).map_err(|_| RatingError::NotARating)?;
            let mean = mine
                .iter()
                .try_fold(Score::ZERO, |a, s| a.checked_add(*s))
                .and_then(|s| s.checked_div(n))
                .map_err(|_| RatingError::NotARating)?;
            sum = mean
                .checked_mul(r.weight)
                .and_then(|w| sum.checked_add(w))
                .map_err(|_| RatingError::NotARating)?;
        }
        sum.checked_div(total).map_err(|_| RatingError::NotARating)
    }

    /// The points of a checklist item or an entry kind: positive entries add, negative ones
    /// take away; `None` for a key the indicator does not list.
    pub fn item_points(&self, key: &str) -> Option<Score> {
        if let Some(i) = self
            .items
            .iter()
            .chain(&self.positive)
            .find(|i| i.key == key)
        {
            return Some(i.points);
        }
        self.negative
            .iter()
            .find(|i| i.key == key)
            .and_then(|i| i.points.checked_neg().ok())
    }
}

/// A cadence indicator's measure: the share of the period's due sub-periods that have a record.
pub fn cadence_share(with_record: u32, due: u32) -> Score {
    if due == 0 {
        return Score::ZERO;
    }
    let (w, d) = (i64::from(with_record.min(due)), i64::from(due));
    Score::from_units(w * super::score::SCALE)
        .checked_div(Score::from_units(d * super::score::SCALE))
        .unwrap_or(Score::ZERO)
}
