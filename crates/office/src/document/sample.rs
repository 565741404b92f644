//! A fixed bulletin with any number of ranked units, for tests and for looking at a document
//! without a database.

use chrono::NaiveDate;
use taizhang_domain::builtin::builtin_types;
use taizhang_domain::bulletin::{compose, Bulletin, Figures, Grouping, OrgBrief, TypeRef, Unit};
use taizhang_domain::org::OrgKind;
use taizhang_domain::period::DateRange;

fn brief(id: i64, name: String, kind: OrgKind) -> OrgBrief {
    OrgBrief {
        id,
        org_ref: format!("o{id}"),
        name,
        kind,
    }
}

/// 金乡县's bulletin for 2026 with `units` townships "鸡黍镇1" …; unit `i` (0-based) has
/// `10 × (units − i)` 走访 records and `i % 3` 三会一课 records.
pub fn sample_bulletin(units: usize) -> Bulletin {
    let defs = builtin_types();
    let types: Vec<TypeRef<'_>> = ["three_meetings", "visit"]
        .iter()
        .enumerate()
        .filter_map(|(i, key)| {
            let def = defs.iter().find(|t| t.key == *key)?;
            Some(TypeRef {
                id: i as i64 + 1,
                def,
            })
        })
        .collect();
    let year = DateRange::new(
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
        NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default(),
    )
    .unwrap_or(DateRange {
        from: NaiveDate::MIN,
        to: NaiveDate::MIN,
    });
    let mut f = Figures::default();
    f.totals.insert(1, (2_000, 300, 5_000));
    f.choices
        .insert((1, "meeting_kind".into(), "党课".into()), 226);
    f.choices
        .insert((1, "meeting_kind".into(), "支部委员会".into()), 1_774);
    f.totals.insert(2, (1_200, 250, 0));
    f.sums.insert((2, "households".into()), 14_230);
    f.sums.insert((2, "problems_solved".into()), 416);
    let list: Vec<Unit> = (0..units)
        .map(|i| Unit {
            org: brief(10 + i as i64, format!("鸡黍镇{}", i + 1), OrgKind::Township),
            range: year,
            via: None,
        })
        .collect();
    for i in 0..units {
        f.unit_counts.insert((i, 2), 10 * (units - i) as i64);
        f.unit_counts.insert((i, 1), (i % 3) as i64);
    }
    compose(
        brief(1, "金乡县".into(), OrgKind::County),
        year,
        Grouping::Children,
        &types,
        list,
        &f,
    )
}
