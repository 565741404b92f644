//! The levels above the generated counties: the city scale's 济宁市 (中共济宁市委员会) over its
//! eleven counties, the province scale's 山东省 over its sixteen cities and theirs, and a small
//! city over the test scale's two counties. Written after the counties, from the same lists, so
//! the same scale gives the same regions on either backend.

use super::{counties_of, Scale, JINING, SHANDONG};
use taizhang_domain::CountyId;
use taizhang_store::{Actor, Region, Store, StoreResult};

/// A region to create and the counties to put under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionPlan {
    pub code: String,
    pub name: String,
    pub level: &'static str,
    pub parent: Option<String>,
    pub counties: Vec<String>,
}

/// The regions of a scale, parents first.
pub fn regions_of(scale: Scale) -> Vec<RegionPlan> {
    let all: Vec<String> = counties_of(scale).into_iter().map(|c| c.0).collect();
    match scale {
        Scale::County => vec![],
        Scale::Test => vec![RegionPlan {
            code: "379900".into(),
            name: "中共甲乙市委员会".into(),
            level: "city",
            parent: None,
            counties: all,
        }],
        Scale::City => vec![RegionPlan {
            code: "370800".into(),
            name: "中共济宁市委员会".into(),
            level: "city",
            parent: None,
            counties: JINING.iter().map(|c| c.0.to_string()).collect(),
        }],
        Scale::Province => {
            let mut plans = vec![RegionPlan {
                code: "370000".into(),
                name: "中共山东省委员会".into(),
                level: "province",
                parent: None,
                counties: vec![],
            }];
            plans.extend(SHANDONG.iter().map(|(prefix, city)| {
                RegionPlan {
                    code: format!("{prefix}00"),
                    name: format!("中共{city}市委员会"),
                    level: "city",
                    parent: Some("370000".into()),
                    counties: all
                        .iter()
                        .filter(|c| c.starts_with(prefix))
                        .cloned()
                        .collect(),
                }
            }));
            plans
        }
    }
}

/// Creates the regions of a scale (reusing one that already exists, for `--append`) and puts
/// its counties under them, as a system job.
pub async fn write(store: &Store, scale: Scale) -> StoreResult<Vec<Region>> {
    let sys = Actor::system(CountyId::new(0), "gen");
    let mut out = Vec::new();
    for plan in regions_of(scale) {
        let region = match store.region_by_code(&plan.code).await {
            Ok(r) => r,
            Err(taizhang_store::StoreError::NotFound) => {
                store
                    .create_region(
                        &sys,
                        &plan.code,
                        &plan.name,
                        plan.level,
                        plan.parent.as_deref(),
                    )
                    .await?
            }
            Err(e) => return Err(e),
        };
        for county in &plan.counties {
            store.attach_county(&sys, &plan.code, county).await?;
        }
        out.push(region);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_province_covers_every_county_once() {
        let plans = regions_of(Scale::Province);
        assert_eq!(plans.len(), 17);
        let mut counties: Vec<&String> = plans.iter().flat_map(|p| &p.counties).collect();
        assert_eq!(counties.len(), 100);
        counties.sort();
        counties.dedup();
        assert_eq!(counties.len(), 100);
        assert_eq!(plans[8].code, "370800");
        assert_eq!(plans[8].name, "中共济宁市委员会");
        assert!(plans[1..]
            .iter()
            .all(|p| p.parent.as_deref() == Some("370000")));
        let city = regions_of(Scale::City);
        assert_eq!(city.len(), 1);
        assert_eq!(city[0].counties.len(), 11);
        assert!(regions_of(Scale::County).is_empty());
    }
}
