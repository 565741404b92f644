//! `taizhang gen`: a deterministic, realistic organisation graph, people and ledger records at
//! the size of a county, a city (济宁's eleven county-level units) or a province (about a hundred
//! counties at a reduced depth), written through the store's bulk path as each county's system
//! actor — the same checks as a cadre's entry, in large batches.
//!
//! Everything comes from one seed: each county's tree and people from a stream of its own, and
//! each county-month's records from another, so the same seed gives the same rows on either
//! backend, whatever the batch sizes. Records cover whole calendar years: `years` years ending
//! with the last complete one.

mod activity;
mod build;
pub mod regions;

use crate::rng::Rng;
use chrono::{Datelike, NaiveDate};
use std::time::Instant;
use taizhang_store::{County, Store, StoreResult};

/// How large a world to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Two tiny counties, for tests.
    Test,
    /// One county the size of the demo county (about 250 villages).
    County,
    /// 济宁: eleven counties, over 5,000 villages and communities, over 300,000 members.
    City,
    /// About a hundred counties at a reduced depth.
    Province,
}

impl std::str::FromStr for Scale {
    type Err = String;
    fn from_str(s: &str) -> Result<Scale, String> {
        match s {
            "test" => Ok(Scale::Test),
            "county" => Ok(Scale::County),
            "city" => Ok(Scale::City),
            "province" => Ok(Scale::Province),
            _ => Err(format!("未知的规模“{s}”（可选 county、city、province）")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GenOptions {
    pub scale: Scale,
    /// Calendar years of records, ending with the last complete one (0: none).
    pub years: u32,
    pub seed: u64,
    /// Only the organisations, people, positions and links; no records.
    pub tree_only: bool,
}

/// Where `generate` is: `phase` names the step, `done` of `total` records written so far (the
/// total is known once the tree is built; before that both count organisations of counties).
#[derive(Debug, Clone)]
pub struct GenProgress<'a> {
    pub phase: &'a str,
    pub done: u64,
    pub total: u64,
}

/// What `generate` wrote.
#[derive(Debug, Clone, Default)]
pub struct GenSummary {
    /// The counties created, in order.
    pub counties: Vec<County>,
    /// The 市委 and 省委 over them (see `regions`), parents first.
    pub regions: Vec<taizhang_store::Region>,
    pub orgs: u64,
    pub people: u64,
    pub positions: u64,
    pub links: u64,
    pub records: u64,
    pub seconds: f64,
    /// Of `seconds`, those spent generating and writing the records.
    pub record_seconds: f64,
}

/// Sizes of one county at a scale.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub towns: usize,
    pub areas: usize,
    pub villages: (usize, usize),
    pub groups: (usize, usize),
    pub members: (usize, usize),
    pub systems: usize,
    pub organ_branches: (usize, usize),
    pub organ_members: (usize, usize),
    pub first_secretaries: usize,
    pub pairings: usize,
    pub dual_reports: usize,
}

impl Plan {
    fn of(scale: Scale) -> Plan {
        match scale {
            Scale::Test => Plan {
                towns: 2,
                areas: 2,
                villages: (2, 2),
                groups: (2, 2),
                members: (6, 6),
                systems: 2,
                organ_branches: (1, 1),
                organ_members: (5, 5),
                first_secretaries: 2,
                pairings: 2,
                dual_reports: 2,
            },
            Scale::County => Plan {
                towns: 13,
                areas: 3,
                villages: (5, 8),
                groups: (2, 3),
                members: (15, 30),
                systems: 11,
                organ_branches: (3, 5),
                organ_members: (8, 15),
                first_secretaries: 25,
                pairings: 15,
                dual_reports: 20,
            },
            Scale::City => Plan {
                towns: 13,
                areas: 3,
                villages: (11, 13),
                groups: (2, 3),
                members: (52, 66),
                systems: 11,
                organ_branches: (3, 5),
                organ_members: (10, 20),
                first_secretaries: 40,
                pairings: 25,
                dual_reports: 40,
            },
            Scale::Province => Plan {
                towns: 6,
                areas: 2,
                villages: (4, 6),
                groups: (2, 2),
                members: (15, 25),
                systems: 4,
                organ_branches: (2, 3),
                organ_members: (8, 12),
                first_secretaries: 8,
                pairings: 5,
                dual_reports: 8,
            },
        }
    }
}

/// The county-level units of 济宁 (codes of 2024), the city scale's counties.
pub const JINING: [(&str, &str); 11] = [
    ("370811", "任城区"),
    ("370812", "兖州区"),
    ("370881", "曲阜市"),
    ("370883", "邹城市"),
    ("370826", "微山县"),
    ("370827", "鱼台县"),
    ("370828", "金乡县"),
    ("370829", "嘉祥县"),
    ("370830", "汶上县"),
    ("370831", "泗水县"),
    ("370832", "梁山县"),
];

/// Shandong's sixteen prefecture-level cities (code prefix, name), over which the province
/// scale lays its counties.
pub(crate) const SHANDONG: [(&str, &str); 16] = [
    ("3701", "济南"),
    ("3702", "青岛"),
    ("3703", "淄博"),
    ("3704", "枣庄"),
    ("3705", "东营"),
    ("3706", "烟台"),
    ("3707", "潍坊"),
    ("3708", "济宁"),
    ("3709", "泰安"),
    ("3710", "威海"),
    ("3711", "日照"),
    ("3713", "临沂"),
    ("3714", "德州"),
    ("3715", "聊城"),
    ("3716", "滨州"),
    ("3717", "菏泽"),
];

/// The (code, name) of every county a scale generates.
pub fn counties_of(scale: Scale) -> Vec<(String, String)> {
    match scale {
        Scale::Test => vec![
            ("379901".into(), "甲县".into()),
            ("379902".into(), "乙县".into()),
        ],
        Scale::County => vec![("370828".into(), "金乡县".into())],
        Scale::City => JINING
            .iter()
            .map(|(c, n)| ((*c).to_string(), (*n).to_string()))
            .collect(),
        // 100 counties: six or seven per city, numbered as county-level codes 21… are.
        Scale::Province => (0..100)
            .map(|i| {
                let (prefix, city) = SHANDONG[i % SHANDONG.len()];
                let k = i / SHANDONG.len() + 1;
                (
                    format!("{prefix}{:02}", 20 + k),
                    format!("{city}{}县", crate::names::numeral(k)),
                )
            })
            .collect(),
    }
}

/// The first and last day of the record years: `years` calendar years ending with the last
/// complete year before `today`.
pub fn record_window(today: NaiveDate, years: u32) -> Option<(NaiveDate, NaiveDate)> {
    if years == 0 {
        return None;
    }
    let last = today.year() - 1;
    let first = last - years.min(25) as i32 + 1;
    Some((
        NaiveDate::from_ymd_opt(first, 1, 1)?,
        NaiveDate::from_ymd_opt(last, 12, 31)?,
    ))
}

/// A seed of its own for each part, so that one part's size does not shift another's stream.
pub(crate) fn sub_seed(seed: u64, county: usize, part: u64) -> u64 {
    let mut r = Rng::new(seed ^ (county as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ part << 48);
    r.next_u64()
}

/// Writes the world into `store`. The caller checks that the store may be written (empty, or
/// appended to on purpose).
pub async fn generate(
    store: &Store,
    opts: &GenOptions,
    progress: &mut (dyn FnMut(GenProgress<'_>) + Send),
) -> StoreResult<GenSummary> {
    let started = Instant::now();
    let plan = Plan::of(opts.scale);
    let counties = counties_of(opts.scale);
    let window = if opts.tree_only {
        None
    } else {
        record_window(taizhang_store::today(), opts.years)
    };
    let mut summary = GenSummary::default();
    let mut worlds = Vec::with_capacity(counties.len());
    let n = counties.len() as u64;
    for (i, (code, name)) in counties.iter().enumerate() {
        progress(GenProgress {
            phase: "组织与人员",
            done: i as u64,
            total: n,
        });
        let w = build::county(store, &plan, opts.seed, i, code, name).await?;
        summary.orgs += w.orgs;
        summary.people += w.people;
        summary.positions += w.positions;
        summary.links += w.links;
        summary.counties.push(w.county.clone());
        worlds.push(w);
    }
    summary.regions = regions::write(store, opts.scale).await?;
    if let Some((from, to)) = window {
        let records_started = Instant::now();
        let total: u64 = worlds.iter().map(|w| activity::estimate(w, from, to)).sum();
        for (i, w) in worlds.iter().enumerate() {
            let base = summary.records;
            summary.records += activity::write(store, w, opts.seed, i, from, to, &mut |done| {
                progress(GenProgress {
                    phase: "台账记录",
                    done: base + done,
                    total,
                })
            })
            .await?;
        }
        summary.record_seconds = records_started.elapsed().as_secs_f64();
    }
    progress(GenProgress {
        phase: "完成",
        done: summary.records,
        total: summary.records,
    });
    store.analyze().await?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
