//! The demo county 金乡县 (370828): townships, 管区, villages and communities, the county organs'
//! Party branches, covering teams and alliances, a few thousand Party members with their
//! positions, the cross-links between them, demo users, and months of ledger records.
//!
//! Everything is generated from a fixed-seed SplitMix64 stream and written through the store's
//! public API as an explicit system actor, so the demo exercises the same validation and audit
//! chain as real use. Organisations and people do not depend on the date; records are laid out
//! over the months before today.

pub mod gen;
mod ledgers;
mod links;
mod names;
mod rng;
mod seeder;
mod tree;
mod users;

use chrono::NaiveDate;
use rng::Rng;
use seeder::Seeder;
use std::time::Instant;
use taizhang_domain::org::OrgKind;
use taizhang_domain::PersonId;
use taizhang_store::{Actor, County, Org, Store, StoreError, StoreResult};

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The password of every demo user (at least 8 characters).
    pub admin_password: String,
    /// How many months of ledger records, ending today (the current month counts as one; at
    /// most 120).
    pub months: u32,
    /// 1 is the normal demo (about 250 villages); 0 a small county for tests (2 管区 of 2 villages
    /// per township, 6 members per branch, 4 organ branches); larger values multiply the villages
    /// per 管区 (capped at 12).
    pub scale: u32,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            admin_password: "demo-password-1".into(),
            months: 12,
            scale: 1,
        }
    }
}

/// What `seed` created.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub county: County,
    pub orgs: usize,
    pub people: usize,
    pub records: usize,
    pub links: usize,
    /// (username, role label, organisation name) of each demo user.
    pub users: Vec<(String, String, String)>,
}

const COUNTY_CODE: &str = "370828";
const COUNTY_NAME: &str = "金乡县";

/// Fixed seeds: one stream for the organisation graph and people, one for records, so that the
/// number of months asked for does not change who exists.
const STRUCTURE_SEED: u64 = 0x3708_2819_9001_0101;
const RECORDS_SEED: u64 = 0x3708_2820_2601_0101;

/// Only ever called with literal dates; those bound to a `const` are checked at compile time.
const fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(date) => date,
        None => panic!("invalid calendar date"),
    }
}

const FOUNDED: NaiveDate = ymd(1990, 1, 1);
/// 村“两委”换届: the village committees in office were elected in early 2021.
const ELECTED: NaiveDate = ymd(2021, 1, 1);
const TEAMS_FORMED: NaiveDate = ymd(2021, 3, 1);
const ALLIANCES_FORMED: NaiveDate = ymd(2023, 1, 1);
const ALLIANCE_JOINED: NaiveDate = ymd(2023, 3, 1);
const COVER_FROM: NaiveDate = ymd(2024, 1, 1);
const DISPATCH_ROUNDS: [NaiveDate; 2] = [ymd(2024, 3, 1), ymd(2025, 3, 1)];
/// Latest date anyone joined the Party, so every membership predates the records.
const JOINED_BY: NaiveDate = ymd(2024, 6, 30);

/// A township-level unit and what the generator needs of it later.
pub(crate) struct Town {
    pub org: Org,
    /// 党务干部 registered at the township: inspectors and lecturers of its records.
    pub staff: Vec<PersonId>,
    /// Indices into `World::branches` of its villages and communities.
    pub branches: Vec<usize>,
}

/// A village, community or organ Party branch: an organisation that runs 三会一课.
pub(crate) struct Branch {
    pub org: Org,
    pub town: Option<usize>,
    pub members: Vec<PersonId>,
    pub secretary: Option<(PersonId, String)>,
    pub first_secretary: Option<PersonId>,
}

#[derive(Default)]
pub(crate) struct World {
    pub towns: Vec<Town>,
    pub branches: Vec<Branch>,
    /// Indices into `branches` of the county organs' branches, in creation order.
    pub organ_branches: Vec<usize>,
    pub cover_teams: Vec<Org>,
    pub alliances: Vec<Org>,
}

impl World {
    fn town(&self, name: &str) -> StoreResult<&Town> {
        self.towns
            .iter()
            .find(|t| t.org.name == name)
            .ok_or_else(|| missing(name))
    }

    fn branch(&self, name: &str) -> StoreResult<&Branch> {
        self.branches
            .iter()
            .find(|b| b.org.name == name)
            .ok_or_else(|| missing(name))
    }

    fn of_kind(&self, kind: OrgKind) -> Vec<usize> {
        (0..self.branches.len())
            .filter(|&i| self.branches[i].org.kind == kind)
            .collect()
    }
}

fn missing(what: &str) -> StoreError {
    StoreError::Internal(format!("演示数据生成失败：未找到“{what}”"))
}

/// Sizes that depend on `DemoOptions::scale`.
struct Plan {
    small: bool,
    villages_per_area: (usize, usize),
    members: (usize, usize),
    organ_members: (usize, usize),
    first_secretaries: usize,
    pairings: usize,
    dual_reports: usize,
}

impl Plan {
    fn new(scale: u32) -> Plan {
        if scale == 0 {
            return Plan {
                small: true,
                villages_per_area: (2, 2),
                members: (6, 6),
                organ_members: (6, 6),
                first_secretaries: 5,
                pairings: 4,
                dual_reports: 4,
            };
        }
        // Village codes have two digits per 管区, hence the cap.
        let s = scale.min(12) as usize;
        Plan {
            small: false,
            villages_per_area: (5 * s, 8 * s),
            members: (15, 30),
            organ_members: (8, 15),
            first_secretaries: 25,
            pairings: 15,
            dual_reports: 20,
        }
    }

    /// Towns have three 管区; street offices, being smaller, two or three.
    fn areas(&self, rng: &mut Rng, street: bool) -> usize {
        match (self.small, street) {
            (true, _) => 2,
            (false, true) => rng.range_usize(2, 3),
            (false, false) => 3,
        }
    }

    fn organ_branches(&self, rng: &mut Rng, system: usize) -> usize {
        if self.small {
            usize::from(names::SMALL_SYSTEMS.contains(&system))
        } else {
            rng.range_usize(3, 5)
        }
    }
}

/// Creates the demo county. Fails with a conflict if 370828 already exists.
pub async fn seed(store: &Store, opts: &DemoOptions) -> Result<DemoSummary, StoreError> {
    // Checked before anything is written: the users come late, and a half-built county would
    // block the next attempt (its code is taken).
    if opts.admin_password.chars().count() < 8 {
        return Err(StoreError::invalid(
            "admin_password",
            "password.too_short",
            "演示账号密码至少8位",
        ));
    }
    let started = Instant::now();
    let plan = Plan::new(opts.scale);
    let county = store
        .create_county(COUNTY_CODE, COUNTY_NAME, FOUNDED)
        .await?;
    let actor = Actor::system(county.id, "demo");
    let root = store.org_by_id(&actor, county.root_org_id).await?;
    tracing::info!(county = %county.name, code = %county.code, scale = opts.scale, "demo: county created");

    let mut s = Seeder::new(store, actor, STRUCTURE_SEED);
    let mut world = World::default();
    s.townships(&plan, &root, &mut world).await?;
    s.organs(&plan, &root, &mut world).await?;
    s.groupings(&root, &mut world).await?;
    tracing::info!(
        orgs = s.orgs,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo: organisations created"
    );

    s.members(&plan, &mut world).await?;
    tracing::info!(
        people = s.people,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo: members and positions created"
    );

    let first = s.first_secretaries(&plan, &mut world).await?;
    s.covers(&world).await?;
    s.pairings(&plan, &world).await?;
    s.dual_reports(&plan, &world).await?;
    s.alliances(&world).await?;
    tracing::info!(
        links = s.links,
        people = s.people,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo: links created"
    );

    let users = s.users(opts, &root, &world, first).await?;
    tracing::info!(users = users.len(), "demo: users created");

    let mut rng = Rng::new(RECORDS_SEED);
    let records = ledgers::generate(&world, taizhang_store::today(), opts.months, &mut rng);
    let mut written = 0;
    for batch in ledgers::batches(records) {
        written += store.create_records(&s.actor, batch).await?;
    }
    tracing::info!(
        records = written,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo: records created"
    );
    // Fresh statistics, so the query planner sees the tables as they now are.
    store.analyze().await?;

    Ok(DemoSummary {
        county,
        orgs: s.orgs,
        people: s.people,
        records: written,
        links: s.links,
        users,
    })
}

/// The city the demo county sits under: 济宁市 (370800).
pub const CITY_CODE: &str = "370800";
pub const CITY_NAME: &str = "中共济宁市委员会";
/// The demo's city user (市/省级查看): reads the demo county, and any county later put under
/// the city, read-only.
pub const CITY_USER: &str = "jiningshi";

/// Puts the demo county under the city of 济宁 (creating it) with one city user whose password
/// is the demo users'; returns the user's line as the demo prints its users (name, role, unit).
pub async fn city_over_demo(
    store: &Store,
    password: &str,
) -> Result<(String, String, String), StoreError> {
    let sys = Actor::system(taizhang_domain::CountyId::new(0), "demo");
    let city = store
        .create_region(&sys, CITY_CODE, CITY_NAME, "city", None)
        .await?;
    store.attach_county(&sys, CITY_CODE, COUNTY_CODE).await?;
    let user = store
        .create_region_user_with_password(&sys, CITY_CODE, CITY_USER, "济宁市委组织部", password)
        .await?;
    Ok((user.username, user.role.label_cn().to_string(), city.name))
}
