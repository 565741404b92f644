//! The organisation tree: townships with their 管区, villages, communities, 党小组 and grids;
//! the county organs' 机关工委, 系统机关党委 and branches; covering teams and alliances.

use crate::names;
use crate::seeder::Seeder;
use crate::{Branch, Plan, Town, World, ALLIANCES_FORMED, COUNTY_CODE, FOUNDED, TEAMS_FORMED};
use taizhang_domain::org::OrgKind;
use taizhang_store::{Org, StoreResult};

impl Seeder<'_> {
    pub(crate) async fn townships(
        &mut self,
        plan: &Plan,
        root: &Org,
        world: &mut World,
    ) -> StoreResult<()> {
        for named in names::NAMED_VILLAGES.iter().flat_map(|(_, v)| v.iter()) {
            self.place_names.insert((*named).to_string());
        }
        for (t, town_name) in names::TOWNSHIPS.iter().enumerate() {
            let code = format!("{COUNTY_CODE}{:03}", t + 1);
            let town = self
                .org(
                    &root.org_ref,
                    OrgKind::Township,
                    (*town_name).into(),
                    Some(code.clone()),
                    FOUNDED,
                )
                .await?;
            let street = town_name.ends_with("街道");
            let named: &[&str] = names::NAMED_VILLAGES
                .iter()
                .find(|(n, _)| n == town_name)
                .map(|(_, v)| *v)
                .unwrap_or(&[]);
            let mut branches = Vec::new();
            for a in 1..=plan.areas(&mut self.rng, street) {
                let area_name = format!("{town_name}{}管区", names::ordinal(a));
                let area = self
                    .org(
                        &town.org_ref,
                        OrgKind::ManagementArea,
                        area_name,
                        None,
                        FOUNDED,
                    )
                    .await?;
                let (lo, hi) = plan.villages_per_area;
                for v in 1..=self.rng.range_usize(lo, hi) {
                    // Street offices are half urban: every other unit is a community.
                    let community = street && (a + v) % 2 == 1;
                    let name = match named.get(v - 1) {
                        Some(n) if a == 1 => (*n).to_string(),
                        _ => names::unique_place(&mut self.rng, community, &mut self.place_names),
                    };
                    let kind = if community {
                        OrgKind::Community
                    } else {
                        OrgKind::Village
                    };
                    let code = format!("{code}{a}{v:02}");
                    let org = self
                        .org(&area.org_ref, kind, name, Some(code), FOUNDED)
                        .await?;
                    for g in 1..=2 {
                        let (kind, label) = if community {
                            (OrgKind::Grid, "网格")
                        } else {
                            (OrgKind::PartyGroup, "党小组")
                        };
                        self.org(
                            &org.org_ref,
                            kind,
                            format!("{}{label}", names::ordinal(g)),
                            None,
                            FOUNDED,
                        )
                        .await?;
                    }
                    branches.push(world.branches.len());
                    world.branches.push(Branch {
                        org,
                        town: Some(world.towns.len()),
                        members: Vec::new(),
                        secretary: None,
                        first_secretary: None,
                    });
                }
            }
            tracing::info!(town = %town_name, units = branches.len(), "demo: township created");
            world.towns.push(Town {
                org: town,
                staff: Vec::new(),
                branches,
            });
        }
        Ok(())
    }

    pub(crate) async fn organs(
        &mut self,
        plan: &Plan,
        root: &Org,
        world: &mut World,
    ) -> StoreResult<()> {
        let committee = self
            .org(
                &root.org_ref,
                OrgKind::OrganWorkCommittee,
                "县直机关工委".into(),
                None,
                FOUNDED,
            )
            .await?;
        for (i, (system, depts)) in names::SYSTEMS.iter().enumerate() {
            let sys = self
                .org(
                    &committee.org_ref,
                    OrgKind::SystemCommittee,
                    (*system).into(),
                    None,
                    FOUNDED,
                )
                .await?;
            for dept in depts.iter().take(plan.organ_branches(&mut self.rng, i)) {
                let org = self
                    .org(
                        &sys.org_ref,
                        OrgKind::OrganBranch,
                        names::organ_branch_name(dept),
                        None,
                        FOUNDED,
                    )
                    .await?;
                world.organ_branches.push(world.branches.len());
                world.branches.push(Branch {
                    org,
                    town: None,
                    members: Vec::new(),
                    secretary: None,
                    first_secretary: None,
                });
            }
        }
        Ok(())
    }

    pub(crate) async fn groupings(&mut self, root: &Org, world: &mut World) -> StoreResult<()> {
        for i in 1..=6 {
            let team = self
                .org(
                    &root.org_ref,
                    OrgKind::CoverTeam,
                    format!("{}包保小组", names::ordinal(i)),
                    None,
                    TEAMS_FORMED,
                )
                .await?;
            world.cover_teams.push(team);
        }
        for name in names::ALLIANCES {
            let alliance = self
                .org(
                    &root.org_ref,
                    OrgKind::Alliance,
                    name.into(),
                    None,
                    ALLIANCES_FORMED,
                )
                .await?;
            world.alliances.push(alliance);
        }
        Ok(())
    }
}
