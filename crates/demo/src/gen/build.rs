//! One generated county: its root 县委 (made by `create_county`, as `init` makes it), townships
//! and street offices with their 管区, villages and communities with 党小组 and 网格, the
//! 县直机关工委 with its 系统机关党委 and branches; the members of every branch (bulk, with the same
//! checks and field encryption as `create_person`), their positions, first secretaries 派驻 to
//! villages, 结对 between organ branches and villages, and 双报到 of organ cadres to communities.

use super::{sub_seed, Plan};
use crate::names;
use crate::rng::Rng;
use chrono::{Datelike, Days, NaiveDate};
use std::collections::HashSet;
use taizhang_domain::org::{LinkKind, OrgKind, PositionTitle};
use taizhang_domain::{IdNumber, PersonId};
use taizhang_store::{
    Actor, County, NewLink, NewOrg, NewPerson, NewPosition, Store, StoreError, StoreResult,
};

const FOUNDED: NaiveDate = crate::ymd(1990, 1, 1);
const ELECTED: NaiveDate = crate::ymd(2021, 1, 1);
const JOINED_BY: NaiveDate = crate::ymd(2024, 6, 30);
const DISPATCHED: NaiveDate = crate::ymd(2024, 3, 1);
const PAIRED: NaiveDate = crate::ymd(2023, 3, 1);

/// An organisation of the generated county and the people who work in it.
pub(crate) struct Unit {
    pub org_ref: String,
    pub kind: OrgKind,
    /// A branch's members, a group's share of its branch's members, a township's staff.
    pub members: Vec<i64>,
    /// The unit above it in this list (none for the root).
    pub parent: Option<usize>,
}

pub(crate) struct CountyWorld {
    pub county: County,
    pub actor: Actor,
    pub units: Vec<Unit>,
    pub orgs: u64,
    pub people: u64,
    pub positions: u64,
    pub links: u64,
}

impl CountyWorld {
    /// The township a unit belongs to, if any (itself for a township).
    pub fn town_of(&self, mut i: usize) -> Option<usize> {
        loop {
            if self.units[i].kind == OrgKind::Township {
                return Some(i);
            }
            i = self.units[i].parent?;
        }
    }
}

const TOWN_SUFFIXES: [&str; 10] = ["集", "庄", "店", "屯", "楼", "营", "口", "桥", "湖", "山"];

fn town_name(rng: &mut Rng, street: bool, taken: &mut HashSet<String>) -> String {
    loop {
        let stem = if street {
            let a = rng.pick_str(&["金", "文", "兴", "和", "安", "康", "福", "泰", "明", "阳"]);
            let b = rng.pick_str(&["城", "华", "盛", "源", "湖", "山", "河", "桥"]);
            format!("{a}{b}")
        } else {
            let s = rng.pick_str(&[
                "王", "李", "张", "刘", "马", "胡", "高", "宋", "杨", "赵", "孙", "韩",
            ]);
            format!("{s}{}", rng.pick_str(&TOWN_SUFFIXES))
        };
        let name = format!("{stem}{}", if street { "街道" } else { "镇" });
        if taken.insert(name.clone()) {
            return name;
        }
    }
}

struct Builder<'a> {
    store: &'a Store,
    actor: Actor,
    rng: Rng,
    code: String,
    units: Vec<Unit>,
    id_numbers: HashSet<String>,
    orgs: u64,
}

impl Builder<'_> {
    async fn org(
        &mut self,
        parent: usize,
        kind: OrgKind,
        name: String,
        code: Option<String>,
    ) -> StoreResult<usize> {
        let parent_ref = self.units[parent].org_ref.clone();
        let org = self
            .store
            .create_org(
                &self.actor,
                &parent_ref,
                NewOrg {
                    kind,
                    name,
                    code,
                    established_on: Some(FOUNDED),
                },
            )
            .await?;
        self.orgs += 1;
        self.units.push(Unit {
            org_ref: org.org_ref,
            kind,
            members: Vec::new(),
            parent: Some(parent),
        });
        Ok(self.units.len() - 1)
    }

    fn date_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(0) as u64;
        from + Days::new(self.rng.below(span + 1))
    }

    /// A Party member registered at `org`: name, a well-formed unused 身份证号 of the county, a
    /// phone number; and the date they joined the Party.
    fn person(&mut self, org: &str, born: (i32, i32)) -> StoreResult<(NewPerson, NaiveDate)> {
        let birth = self.date_between(crate::ymd(born.0, 1, 1), crate::ymd(born.1, 12, 31));
        let male = self.rng.chance(0.7);
        let mut id_number = None;
        for _ in 0..1000 {
            let seq = 1 + self.rng.below(499) * 2 + u64::from(!male);
            let id = IdNumber::from_parts(&self.code, birth, seq as u16, taizhang_store::today())
                .map_err(|e| StoreError::Internal(e.to_string()))?;
            if self.id_numbers.insert(id.as_str().to_string()) {
                id_number = Some(id.as_str().to_string());
                break;
            }
        }
        let joined = (birth + Days::new(365 * 22 + self.rng.below(365 * 18))).min(JOINED_BY);
        Ok((
            NewPerson {
                name: names::person_name(&mut self.rng, male),
                org: org.to_string(),
                gender: None,
                id_number,
                phone: Some(names::phone(&mut self.rng)),
                party_member: true,
                retired: born.0 < 1960,
                // Seeded apart, so that the generated county's other data stays as it was.
                ..names::profile(
                    &mut Rng::new(birth.num_days_from_ce() as u64 ^ self.id_numbers.len() as u64),
                    GEN_SCHOOLING,
                    Some(joined),
                )
            },
            joined,
        ))
    }
}

/// The 学历 of generated members, with weights in hundredths.
const GEN_SCHOOLING: names::Schooling = &[
    ("初中", 35),
    ("高中", 25),
    ("大专", 20),
    ("本科", 15),
    ("小学", 5),
];

pub(crate) async fn county(
    store: &Store,
    plan: &Plan,
    seed: u64,
    index: usize,
    code: &str,
    name: &str,
) -> StoreResult<CountyWorld> {
    let county = store.create_county(code, name, FOUNDED).await?;
    let actor = Actor::system(county.id, "gen");
    let root = store.org_by_id(&actor, county.root_org_id).await?;
    let mut b = Builder {
        store,
        actor: actor.clone(),
        rng: Rng::new(sub_seed(seed, index, 1)),
        code: code.to_string(),
        units: vec![Unit {
            org_ref: root.org_ref,
            kind: OrgKind::County,
            members: Vec::new(),
            parent: None,
        }],
        id_numbers: HashSet::new(),
        orgs: 1,
    };
    let mut taken = HashSet::new();
    let mut places = HashSet::new();
    let mut branches = Vec::new();
    for t in 0..plan.towns {
        let street = t < plan.towns.div_ceil(6);
        let town_code = format!("{code}{:03}", t + 1);
        let tn = town_name(&mut b.rng, street, &mut taken);
        let town = b
            .org(0, OrgKind::Township, tn.clone(), Some(town_code.clone()))
            .await?;
        for a in 1..=plan.areas {
            let area = b
                .org(
                    town,
                    OrgKind::ManagementArea,
                    format!("{tn}{}管区", names::ordinal(a)),
                    None,
                )
                .await?;
            for v in 1..=b.rng.range_usize(plan.villages.0, plan.villages.1) {
                let community = street && (a + v) % 2 == 1;
                let (kind, group_kind, label) = if community {
                    (OrgKind::Community, OrgKind::Grid, "网格")
                } else {
                    (OrgKind::Village, OrgKind::PartyGroup, "党小组")
                };
                let vname = names::unique_place(&mut b.rng, community, &mut places);
                let village = b
                    .org(area, kind, vname, Some(format!("{town_code}{a}{v:02}")))
                    .await?;
                branches.push(village);
                for g in 1..=b.rng.range_usize(plan.groups.0, plan.groups.1) {
                    b.org(
                        village,
                        group_kind,
                        format!("{}{label}", names::ordinal(g)),
                        None,
                    )
                    .await?;
                }
            }
        }
    }
    let committee = b
        .org(0, OrgKind::OrganWorkCommittee, "县直机关工委".into(), None)
        .await?;
    let mut organ_branches = Vec::new();
    for (system, depts) in names::SYSTEMS.iter().take(plan.systems) {
        let sys = b
            .org(committee, OrgKind::SystemCommittee, (*system).into(), None)
            .await?;
        let n = b
            .rng
            .range_usize(plan.organ_branches.0, plan.organ_branches.1);
        for dept in depts.iter().take(n) {
            let br = b
                .org(
                    sys,
                    OrgKind::OrganBranch,
                    names::organ_branch_name(dept),
                    None,
                )
                .await?;
            branches.push(br);
            organ_branches.push(br);
        }
    }

    // People: the members of every branch, and three 党务干部 per township.
    let mut people: Vec<(usize, NewPerson, NaiveDate, PositionTitle)> = Vec::new();
    for i in 0..b.units.len() {
        if b.units[i].kind == OrgKind::Township {
            let org = b.units[i].org_ref.clone();
            for _ in 0..3 {
                let (p, _) = b.person(&org, (1975, 1996))?;
                let from = b.date_between(crate::ymd(2018, 1, 1), crate::ymd(2023, 12, 31));
                people.push((i, p, from, PositionTitle::AffairsStaff));
            }
        }
    }
    for &br in &branches {
        let organ = b.units[br].kind == OrgKind::OrganBranch;
        let (lo, hi) = if organ {
            plan.organ_members
        } else {
            plan.members
        };
        let org = b.units[br].org_ref.clone();
        for _ in 0..b.rng.range_usize(lo, hi) {
            let born = if organ { (1966, 1998) } else { (1950, 2000) };
            let (p, joined) = b.person(&org, born)?;
            people.push((br, p, joined, PositionTitle::Member));
        }
    }
    let mut ids: Vec<PersonId> = Vec::with_capacity(people.len());
    let new: Vec<NewPerson> = people.iter().map(|x| x.1.clone()).collect();
    for chunk in new.chunks(5000) {
        ids.extend(store.bulk_people(&actor, chunk).await?);
    }
    let mut positions = Vec::with_capacity(people.len() + branches.len() * 3);
    for ((unit, _, from, title), id) in people.iter().zip(&ids) {
        let u = &mut b.units[*unit];
        let nth = u.members.len();
        u.members.push(id.get());
        positions.push(NewPosition {
            person_id: *id,
            org: u.org_ref.clone(),
            title: *title,
            valid_from: *from,
            valid_to: None,
        });
        // The first members of a branch lead it: its secretary, then two committee members.
        if *title == PositionTitle::Member && nth < 3 {
            let lead = match nth {
                0 => PositionTitle::Secretary,
                _ => PositionTitle::CommitteeMember,
            };
            positions.push(NewPosition {
                person_id: *id,
                org: u.org_ref.clone(),
                title: lead,
                valid_from: ELECTED.max(*from),
                valid_to: None,
            });
        }
    }
    // Each group has its share of its branch's members (by turns).
    for g in 0..b.units.len() {
        if matches!(b.units[g].kind, OrgKind::PartyGroup | OrgKind::Grid) {
            let Some(parent) = b.units[g].parent else {
                continue;
            };
            let siblings: Vec<usize> = (0..b.units.len())
                .filter(|&s| b.units[s].parent == Some(parent))
                .collect();
            let k = siblings.iter().position(|&s| s == g).unwrap_or(0);
            let share: Vec<i64> = b.units[parent]
                .members
                .iter()
                .skip(k)
                .step_by(siblings.len().max(1))
                .copied()
                .collect();
            b.units[g].members = share;
        }
    }

    // Cross-links: first secretaries from the organs, pairings, dual reporting.
    let villages: Vec<usize> = branches
        .iter()
        .copied()
        .filter(|&i| b.units[i].kind == OrgKind::Village)
        .collect();
    let communities: Vec<usize> = branches
        .iter()
        .copied()
        .filter(|&i| b.units[i].kind == OrgKind::Community)
        .collect();
    let mut links = 0u64;
    let stride = (villages.len() / plan.first_secretaries.max(1)).max(1);
    let mut dispatches = Vec::new();
    for (n, &v) in villages
        .iter()
        .step_by(stride)
        .take(plan.first_secretaries)
        .enumerate()
    {
        let sender = organ_branches[n % organ_branches.len().max(1)];
        let Some(&person) = b.units[sender]
            .members
            .get(3 + n / organ_branches.len().max(1))
        else {
            continue;
        };
        positions.push(NewPosition {
            person_id: PersonId::new(person),
            org: b.units[v].org_ref.clone(),
            title: PositionTitle::FirstSecretary,
            valid_from: DISPATCHED,
            valid_to: None,
        });
        dispatches.push((person, v, sender));
    }
    let mut written = 0u64;
    for chunk in positions.chunks(10_000) {
        written += store.bulk_positions(&actor, chunk).await? as u64;
    }
    for &(person, v, sender) in &dispatches {
        store
            .create_link(
                &actor,
                NewLink {
                    kind: LinkKind::Dispatch,
                    from_org: None,
                    from_person: Some(PersonId::new(person)),
                    to_org: b.units[v].org_ref.clone(),
                    via_org: Some(b.units[sender].org_ref.clone()),
                    role: None,
                    note: Some("选派第一书记".into()),
                    valid_from: DISPATCHED,
                    valid_to: None,
                },
            )
            .await?;
        links += 1;
    }
    for n in 0..plan.pairings.min(villages.len()) {
        let from = organ_branches[n % organ_branches.len().max(1)];
        let to = villages[(n * 7 + 3) % villages.len()];
        store
            .create_link(
                &actor,
                NewLink {
                    kind: LinkKind::Pairing,
                    from_org: Some(b.units[from].org_ref.clone()),
                    from_person: None,
                    to_org: b.units[to].org_ref.clone(),
                    via_org: None,
                    role: None,
                    note: None,
                    valid_from: PAIRED,
                    valid_to: None,
                },
            )
            .await?;
        links += 1;
    }
    if !communities.is_empty() {
        for n in 0..plan.dual_reports {
            let from = organ_branches[n % organ_branches.len().max(1)];
            let Some(&person) = b.units[from].members.last() else {
                continue;
            };
            let to = communities[n % communities.len()];
            store
                .create_link(
                    &actor,
                    NewLink {
                        kind: LinkKind::DualReport,
                        from_org: None,
                        from_person: Some(PersonId::new(person)),
                        to_org: b.units[to].org_ref.clone(),
                        via_org: None,
                        role: None,
                        note: None,
                        valid_from: PAIRED,
                        valid_to: None,
                    },
                )
                .await?;
            links += 1;
        }
    }
    tracing::info!(county = %name, orgs = b.orgs, people = ids.len(), first_secretaries = dispatches.len(), "gen: county built");
    Ok(CountyWorld {
        county,
        actor,
        units: b.units,
        orgs: b.orgs,
        people: ids.len() as u64,
        positions: written,
        links,
    })
}
