//! A generated county's ledger records, month by month: about forty activities per
//! organisation per year (主题党日, 三会一课, 组织生活会, 走访, 隐患排查, 宣讲, 督查, 学习培训, by
//! what the organisation is) and about thirty-two 志愿服务 sign-ins per member per year, each
//! naming one member. Each county-month has a random stream of its own; the records go to the
//! store in batches of `BATCH` through `bulk_records`.

use super::build::{CountyWorld, Unit};
use super::sub_seed;
use crate::ledgers::{
    COMMITTEE_TOPICS, CONGRESS_TOPICS, GROUP_TOPICS, INSPECTION_KINDS, LECTURES, LECTURE_PLACES,
    LESSON_TOPICS, THEMES, TOWN_LECTURERS, TRAINING_TITLES,
};
use crate::rng::Rng;
use chrono::{Datelike, Days, Months, NaiveDate};
use serde_json::{json, Map, Value};
use taizhang_domain::builtin::{FIVE_QUESTIONS, FIVE_VISITS, VOLUNTEER_KINDS};
use taizhang_domain::org::OrgKind;
use taizhang_store::{NewRecord, Store, StoreError, StoreResult};

/// Records per `bulk_records` call (one transaction each).
pub(crate) const BATCH: usize = 20_000;

/// Sign-ins per member per year.
const SIGN_INS: u64 = 32;

const VOLUNTEER_PLACES: [&str; 6] = [
    "村党群服务中心",
    "新时代文明实践站",
    "村文化广场",
    "社区综合服务中心",
    "敬老院",
    "村主干道",
];

/// About how many records `write` makes for the county over the window (for progress and ETA).
pub(crate) fn estimate(w: &CountyWorld, from: NaiveDate, to: NaiveDate) -> u64 {
    let months = months_between(from, to).len() as u64;
    let mut per_year = 0u64;
    for u in &w.units {
        per_year += 40;
        if u.kind.is_branch() {
            per_year += SIGN_INS * u.members.len() as u64;
        }
    }
    per_year * months / 12
}

fn months_between(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut m = from.with_day(1).unwrap_or(from);
    while m <= to {
        out.push(m);
        m = m + Months::new(1);
    }
    out
}

/// Writes the county's records; calls `progress` with the count written so far after each batch.
pub(crate) async fn write(
    store: &Store,
    w: &CountyWorld,
    seed: u64,
    county: usize,
    from: NaiveDate,
    to: NaiveDate,
    progress: &mut (dyn FnMut(u64) + Send),
) -> StoreResult<u64> {
    let today = taizhang_store::today();
    let mut written = 0u64;
    // While one batch is being written, the next is generated and checked; batches are written
    // strictly in order, so the ids (and the rows) do not depend on timing.
    let mut pending: Option<Writing> = None;
    for (k, month) in months_between(from, to).into_iter().enumerate() {
        let mut rng = Rng::new(sub_seed(seed, county, 1000 + k as u64));
        let last = (month + Months::new(1) - Days::new(1)).min(to);
        let records = month_records(w, &mut rng, month, last);
        for batch in records.chunks(BATCH) {
            let prepared = store.prepare_records(&w.actor, batch, today).await?;
            if let Some(h) = pending.take() {
                written += finish(h).await?;
                progress(written);
            }
            let (s, a) = (store.clone(), w.actor.clone());
            pending = Some(tokio::spawn(async move {
                s.write_records(&a, &prepared).await.map(|r| r.records)
            }));
        }
    }
    if let Some(h) = pending.take() {
        written += finish(h).await?;
        progress(written);
    }
    Ok(written)
}

type Writing = tokio::task::JoinHandle<StoreResult<usize>>;

async fn finish(h: Writing) -> StoreResult<u64> {
    match h.await {
        Ok(r) => r.map(|n| n as u64),
        Err(e) => Err(StoreError::Internal(format!("写入任务失败：{e}"))),
    }
}

struct Month<'r> {
    rng: &'r mut Rng,
    first: NaiveDate,
    days: u64,
    out: Vec<NewRecord>,
}

impl Month<'_> {
    fn day(&mut self) -> NaiveDate {
        self.first + Days::new(self.rng.below(self.days))
    }

    fn push(&mut self, ledger_type: &str, org: &str, v: Value) {
        let occurred_on = self.day();
        let fields = match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        self.out.push(NewRecord {
            ledger_type: ledger_type.into(),
            org: org.into(),
            occurred_on,
            fields,
        });
    }

    /// Up to eight of `members` named in a people field, and how many took part.
    fn attendees(&mut self, members: &[i64]) -> (Vec<i64>, u64) {
        let named = self.rng.sample(members, 8);
        let n = members.len() as u64;
        let came = if n == 0 {
            self.rng.range(8, 40)
        } else {
            self.rng.range((n * 7 / 10).max(named.len() as u64), n)
        };
        (named, came)
    }

    fn meeting(&mut self, org: &str, members: &[i64], kind: &str, topics: &[&'static str]) {
        let topic = self.rng.pick_str(topics);
        let (people, came) = self.attendees(members);
        self.push(
            "three_meetings",
            org,
            json!({"meeting_kind": kind, "topic": topic, "attendees": people, "attendance": came,
                   "minutes": format!("会议围绕“{topic}”进行了讨论，形成一致意见。")}),
        );
    }

    fn theme_day(&mut self, org: &str, members: &[i64]) {
        let theme = self.rng.pick_str(&THEMES);
        let (people, came) = self.attendees(members);
        self.push(
            "theme_day",
            org,
            json!({"theme": theme, "attendees": people, "attendance": came}),
        );
    }

    fn life_meeting(&mut self, org: &str, members: &[i64]) {
        let (people, came) = self.attendees(members);
        let criticisms = self.rng.range(came / 2, came * 2);
        self.push(
            "life_meeting",
            org,
            json!({"meeting_kind": "组织生活会", "topic": "对照党章党规查摆问题", "attendees": people,
                   "attendance": came, "criticisms": criticisms}),
        );
    }

    fn visit(&mut self, org: &str, members: &[i64]) {
        let category = self.rng.pick_str(&FIVE_VISITS);
        let k = self.rng.range_usize(1, 3);
        let topics = self.rng.sample(&FIVE_QUESTIONS, k);
        let visitors = self.rng.sample(members, 2);
        let found = self.rng.range(0, 5);
        let solved = self.rng.range(0, found);
        let households = self.rng.range(3, 40);
        self.push(
            "visit",
            org,
            json!({"category": category, "topics": topics, "households": households, "visitors": visitors,
                   "problems_found": found, "problems_solved": solved}),
        );
    }

    fn hazard_check(&mut self, org: &str, members: &[i64]) {
        let area = match (self.first.month(), self.rng.chance(0.6)) {
            (11 | 12 | 1 | 2, true) => "冬季取暖",
            (6..=8, true) => "防汛",
            _ => self.rng.pick_str(&["安全生产", "消防", "燃气", "其他"]),
        };
        let found = self.rng.range(0, 8);
        let fixed = self.rng.range(0, found);
        let households = self.rng.range(10, 150);
        let inspectors = self.rng.sample(members, 2);
        self.push(
            "hazard_check",
            org,
            json!({"area": area, "hazards_found": found, "hazards_fixed": fixed, "households": households,
                   "inspectors": inspectors}),
        );
    }

    fn lecture(&mut self, org: &str, members: &[i64]) {
        let (topic, kind) = *self.rng.pick(&LECTURES).unwrap_or(&LECTURES[0]);
        let lecturers = self.rng.sample(members, 1);
        let audience = self.rng.range(20, 300);
        let place = self.rng.pick_str(&LECTURE_PLACES);
        self.push(
            "lecture",
            org,
            json!({"topic": topic, "kind": kind, "lecturers": lecturers, "audience": audience, "place": place}),
        );
    }

    fn inspection(&mut self, org: &str, target: &str, members: &[i64]) {
        let kind = self.rng.pick_str(&INSPECTION_KINDS);
        let inspectors = self.rng.sample(members, 2);
        let findings = self.rng.range(0, 6);
        let result = self.rng.pick_str(&["优秀", "良好", "一般", "较差"]);
        self.push(
            "inspection",
            org,
            json!({"kind": kind, "target": target, "inspectors": inspectors, "findings": findings, "result": result}),
        );
    }

    fn training(&mut self, org: &str) {
        let title = self.rng.pick_str(&TRAINING_TITLES);
        let form = self
            .rng
            .pick_str(&["第一议题", "专题报告会", "月末党课", "集中学习", "培训班"]);
        let attendance = self.rng.range(20, 200);
        let online = self.rng.range(0, 500);
        let lecturer = self.rng.pick_str(&TOWN_LECTURERS);
        self.push(
            "training",
            org,
            json!({"title": title, "form": form, "sessions": 1, "attendance": attendance,
                   "online_views": online, "lecturer": lecturer}),
        );
    }

    fn sign_in(&mut self, org: &str, member: i64) {
        let kind = self.rng.pick_str(&VOLUNTEER_KINDS);
        let hours = self.rng.range(1, 4);
        let place = self.rng.pick_str(&VOLUNTEER_PLACES);
        self.push(
            "volunteer",
            org,
            json!({"kind": kind, "volunteers": [member], "hours": hours, "place": place}),
        );
    }
}

/// A unit's own staff for inspections and lectures: its township's staff, if any.
fn staff(w: &CountyWorld, i: usize) -> &[i64] {
    match w.town_of(i) {
        Some(t) => &w.units[t].members,
        None => &[],
    }
}

/// Some unit below `i` to inspect (itself when none).
fn target(w: &CountyWorld, i: usize, rng: &mut Rng) -> String {
    let below: Vec<&Unit> = w
        .units
        .iter()
        .filter(|u| u.parent == Some(i) && u.kind != OrgKind::PartyGroup && u.kind != OrgKind::Grid)
        .collect();
    match rng.pick(&below) {
        Some(u) => u.org_ref.clone(),
        None => w.units[i].org_ref.clone(),
    }
}

fn month_records(
    w: &CountyWorld,
    rng: &mut Rng,
    first: NaiveDate,
    last: NaiveDate,
) -> Vec<NewRecord> {
    let days = (last - first).num_days().max(0) as u64 + 1;
    let quarter_end = first.month().is_multiple_of(3);
    let january = first.month() == 1;
    let mut m = Month {
        rng,
        first,
        days,
        out: Vec::new(),
    };
    for (i, u) in w.units.iter().enumerate() {
        let org = u.org_ref.as_str();
        let members = u.members.as_slice();
        match u.kind {
            OrgKind::Village | OrgKind::Community | OrgKind::OrganBranch => {
                // 12 + 12 + 4 + 4 + 1 + about 7 a year.
                m.theme_day(org, members);
                m.meeting(org, members, "支部委员会", &COMMITTEE_TOPICS);
                if quarter_end {
                    m.meeting(org, members, "支部党员大会", &CONGRESS_TOPICS);
                    m.meeting(org, members, "党课", &LESSON_TOPICS);
                }
                if january {
                    m.life_meeting(org, members);
                }
                if m.rng.chance(7.0 / 12.0) {
                    if u.kind == OrgKind::OrganBranch {
                        m.training(org);
                    } else {
                        m.visit(org, members);
                    }
                }
                for &p in members {
                    let n = 2 + u64::from(m.rng.chance((SIGN_INS as f64 - 24.0) / 12.0));
                    for _ in 0..n {
                        m.sign_in(org, p);
                    }
                }
            }
            OrgKind::PartyGroup | OrgKind::Grid => {
                m.meeting(org, members, "党小组会", &GROUP_TOPICS);
                m.visit(org, members);
                m.hazard_check(org, members);
                if m.rng.chance(1.0 / 3.0) {
                    m.lecture(org, members);
                }
            }
            OrgKind::ManagementArea => {
                let s = staff(w, i);
                m.lecture(org, s);
                let t = target(w, i, m.rng);
                m.inspection(org, &t, s);
                m.hazard_check(org, s);
                if m.rng.chance(1.0 / 3.0) {
                    m.training(org);
                }
            }
            OrgKind::Township => {
                m.training(org);
                let t = target(w, i, m.rng);
                m.inspection(org, &t, members);
                m.lecture(org, members);
                if m.rng.chance(1.0 / 3.0) {
                    m.hazard_check(org, members);
                }
            }
            _ => {
                m.training(org);
                m.training(org);
                if m.rng.chance(1.0 / 3.0) {
                    let t = target(w, i, m.rng);
                    m.inspection(org, &t, &[]);
                }
                if m.rng.chance(1.0 / 3.0) {
                    m.lecture(org, &[]);
                }
            }
        }
    }
    m.out
}
