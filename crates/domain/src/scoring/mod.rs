//! Scoring: the pieces every evaluation scheme is computed with — exact scores, the formula
//! language for totals and thresholds, bands that turn a score into stars, grades or colour
//! flags, ranks with both ends of a ranking — and the scheme format that puts them together
//! (`scheme`), checked (`check`) and scored per subject (`eval`). No scheme is written here:
//! schemes are data.

pub mod bands;
mod check;
pub mod eval;
pub mod formula;
pub mod rank;
pub mod scheme;
pub mod score;

#[cfg(test)]
mod tests;

pub use bands::{BandError, BandSpec, Bands};
pub use eval::{cadence_share, Line, Outcome, RatingError};
pub use formula::{EvalError, Formula, FormulaError};
pub use rank::{both_ends, rank, Order, Ranked};
pub use scheme::{
    Indicator, IndicatorKind, Relation, Scheme, SchemeContext, SchemeError, SchemeSpec,
};
pub use score::{Score, ScoreError};
