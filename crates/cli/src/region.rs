//! `taizhang region`: the levels above the county — create a city (市委) or province (省委), put
//! a county or a city under one, and create a region user, who reads every county below.

use anyhow::{Context, Result};
use clap::Subcommand;
use taizhang_domain::CountyId;
use taizhang_store::{Actor, Store, StoreError};

/// Exit code of refused input (as clap's own usage errors and `gen`'s).
const BAD_INPUT: i32 = 2;

#[derive(Subcommand)]
pub enum RegionCommand {
    /// Create a city or a province: its division code (370800, 370000), its committee's name
    /// (中共济宁市委员会) and its level; a city may name the province above it.
    Create {
        #[arg(long)]
        db: String,
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// city or province.
        #[arg(long)]
        level: String,
        /// The province a city sits under (its code).
        #[arg(long)]
        parent: Option<String>,
    },
    /// Put a county under a city or province (`--county`), or a city under a province
    /// (`--city`). A county sits under one region at most; a city under one province.
    Attach {
        #[arg(long)]
        db: String,
        /// The city or province above.
        #[arg(long)]
        region: String,
        /// The county to put under it.
        #[arg(long, required_unless_present = "city", conflicts_with = "city")]
        county: Option<String>,
        /// The city to put under a province.
        #[arg(long)]
        city: Option<String>,
    },
    /// Create a region user (市/省级查看), who reads the organisations, records and bulletins of
    /// every county below the region and writes nothing; prints a temporary password, to be
    /// changed at the first login.
    User {
        #[arg(long)]
        db: String,
        #[arg(long)]
        region: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
    },
}

fn system() -> Actor {
    Actor::system(CountyId::new(0), "cli")
}

/// A refusal of the store as one line with its stable code, and exit code 2; anything else is
/// an error of the run.
fn refused(store_err: StoreError) -> anyhow::Error {
    let line = match &store_err {
        StoreError::Invalid(fields) => fields
            .iter()
            .map(|f| format!("{}（{}：{}）", f.message, f.field, f.code))
            .collect::<Vec<_>>()
            .join("；"),
        StoreError::Conflict { code, message } => format!("{message}（{code}）"),
        _ => return anyhow::Error::new(store_err),
    };
    eprintln!("错误：{line}，未写入任何数据。");
    std::process::exit(BAD_INPUT);
}

pub async fn run(command: RegionCommand) -> Result<()> {
    let db = match &command {
        RegionCommand::Create { db, .. }
        | RegionCommand::Attach { db, .. }
        | RegionCommand::User { db, .. } => db.clone(),
    };
    let store = Store::open(&db)
        .await
        .with_context(|| format!("无法打开数据库 {db}"))?;
    let sys = system();
    match command {
        RegionCommand::Create {
            code,
            name,
            level,
            parent,
            ..
        } => {
            let r = store
                .create_region(&sys, &code, &name, &level, parent.as_deref())
                .await
                .map_err(refused)?;
            match &r.parent_code {
                Some(p) => println!("已创建{}（{}，{}），隶属于{p}", r.name, r.code, r.level),
                None => println!("已创建{}（{}，{}）", r.name, r.code, r.level),
            }
        }
        RegionCommand::Attach {
            region,
            county,
            city,
            ..
        } => match (county, city) {
            (Some(county), _) => {
                let c = store
                    .attach_county(&sys, &region, &county)
                    .await
                    .map_err(refused)?;
                println!("{}（{}）已挂接到{region}", c.name, c.code);
            }
            (None, Some(city)) => {
                let r = store
                    .attach_region(&sys, &city, &region)
                    .await
                    .map_err(refused)?;
                println!("{}（{}）已隶属于{region}", r.name, r.code);
            }
            (None, None) => anyhow::bail!("请用 --county 指定县，或用 --city 指定市"),
        },
        RegionCommand::User {
            region,
            username,
            display_name,
            ..
        } => {
            let (user, password) = store
                .create_region_user(&sys, &region, &username, &display_name)
                .await
                .map_err(refused)?;
            println!(
                "已创建{region}的账号 {}（{}，{}），临时密码 {password}（首次登录时须修改）",
                user.username,
                user.display_name,
                user.role.label_cn()
            );
        }
    }
    store.close().await;
    Ok(())
}
