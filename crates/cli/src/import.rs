//! `taizhang import`: a sheet of organisations, people or ledger records into a county, by the same code the server's
//! jobs worker runs, with a progress line as it goes and the rejected rows written beside the
//! file as a workbook with an 错误 column.

use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use taizhang_domain::import::{ImportMode, ImportState, ImportTarget};
use taizhang_store::imports::{ImportCounts, NewImport};
use taizhang_store::{Actor, Store};

/// Exit code of an import that wrote nothing because of bad rows, or could not read its file.
const REFUSED: i32 = 1;

pub struct ImportArgs {
    pub db: String,
    pub county: Option<String>,
    pub target: ImportTarget,
    /// The name of a saved column mapping.
    pub mapping: Option<String>,
    pub file: PathBuf,
    pub valid_only: bool,
    pub rejected: Option<PathBuf>,
}

pub async fn run(args: ImportArgs) -> Result<()> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("无法读取 {}", args.file.display()))?;
    let store = Store::open(&args.db)
        .await
        .with_context(|| format!("无法打开数据库 {}", args.db))?;
    let county = match &args.county {
        Some(code) => store
            .county_by_code(code)
            .await
            .with_context(|| format!("找不到县 {code}"))?,
        None => {
            let mut all = store.counties().await?;
            if all.len() != 1 {
                bail!("数据库中有{}个县，请用 --county 指定县的编码", all.len());
            }
            all.remove(0)
        }
    };
    let actor = Actor::system(county.id, "import");
    let mapping = match &args.mapping {
        None => None,
        Some(name) => Some(saved_mapping(&store, &actor, &args.target, name).await?),
    };
    let new = NewImport {
        target: args.target.clone(),
        mode: if args.valid_only {
            ImportMode::Valid
        } else {
            ImportMode::All
        },
        file_name: args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        bytes,
        mapping,
        enqueue: false,
    };
    let created = store
        .create_import(&actor, &new, chrono::Utc::now())
        .await
        .context("无法开始导入")?;
    // The file is stored with the import, and the run reads it back from there.
    drop(new);
    let people = args.target == ImportTarget::People;
    let started = std::time::Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let progress = move |state: ImportState, n: &ImportCounts| {
        let secs = started.elapsed().as_secs_f64().max(0.001);
        let line = format!(
            "{}：已读{}行，通过{}行，写入{}行，{}已存在{}行，错误{}行（{:.0}行/秒）",
            state.label_cn(),
            n.rows_read,
            n.accepted,
            n.written,
            updated_text(people, n.updated),
            n.unchanged,
            n.rejected,
            n.rows_read as f64 / secs
        );
        let mut err = std::io::stderr();
        // On a terminal the line is rewritten in place; in a log, one line per batch.
        let _ = if terminal {
            write!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "{line}")
        };
    };
    let done = taizhang_web::imports::run::run_import(&store, created.id, &progress)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    if terminal {
        eprintln!();
    }
    let t = taizhang_store::take_bulk_timings();
    let secs = |d: std::time::Duration| d.as_secs_f64();
    eprintln!(
        "用时分布：检查{:.1}秒，写入记录{:.1}秒，本级汇总{:.1}秒，上级汇总{:.1}秒，审计与提交{:.1}秒（{}批）",
        secs(t.checking),
        secs(t.before_insert + t.insert_records + t.insert_people + t.insert_facts),
        secs(t.own_rollups),
        secs(t.tree_rollups),
        secs(t.audit_commit),
        t.batches
    );
    println!(
        "导入{}：共{}行，写入{}行，{}已存在{}行，错误{}行，用时{:.1}秒",
        done.state_label,
        done.rows_read,
        done.written,
        updated_text(people, done.updated),
        done.unchanged,
        done.rejected,
        started.elapsed().as_secs_f64()
    );
    if done.has_rejected_file {
        let out = args
            .rejected
            .clone()
            .unwrap_or_else(|| rejected_path(&args.file));
        let file = store.import_rejected_file(&actor, done.id).await?;
        std::fs::write(&out, file).with_context(|| format!("无法写入 {}", out.display()))?;
        println!("错误行已写入 {}（最后一列为错误原因）", out.display());
    }
    match done.state {
        ImportState::Done => Ok(()),
        ImportState::Failed => {
            eprintln!("{}", done.error.unwrap_or_default());
            std::process::exit(REFUSED)
        }
        _ => std::process::exit(REFUSED),
    }
}

/// The county's saved mapping `name` for this target, or an error naming the ones there are.
async fn saved_mapping(
    store: &Store,
    actor: &Actor,
    target: &ImportTarget,
    name: &str,
) -> Result<serde_json::Value> {
    match store.import_mapping(actor, &target.key(), name).await {
        Ok(m) => Ok(m.mapping),
        Err(taizhang_store::StoreError::NotFound) => {
            let saved = store.import_mappings(actor, Some(&target.key())).await?;
            let names: Vec<String> = saved.into_iter().map(|m| m.name).collect();
            if names.is_empty() {
                bail!(
                    "没有名为“{name}”的列对应关系：本县还没有为{}保存过列对应关系",
                    target.label_cn()
                )
            }
            bail!(
                "没有名为“{name}”的列对应关系（{}），已保存的有：{}",
                target.label_cn(),
                names.join("、")
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// "更新N行，" for an import of people (whose rows may change people on file), else nothing.
fn updated_text(people: bool, n: i64) -> String {
    if people {
        format!("更新{n}行，")
    } else {
        String::new()
    }
}

/// `visits.csv` → `visits_错误行.xlsx`, beside it.
fn rejected_path(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "导入".into());
    file.with_file_name(format!("{stem}_错误行.xlsx"))
}
