//! `taizhang gen`: writes a generated county, city or province and shows how far it is — one
//! redrawn line with a bar, the rate and the time left on a terminal, plain lines every few
//! seconds otherwise.

use anyhow::{Context, Result};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};
use taizhang_demo::gen::{generate, GenOptions, GenProgress};
use taizhang_store::Store;

/// Exit code of refused input (as clap's own usage errors).
const BAD_INPUT: i32 = 2;

pub async fn run(db: &str, opts: &GenOptions, append: bool) -> Result<()> {
    let store = Store::open(db)
        .await
        .with_context(|| format!("无法打开数据库 {db}"))?;
    let existing = store.counties().await?;
    if !existing.is_empty() && !append {
        eprintln!(
            "错误：目标数据库 {db} 已有{}个县（{}），未写入任何数据；如需追加，请加 --append。",
            existing.len(),
            existing
                .iter()
                .take(3)
                .map(|c| format!("{} {}", c.code, c.name))
                .collect::<Vec<_>>()
                .join("、")
        );
        store.close().await;
        std::process::exit(BAD_INPUT);
    }
    let mut line = ProgressLine::new(std::io::stderr().is_terminal());
    let summary = generate(&store, opts, &mut |p| line.show(&p)).await?;
    line.finish();
    let codes: Vec<String> = summary
        .counties
        .iter()
        .map(|c| format!("{} {}", c.code, c.name))
        .collect();
    println!("counties  {}: {}", summary.counties.len(), codes.join(", "));
    let regions: Vec<String> = summary
        .regions
        .iter()
        .map(|r| format!("{} {}", r.code, r.name))
        .collect();
    println!("regions   {}: {}", regions.len(), regions.join(", "));
    println!("orgs      {}", summary.orgs);
    println!("people    {}", summary.people);
    println!("positions {}", summary.positions);
    println!("links     {}", summary.links);
    println!("records   {}", summary.records);
    println!("seconds   {:.1}", summary.seconds);
    println!(
        "records/s {:.0} (records phase: {:.1} s, {:.0} records/s)",
        summary.records as f64 / summary.seconds.max(1e-9),
        summary.record_seconds,
        summary.records as f64 / summary.record_seconds.max(1e-9)
    );
    store.close().await;
    Ok(())
}

struct ProgressLine {
    terminal: bool,
    started: Instant,
    last: Option<Instant>,
    /// When the records phase began, and how many were written then (the rate counts from it).
    records_from: Option<(Instant, u64)>,
    drawn: bool,
}

impl ProgressLine {
    fn new(terminal: bool) -> ProgressLine {
        ProgressLine {
            terminal,
            started: Instant::now(),
            last: None,
            records_from: None,
            drawn: false,
        }
    }

    fn show(&mut self, p: &GenProgress<'_>) {
        let every = if self.terminal {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(5)
        };
        let now = Instant::now();
        if p.phase == "台账记录" && self.records_from.is_none() {
            self.records_from = Some((now, p.done));
        }
        if self.last.is_some_and(|l| now - l < every) {
            return;
        }
        self.last = Some(now);
        let text = self.text(p, now);
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r{text}\x1b[K");
            self.drawn = true;
        } else {
            let _ = writeln!(err, "{text}");
        }
        let _ = err.flush();
    }

    fn text(&self, p: &GenProgress<'_>, now: Instant) -> String {
        let frac = if p.total == 0 {
            0.0
        } else {
            (p.done as f64 / p.total as f64).min(1.0)
        };
        let width = 30;
        let filled = (frac * width as f64) as usize;
        let bar = format!("{}{}", "#".repeat(filled), ".".repeat(width - filled));
        let elapsed = (now - self.started).as_secs();
        match self.records_from {
            Some((from, base)) if p.phase == "台账记录" => {
                let secs = (now - from).as_secs_f64().max(1e-3);
                let rate = (p.done - base) as f64 / secs;
                let left = if rate > 0.0 {
                    (p.total.saturating_sub(p.done) as f64 / rate) as u64
                } else {
                    0
                };
                format!(
                    "[{bar}] {} {}/{} {:.0}条/秒 已用{} 剩余{}",
                    p.phase,
                    p.done,
                    p.total,
                    rate,
                    clock(elapsed),
                    clock(left)
                )
            }
            _ => format!(
                "[{bar}] {} {}/{} 已用{}",
                p.phase,
                p.done,
                p.total,
                clock(elapsed)
            ),
        }
    }

    fn finish(&mut self) {
        if self.drawn {
            eprintln!();
        }
    }
}

fn clock(secs: u64) -> String {
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}
