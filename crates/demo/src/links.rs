//! Cross-links: 派驻 first secretaries, 包保, 结对/联建, 双报到 and 党建联盟 membership.

use crate::seeder::{Cohort, Seeder};
use crate::{missing, ymd, Branch, Plan, World, ALLIANCE_JOINED, COVER_FROM, DISPATCH_ROUNDS};
use chrono::{Datelike, Days, Months, NaiveDate};
use taizhang_domain::org::{LinkKind, OrgKind, PositionTitle};
use taizhang_domain::PersonId;
use taizhang_store::{NewLink, Org, StoreResult};

impl Seeder<'_> {
    /// 派驻第一书记: a cadre of an organ branch (the sending unit) serving in a village. The first
    /// goes from 县委组织部 to 李集村 (the `diyishuji` user). Returns (person, sending branch).
    pub(crate) async fn first_secretaries(
        &mut self,
        plan: &Plan,
        world: &mut World,
    ) -> StoreResult<(PersonId, usize)> {
        let lead = world
            .branches
            .iter()
            .position(|b| b.org.name == "李集村")
            .ok_or_else(|| missing("李集村"))?;
        // 寻庄村 keeps only its own secretary, so the two Recorder users see different villages.
        let others: Vec<usize> = world
            .of_kind(OrgKind::Village)
            .into_iter()
            .filter(|&i| i != lead && world.branches[i].org.name != "寻庄村")
            .collect();
        let wanted = plan.first_secretaries.saturating_sub(1).min(others.len());
        let stride = (others.len() / wanted.max(1)).max(1);
        let mut villages = vec![lead];
        villages.extend(others.iter().step_by(stride).take(wanted));

        let mut senders = world.organ_branches.clone();
        if senders.is_empty() {
            return Err(missing("机关党支部"));
        }
        self.rng.shuffle(&mut senders[1..]);
        let mut first = None;
        for (i, &v) in villages.iter().enumerate() {
            let sender = senders[i % senders.len()];
            let from = if i == 0 {
                DISPATCH_ROUNDS[0]
            } else {
                DISPATCH_ROUNDS[usize::from(self.rng.chance(0.3))]
            };
            let sending = world.branches[sender].org.clone();
            let village = world.branches[v].org.clone();
            let (id, ..) = self.member(&sending, Cohort::FirstSecretary).await?;
            self.position(id, &village, PositionTitle::FirstSecretary, from)
                .await?;
            self.link(NewLink {
                kind: LinkKind::Dispatch,
                from_org: None,
                from_person: Some(id),
                to_org: village.org_ref.clone(),
                via_org: Some(sending.org_ref.clone()),
                role: None,
                note: Some(format!("{}选派", sending.name)),
                valid_from: from,
                valid_to: None,
            })
            .await?;
            world.branches[v].first_secretary = Some(id);
            world.branches[sender].members.push(id);
            first.get_or_insert((id, sender));
        }
        first.ok_or_else(|| missing("第一书记"))
    }

    /// 包保: six teams share the 13 townships, two or three each.
    pub(crate) async fn covers(&mut self, world: &World) -> StoreResult<()> {
        let teams = world.cover_teams.len().max(1);
        let (base, extra) = (world.towns.len() / teams, world.towns.len() % teams);
        let mut towns = world.towns.iter();
        for (i, team) in world.cover_teams.iter().enumerate() {
            for town in towns.by_ref().take(base + usize::from(i < extra)) {
                self.link(NewLink {
                    kind: LinkKind::Cover,
                    from_org: Some(team.org_ref.clone()),
                    from_person: None,
                    to_org: town.org.org_ref.clone(),
                    via_org: None,
                    role: None,
                    note: None,
                    valid_from: COVER_FROM,
                    valid_to: None,
                })
                .await?;
            }
        }
        Ok(())
    }

    /// 结对/联建: organ branches paired with villages and communities.
    pub(crate) async fn pairings(&mut self, plan: &Plan, world: &World) -> StoreResult<()> {
        let mut targets: Vec<usize> = world
            .branches
            .iter()
            .enumerate()
            .filter(|(_, b)| b.town.is_some())
            .map(|(i, _)| i)
            .collect();
        self.rng.shuffle(&mut targets);
        let mut sources = world.organ_branches.clone();
        self.rng.shuffle(&mut sources);
        for (i, &t) in targets.iter().take(plan.pairings).enumerate() {
            let Some(&s) = sources.get(i % sources.len().max(1)) else {
                break;
            };
            let from = self.date_between(ymd(2022, 1, 1), ymd(2024, 12, 31));
            self.link(NewLink {
                kind: LinkKind::Pairing,
                from_org: Some(world.branches[s].org.org_ref.clone()),
                from_person: None,
                to_org: world.branches[t].org.org_ref.clone(),
                via_org: None,
                role: None,
                note: None,
                valid_from: from,
                valid_to: None,
            })
            .await?;
        }
        Ok(())
    }

    /// 双报到: retired members of organ branches reporting to the community where they live.
    pub(crate) async fn dual_reports(&mut self, plan: &Plan, world: &World) -> StoreResult<()> {
        let communities = world.of_kind(OrgKind::Community);
        if communities.is_empty() || world.organ_branches.is_empty() {
            return Ok(());
        }
        for i in 0..plan.dual_reports {
            let branch = world.branches[world.organ_branches[i % world.organ_branches.len()]]
                .org
                .clone();
            let Some(&c) = self.rng.pick(&communities) else {
                break;
            };
            let (id, ..) = self.member(&branch, Cohort::Retiree).await?;
            let from = self.date_between(ymd(2022, 3, 1), ymd(2024, 10, 31));
            self.link(NewLink {
                kind: LinkKind::DualReport,
                from_org: None,
                from_person: Some(id),
                to_org: world.branches[c].org.org_ref.clone(),
                via_org: None,
                role: None,
                note: None,
                valid_from: from,
                valid_to: None,
            })
            .await?;
        }
        Ok(())
    }

    /// 党建联盟: up to 25 organ branches spread over the alliances (at least two each), and a
    /// chair rotating every half-year among the members: two past terms and the current one.
    pub(crate) async fn alliances(&mut self, world: &World) -> StoreResult<()> {
        let n = world.organ_branches.len();
        if n == 0 || world.alliances.is_empty() {
            return Ok(());
        }
        let mut order = world.organ_branches.clone();
        self.rng.shuffle(&mut order);
        let per = (n.min(25) / world.alliances.len()).max(2).min(n);
        let today = taizhang_store::today();
        let this_half =
            today - Days::new(u64::from(today.day0())) - Months::new(today.month0() % 6);
        let terms = [
            (
                this_half - Months::new(12),
                Some(this_half - Months::new(6) - Days::new(1)),
            ),
            (this_half - Months::new(6), Some(this_half - Days::new(1))),
            (this_half, None),
        ];
        for (a, alliance) in world.alliances.iter().enumerate() {
            let members: Vec<&Branch> = (0..per)
                .map(|j| &world.branches[order[(a * per + j) % n]])
                .collect();
            for b in &members {
                self.alliance_link(
                    &b.org,
                    alliance,
                    "member",
                    ALLIANCE_JOINED.min(terms[0].0),
                    None,
                )
                .await?;
            }
            for (t, (from, to)) in terms.iter().enumerate() {
                self.alliance_link(
                    &members[t % members.len()].org,
                    alliance,
                    "chair",
                    *from,
                    *to,
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn alliance_link(
        &mut self,
        branch: &Org,
        alliance: &Org,
        role: &str,
        from: NaiveDate,
        to: Option<NaiveDate>,
    ) -> StoreResult<()> {
        self.link(NewLink {
            kind: LinkKind::AllianceMember,
            from_org: Some(branch.org_ref.clone()),
            from_person: None,
            to_org: alliance.org_ref.clone(),
            via_org: None,
            role: Some(role.into()),
            note: None,
            valid_from: from,
            valid_to: to,
        })
        .await
    }
}
