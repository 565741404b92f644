//! The `taizhang` binary: serves the web UI and API, seeds the demo county, prints bulletins.
//! Every subcommand calls the same store services as the web layer, never HTTP.

mod documents;
mod gen;
mod import;
mod region;

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use taizhang_domain::bulletin::{Bulletin, Grouping};
use taizhang_domain::org::LinkKind;
use taizhang_domain::period::DateRange;
use taizhang_store::{Actor, ChainCheck, Store};

#[derive(Parser)]
#[command(
    name = "taizhang",
    version,
    about = "台账：组织、人员、台账记录与统计通报"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Behind a TLS terminator or reverse proxy: the login limits count the client's address, taken
/// from the proxy's header only when the connection comes from the proxy itself.
#[derive(clap::Args)]
struct ProxyArgs {
    /// Address or network (`127.0.0.1`, `10.0.0.0/8`) of a proxy trusted to name the client;
    /// repeat for several. Also `TAIZHANG_TRUSTED_PROXIES` (comma-separated).
    #[arg(long = "trusted-proxy")]
    trusted_proxy: Vec<String>,
    /// The header a trusted proxy names the client in (default `X-Forwarded-For`); its right-most
    /// address that is not a trusted proxy is the client. Also `TAIZHANG_CLIENT_IP_HEADER`.
    #[arg(long)]
    client_ip_header: Option<String>,
}

impl ProxyArgs {
    fn source(&self) -> Result<taizhang_web::ClientIpSource> {
        let mut trusted = self.trusted_proxy.clone();
        if trusted.is_empty() {
            trusted.extend(std::env::var("TAIZHANG_TRUSTED_PROXIES").ok());
        }
        let header = self
            .client_ip_header
            .clone()
            .or_else(|| std::env::var("TAIZHANG_CLIENT_IP_HEADER").ok());
        taizhang_web::ClientIpSource::new(&trusted, header.as_deref()).map_err(anyhow::Error::msg)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Seed the demo county 金乡县 into a database (if it has none yet), then serve it.
    Demo {
        /// SQLite file to create or reuse, or a `postgres://…` URL.
        #[arg(long, default_value = "taizhang-demo.db")]
        db: String,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Password of the demo users; a random one is generated and printed when omitted.
        #[arg(long)]
        admin_password: Option<String>,
        #[command(flatten)]
        proxy: ProxyArgs,
    },
    /// Serve the web UI and the API over a database.
    Serve {
        /// `sqlite://PATH`, a file path, or `postgres://…`.
        #[arg(long)]
        db: String,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Users reach the server over HTTPS through a TLS terminator: `__Host-` Secure cookies
        /// and HSTS.
        #[arg(long)]
        https: bool,
        /// A PostgreSQL streaming replica of `--db` (`postgres://…`) that answers bulletins, the
        /// overdue list, the home page's figures and the lists, while it is reachable and within
        /// `--replica-max-lag` of the primary; every write stays on the primary.
        #[arg(long)]
        read_replica: Option<String>,
        /// The most seconds the replica may lag behind the primary before reports read the
        /// primary instead.
        #[arg(long, default_value_t = 5.0, value_parser = lag_secs, requires = "read_replica")]
        replica_max_lag: f64,
        #[command(flatten)]
        proxy: ProxyArgs,
    },
    /// Create a county in a database (migrating it first); its first account is then set up in
    /// the browser with the one-time code `serve` prints.
    Init {
        #[arg(long)]
        db: String,
        /// The county's six-digit administrative code, e.g. 370828.
        #[arg(long)]
        county_code: String,
        /// The county's name, e.g. 金乡县.
        #[arg(long)]
        county_name: String,
    },
    /// Bring the database schema up to date.
    Migrate {
        #[arg(long)]
        db: String,
    },
    /// Copy a county (or every county) from one database into another, empty one — e.g. from the
    /// embedded SQLite file into PostgreSQL — then compare row counts and checksums of every table.
    Copy {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// The county's official code; all counties when omitted.
        #[arg(long)]
        county: Option<String>,
    },
    /// Write an online, consistent backup of the whole database and its attachment files into
    /// one new file (a SQLite database with a manifest of row counts and checksums).
    Backup {
        /// `sqlite://PATH`, a file path, or `postgres://…`.
        #[arg(long)]
        db: String,
        /// The backup file to create; an existing file is never overwritten.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Restore a backup file into an empty database of either backend, checking every table
    /// against the manifest and every county's audit chain with this deployment's audit key.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
        /// `sqlite://PATH`, a file path, or `postgres://…`; must be empty.
        #[arg(long)]
        db: String,
    },
    /// Generate a deterministic organisation graph, people and ledger records — a county, a city
    /// (济宁: 11 counties, over 5,000 villages and communities, over 300,000 members, over ten
    /// million records a year) or a province (100 counties at a reduced depth) — into an empty
    /// database, through the bulk write path.
    Gen {
        /// county, city or province.
        #[arg(long, value_parser = parse_scale)]
        scale: taizhang_demo::gen::Scale,
        /// Calendar years of records, ending with the last complete year.
        #[arg(long, default_value_t = 1)]
        years: u32,
        /// The seed (a whole number): the same seed gives the same data on either backend.
        #[arg(long)]
        seed: u64,
        /// `sqlite://PATH`, a file path, or `postgres://…`; must hold no county unless --append.
        #[arg(long)]
        db: String,
        /// Write into a database that already holds counties (the generated codes must be free).
        #[arg(long)]
        append: bool,
        /// Only the organisations, people, positions and links; no records.
        #[arg(long)]
        tree_only: bool,
    },
    /// Check the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Levels above the county: cities (市委) and provinces (省委), their counties and users.
    Region {
        #[command(subcommand)]
        command: region::RegionCommand,
    },
    /// Import organisations (`--orgs`), Party members (`--people`) or ledger records
    /// (`--ledger KEY`) from an .xlsx or .csv sheet (UTF-8 or GB18030): every row checked as one
    /// entry by hand would be; all or nothing unless `--valid-only`; the rejected rows written
    /// beside the file with an added 错误 column.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["ledger", "orgs", "people"])))]
    Import {
        #[arg(long)]
        db: String,
        /// The county's official code; may be left out when the database holds one county.
        #[arg(long)]
        county: Option<String>,
        /// The ledger type's key (`visit`, `three_meetings` …).
        #[arg(long)]
        ledger: Option<String>,
        /// Organisations, each under its parent (by name, code or path), whatever the row order.
        #[arg(long)]
        orgs: bool,
        /// Party members in their branches, matched to the people on file by 身份证号.
        #[arg(long)]
        people: bool,
        /// A column mapping the county saved for this kind of import (on the import page).
        #[arg(long)]
        mapping: Option<String>,
        /// Write the valid rows even when some rows are rejected.
        #[arg(long)]
        valid_only: bool,
        /// Where to write the rejected rows (default: `<file>_错误行.xlsx` beside the file).
        #[arg(long)]
        rejected: Option<std::path::PathBuf>,
        file: std::path::PathBuf,
    },
    /// Keep or check the rollups (汇总) bulletins read.
    Rollup {
        #[command(subcommand)]
        command: RollupCommand,
    },
    /// Print the bulletin (统计通报) of an organisation subtree for a period.
    Report {
        #[arg(long)]
        db: String,
        /// Official code (370828) or `o{id}`.
        #[arg(long)]
        org: String,
        /// First day, YYYY-MM-DD, from 1949-10-01 to 2100-12-31.
        #[arg(long, value_parser = window_date)]
        from: NaiveDate,
        /// Last day, YYYY-MM-DD, in the same window.
        #[arg(long, value_parser = window_date)]
        to: NaiveDate,
        /// json and md print to standard output; docx (GB/T 9704-2012 公文), pdf and xlsx are
        /// written to `--out`.
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// The file a docx, pdf or xlsx is written to.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Rank child units (`children`) or organisations reached by a cross-link kind (`dispatch` …).
        #[arg(long, default_value = "children")]
        by: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk every county's audit chain (or one county's) with the audit key and hold it to its
    /// checkpoint in the data directory; exit non-zero naming the first entry whose keyed hash
    /// does not match, or the entries missing since the checkpoint. An intact chain's head
    /// becomes the new checkpoint.
    Verify {
        #[arg(long)]
        db: String,
        /// The county's official code; all counties when omitted.
        #[arg(long)]
        county: Option<String>,
    },
}

#[derive(Subcommand)]
enum RollupCommand {
    /// Recompute every rollup of a county (or of every county) from its records, in one
    /// transaction per county; bulletins keep answering from the old rollups until it commits.
    Rebuild {
        #[arg(long)]
        db: String,
        /// The county's official code; all counties when omitted.
        #[arg(long)]
        county: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Md,
    Docx,
    Pdf,
    Xlsx,
}

#[tokio::main]
async fn main() -> Result<()> {
    // `RUST_LOG` sets the most verbose level written (`error` … `trace`; `info` when unset or not
    // a level). Secrets and whole personal numbers are never logged at any level: `logs.rs`.
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|l| l.trim().parse::<tracing::level_filters::LevelFilter>().ok())
        .unwrap_or(tracing::level_filters::LevelFilter::INFO);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Demo {
            db,
            listen,
            admin_password,
            proxy,
        } => {
            let opts = taizhang_web::WebOptions {
                https: false,
                client_ip: proxy.source()?,
                ..Default::default()
            };
            demo(&db, listen, admin_password, opts).await
        }
        Command::Serve {
            db,
            listen,
            https,
            read_replica,
            replica_max_lag,
            proxy,
        } => {
            let opts = taizhang_web::WebOptions {
                https,
                client_ip: proxy.source()?,
                ..Default::default()
            };
            let mut store = Store::open(&db)
                .await
                .with_context(|| format!("无法打开数据库 {db}"))?;
            if let Some(url) = read_replica {
                let replica = taizhang_store::ReplicaOptions {
                    max_lag: std::time::Duration::from_secs_f64(replica_max_lag),
                    ..Default::default()
                };
                store = store
                    .with_read_replica(&url, replica)
                    .await
                    .with_context(|| format!("无法使用只读副本 {url}"))?;
            }
            print_setup_codes(&store, listen).await?;
            serve(store, listen, opts).await
        }
        Command::Init {
            db,
            county_code,
            county_name,
        } => {
            let store = Store::open(&db)
                .await
                .with_context(|| format!("无法打开数据库 {db}"))?;
            let county = store
                .create_county(
                    &county_code,
                    &county_name,
                    chrono::Local::now().date_naive(),
                )
                .await
                .with_context(|| format!("无法创建县 {county_code} {county_name}"))?;
            println!(
                "已创建{}（{}）。请运行 taizhang serve --db {db}，按其打印的初始化码在浏览器中设置第一位安全管理员。",
                county.name, county.code
            );
            Ok(())
        }
        Command::Migrate { db } => {
            let store = Store::open(&db)
                .await
                .with_context(|| format!("无法打开数据库 {db}"))?;
            println!("schema version {}", store.schema_version().await?);
            Ok(())
        }
        Command::Gen {
            scale,
            years,
            seed,
            db,
            append,
            tree_only,
        } => {
            let opts = taizhang_demo::gen::GenOptions {
                scale,
                years,
                seed,
                tree_only,
            };
            gen::run(&db, &opts, append).await
        }
        Command::Copy { from, to, county } => copy(&from, &to, county.as_deref()).await,
        Command::Backup { db, to } => backup(&db, &to).await,
        Command::Restore { from, db } => restore(&from, &db).await,
        Command::Audit {
            command: AuditCommand::Verify { db, county },
        } => audit_verify(&db, county.as_deref()).await,
        Command::Region { command } => region::run(command).await,
        Command::Import {
            db,
            county,
            ledger,
            orgs,
            people,
            mapping,
            valid_only,
            rejected,
            file,
        } => {
            use taizhang_domain::import::ImportTarget;
            let target = match (ledger, orgs, people) {
                (Some(key), _, _) => ImportTarget::Ledger(key),
                (None, true, _) => ImportTarget::Orgs,
                (None, false, _) => ImportTarget::People,
            };
            import::run(import::ImportArgs {
                db,
                county,
                target,
                mapping,
                file,
                valid_only,
                rejected,
            })
            .await
        }
        Command::Rollup {
            command: RollupCommand::Rebuild { db, county },
        } => {
            let store = Store::open(&db)
                .await
                .with_context(|| format!("无法打开数据库 {db}"))?;
            let started = std::time::Instant::now();
            for (code, n) in store.rebuild_rollups(county.as_deref()).await? {
                println!("{code}：已按{n}条记录重建汇总");
            }
            println!("用时{:.1}秒", started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::Report {
            db,
            org,
            from,
            to,
            format,
            out,
            by,
        } => {
            let store = Store::open(&db)
                .await
                .with_context(|| format!("无法打开数据库 {db}"))?;
            let range = DateRange::new(from, to).map_err(|e| anyhow::anyhow!("{e}"))?;
            let grouping = match by.as_str() {
                "children" => Grouping::Children,
                k => Grouping::Link(k.parse::<LinkKind>().map_err(|e| anyhow::anyhow!("{e}"))?),
            };
            let doc = match format {
                Format::Docx => Some(documents::DocumentFormat::Docx),
                Format::Pdf => Some(documents::DocumentFormat::Pdf),
                Format::Xlsx => Some(documents::DocumentFormat::Xlsx),
                Format::Json | Format::Md => None,
            };
            if doc.is_some() && out.is_none() {
                bail!("Word、PDF和Excel格式须用 --out 指定输出文件");
            }
            let (county, b) = report(&store, &org, range, grouping).await?;
            match (format, doc) {
                (_, Some(d)) => {
                    documents::write_document(&store, county, b, d, out.as_deref()).await?
                }
                (Format::Md, None) => print!("{}", markdown(&b)),
                (_, None) => println!("{}", serde_json::to_string_pretty(&b)?),
            }
            Ok(())
        }
    }
}

async fn audit_verify(db: &str, county: Option<&str>) -> Result<()> {
    let store = Store::open(db)
        .await
        .with_context(|| format!("无法打开数据库 {db}"))?;
    let counties = match county {
        Some(code) => vec![store
            .county_by_code(code)
            .await
            .with_context(|| format!("找不到县 {code}"))?],
        None => store.counties().await?,
    };
    let mut broken = Vec::new();
    for c in counties {
        let check = store.check_audit_chain(&c, true).await?;
        if let Some(problem) = check.problem() {
            println!("{} {}：{problem}", c.code, c.name);
            let at = match check {
                ChainCheck::Broken { seq } | ChainCheck::Diverged { seq } => format!("第{seq}条"),
                ChainCheck::Truncated {
                    entries,
                    checkpoint,
                } => format!("缺失第{}至{checkpoint}条", entries + 1),
                _ => "检查点".to_string(),
            };
            broken.push(format!("{} {at}", c.code));
            continue;
        }
        if let ChainCheck::Intact {
            entries,
            legacy,
            head,
            anchored,
        } = check
        {
            let old = match legacy {
                0 => String::new(),
                n => format!("（其中前{n}条为旧版哈希，未覆盖操作人编号）"),
            };
            let anchor = match anchored {
                Some(seq) => format!("，与检查点（第{seq}条）一致"),
                None => "，此前无检查点".to_string(),
            };
            println!(
                "{} {}：审计日志完整，共{entries}条{old}{anchor}；末条哈希 {head} 已记为检查点",
                c.code, c.name
            );
        }
    }
    if !broken.is_empty() {
        bail!("审计日志校验失败：{}", broken.join("，"));
    }
    Ok(())
}

async fn copy(from: &str, to: &str, county: Option<&str>) -> Result<()> {
    let source = Store::open(from)
        .await
        .with_context(|| format!("无法打开源数据库 {from}"))?;
    let target = Store::open(to)
        .await
        .with_context(|| format!("无法打开目标数据库 {to}"))?;
    let report = source.copy_to(&target, county).await?;
    println!(
        "{:<22} {:>10} {:>10}  {:<16} {:<16} result",
        "table", "source", "target", "source sha256", "target sha256"
    );
    let mut ok = true;
    for t in &report {
        ok &= t.matches();
        println!(
            "{:<22} {:>10} {:>10}  {:<16} {:<16} {}",
            t.table,
            t.source_rows,
            t.target_rows,
            &t.source_checksum[..16],
            &t.target_checksum[..16],
            if t.matches() { "ok" } else { "MISMATCH" }
        );
    }
    if !ok {
        bail!("复制后数据不一致");
    }
    println!("复制完成：{}张表的行数与校验和一致", report.len());
    Ok(())
}

async fn backup(db: &str, to: &std::path::Path) -> Result<()> {
    let store = Store::open(db)
        .await
        .with_context(|| format!("无法打开数据库 {db}"))?;
    let started = std::time::Instant::now();
    let report = store
        .backup_to(to)
        .await
        .map_err(|e| anyhow::anyhow!("备份失败 / backup failed：{e}"))?;
    print_manifest(&report.manifest);
    for id in &report.missing_files {
        eprintln!("警告：附件 {id} 的文件在数据目录中缺失，未能备份");
    }
    println!(
        "备份完成：{}（来源 {}，结构版本{}，{}张表，附件{}个共{}字节，用时{:.1}秒）",
        report.file.display(),
        report.source,
        report.schema_version,
        report.manifest.len() - 1,
        report.files,
        report.file_bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn restore(from: &std::path::Path, db: &str) -> Result<()> {
    if !from.is_file() {
        bail!("找不到备份文件 {}", from.display());
    }
    // A SQLite target this run creates is removed again if the restore fails.
    let created = match taizhang_store::DbUrl::parse(db)? {
        taizhang_store::DbUrl::Sqlite(path) if !path.exists() => Some(path),
        _ => None,
    };
    let result = async {
        let store = Store::open(db)
            .await
            .with_context(|| format!("无法打开目标数据库 {db}"))?;
        let started = std::time::Instant::now();
        let r = store.restore_from(from).await;
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                store.close().await;
                bail!("恢复失败 / restore failed：{e}");
            }
        };
        print_manifest(&r.manifest);
        // The chain once more, as `audit verify` walks it in the restored database.
        let mut broken = Vec::new();
        for c in store.counties().await? {
            match store.verify_audit_chain(c.id).await? {
                Ok(n) => println!("{} {}：审计日志完整，共{n}条", c.code, c.name),
                Err(seq) => broken.push(format!("{} 第{seq}条", c.code)),
            }
        }
        store.close().await;
        if !broken.is_empty() {
            bail!("恢复后审计日志校验失败：{}", broken.join("，"));
        }
        println!(
            "恢复完成：{}张表的行数与校验和与清单一致，附件{}个（备份取自 {}，{}，用时{:.1}秒）",
            r.manifest.len() - 1,
            r.files,
            r.source,
            r.taken_at,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
    .await;
    if result.is_err() {
        if let Some(path) = created {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(std::path::PathBuf::from(p));
            }
        }
    }
    result
}

fn print_manifest(manifest: &[taizhang_store::TableSum]) {
    println!("{:<22} {:>10}  sha256", "table", "rows");
    for t in manifest {
        println!("{:<22} {:>10}  {}", t.table, t.rows, t.checksum);
    }
}

async fn demo(
    db: &str,
    listen: SocketAddr,
    admin_password: Option<String>,
    opts: taizhang_web::WebOptions,
) -> Result<()> {
    let url = if db.contains("://") {
        db.to_string()
    } else {
        format!("sqlite://{db}")
    };
    let store = Store::open(&url)
        .await
        .with_context(|| format!("无法打开数据库 {db}"))?;
    let password = if store.counties().await?.is_empty() {
        let password = admin_password.unwrap_or_else(taizhang_store::auth::random_password);
        let started = std::time::Instant::now();
        println!("正在生成演示数据（金乡县）……");
        let opts = taizhang_demo::DemoOptions {
            admin_password: password.clone(),
            ..Default::default()
        };
        let s = taizhang_demo::seed(&store, &opts).await?;
        println!(
            "已生成：组织{}个、人员{}人、台账记录{}条、关联关系{}条（用时{:.1}秒）",
            s.orgs,
            s.people,
            s.records,
            s.links,
            started.elapsed().as_secs_f64()
        );
        println!("演示账号（密码均为 {password}）：");
        for (u, role, org) in &s.users {
            println!("  {u:<10} {role:<6} {org}");
        }
        // The demo county under the city of 济宁, with one city user, so the city bulletin
        // has a county to rank.
        let (u, role, org) = taizhang_demo::city_over_demo(&store, &password).await?;
        println!("  {u:<10} {role:<6} {org}");
        Some(password)
    } else {
        println!("数据库 {db} 已有数据，直接启动（密码为首次生成时设置的密码）。");
        None
    };
    println!(
        "请在浏览器中打开 http://{listen}/ ，用户名 admin{}",
        password.map(|p| format!("，密码 {p}")).unwrap_or_default()
    );
    serve(store, listen, opts).await
}

/// No default password survives the first start: a county without accounts gets a fresh
/// one-time code, shown only on the server's console, with which its first security
/// administrator chooses a password in the browser.
async fn print_setup_codes(store: &Store, listen: SocketAddr) -> Result<()> {
    for county in store.counties().await? {
        if let Some(code) = store.setup_code(county.id).await? {
            println!(
                "{}尚无账号。请在浏览器中打开 http://{listen}/setup ，输入初始化码 {code} （24小时内有效，仅可使用一次），设置第一位安全管理员。",
                county.name
            );
        }
    }
    Ok(())
}

async fn serve(store: Store, listen: SocketAddr, opts: taizhang_web::WebOptions) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("无法监听 {listen}"))?;
    tracing::info!(%listen, backend = store.backend_name(), https = opts.https, read_replica = store.read_replica().is_some(), "taizhang serving");
    let _worker = taizhang_web::jobs::spawn_worker(store.clone());
    taizhang_web::serve_with(store, listener, opts).await?;
    Ok(())
}

/// The bulletin as a county's administrator job sees it: an explicit, whole-county actor.
async fn report(
    store: &Store,
    org: &str,
    range: DateRange,
    grouping: Grouping,
) -> Result<(taizhang_domain::CountyId, Bulletin)> {
    for county in store.counties().await? {
        let actor = Actor::system(county.id, "report");
        if store.org(&actor, org).await.is_ok() {
            return Ok((
                county.id,
                store.bulletin(&actor, org, range, grouping).await?,
            ));
        }
    }
    bail!("找不到组织 {org}")
}

fn markdown(b: &Bulletin) -> String {
    let mut s = format!("# {}\n\n", b.title);
    for p in &b.sentences {
        s.push_str(&format!("{p}\n\n"));
    }
    s.push_str("| 台账类型 | 记录数 | 涉及组织 | 涉及人员 | 合计 |\n|---|---:|---:|---:|---|\n");
    for sec in &b.sections {
        let sums: Vec<String> = sec
            .sums
            .iter()
            .map(|x| format!("{} {}{}", x.label, x.total, x.unit))
            .collect();
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            sec.type_name,
            sec.records,
            sec.organisations,
            sec.people,
            sums.join("；")
        ));
    }
    s.push_str("\n| 名次 | 单位 | 记录数 | 占比 |\n|---:|---|---:|---:|\n");
    for u in &b.units {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            u.rank,
            u.org.name,
            u.records,
            u.share.clone().unwrap_or_default()
        ));
    }
    s
}

/// A date on the command line: YYYY-MM-DD, in the platform's window (as every date the API takes).
/// A lag bound in seconds: positive, at most an hour.
fn lag_secs(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!("{s}：应为大于0、不超过3600的秒数")),
    }
}

fn window_date(s: &str) -> Result<NaiveDate, String> {
    let d = taizhang_domain::period::parse_date(s).map_err(|e| e.to_string())?;
    taizhang_domain::check_date(d).map_err(|e| e.to_string())
}

/// `--scale`: county, city or province (and a hidden `test` for the tests).
fn parse_scale(s: &str) -> Result<taizhang_demo::gen::Scale, String> {
    s.parse()
}
