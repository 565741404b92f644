//! Months of ledger records for the demo county, laid out like real work: monthly 主题党日 and
//! 三会一课 (with a few gaps, so the overdue list has entries), quarterly meetings and lessons,
//! visits and hazard checks in villages, study in the organs, and township-level lectures,
//! training and inspections. Field keys follow `taizhang_domain::builtin`.

use crate::rng::Rng;
use crate::{Branch, World};
use chrono::{Datelike, Days, Months, NaiveDate};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use taizhang_domain::builtin::{FIVE_QUESTIONS, FIVE_VISITS};
use taizhang_domain::org::OrgKind;
use taizhang_domain::PersonId;
use taizhang_store::NewRecord;

pub(crate) const MAX_MONTHS: u32 = 120;

/// At most this many records per `create_records` call (one transaction each).
const BATCH: usize = 5000;

pub(crate) const THEMES: [&str; 12] = [
    "学习贯彻习近平新时代中国特色社会主义思想",
    "重温入党誓词 坚定理想信念",
    "深入学习贯彻中央八项规定精神",
    "党员志愿服务进网格",
    "清洁家园 共建美丽乡村",
    "学党史 悟思想 办实事",
    "廉洁文化进支部",
    "关爱老党员 传承好家风",
    "安全生产我先行",
    "党建引领大蒜产业发展",
    "学习党章党规 争做合格党员",
    "移风易俗 树文明新风",
];

pub(crate) const COMMITTEE_TOPICS: [&str; 8] = [
    "研究部署本月党建重点工作",
    "研究发展党员工作",
    "研究村级集体经济发展项目",
    "研究党费收缴使用管理",
    "研究主题党日活动安排",
    "研究为民办实事项目",
    "研究困难党员群众帮扶",
    "研究网格化服务管理工作",
];

pub(crate) const GROUP_TOPICS: [&str; 6] = [
    "学习传达上级会议精神",
    "交流学习体会",
    "开展党员积分评议",
    "讨论党员联系户情况",
    "收集群众意见建议",
    "学习新修订的党内法规",
];

pub(crate) const CONGRESS_TOPICS: [&str; 6] = [
    "通报支部季度工作",
    "讨论接收预备党员",
    "讨论预备党员转正",
    "审议村级重大事项（四议两公开）",
    "民主评议党员",
    "学习贯彻上级全会精神",
];

pub(crate) const LESSON_TOPICS: [&str; 8] = [
    "书记讲党课：践行初心使命 勇于担当作为",
    "书记讲党课：党建引领乡村振兴",
    "书记讲党课：永葆共产党员政治本色",
    "专题党课：加强党的纪律建设",
    "专题党课：发扬斗争精神 增强斗争本领",
    "专题党课：传承红色基因 赓续精神血脉",
    "专题党课：密切联系群众 解决急难愁盼",
    "专题党课：树立和践行正确政绩观",
];

pub(crate) const TRAINING_TITLES: [&str; 10] = [
    "学习习近平总书记重要讲话精神",
    "学习《中国共产党纪律处分条例》",
    "学习《中国共产党农村基层组织工作条例》",
    "新时代党支部标准化规范化建设",
    "党务工作者业务能力提升",
    "学习贯彻全国两会精神",
    "基层治理现代化专题学习",
    "意识形态工作专题学习",
    "保密知识专题学习",
    "优化营商环境专题学习",
];

pub(crate) const LECTURES: [(&str, &str); 8] = [
    ("惠民政策进万家", "政策宣讲"),
    ("乡村振兴政策解读", "政策宣讲"),
    ("党的创新理论大众化宣讲", "理论宣讲"),
    ("新时代文明实践理论宣讲", "理论宣讲"),
    ("以案为鉴 警钟长鸣", "廉政宣讲"),
    ("清廉村居建设宣讲", "廉政宣讲"),
    ("防范电信网络诈骗", "专题宣讲"),
    ("安全生产与防灾减灾", "专题宣讲"),
];

pub(crate) const LECTURE_PLACES: [&str; 5] = [
    "村党群服务中心",
    "新时代文明实践站",
    "村文化广场",
    "镇党校",
    "社区综合服务中心",
];

pub(crate) const INSPECTION_KINDS: [&str; 4] = ["随机抽查", "现场观摩", "交叉评比", "专项督查"];

pub(crate) const TOWN_LECTURERS: [&str; 4] = [
    "县委党校讲师",
    "镇党委书记",
    "县委组织部干部",
    "镇党委副书记",
];

/// Records dated from the first day of the month `months - 1` months before today's to today.
pub(crate) fn generate(
    world: &World,
    today: NaiveDate,
    months: u32,
    rng: &mut Rng,
) -> Vec<NewRecord> {
    if months == 0 {
        return Vec::new();
    }
    // The store refuses records dated before 2000; ten years is plenty for a demo.
    let months = months.min(MAX_MONTHS);
    let this_month = today - Days::new(u64::from(today.day0()));
    let start = this_month - Months::new(months - 1);
    let mut g = Gen {
        rng,
        today,
        start,
        this_month,
        out: Vec::new(),
    };
    // One 鸡黍镇 unit always misses last month's 主题党日, so once that month's deadline has passed
    // the town's overdue list is never empty, whatever the random draws.
    let laggard = world
        .towns
        .iter()
        .find(|t| t.org.name == "鸡黍镇")
        .and_then(|t| t.branches.last().copied());
    let last_month = (months > 1).then(|| this_month - Months::new(1));
    for (i, b) in world.branches.iter().enumerate() {
        let skip = if Some(i) == laggard { last_month } else { None };
        g.branch(b, skip);
    }
    for town in &world.towns {
        g.town(world, town);
    }
    g.out
}

/// Groups records by month, oldest first, in batches of at most `BATCH`.
pub(crate) fn batches(records: Vec<NewRecord>) -> Vec<Vec<NewRecord>> {
    let mut by_month: BTreeMap<(i32, u32), Vec<NewRecord>> = BTreeMap::new();
    for r in records {
        by_month
            .entry((r.occurred_on.year(), r.occurred_on.month()))
            .or_default()
            .push(r);
    }
    let mut out = Vec::new();
    for (_, mut month) in by_month {
        month.sort_by_key(|r| r.occurred_on);
        while month.len() > BATCH {
            let rest = month.split_off(BATCH);
            out.push(month);
            month = rest;
        }
        out.push(month);
    }
    out
}

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

struct Gen<'r> {
    rng: &'r mut Rng,
    today: NaiveDate,
    /// First day of the window's first month.
    start: NaiveDate,
    this_month: NaiveDate,
    out: Vec<NewRecord>,
}

impl Gen<'_> {
    fn push(&mut self, ledger_type: &str, org_ref: &str, occurred_on: NaiveDate, v: Value) {
        self.out.push(NewRecord {
            ledger_type: ledger_type.into(),
            org: org_ref.into(),
            occurred_on,
            fields: fields(v),
        });
    }

    fn months(&self) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut m = self.start;
        while m <= self.this_month {
            out.push(m);
            m = m + Months::new(1);
        }
        out
    }

    /// A day between `lo` and `hi` (1-based, clamped to the month) of the month starting at
    /// `first`; `None` when it would fall after today.
    fn day(&mut self, first: NaiveDate, lo: u64, hi: u64) -> Option<NaiveDate> {
        let len = ((first + Months::new(1)) - first).num_days() as u64;
        let hi = hi.min(len);
        let d = first + Days::new(self.rng.range(lo.min(hi), hi) - 1);
        (d <= self.today).then_some(d)
    }

    /// The in-window months of the quarter starting at or containing `m`, when `m` is the first
    /// of them; quarterly work is decided there.
    fn quarter_months(&self, m: NaiveDate) -> Option<Vec<NaiveDate>> {
        let q = m - Months::new(m.month0() % 3);
        if q != m && m != self.start {
            return None;
        }
        Some(
            (0..3)
                .map(|i| q + Months::new(i))
                .filter(|x| *x >= self.start && *x <= self.this_month)
                .collect(),
        )
    }

    /// A day in a random one of `months`.
    fn day_in_any(&mut self, months: &[NaiveDate], lo: u64, hi: u64) -> Option<NaiveDate> {
        let m = *self.rng.pick(months)?;
        self.day(m, lo, hi)
    }

    /// Between `lo` and `hi` distinct people of `from`, and how many that is.
    fn people(&mut self, from: &[PersonId], lo: usize, hi: usize) -> (Value, usize) {
        let k = self.rng_range(lo, hi);
        let chosen = self.rng.sample(from, k);
        let n = chosen.len();
        (
            Value::from(chosen.iter().map(|p| p.get()).collect::<Vec<_>>()),
            n,
        )
    }

    fn rng_range(&mut self, lo: usize, hi: usize) -> usize {
        self.rng.range_usize(lo, hi)
    }

    fn branch(&mut self, b: &Branch, skip_theme_day: Option<NaiveDate>) {
        let org = b.org.org_ref.as_str();
        let organ = b.org.kind == OrgKind::OrganBranch;
        let rural = matches!(b.org.kind, OrgKind::Village | OrgKind::Community);
        let members = &b.members;
        // Each branch keeps roughly the same day of the month for its 主题党日.
        let usual_day = self.rng.range(1, 20);
        for m in self.months() {
            if Some(m) != skip_theme_day && self.rng.chance(0.92) {
                if let Some(d) = self.day(m, usual_day, usual_day + 5) {
                    let theme = if m.month() == 7 {
                        "庆祝建党节 重温入党誓词"
                    } else {
                        self.rng.pick_str(&THEMES)
                    };
                    let (attendees, n) = self.people(members, 5, 12);
                    // Villagers who are not members often join in; they are counted, not named.
                    let extra = if organ { 0 } else { self.rng_range(0, 3) };
                    self.push(
                        "theme_day",
                        org,
                        d,
                        json!({"theme": theme, "attendees": attendees, "attendance": n + extra}),
                    );
                }
            }
            if self.rng.chance(0.9) {
                self.meeting(org, members, m, "支部委员会", &COMMITTEE_TOPICS, (3, 5));
            }
            if self.rng.chance(0.85) {
                self.meeting(org, members, m, "党小组会", &GROUP_TOPICS, (3, 8));
            }
            if let Some(quarter) = self.quarter_months(m) {
                if self.rng.chance(0.96) {
                    if let Some(&qm) = self.rng.pick(&quarter) {
                        self.meeting(
                            org,
                            members,
                            qm,
                            "支部党员大会",
                            &CONGRESS_TOPICS,
                            (members.len() * 3 / 4, members.len()),
                        );
                    }
                }
                if self.rng.chance(0.9) {
                    if let Some(&qm) = self.rng.pick(&quarter) {
                        self.meeting(
                            org,
                            members,
                            qm,
                            "党课",
                            &LESSON_TOPICS,
                            (members.len() * 2 / 3, members.len()),
                        );
                    }
                }
            }
            if rural {
                for _ in 0..self.rng.range(1, 4) {
                    self.visit(b, m);
                }
                if self.rng.chance(0.5) {
                    self.hazard_check(org, members, m);
                }
            }
            if organ && self.rng.chance(0.9) {
                self.organ_training(b, m);
            }
        }
        if self.rng.chance(0.95) {
            self.life_meeting(org, members);
        }
    }

    fn meeting(
        &mut self,
        org: &str,
        members: &[PersonId],
        m: NaiveDate,
        kind: &str,
        topics: &[&'static str],
        size: (usize, usize),
    ) {
        let Some(d) = self.day(m, 1, 28) else { return };
        let topic = self.rng.pick_str(topics);
        let (attendees, n) = self.people(members, size.0.max(1), size.1.max(1));
        self.push(
            "three_meetings",
            org,
            d,
            json!({"meeting_kind": kind, "topic": topic, "attendees": attendees, "attendance": n}),
        );
    }

    fn visit(&mut self, b: &Branch, m: NaiveDate) {
        let Some(d) = self.day(m, 1, 31) else { return };
        let category = self.rng.pick_str(&FIVE_VISITS);
        let k = self.rng_range(1, 3);
        let topics = self.rng.sample(&FIVE_QUESTIONS, k);
        let k = self.rng_range(1, 3);
        let mut visitors = self.rng.sample(&b.members, k);
        if let Some(fs) = b.first_secretary {
            if self.rng.chance(0.5) {
                visitors.push(fs);
            }
        }
        let found = self.rng.range(0, 5);
        let solved = self.rng.range(0, found);
        let households = self.rng.range(5, 80);
        self.push(
            "visit",
            &b.org.org_ref,
            d,
            json!({"category": category, "topics": topics, "households": households, "visitors": visitors,
                   "problems_found": found, "problems_solved": solved}),
        );
    }

    fn hazard_check(&mut self, org: &str, members: &[PersonId], m: NaiveDate) {
        let Some(d) = self.day(m, 1, 31) else { return };
        // The season decides what is checked: heating in winter, floods in summer.
        let area = match (m.month(), self.rng.chance(0.6)) {
            (11 | 12 | 1 | 2, true) => "冬季取暖",
            (6..=8, true) => "防汛",
            _ => self.rng.pick_str(&["安全生产", "消防", "燃气", "其他"]),
        };
        let found = self.rng.range(0, 8);
        let fixed = if self.rng.chance(0.7) {
            found
        } else {
            self.rng.range(0, found)
        };
        let households = self.rng.range(10, 100);
        let (inspectors, _) = self.people(members, 1, 3);
        self.push(
            "hazard_check",
            org,
            d,
            json!({"area": area, "hazards_found": found, "hazards_fixed": fixed, "households": households, "inspectors": inspectors}),
        );
    }

    fn organ_training(&mut self, b: &Branch, m: NaiveDate) {
        let Some(d) = self.day(m, 1, 28) else { return };
        let form = match self.rng.below(10) {
            0..=3 => "第一议题",
            4..=6 => "集中学习",
            7..=8 => "月末党课",
            _ => "专题报告会",
        };
        let title = self.rng.pick_str(&TRAINING_TITLES);
        let lecturer = match (&b.secretary, form) {
            (Some((_, name)), "月末党课" | "第一议题") => name.clone(),
            _ => "县委党校讲师".to_string(),
        };
        let attendance = self.rng.range(10, 60);
        let online_views = self.rng.range(0, 300);
        self.push(
            "training",
            &b.org.org_ref,
            d,
            json!({"title": title, "form": form, "sessions": 1, "attendance": attendance, "online_views": online_views, "lecturer": lecturer}),
        );
    }

    /// 组织生活会 for the past year, usually held in its last weeks; a short window that does
    /// not reach back that far gets one on a random day instead.
    fn life_meeting(&mut self, org: &str, members: &[PersonId]) {
        let year_end = self.this_month - Months::new(self.this_month.month0()) - Days::new(1);
        let from = (year_end - Days::new(45)).max(self.start);
        let (from, to) = if from <= year_end {
            (from, year_end)
        } else {
            (self.start, self.today)
        };
        let d = from + Days::new(self.rng.below((to - from).num_days().max(0) as u64 + 1));
        let (attendees, n) = self.people(members, members.len() * 4 / 5, members.len());
        let criticisms = self.rng.range(n as u64, n as u64 * 3);
        self.push(
            "life_meeting",
            org,
            d,
            json!({"meeting_kind": "组织生活会", "topic": format!("{}年度组织生活会", d.year()), "attendees": attendees,
                   "attendance": n, "criticisms": criticisms}),
        );
    }

    /// Township-level work: training now and then, lectures and inspections every quarter.
    fn town(&mut self, world: &World, town: &crate::Town) {
        let org = town.org.org_ref.as_str();
        let units: Vec<&Branch> = town.branches.iter().map(|&i| &world.branches[i]).collect();
        for m in self.months() {
            if self.rng.chance(0.4) {
                if let Some(d) = self.day(m, 1, 28) {
                    let form = if self.rng.chance(0.6) {
                        "培训班"
                    } else {
                        "专题报告会"
                    };
                    let title = self.rng.pick_str(&TRAINING_TITLES);
                    let lecturer = self.rng.pick_str(&TOWN_LECTURERS);
                    let (sessions, attendance, views) = (
                        self.rng.range(1, 3),
                        self.rng.range(50, 300),
                        self.rng.range(0, 1500),
                    );
                    self.push(
                        "training",
                        org,
                        d,
                        json!({"title": title, "form": form, "sessions": sessions, "attendance": attendance, "online_views": views, "lecturer": lecturer}),
                    );
                }
            }
            let Some(quarter) = self.quarter_months(m) else {
                continue;
            };
            for _ in 0..self.rng.range(2, 4) {
                let Some(d) = self.day_in_any(&quarter, 1, 28) else {
                    continue;
                };
                let (topic, kind) = *self.rng.pick(&LECTURES).unwrap_or(&LECTURES[0]);
                // Half the lectures are given in a village, by its secretary or a township cadre.
                let (at, lecturers) = match self.rng.pick(&units) {
                    Some(u) if self.rng.chance(0.5) => (
                        u.org.org_ref.as_str(),
                        u.secretary.iter().map(|s| s.0).collect::<Vec<_>>(),
                    ),
                    _ => (org, self.rng.sample(&town.staff, 1)),
                };
                let audience = self.rng.range(20, 200);
                let place = self.rng.pick_str(&LECTURE_PLACES);
                self.push("lecture", at, d, json!({"topic": topic, "kind": kind, "lecturers": lecturers, "audience": audience, "place": place}));
            }
            for _ in 0..self.rng.range(2, 4) {
                let Some(d) = self.day_in_any(&quarter, 1, 28) else {
                    continue;
                };
                let Some(target) = self.rng.pick(&units) else {
                    break;
                };
                let kind = self.rng.pick_str(&INSPECTION_KINDS);
                let findings = self.rng.range(0, 6);
                let result = match self.rng.below(20) {
                    0..=5 => "优秀",
                    6..=14 => "良好",
                    15..=18 => "一般",
                    _ => "较差",
                };
                let (inspectors, _) = self.people(&town.staff, 1, 2);
                self.push(
                    "inspection",
                    org,
                    d,
                    json!({"kind": kind, "target": target.org.org_ref, "inspectors": inspectors, "findings": findings, "result": result}),
                );
            }
        }
    }
}
