//! Ranks within a group (a branch, a town, the county): equal scores share a rank and the next
//! rank skips ("1, 2, 2, 4"), and both ends of a ranking are listed — 争先创优榜 and 后进提升榜 —
//! without ever naming the same subject on both.

use super::score::Score;

/// Which end of a ranking is first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// The highest score is first (points, stars).
    HigherFirst,
    /// The lowest is first (overdue counts, deductions).
    LowerFirst,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked<K> {
    pub key: K,
    pub score: Score,
    /// From 1; equal scores share it.
    pub rank: u32,
}

/// Ranks `items`; equal scores are listed by key so the order never depends on how they came.
pub fn rank<K: Ord>(mut items: Vec<(K, Score)>, order: Order) -> Vec<Ranked<K>> {
    items.sort_by(|(ka, a), (kb, b)| {
        let by_score = match order {
            Order::HigherFirst => b.cmp(a),
            Order::LowerFirst => a.cmp(b),
        };
        by_score.then_with(|| ka.cmp(kb))
    });
    let mut out: Vec<Ranked<K>> = Vec::with_capacity(items.len());
    for (i, (key, score)) in items.into_iter().enumerate() {
        let rank = match out.last() {
            Some(prev) if prev.score == score => prev.rank,
            _ => u32::try_from(i + 1).unwrap_or(u32::MAX),
        };
        out.push(Ranked { key, score, rank });
    }
    out
}

/// The first `n` places (with everyone tied into them) and the last `n` places counted from the
/// bottom the same way, worst first, leaving out anyone already at the top: with few subjects the
/// bottom list is shorter, never overlapping.
pub fn both_ends<K>(ranked: &[Ranked<K>], n: usize) -> (Vec<&Ranked<K>>, Vec<&Ranked<K>>) {
    let n32 = u32::try_from(n).unwrap_or(u32::MAX);
    let top: Vec<&Ranked<K>> = ranked.iter().take_while(|r| r.rank <= n32).collect();
    let len = ranked.len();
    let mut bottom = Vec::new();
    // Walking up from the last place: a subject's place from the bottom is 1 + how many score
    // strictly worse than it.
    let mut i = len;
    let mut worse = 0;
    let mut run = 0;
    let mut run_score = None;
    while i > top.len() {
        let score = ranked[i - 1].score;
        if run_score != Some(score) {
            worse += run;
            run = 0;
            run_score = Some(score);
        }
        if worse + 1 > n {
            break;
        }
        bottom.push(&ranked[i - 1]);
        run += 1;
        i -= 1;
    }
    (top, bottom)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: i64) -> Score {
        Score::points(n).unwrap()
    }

    fn ranks<'a>(r: &[Ranked<&'a str>]) -> Vec<(&'a str, u32)> {
        r.iter().map(|x| (x.key, x.rank)).collect()
    }

    #[test]
    fn ties_share_a_rank_and_the_next_skips() {
        let r = rank(
            vec![("丙", s(80)), ("甲", s(95)), ("乙", s(80)), ("丁", s(60))],
            Order::HigherFirst,
        );
        assert_eq!(ranks(&r), [("甲", 1), ("丙", 2), ("乙", 2), ("丁", 4)]);
        let r = rank(
            vec![("a", s(3)), ("b", s(0)), ("c", s(3))],
            Order::LowerFirst,
        );
        assert_eq!(ranks(&r), [("b", 1), ("a", 2), ("c", 2)]);
        assert!(rank(Vec::<(&str, Score)>::new(), Order::HigherFirst).is_empty());
    }

    #[test]
    fn both_ends_never_overlap() {
        let r = rank(
            vec![
                ("a", s(10)),
                ("b", s(9)),
                ("c", s(8)),
                ("d", s(7)),
                ("e", s(6)),
                ("f", s(5)),
            ],
            Order::HigherFirst,
        );
        let (top, bottom) = both_ends(&r, 2);
        assert_eq!(top.iter().map(|x| x.key).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(bottom.iter().map(|x| x.key).collect::<Vec<_>>(), ["f", "e"]);
        // Three subjects, two at each end: the bottom keeps only the one not at the top.
        let few = rank(
            vec![("a", s(3)), ("b", s(2)), ("c", s(1))],
            Order::HigherFirst,
        );
        let (top, bottom) = both_ends(&few, 2);
        assert_eq!(top.iter().map(|x| x.key).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(bottom.iter().map(|x| x.key).collect::<Vec<_>>(), ["c"]);
        // Everyone tied: all at the top, nobody at the bottom.
        let tied = rank(
            vec![("a", s(1)), ("b", s(1)), ("c", s(1))],
            Order::HigherFirst,
        );
        let (top, bottom) = both_ends(&tied, 1);
        assert_eq!(top.len(), 3);
        assert!(bottom.is_empty());
    }

    #[test]
    fn ties_at_the_bottom_are_listed_together() {
        let r = rank(
            vec![
                ("a", s(9)),
                ("b", s(8)),
                ("c", s(7)),
                ("d", s(2)),
                ("e", s(2)),
            ],
            Order::HigherFirst,
        );
        let (top, bottom) = both_ends(&r, 1);
        assert_eq!(top.iter().map(|x| x.key).collect::<Vec<_>>(), ["a"]);
        assert_eq!(bottom.iter().map(|x| x.key).collect::<Vec<_>>(), ["e", "d"]);
        let (_, bottom) = both_ends(&r, 0);
        assert!(bottom.is_empty());
    }
}
