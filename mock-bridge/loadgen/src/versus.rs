//! The saturation and durable-posting loads side by side against an earlier
//! bridge (`loadgen versus`).
//!
//! Each round runs every load against the earlier bridge and
//! then against this one, a fresh process each time, so that whatever else
//! the machine does at that moment (it has two cores, shared with compilers)
//! falls on both about alike. Each round's current/earlier ratio is what to
//! read; the absolute figures move with the machine's load from one round to
//! the next.

use crate::bridge::takes_flag;
use crate::posting::{posting, probe_disk, Disk, Posting, PostsLoad};
use crate::saturation::{cpu_per_delivery_us, per_delivery, saturation, Burst, SaturationLoad};
use std::io::Write;
use std::path::Path;

/// One figure measured on both bridges, round by round.
#[derive(Default)]
struct Paired {
    base: Vec<f64>,
    current: Vec<f64>,
}

impl Paired {
    fn push(&mut self, base: f64, current: f64) {
        self.base.push(base);
        self.current.push(current);
    }

    /// Each round's current/base.
    fn ratios(&self) -> Vec<f64> {
        (self.base.iter().zip(&self.current))
            .map(|(base, current)| current / base)
            .collect()
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn range(values: &[f64], decimals: usize) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{min:.decimals$}–{max:.decimals$}")
}

/// One round against one bridge.
struct Measured {
    burst: Burst,
    posting: Option<Posting>,
}

/// Every figure of every round, both bridges.
#[derive(Default)]
struct Record {
    deliveries: Paired,
    cpu_per_delivery: Paired,
    cpu_share: Paired,
    posts_per_second: Paired,
    cpu_per_post: Paired,
    disks: Vec<Disk>,
}

impl Record {
    fn add(&mut self, earlier: &Measured, current: &Measured, disk: Option<Disk>) {
        let pair = |figure: fn(&Burst) -> f64| (figure(&earlier.burst), figure(&current.burst));
        let (a, b) = pair(Burst::per_second);
        self.deliveries.push(a, b);
        let (a, b) = pair(cpu_per_delivery_us);
        self.cpu_per_delivery.push(a, b);
        let (a, b) = pair(Burst::cpu_share);
        self.cpu_share.push(a, b);
        if let (Some(a), Some(b)) = (&earlier.posting, &current.posting) {
            self.posts_per_second.push(a.per_second(), b.per_second());
            self.cpu_per_post
                .push(a.cpu_per_post_us(), b.cpu_per_post_us());
        }
        self.disks.extend(disk);
    }
}

/// `loadgen versus`: every round, the saturation load against `base` and
/// then against the current bridge, and (with `posts`) durable posting the
/// same way, beside how fast the disk synced just before. Prints each
/// round, then the medians and the current/base ratios.
pub async fn versus(
    base: &Path,
    rounds: usize,
    load: SaturationLoad,
    posts: Option<PostsLoad>,
) -> Result<(), String> {
    let current = crate::bridge::default_bridge();
    let posts = check_flags(base, &current, posts)?;
    let mut record = Record::default();
    println!("| round (load average) | bridge | deliveries per second | bridge CPU (% of a core) | bridge CPU per delivery, user / kernel (µs) | lagged | posts per second with fsync | bridge CPU per post (µs) | the disk's syncs per second (at the median sync, overall) |");
    println!("|{}", " --- |".repeat(9));
    for round in 1..=rounds.max(1) {
        let load_average = load_average();
        let disk = match &posts {
            Some(posts) => Some(probe_disk(&posts.dir, 800)?),
            None => None,
        };
        let mut measured = Vec::new();
        for binary in [base, current.as_path()] {
            measured.push(measure(binary, load, posts.as_ref()).await?);
        }
        for (index, name) in ["earlier", "current"].iter().enumerate() {
            let disk = disk.as_ref().filter(|_| index == 0);
            print_row(
                &format!("{round} ({load_average})"),
                name,
                &measured[index],
                disk,
            );
        }
        record.add(&measured[0], &measured[1], disk);
        std::io::stdout().flush().map_err(|e| e.to_string())?;
    }
    print_summary(&record);
    Ok(())
}

/// Both bridges must take the saturation load's flags; durable posting is
/// left out unless both take `--history-fsync`.
fn check_flags(
    base: &Path,
    current: &Path,
    posts: Option<PostsLoad>,
) -> Result<Option<PostsLoad>, String> {
    for binary in [base, current] {
        if !takes_flag(binary, "--heartbeat-interval") {
            return Err(format!(
                "{} has no --heartbeat-interval: the saturation load cannot run on it",
                binary.display()
            ));
        }
    }
    Ok(posts.filter(|_| {
        let durable = [base, current]
            .iter()
            .all(|b| takes_flag(b, "--history-fsync"));
        if !durable {
            println!(
                "(Durable posting is left out: one of the bridges has no `--history-fsync`.)\n"
            );
        }
        durable
    }))
}

/// The machine's load average over the last minute, as `/proc` says.
fn load_average() -> String {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    loadavg.split_whitespace().next().unwrap_or("?").to_owned()
}

/// The loads against one bridge, each in a fresh process.
async fn measure(
    binary: &Path,
    load: SaturationLoad,
    posts: Option<&PostsLoad>,
) -> Result<Measured, String> {
    let burst = saturation(
        binary,
        load.subscribers,
        load.messages,
        load.posters,
        load.heartbeat,
    )
    .await?;
    if !burst.finished {
        return Err(format!(
            "{}: the burst was not delivered within 120 s",
            binary.display()
        ));
    }
    let posting = match posts {
        Some(posts) => Some(posting(binary, posts).await?),
        None => None,
    };
    Ok(Measured { burst, posting })
}

fn print_row(round: &str, name: &str, measured: &Measured, disk: Option<&Disk>) {
    let burst = &measured.burst;
    let (rate, cpu) = measured
        .posting
        .as_ref()
        .map_or_else(Default::default, |p| {
            (
                format!("{:.0}", p.per_second()),
                format!("{:.0}", p.cpu_per_post_us()),
            )
        });
    let disk = disk.map_or_else(String::new, |d| {
        format!("{:.0}, {:.0}", d.at_median, d.overall)
    });
    println!(
        "| {round} | {name} | {:.0} | {:.0} | {} | {} | {rate} | {cpu} | {disk} |",
        burst.per_second(),
        burst.cpu_share() * 100.0,
        per_delivery(burst),
        burst.lagged,
    );
}

fn print_summary(record: &Record) {
    println!();
    println!("| figure | earlier (median) | current (median) | current ÷ earlier, median of the rounds' ratios | the rounds' ratios (min–max) |");
    println!("| --- | ---: | ---: | ---: | --- |");
    let summary = |name: &str, paired: &Paired, decimals: usize| {
        let ratios = paired.ratios();
        println!(
            "| {name} | {:.decimals$} | {:.decimals$} | **{:.2}** | {} |",
            median(&paired.base),
            median(&paired.current),
            median(&ratios),
            range(&ratios, 2)
        );
    };
    summary(
        "deliveries per second (higher is better)",
        &record.deliveries,
        0,
    );
    summary(
        "bridge CPU per delivery, µs (lower is better)",
        &record.cpu_per_delivery,
        2,
    );
    summary("bridge CPU, share of a core", &record.cpu_share, 2);
    if !record.disks.is_empty() {
        summary(
            "posts per second with `--history-fsync` (higher is better)",
            &record.posts_per_second,
            0,
        );
        summary("bridge CPU per post, µs", &record.cpu_per_post, 0);
        let at_median: Vec<f64> = record.disks.iter().map(|d| d.at_median).collect();
        let overall: Vec<f64> = record.disks.iter().map(|d| d.overall).collect();
        let over_disk: Vec<f64> = (record.posts_per_second.current.iter().zip(&at_median))
            .map(|(posts, syncs)| posts / syncs)
            .collect();
        println!();
        println!(
            "The disk's syncs, probed from 8 threads taking turns on one file at the start of each round: {:.0} per second at the median sync (rounds: {}), {:.0} overall. On this shared machine a sync's time swings tenfold from one moment to the next, so the probe is a rough figure; what one sync per post allows is best read from an earlier bridge that syncs once per post, in the same rounds. The current bridge answered {:.1}× the probe's median rate (rounds: {}).",
            median(&at_median),
            range(&at_median, 0),
            median(&overall),
            median(&over_disk),
            range(&over_disk, 1)
        );
    }
    println!();
}
