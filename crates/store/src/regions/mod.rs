//! Levels above the county (市委, 省委): regions, the counties attached to them, region users
//! (who read every county below and write in none) and the region bulletin that ranks its
//! counties. A region groups counties for reading only: each county keeps its tree, its key and
//! its audit chain, and a region user reads a county through a read-only actor of that county.

use crate::{auth, Actor, County, Store, StoreResult, User};
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use taizhang_domain::bulletin::{Bulletin, Grouping};
use taizhang_domain::period::DateRange;
use taizhang_domain::region::{self, CountyBulletin, RegionBrief, RegionBulletin};
use taizhang_domain::{RegionId, RegionLevel};
use utoipa::ToSchema;

/// County bulletins a region bulletin reads at once (each on its own read connection).
const REGION_PARALLEL_COUNTIES: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Region {
    #[schema(value_type = i64)]
    pub id: RegionId,
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
    /// The province a city sits under.
    pub parent_code: Option<String>,
}

impl Region {
    pub fn brief(&self) -> RegionBrief {
        RegionBrief {
            code: self.code.clone(),
            name: self.name.clone(),
            level: self.level,
        }
    }
}

forward! {
    /// Creates a city or province (a system job: the CLI). `level` is `city` or `province`; a
    /// city may name the province it sits under.
    pub async fn create_region(
        &self,
        actor: &Actor,
        code: &str,
        name: &str,
        level: &str,
        parent: Option<&str>,
    ) -> StoreResult<Region> => regions::create_region(actor, code, name, level, parent);

    /// Puts a city under a province (once; never under itself or below itself).
    pub async fn attach_region(&self, actor: &Actor, region: &str, parent: &str) -> StoreResult<Region>
        => regions::attach_region(actor, region, parent);

    /// Puts a county under a city or a province (a county sits under one region at most).
    pub async fn attach_county(&self, actor: &Actor, region: &str, county: &str) -> StoreResult<County>
        => regions::attach_county(actor, region, county);

    pub async fn region_by_code(&self, code: &str) -> StoreResult<Region>
        => regions::region_by_code(code);

    pub async fn regions(&self) -> StoreResult<Vec<Region>> => regions::regions();

    /// The counties below a region the caller may read (a system job, or a region user of the
    /// region or of the province above it), through its cities for a province, by code.
    pub async fn region_counties(&self, actor: &Actor, code: &str) -> StoreResult<(Region, Vec<County>)>
        => regions::readable_region(actor, code);

    /// The region a region user belongs to; `None` for everyone else.
    pub async fn user_region(&self, actor: &Actor) -> StoreResult<Option<Region>>
        => regions::user_region(actor);

    /// The accounts of a region (a system job).
    pub async fn region_users(&self, actor: &Actor, code: &str) -> StoreResult<Vec<User>>
        => regions::region_users(actor, code);

    /// A read-only actor of a county below the caller's region: the county's whole tree in scope,
    /// the role `region_viewer` (reads organisations, records and bulletins; writes nothing).
    pub async fn county_reader(&self, actor: &Actor, county: &str) -> StoreResult<Actor>
        => regions::county_reader(actor, county);

    /// Makes the session of a region user read `county` from now on (its pages, lists and API
    /// answer for that county, read-only). Audited in the county's chain.
    pub async fn open_county(&self, token: &str, county: &str) -> StoreResult<Actor>
        => regions::open_county(&auth::token_hash(token), county);
}

impl Store {
    /// A region user with a random temporary password (returned once, changed at the first
    /// login), created by a system job (the CLI). Its home county — where its logins are
    /// audited — is the first county below the region by code.
    pub async fn create_region_user(
        &self,
        actor: &Actor,
        region: &str,
        username: &str,
        display_name: &str,
    ) -> StoreResult<(User, String)> {
        let password = auth::random_password();
        let hash = auth::hash_password(password.clone()).await?;
        let user = dispatch!(
            self,
            regions::create_region_user(actor, region, username, display_name, &hash, true)
        )?;
        Ok((user, password))
    }

    /// A region user with a chosen password (the demo and tests), not to be changed at login.
    pub async fn create_region_user_with_password(
        &self,
        actor: &Actor,
        region: &str,
        username: &str,
        display_name: &str,
        password: &str,
    ) -> StoreResult<User> {
        let hash = auth::hash_password(password.to_string()).await?;
        dispatch!(
            self,
            regions::create_region_user(actor, region, username, display_name, &hash, false)
        )
    }

    /// The bulletin of a city or province (市/省统计通报): each county's own bulletin over its
    /// root, read through a read-only actor of that county, added up and ranked.
    pub async fn region_bulletin(
        &self,
        actor: &Actor,
        code: &str,
        range: DateRange,
    ) -> StoreResult<RegionBulletin> {
        let (region, counties) = self.region_counties(actor, code).await?;
        // The counties' bulletins are independent reads: a few at a time, on as many read
        // connections, in the counties' order.
        let codes: Vec<String> = counties.iter().map(|c| c.code.clone()).collect();
        let bulletins: Vec<Bulletin> = futures_util::stream::iter(codes)
            .map(|code| async move {
                let reader = self.county_reader(actor, &code).await?;
                self.bulletin(&reader, &code, range, Grouping::Children)
                    .await
            })
            .buffered(REGION_PARALLEL_COUNTIES)
            .try_collect()
            .await?;
        let parts: Vec<CountyBulletin<'_>> = counties
            .iter()
            .zip(&bulletins)
            .map(|(c, b)| CountyBulletin {
                code: &c.code,
                name: &c.name,
                bulletin: b,
            })
            .collect();
        Ok(region::compose(region.brief(), range, &parts))
    }
}
