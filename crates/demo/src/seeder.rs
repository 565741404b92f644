//! The writer behind `seed`: creates organisations, people, positions and links through the
//! store as the demo's system actor, counting what it made.

use crate::names;
use crate::rng::Rng;
use crate::{ymd, Plan, World, COUNTY_CODE, ELECTED, JOINED_BY};
use chrono::{Datelike, Days, NaiveDate};
use std::collections::HashSet;
use taizhang_domain::org::{OrgKind, PositionTitle};
use taizhang_domain::{IdNumber, PersonId};
use taizhang_store::{
    Actor, NewLink, NewOrg, NewPerson, NewPosition, Org, Store, StoreError, StoreResult,
};

/// Who a generated person is: sets the birth years, the share of men and retirement.
#[derive(Clone, Copy)]
pub(crate) enum Cohort {
    Villager,
    /// A village secretary or committee member: of working age, in the Party before the 2021
    /// election.
    VillageCadre,
    Cadre,
    TownStaff,
    FirstSecretary,
    Retiree,
}

impl Cohort {
    /// The 学历 of the cohort's members, with weights in hundredths.
    fn schooling(self) -> names::Schooling {
        match self {
            Cohort::Villager => &[("初中", 50), ("高中", 25), ("小学", 15), ("大专", 10)],
            Cohort::Retiree => &[("初中", 40), ("小学", 30), ("高中", 20), ("中专", 10)],
            Cohort::VillageCadre => &[("高中", 40), ("大专", 35), ("初中", 15), ("本科", 10)],
            Cohort::Cadre | Cohort::TownStaff => &[("本科", 60), ("大专", 25), ("硕士", 15)],
            Cohort::FirstSecretary => &[("本科", 70), ("硕士", 30)],
        }
    }
}

pub(crate) struct Seeder<'a> {
    pub store: &'a Store,
    pub actor: Actor,
    pub rng: Rng,
    id_numbers: HashSet<String>,
    pub place_names: HashSet<String>,
    pub orgs: usize,
    pub people: usize,
    pub links: usize,
}

impl<'a> Seeder<'a> {
    /// `orgs` starts at one: the county's root, made by `create_county`.
    pub fn new(store: &'a Store, actor: Actor, seed: u64) -> Seeder<'a> {
        Seeder {
            store,
            actor,
            rng: Rng::new(seed),
            id_numbers: HashSet::new(),
            place_names: HashSet::new(),
            orgs: 1,
            people: 0,
            links: 0,
        }
    }
}

impl Seeder<'_> {
    pub(crate) async fn org(
        &mut self,
        parent: &str,
        kind: OrgKind,
        name: String,
        code: Option<String>,
        established: NaiveDate,
    ) -> StoreResult<Org> {
        let org = self
            .store
            .create_org(
                &self.actor,
                parent,
                NewOrg {
                    kind,
                    name,
                    code,
                    established_on: Some(established),
                },
            )
            .await?;
        self.orgs += 1;
        Ok(org)
    }

    pub(crate) async fn link(&mut self, new: NewLink) -> StoreResult<()> {
        self.store.create_link(&self.actor, new).await?;
        self.links += 1;
        Ok(())
    }

    pub(crate) async fn position(
        &mut self,
        person_id: PersonId,
        org: &Org,
        title: PositionTitle,
        from: NaiveDate,
    ) -> StoreResult<()> {
        let new = NewPosition {
            person_id,
            org: org.org_ref.clone(),
            title,
            valid_from: from,
            valid_to: None,
        };
        self.store.add_position(&self.actor, new).await?;
        Ok(())
    }

    pub(crate) fn date_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(0) as u64;
        from + Days::new(self.rng.below(span + 1))
    }

    /// A well-formed ID number not used before: 370828, the birth date, a sequence number whose
    /// parity gives the gender (odd for men), and the check character.
    fn id_number(&mut self, birth: NaiveDate, male: bool) -> StoreResult<String> {
        for _ in 0..1000 {
            let seq = 1 + self.rng.below(499) * 2 + u64::from(!male);
            let id = IdNumber::from_parts(COUNTY_CODE, birth, seq as u16, taizhang_store::today())
                .map_err(|e| StoreError::Internal(e.to_string()))?;
            if self.id_numbers.insert(id.as_str().to_string()) {
                return Ok(id.as_str().to_string());
            }
        }
        Err(StoreError::Internal(
            "演示数据生成失败：身份证顺序码已用尽".into(),
        ))
    }

    /// Creates a Party member of `org`; returns the id, name and birth date. With `joined_by`,
    /// the date they joined the Party (no later than it) is drawn and kept in their profile.
    pub(crate) async fn person(
        &mut self,
        org: &Org,
        cohort: Cohort,
        joined_by: Option<NaiveDate>,
    ) -> StoreResult<(PersonId, String, NaiveDate, Option<NaiveDate>)> {
        let retired = match cohort {
            Cohort::Villager => self.rng.chance(0.1),
            Cohort::Retiree => true,
            _ => false,
        };
        let (born, men) = match cohort {
            Cohort::Villager if retired => ((1950, 1962), 0.72),
            Cohort::Villager => ((1955, 2000), 0.72),
            Cohort::VillageCadre => ((1965, 1990), 0.85),
            Cohort::Cadre => ((1966, 1998), 0.6),
            Cohort::TownStaff => ((1975, 1996), 0.6),
            Cohort::FirstSecretary => ((1980, 1994), 0.8),
            Cohort::Retiree => ((1950, 1962), 0.65),
        };
        let birth = self.date_between(ymd(born.0, 1, 1), ymd(born.1, 12, 31));
        let male = self.rng.chance(men);
        let id_number = self.id_number(birth, male)?;
        let name = names::person_name(&mut self.rng, male);
        let phone = names::phone(&mut self.rng);
        let joined = joined_by.map(|by| self.joined(birth, by));
        // The rest of the profile from its own generator, seeded by the person's number, so
        // that the county's other data stays as it was.
        let profile = names::profile(
            &mut Rng::new(birth.num_days_from_ce() as u64 ^ self.people as u64),
            cohort.schooling(),
            joined,
        );
        let new = NewPerson {
            name: name.clone(),
            org: org.org_ref.clone(),
            gender: None, // derived from the ID number
            id_number: Some(id_number),
            phone: Some(phone),
            party_member: true,
            retired,
            ..profile
        };
        let person = self.store.create_person(&self.actor, new).await?;
        self.people += 1;
        Ok((person.id, name, birth, joined))
    }

    /// When someone joined the Party: in their twenties or thirties, and no later than `by`
    /// (at least 22 years after `birth` for every cohort's birth years).
    fn joined(&mut self, birth: NaiveDate, by: NaiveDate) -> NaiveDate {
        let d = birth + Days::new(365 * 22 + self.rng.below(365 * 18));
        if d > by {
            by - Days::new(self.rng.below(1500))
        } else {
            d
        }
    }

    /// A Party member of a branch, with the 党员 position every member holds there; returns the
    /// id, name and the date they joined.
    pub(crate) async fn member(
        &mut self,
        branch: &Org,
        cohort: Cohort,
    ) -> StoreResult<(PersonId, String, NaiveDate)> {
        let by = match cohort {
            Cohort::VillageCadre => ELECTED - Days::new(366),
            Cohort::FirstSecretary => ymd(2022, 12, 31),
            _ => JOINED_BY,
        };
        let (id, name, _, joined) = self.person(branch, cohort, Some(by)).await?;
        let joined = joined.unwrap_or(by);
        self.position(id, branch, PositionTitle::Member, joined)
            .await?;
        Ok((id, name, joined))
    }

    // ---- people of the tree --------------------------------------------------------------

    pub(crate) async fn members(&mut self, plan: &Plan, world: &mut World) -> StoreResult<()> {
        for town in &mut world.towns {
            for _ in 0..3 {
                let (id, _, birth, _) = self.person(&town.org, Cohort::TownStaff, None).await?;
                let from = self
                    .date_between(ymd(2018, 1, 1), ymd(2023, 12, 31))
                    .max(birth + Days::new(365 * 22));
                self.position(id, &town.org, PositionTitle::AffairsStaff, from)
                    .await?;
                town.staff.push(id);
            }
        }
        for b in 0..world.branches.len() {
            let org = world.branches[b].org.clone();
            let organ = org.kind == OrgKind::OrganBranch;
            let (lo, hi) = if organ {
                plan.organ_members
            } else {
                plan.members
            };
            let mut members = Vec::new();
            let mut secretary = None;
            for m in 0..self.rng.range_usize(lo, hi) {
                let cohort = match (m, organ) {
                    (_, true) => Cohort::Cadre,
                    (0..=2, false) => Cohort::VillageCadre,
                    _ => Cohort::Villager,
                };
                let (id, name, joined) = self.member(&org, cohort).await?;
                members.push(id);
                match (m, organ) {
                    (0, true) => {
                        let from = self
                            .date_between(ymd(2019, 1, 1), ymd(2023, 6, 30))
                            .max(joined + Days::new(365));
                        self.position(id, &org, PositionTitle::Secretary, from)
                            .await?;
                        secretary = Some((id, name));
                    }
                    (0, false) => {
                        self.position(id, &org, PositionTitle::Secretary, ELECTED)
                            .await?;
                        secretary = Some((id, name));
                    }
                    (1 | 2, false) => {
                        self.position(id, &org, PositionTitle::CommitteeMember, ELECTED)
                            .await?
                    }
                    _ => {}
                }
            }
            let branch = &mut world.branches[b];
            branch.members = members;
            branch.secretary = secretary;
        }
        Ok(())
    }
}
