//! Scoring: the pieces every evaluation scheme is computed with — exact scores, the formula
//! language for totals and thresholds, bands that turn a score into stars, grades or colour
//! flags, and ranks with both ends of a ranking. No scheme is written here: schemes are data.

pub mod bands;
pub mod formula;
pub mod rank;
pub mod score;

pub use bands::{BandError, BandSpec, Bands};
pub use formula::{EvalError, Formula, FormulaError};
pub use rank::{both_ends, rank, Order, Ranked};
pub use score::{Score, ScoreError};
