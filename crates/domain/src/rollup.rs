//! Rollups (汇总): what each record adds to the figures of its organisation × month × ledger
//! type, kept beside the records in the same transaction as every write and void, so that a
//! bulletin reads one row per organisation and month instead of every record.
//!
//! A rollup is keyed by the record's *own* organisation, never by its ancestors: which ancestors
//! a record counts under is the closure table's business on the record's date, so a move or a
//! dissolution changes no rollup row. A bulletin resolves the tree when it reads
//! (`Coverage`): a month in which an organisation's place under the bulletin's unit held the whole
//! month is read from the rollup; the days of a month that the place or the period covers only in
//! part are read from the records (they are few: the period's first and last month, and the
//! months of moves).
//!
//! Distinct people do not add up across organisations or months, so each cell keeps the set of
//! people named in its records; a bulletin merges the sets (`roaring` bitmaps in the store).
//!
//! Beside them the store keeps a *subtree* summary: the same figures keyed by each ancestor the
//! record had on its date (`RollupDelta::add_at`), with the set of organisations that have
//! records, so that a bulletin over a subtree reads one row per month and type instead of one per
//! organisation. It is derived from the per-organisation cells, which stay the truth: the store
//! recomputes an ancestor's month from them when a void or a back-dated move changes it.

use crate::ledger::Fact;
use chrono::{Datelike, NaiveDate};
use std::collections::{BTreeMap, BTreeSet};

/// The first day of the month of `d`.
pub fn month_of(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The first day of the month after the month of `d`; saturates at the last representable date.
pub fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(NaiveDate::MAX)
}

/// One organisation × month × ledger type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    pub org_id: i64,
    /// The month's first day.
    pub month: NaiveDate,
    pub type_id: i64,
}

/// A figure within a cell. `choice_field`/`option` are empty for a figure over all records;
/// `num_field` is empty for a count.
///
/// - (f, o, "") — records that chose option o of field f;
/// - ("", "", n) — the sum of numeric field n (count: records that gave it);
/// - (f, o, n) — the sum of n over the records that chose o ("of the 隐患, 冬季取暖 …").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FactKey {
    pub cell: CellKey,
    pub choice_field: String,
    pub option: String,
    pub num_field: String,
}

/// A count and an exact sum, the sum kept in two halves that cannot overflow an i64 within
/// 2^31 records: the high 32 bits of each value (arithmetic shift) and the low 32 bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SumDelta {
    pub count: i64,
    pub high: i64,
    pub low: i64,
}

impl SumDelta {
    fn add(&mut self, value: i64, sign: i64) {
        self.count += sign;
        self.high += sign * (value >> 32);
        self.low += sign * (value & 0xFFFF_FFFF);
    }

    pub fn merge(&mut self, other: SumDelta) {
        self.count += other.count;
        self.high += other.high;
        self.low += other.low;
    }

    /// The exact sum as an i128 (never overflows).
    pub fn total(&self) -> i128 {
        (i128::from(self.high) << 32) + i128::from(self.low)
    }

    pub fn is_zero(&self) -> bool {
        self.count == 0 && self.high == 0 && self.low == 0
    }
}

/// What a cell gains (or, signed negative, loses): records and the people they name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellDelta {
    pub records: i64,
    /// People added; a void never removes people here (another record of the cell may name
    /// them too): the store recomputes a voided record's cells from their records.
    pub people: BTreeSet<i64>,
    /// Organisations whose records the cell counts (for a subtree cell: those below the root
    /// with records; for an organisation's own cell: itself).
    pub orgs: BTreeSet<i64>,
}

/// One record as a rollup sees it.
#[derive(Debug, Clone, Copy)]
pub struct RollupInput<'a> {
    pub type_id: i64,
    pub org_id: i64,
    pub occurred_on: NaiveDate,
    pub facts: &'a [Fact],
    /// Distinct people named in the record's people fields.
    pub people: &'a [i64],
}

/// The change a batch of writes makes to the rollups, merged per cell and figure so that a
/// batch of 10,000 records is a few hundred upserts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupDelta {
    pub cells: BTreeMap<CellKey, CellDelta>,
    pub facts: BTreeMap<FactKey, SumDelta>,
}

impl RollupDelta {
    /// Adds a record (`sign` 1) or takes a voided one away (`sign` -1).
    ///
    /// The per-option sums pair every chosen option with every number of the record: at most
    /// (choice facts × number facts), bounded by the type's 200 fields and 100 options per field.
    pub fn add(&mut self, r: &RollupInput<'_>, sign: i64) {
        self.add_at(r, r.org_id, sign)
    }

    /// Adds a record to the cell of `at`: its own organisation, or an ancestor it had on its
    /// date (a subtree cell).
    pub fn add_at(&mut self, r: &RollupInput<'_>, at: i64, sign: i64) {
        let cell = CellKey {
            org_id: at,
            month: month_of(r.occurred_on),
            type_id: r.type_id,
        };
        let c = self.cells.entry(cell).or_default();
        c.records += sign;
        if sign > 0 {
            c.people.extend(r.people.iter().copied());
            c.orgs.insert(r.org_id);
        }
        let key = |choice_field: &str, option: &str, num_field: &str| FactKey {
            cell,
            choice_field: choice_field.to_string(),
            option: option.to_string(),
            num_field: num_field.to_string(),
        };
        for f in r.facts {
            match f {
                Fact::Choice { field, option } => {
                    self.facts
                        .entry(key(field, option, ""))
                        .or_default()
                        .add(0, sign);
                    for n in r.facts {
                        if let Fact::Number { field: nf, value } = n {
                            self.facts
                                .entry(key(field, option, nf))
                                .or_default()
                                .add(*value, sign);
                        }
                    }
                }
                Fact::Number { field, value } => {
                    self.facts
                        .entry(key("", "", field))
                        .or_default()
                        .add(*value, sign);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty() && self.facts.is_empty()
    }
}

/// A stretch of days during which an organisation counts for a bulletin's unit: `[from, to]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub org_id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// How a bulletin reads one unit: whole months from the rollup, the rest from the records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// (organisation, first month, last month), both months' first days, read from the rollup.
    pub months: Vec<(i64, NaiveDate, NaiveDate)>,
    /// (organisation, first day, last day) read from the records.
    pub days: Vec<Span>,
}

impl Coverage {
    /// Splits spans (an organisation's place under a unit, clipped to the period) into whole
    /// months and leftover days. Overlapping or touching spans of one organisation are merged
    /// first, so that a day is read once however many ways it was reached.
    pub fn of(mut spans: Vec<Span>) -> Coverage {
        spans.sort();
        let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
        for s in spans {
            if s.to < s.from {
                continue;
            }
            match merged.last_mut() {
                Some(m) if m.org_id == s.org_id && s.from <= m.to.succ_opt().unwrap_or(m.to) => {
                    m.to = m.to.max(s.to);
                }
                _ => merged.push(s),
            }
        }
        let mut out = Coverage::default();
        for s in merged {
            // The first whole month starts on or after `from`; the last ends on or before `to`.
            let first = if s.from.day() == 1 {
                s.from
            } else {
                next_month(s.from)
            };
            let after_to = s.to.succ_opt().unwrap_or(s.to);
            let end = month_of(after_to); // months strictly before `end` may be whole
            if first < end {
                let last = month_of(end.pred_opt().unwrap_or(end));
                out.months.push((s.org_id, first, last));
                if s.from < first {
                    out.days.push(Span {
                        org_id: s.org_id,
                        from: s.from,
                        to: first.pred_opt().unwrap_or(first),
                    });
                }
                if end <= s.to {
                    out.days.push(Span {
                        org_id: s.org_id,
                        from: end,
                        to: s.to,
                    });
                }
            } else {
                out.days.push(s);
            }
        }
        out
    }
}

/// Days of a list and how many of its records fall on them: a whole month counted by the
/// rollups, or a ragged end of the period counted from the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub records: i64,
}

/// `[from, to]` cut at month boundaries, newest first: each stretch with whether it is a whole
/// month (the rollups count it) or a ragged end (the records do). Empty when `to < from`.
pub fn month_stretches(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate, bool)> {
    let mut out = Vec::new();
    let mut first = from;
    while first <= to {
        let next = next_month(first);
        let last = next.pred_opt().unwrap_or(next).min(to);
        let whole = first.day() == 1 && last.succ_opt().is_some_and(|d| d == next);
        out.push((first, last, whole));
        if next <= first {
            break;
        }
        first = next;
    }
    out.reverse();
    out
}

/// Where records `offset .. offset + limit` of a list (newest first) lie, given how many it has
/// on each stretch of days (newest first): the days to read and how many of their records, newer
/// than the page, to pass over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageWindow {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub skip: i64,
}

/// The window of a page, or `None` when the page starts past the list's end. Its cost follows
/// the stretches, not the records, however deep the page.
pub fn page_window(counts: &[DayCount], offset: i64, limit: i64) -> Option<PageWindow> {
    let (offset, limit) = (offset.max(0), limit.max(1));
    let mut before = 0i64;
    let mut start = None;
    for (i, c) in counts.iter().enumerate() {
        if c.records > 0 && before + c.records > offset {
            start = Some(i);
            break;
        }
        before += c.records;
    }
    let start = start?;
    let mut seen = before;
    let mut first = counts[start].first;
    for c in &counts[start..] {
        first = c.first;
        seen += c.records;
        if seen >= offset + limit {
            break;
        }
    }
    Some(PageWindow {
        first,
        last: counts[start].last,
        skip: offset - before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_period_is_cut_into_months_and_ragged_ends_newest_first() {
        assert_eq!(
            month_stretches(on("2025-01-15"), on("2025-03-10")),
            vec![
                (on("2025-03-01"), on("2025-03-10"), false),
                (on("2025-02-01"), on("2025-02-28"), true),
                (on("2025-01-15"), on("2025-01-31"), false),
            ]
        );
        assert_eq!(
            month_stretches(on("2024-02-01"), on("2024-02-29")),
            vec![(on("2024-02-01"), on("2024-02-29"), true)]
        );
        assert_eq!(
            month_stretches(on("2024-02-03"), on("2024-02-03")),
            vec![(on("2024-02-03"), on("2024-02-03"), false)]
        );
        assert!(month_stretches(on("2024-02-03"), on("2024-02-02")).is_empty());
    }

    #[test]
    fn a_page_is_found_from_the_counts_of_its_months() {
        let c = |first: &str, last: &str, records| DayCount {
            first: on(first),
            last: on(last),
            records,
        };
        // March 5 records, February none, January 30.
        let counts = [
            c("2025-03-01", "2025-03-31", 5),
            c("2025-02-01", "2025-02-28", 0),
            c("2025-01-01", "2025-01-31", 30),
        ];
        let w = |first: &str, last: &str, skip| {
            Some(PageWindow {
                first: on(first),
                last: on(last),
                skip,
            })
        };
        // The first page of 10: the last 5 of March and 5 of January.
        assert_eq!(
            page_window(&counts, 0, 10),
            w("2025-01-01", "2025-03-31", 0)
        );
        // A page inside March.
        assert_eq!(page_window(&counts, 1, 3), w("2025-03-01", "2025-03-31", 1));
        // A page that starts in January skips March and the empty February.
        assert_eq!(
            page_window(&counts, 15, 10),
            w("2025-01-01", "2025-01-31", 10)
        );
        // The last record, then past the end.
        assert_eq!(
            page_window(&counts, 34, 10),
            w("2025-01-01", "2025-01-31", 29)
        );
        assert_eq!(page_window(&counts, 35, 10), None);
        assert_eq!(page_window(&[], 0, 10), None);
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn months_step_over_the_year() {
        assert_eq!(next_month(d(2026, 12, 31)), d(2027, 1, 1));
        assert_eq!(next_month(d(2026, 1, 31)), d(2026, 2, 1));
        assert_eq!(month_of(d(2026, 2, 28)), d(2026, 2, 1));
        assert_eq!(next_month(NaiveDate::MAX), NaiveDate::MAX);
    }

    #[test]
    fn a_year_is_twelve_whole_months_and_no_days() {
        let c = Coverage::of(vec![Span {
            org_id: 7,
            from: d(2026, 1, 1),
            to: d(2026, 12, 31),
        }]);
        assert_eq!(c.months, vec![(7, d(2026, 1, 1), d(2026, 12, 1))]);
        assert!(c.days.is_empty());
    }

    #[test]
    fn partial_months_at_both_ends_are_days() {
        let c = Coverage::of(vec![Span {
            org_id: 7,
            from: d(2026, 3, 15),
            to: d(2026, 6, 10),
        }]);
        assert_eq!(c.months, vec![(7, d(2026, 4, 1), d(2026, 5, 1))]);
        assert_eq!(
            c.days,
            vec![
                Span {
                    org_id: 7,
                    from: d(2026, 3, 15),
                    to: d(2026, 3, 31)
                },
                Span {
                    org_id: 7,
                    from: d(2026, 6, 1),
                    to: d(2026, 6, 10)
                },
            ]
        );
    }

    #[test]
    fn a_span_inside_one_month_is_days_only() {
        let c = Coverage::of(vec![Span {
            org_id: 1,
            from: d(2026, 3, 2),
            to: d(2026, 3, 30),
        }]);
        assert!(c.months.is_empty());
        assert_eq!(c.days.len(), 1);
    }

    #[test]
    fn touching_and_overlapping_spans_of_one_organisation_merge() {
        // A move within the unit closes one place on the 15th and opens the next the same day.
        let c = Coverage::of(vec![
            Span {
                org_id: 1,
                from: d(2026, 3, 15),
                to: d(2026, 12, 31),
            },
            Span {
                org_id: 1,
                from: d(2026, 1, 1),
                to: d(2026, 3, 14),
            },
            Span {
                org_id: 2,
                from: d(2026, 1, 1),
                to: d(2026, 1, 31),
            },
            Span {
                org_id: 2,
                from: d(2026, 1, 10),
                to: d(2026, 2, 28),
            },
        ]);
        assert_eq!(
            c.months,
            vec![
                (1, d(2026, 1, 1), d(2026, 12, 1)),
                (2, d(2026, 1, 1), d(2026, 2, 1))
            ]
        );
        assert!(c.days.is_empty());
    }

    #[test]
    fn a_record_adds_counts_sums_and_sums_per_option() {
        let facts = vec![
            Fact::Choice {
                field: "kind".into(),
                option: "冬季取暖".into(),
            },
            Fact::Number {
                field: "amount".into(),
                value: 5_000_000_000,
            },
        ];
        let mut delta = RollupDelta::default();
        let r = RollupInput {
            type_id: 3,
            org_id: 9,
            occurred_on: d(2026, 2, 17),
            facts: &facts,
            people: &[4, 5],
        };
        delta.add(&r, 1);
        delta.add(&r, 1);
        let cell = CellKey {
            org_id: 9,
            month: d(2026, 2, 1),
            type_id: 3,
        };
        assert_eq!(delta.cells[&cell].records, 2);
        assert_eq!(
            delta.cells[&cell]
                .people
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            vec![4, 5]
        );
        let k = |c: &str, o: &str, n: &str| FactKey {
            cell,
            choice_field: c.into(),
            option: o.into(),
            num_field: n.into(),
        };
        assert_eq!(delta.facts[&k("kind", "冬季取暖", "")].count, 2);
        assert_eq!(delta.facts[&k("", "", "amount")].total(), 10_000_000_000);
        assert_eq!(
            delta.facts[&k("kind", "冬季取暖", "amount")].total(),
            10_000_000_000
        );
        delta.add(&r, -1);
        assert_eq!(delta.cells[&cell].records, 1);
        assert_eq!(delta.facts[&k("", "", "amount")].total(), 5_000_000_000);
        assert_eq!(delta.facts.len(), 3);
    }

    #[test]
    fn negative_values_sum_exactly() {
        let mut s = SumDelta::default();
        for v in [-1_i64, -5_000_000_000, i64::MIN, i64::MAX, 3] {
            s.add(v, 1);
        }
        let want: i128 = [
            -1_i128,
            -5_000_000_000,
            i64::MIN as i128,
            i64::MAX as i128,
            3,
        ]
        .iter()
        .sum();
        assert_eq!(s.total(), want);
    }
}
