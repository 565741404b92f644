//! The regions queries, compiled once per backend: `super` is `backend::sqlite` or
//! `backend::postgres`, which defines `DB`, `IS_PG` and the shared plumbing.

use super::accounts::{check_display_name, check_username, user_by_id, user_from, UserRow, USER_SELECT};
use super::counties::{county_from, CountyRow};
use super::*;
use crate::regions::Region;
use crate::{Actor, County, Pools, StoreError, StoreResult, User};
use chrono::Utc;
use serde_json::json;
use taizhang_domain::region::{validate_code, validate_name};
use taizhang_domain::{CountyId, RegionId, RegionLevel, Role, Scope};

/// A region as stored, with its parent's code.
pub(crate) struct RegionRow {
    id: i64,
    code: String,
    name: String,
    level: String,
    parent_code: Option<String>,
}
from_row!(RegionRow {
    id,
    code,
    name,
    level,
    parent_code
});

const REGION_SELECT: &str = "SELECT r.id, r.code, r.name, r.level, p.code AS parent_code FROM regions r LEFT JOIN regions p ON p.id = r.parent_id";

const COUNTY_SELECT: &str = "SELECT id, code, name, root_org_id FROM counties";

fn region_from(r: RegionRow) -> StoreResult<Region> {
    Ok(Region {
        id: RegionId::new(r.id),
        code: r.code,
        name: r.name,
        level: r
            .level
            .parse()
            .map_err(|_| StoreError::Internal(format!("unknown region level {}", r.level)))?,
        parent_code: r.parent_code,
    })
}

/// Regions are made and arranged by the binary's own jobs (the CLI), not by any county's user.
fn require_system(actor: &Actor) -> StoreResult<()> {
    if actor.is_system() {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

async fn find_region(c: &mut Conn, code: &str) -> StoreResult<Option<Region>> {
    let r: Option<RegionRow> = sqlx::query_as(&format!("{REGION_SELECT} WHERE r.code = $1"))
        .bind(code.trim())
        .fetch_optional(&mut *c)
        .await?;
    r.map(region_from).transpose()
}

/// A region named in an argument, or the field error `region.unknown_region`.
async fn named_region(c: &mut Conn, field: &str, code: &str) -> StoreResult<Region> {
    find_region(c, code).await?.ok_or_else(|| {
        StoreError::invalid(
            field,
            "region.unknown_region",
            format!("未找到行政区划代码为“{}”的市或省", code.trim()),
        )
    })
}

pub(crate) async fn create_region(
    p: &Pools<DB>,
    actor: &Actor,
    code: &str,
    name: &str,
    level: &str,
    parent: Option<&str>,
) -> StoreResult<Region> {
    require_system(actor)?;
    let level = RegionLevel::parse_field(level.trim())?;
    let code = validate_code(code, level)?;
    let name = validate_name(name)?;
    let mut tx = p.write.begin().await?;
    if find_region(&mut tx, &code).await?.is_some() {
        return Err(StoreError::conflict(
            "region.exists",
            format!("行政区划代码{code}已存在"),
        ));
    }
    let parent_id = match parent {
        Some(pc) => {
            let parent = named_region(&mut tx, "parent", pc).await?;
            check_parent_level(level, parent.level)?;
            Some(parent.id.get())
        }
        None => None,
    };
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO regions (code, name, level, parent_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&code)
    .bind(&name)
    .bind(level.key())
    .bind(parent_id)
    .bind(Utc::now())
    .fetch_one(&mut *tx)
    .await?;
    let region: RegionRow = sqlx::query_as(&format!("{REGION_SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    region_from(region)
}

/// A city sits under a province; nothing sits under a city or above a province.
fn check_parent_level(child: RegionLevel, parent: RegionLevel) -> StoreResult<()> {
    if child.parent_level() == Some(parent) {
        return Ok(());
    }
    Err(StoreError::invalid(
        "parent",
        "region.bad_parent",
        match child {
            RegionLevel::City => "市只能隶属于省",
            RegionLevel::Province => "省不隶属于其他市或省",
        },
    ))
}

pub(crate) async fn attach_region(
    p: &Pools<DB>,
    actor: &Actor,
    region: &str,
    parent: &str,
) -> StoreResult<Region> {
    require_system(actor)?;
    let mut tx = p.write.begin().await?;
    let child = named_region(&mut tx, "region", region).await?;
    let parent = named_region(&mut tx, "parent", parent).await?;
    // Walk up from the parent: meeting the child means the child would sit below itself.
    let mut at = Some(parent.id.get());
    let mut steps = 0;
    while let Some(id) = at {
        if id == child.id.get() {
            return Err(StoreError::conflict(
                "region.cycle",
                format!("{}不能隶属于自身或其下级", child.name),
            ));
        }
        steps += 1;
        if steps > 16 {
            break;
        }
        let (up,): (Option<i64>,) = sqlx::query_as("SELECT parent_id FROM regions WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        at = up;
    }
    check_parent_level(child.level, parent.level)?;
    if let Some(current) = &child.parent_code {
        return Err(StoreError::conflict(
            "region.region_attached",
            format!("{}已隶属于{current}", child.name),
        ));
    }
    sqlx::query("UPDATE regions SET parent_id = $1 WHERE id = $2")
        .bind(parent.id.get())
        .bind(child.id.get())
        .execute(&mut *tx)
        .await?;
    // Regions have no audit chain of their own: the change is written into the chain of every
    // county it puts under the parent, each of which is now read by the parent's users.
    let below: Vec<(i64,)> = sqlx::query_as("SELECT id FROM counties WHERE region_id = $1 ORDER BY id")
        .bind(child.id.get())
        .fetch_all(&mut *tx)
        .await?;
    for (county_id,) in below {
        let after = json!({"region": child.code, "parent": parent.code, "level": parent.level.key()});
        audit_attachment(&mut tx, p, county_id, ("region", child.id.get()), after).await?;
    }
    let region = find_region(&mut tx, &child.code)
        .await?
        .ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(region)
}

/// An attachment under a region, in the chain of the county it concerns, by the binary.
async fn audit_attachment(
    c: &mut Conn,
    p: &Pools<DB>,
    county_id: i64,
    (entity, entity_id): (&str, i64),
    after: serde_json::Value,
) -> StoreResult<()> {
    let system = Actor::system(CountyId::new(county_id), "region");
    audit_as(c, &p.audit_key, &system, "attach_region", entity, entity_id, None, Some(after)).await
}

pub(crate) async fn attach_county(
    p: &Pools<DB>,
    actor: &Actor,
    region: &str,
    county: &str,
) -> StoreResult<County> {
    require_system(actor)?;
    let mut tx = p.write.begin().await?;
    let region = named_region(&mut tx, "region", region).await?;
    let row: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT id, region_id FROM counties WHERE code = $1")
            .bind(county.trim())
            .fetch_optional(&mut *tx)
            .await?;
    let Some((county_id, current)) = row else {
        return Err(StoreError::invalid(
            "county",
            "region.unknown_county",
            format!("未找到行政区划代码为“{}”的县", county.trim()),
        ));
    };
    if let Some(current) = current {
        let (code, name): (String, String) =
            sqlx::query_as("SELECT code, name FROM regions WHERE id = $1")
                .bind(current)
                .fetch_one(&mut *tx)
                .await?;
        let code_msg = if current == region.id.get() {
            format!("该县已隶属于{name}（{code}）")
        } else {
            format!("一个县只能隶属于一个市或省：该县已隶属于{name}（{code}）")
        };
        return Err(StoreError::conflict("region.county_attached", code_msg));
    }
    sqlx::query("UPDATE counties SET region_id = $1 WHERE id = $2")
        .bind(region.id.get())
        .bind(county_id)
        .execute(&mut *tx)
        .await?;
    let after = json!({"region": region.code, "name": region.name, "level": region.level.key()});
    audit_attachment(&mut tx, p, county_id, ("county", county_id), after).await?;
    let r: CountyRow = sqlx::query_as(&format!("{COUNTY_SELECT} WHERE id = $1"))
        .bind(county_id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(county_from(r))
}

pub(crate) async fn region_by_code(p: &Pools<DB>, code: &str) -> StoreResult<Region> {
    let mut c = p.read.acquire().await?;
    find_region(&mut c, code).await?.ok_or(StoreError::NotFound)
}

pub(crate) async fn regions(p: &Pools<DB>) -> StoreResult<Vec<Region>> {
    let rows: Vec<RegionRow> = sqlx::query_as(&format!("{REGION_SELECT} ORDER BY r.code"))
        .fetch_all(&p.read)
        .await?;
    rows.into_iter().map(region_from).collect()
}

/// The counties below a region: its own, and its cities' for a province (a city sits under a
/// province and nothing under a city, so two levels are the whole depth), by code.
async fn counties_below(c: &mut Conn, region_id: i64) -> StoreResult<Vec<County>> {
    let rows: Vec<CountyRow> = sqlx::query_as(&format!(
        "{COUNTY_SELECT} WHERE region_id = $1 OR region_id IN (SELECT id FROM regions WHERE parent_id = $1) ORDER BY code"
    ))
    .bind(region_id)
    .fetch_all(&mut *c)
    .await?;
    Ok(rows.into_iter().map(county_from).collect())
}

/// The region of a user's row, if it is a region user.
async fn region_of_user(c: &mut Conn, actor: &Actor) -> StoreResult<Option<i64>> {
    let Some(user_id) = actor.user_id else {
        return Ok(None);
    };
    if actor.role != Role::RegionViewer {
        return Ok(None);
    }
    let row: Option<(Option<i64>,)> = sqlx::query_as("SELECT region_id FROM users WHERE id = $1")
        .bind(user_id.get())
        .fetch_optional(&mut *c)
        .await?;
    Ok(row.and_then(|r| r.0))
}

/// Whether the caller may read region `r`: a system job always; a region user when `r` is its
/// region or a city of its province. Anyone else may not, and is answered as if `r` did not exist.
async fn may_read(c: &mut Conn, actor: &Actor, r: &Region) -> StoreResult<bool> {
    if actor.is_system() {
        return Ok(true);
    }
    let Some(own) = region_of_user(c, actor).await? else {
        return Ok(false);
    };
    if own == r.id.get() {
        return Ok(true);
    }
    let (parent,): (Option<i64>,) = sqlx::query_as("SELECT parent_id FROM regions WHERE id = $1")
        .bind(r.id.get())
        .fetch_one(&mut *c)
        .await?;
    Ok(parent == Some(own))
}

pub(crate) async fn readable_region(
    p: &Pools<DB>,
    actor: &Actor,
    code: &str,
) -> StoreResult<(Region, Vec<County>)> {
    let mut c = p.read.acquire().await?;
    let region = find_region(&mut c, code).await?.ok_or(StoreError::NotFound)?;
    if !may_read(&mut c, actor, &region).await? {
        return Err(StoreError::NotFound);
    }
    let counties = counties_below(&mut c, region.id.get()).await?;
    Ok((region, counties))
}

pub(crate) async fn user_region(p: &Pools<DB>, actor: &Actor) -> StoreResult<Option<Region>> {
    let mut c = p.read.acquire().await?;
    let Some(id) = region_of_user(&mut c, actor).await? else {
        return Ok(None);
    };
    let r: RegionRow = sqlx::query_as(&format!("{REGION_SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_one(&mut *c)
        .await?;
    Ok(Some(region_from(r)?))
}

pub(crate) async fn region_users(
    p: &Pools<DB>,
    actor: &Actor,
    code: &str,
) -> StoreResult<Vec<User>> {
    require_system(actor)?;
    let mut c = p.read.acquire().await?;
    let region = find_region(&mut c, code).await?.ok_or(StoreError::NotFound)?;
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "{USER_SELECT} WHERE u.region_id = $1 ORDER BY u.id"
    ))
    .bind(region.id.get())
    .fetch_all(&mut *c)
    .await?;
    rows.into_iter().map(user_from).collect()
}

/// Whether county `county_id` lies below region `region_id` (directly or through a city).
pub(crate) async fn county_below(c: &mut Conn, region_id: i64, county_id: i64) -> StoreResult<bool> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT c.id FROM counties c LEFT JOIN regions r ON r.id = c.region_id
         WHERE c.id = $1 AND (c.region_id = $2 OR r.parent_id = $2)",
    )
    .bind(county_id)
    .bind(region_id)
    .fetch_optional(&mut *c)
    .await?;
    Ok(row.is_some())
}

/// The read-only actor of a region user in one county: the whole county in scope, its role
/// `region_viewer`, its home organisation the county's root.
pub(crate) fn reader_in(actor: &Actor, county: &County) -> Actor {
    if actor.is_system() {
        return Actor::system(county.id, "region");
    }
    Actor {
        user_id: actor.user_id,
        username: actor.username.clone(),
        role: Role::RegionViewer,
        county_id: county.id,
        org_id: county.root_org_id,
        person_id: None,
        scope: Scope::county(county.id.get()),
    }
}

async fn county_by_code_on(c: &mut Conn, code: &str) -> StoreResult<Option<County>> {
    let r: Option<CountyRow> = sqlx::query_as(&format!("{COUNTY_SELECT} WHERE code = $1"))
        .bind(code.trim())
        .fetch_optional(&mut *c)
        .await?;
    Ok(r.map(county_from))
}

pub(crate) async fn county_reader(p: &Pools<DB>, actor: &Actor, county: &str) -> StoreResult<Actor> {
    let mut c = p.read.acquire().await?;
    let county = county_by_code_on(&mut c, county)
        .await?
        .ok_or(StoreError::NotFound)?;
    if actor.is_system() {
        return Ok(reader_in(actor, &county));
    }
    let Some(region) = region_of_user(&mut c, actor).await? else {
        return Err(StoreError::NotFound);
    };
    if !county_below(&mut c, region, county.id.get()).await? {
        return Err(StoreError::NotFound);
    }
    Ok(reader_in(actor, &county))
}

pub(crate) async fn open_county(
    p: &Pools<DB>,
    token_hash: &str,
    county: &str,
) -> StoreResult<Actor> {
    let mut tx = p.write.begin().await?;
    let row: Option<(i64, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT u.id, u.username, u.role, u.region_id FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let (user_id, username, role, region) = row.ok_or(StoreError::SessionExpired)?;
    let target = county_by_code_on(&mut tx, county).await?;
    // A county user, an unknown county and a county outside the region are answered alike.
    let (Some(region), Some(target), true) = (region, target, role == Role::RegionViewer.key())
    else {
        return Err(StoreError::NotFound);
    };
    if !county_below(&mut tx, region, target.id.get()).await? {
        return Err(StoreError::NotFound);
    }
    sqlx::query("UPDATE sessions SET county_id = $1 WHERE token_hash = $2")
        .bind(target.id.get())
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        &p.audit_key,
        target.id.get(),
        Who {
            name: &username,
            user_id: Some(user_id),
        },
        "open_county",
        ("county", &target.id.get().to_string()),
        None,
        Some(json!({"county": target.code})),
    )
    .await?;
    tx.commit().await?;
    let mut c = p.read.acquire().await?;
    Ok(super::sessions::actor_for_user_id(&mut c, user_id, Some(target.id.get()))
        .await?
        .0)
}

/// Inserts a region user: its home county is the first below the region by code (its logins and
/// account changes are audited there), its organisation that county's root.
pub(crate) async fn create_region_user(
    p: &Pools<DB>,
    actor: &Actor,
    region: &str,
    username: &str,
    display_name: &str,
    password_hash: &str,
    must_change_password: bool,
) -> StoreResult<User> {
    require_system(actor)?;
    taizhang_domain::text::USERNAME.check(username)?;
    let username = username.trim();
    check_username(username)?;
    let display_name = check_display_name(display_name)?;
    let mut tx = p.write.begin().await?;
    let region = named_region(&mut tx, "region", region).await?;
    let Some(home) = counties_below(&mut tx, region.id.get())
        .await?
        .into_iter()
        .next()
    else {
        return Err(StoreError::conflict(
            "region.no_counties",
            format!("{}下还没有县：请先用 taizhang region attach 挂接县", region.name),
        ));
    };
    super::accounts::ensure_username_free(&mut tx, username).await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (county_id, username, display_name, password_hash, role, org_id, person_id, disabled, created_at, password_changed_at, must_change_password, region_id)
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(home.id.get())
    .bind(username)
    .bind(&display_name)
    .bind(password_hash)
    .bind(Role::RegionViewer.key())
    .bind(home.root_org_id.get())
    .bind(false)
    .bind(Utc::now())
    .bind(Utc::now().timestamp())
    .bind(must_change_password)
    .bind(region.id.get())
    .fetch_one(&mut *tx)
    .await?;
    let system = Actor::system(home.id, "region");
    audit_as(
        &mut tx,
        &p.audit_key,
        &system,
        "create",
        "user",
        id,
        None,
        Some(json!({"username": username, "role": Role::RegionViewer.key(), "region": region.code})),
    )
    .await?;
    let user = user_by_id(&mut tx, id).await?;
    tx.commit().await?;
    Ok(user)
}
