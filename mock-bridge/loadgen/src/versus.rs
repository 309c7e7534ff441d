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
use crate::posting::{posting, probe_disk, PostsLoad};
use crate::saturation::{cpu_per_delivery_us, per_delivery, saturation, SaturationLoad};
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

/// `loadgen versus`: every round, the saturation load against `base` and
/// then against the current bridge, and (with `posts`) durable posting the
/// same way, beside the disk's own fsync rate measured just before. Prints
/// each round, then the medians and the current/base ratios.
pub async fn versus(
    base: &Path,
    rounds: usize,
    load: SaturationLoad,
    posts: Option<PostsLoad>,
) -> Result<(), String> {
    let current = crate::bridge::default_bridge();
    for binary in [base, current.as_path()] {
        if !takes_flag(binary, "--heartbeat-interval") {
            return Err(format!(
                "{} has no --heartbeat-interval: the saturation load cannot run on it",
                binary.display()
            ));
        }
    }
    let posts = posts.filter(|_| {
        let both = [base, current.as_path()];
        let durable = both.iter().all(|b| takes_flag(b, "--history-fsync"));
        if !durable {
            println!(
                "(Durable posting is left out: one of the bridges has no `--history-fsync`.)\n"
            );
        }
        durable
    });
    let mut deliveries = Paired::default();
    let mut cpu_per_delivery = Paired::default();
    let mut cpu_share = Paired::default();
    let mut posts_per_second = Paired::default();
    let mut cpu_per_post = Paired::default();
    let mut disks = Vec::new();
    println!("| round | bridge | deliveries per second | bridge CPU (% of a core) | bridge CPU per delivery, user / kernel (µs) | lagged | posts per second with fsync | bridge CPU per post (µs) | the disk's syncs per second (at the median sync, overall) |");
    println!("|{}", " --- |".repeat(9));
    for round in 1..=rounds.max(1) {
        let mut bursts = Vec::new();
        for binary in [base, current.as_path()] {
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
            bursts.push(burst);
        }
        deliveries.push(bursts[0].per_second(), bursts[1].per_second());
        cpu_per_delivery.push(
            cpu_per_delivery_us(&bursts[0]),
            cpu_per_delivery_us(&bursts[1]),
        );
        cpu_share.push(bursts[0].cpu_share(), bursts[1].cpu_share());
        let mut postings = Vec::new();
        let mut disk = String::new();
        if let Some(posts) = &posts {
            let probed = probe_disk(&posts.dir, 800)?;
            disk = format!("{:.0}, {:.0}", probed.at_median, probed.overall);
            disks.push(probed);
            for binary in [base, current.as_path()] {
                postings.push(posting(binary, posts).await?);
            }
            posts_per_second.push(postings[0].per_second(), postings[1].per_second());
            cpu_per_post.push(postings[0].cpu_per_post_us(), postings[1].cpu_per_post_us());
        }
        for (index, name) in ["earlier", "current"].iter().enumerate() {
            let burst = &bursts[index];
            let (rate, cpu) = postings
                .get(index)
                .map_or((String::new(), String::new()), |p| {
                    (
                        format!("{:.0}", p.per_second()),
                        format!("{:.0}", p.cpu_per_post_us()),
                    )
                });
            println!(
                "| {round} | {name} | {:.0} | {:.0} | {} | {} | {rate} | {cpu} | {} |",
                burst.per_second(),
                burst.cpu_share() * 100.0,
                per_delivery(burst),
                burst.lagged,
                if index == 0 { disk.as_str() } else { "" },
            );
        }
        std::io::stdout().flush().map_err(|e| e.to_string())?;
    }
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
    summary("deliveries per second (higher is better)", &deliveries, 0);
    summary(
        "bridge CPU per delivery, µs (lower is better)",
        &cpu_per_delivery,
        2,
    );
    summary("bridge CPU, share of a core", &cpu_share, 2);
    if posts.is_some() {
        summary(
            "posts per second with `--history-fsync` (higher is better)",
            &posts_per_second,
            0,
        );
        summary("bridge CPU per post, µs", &cpu_per_post, 0);
        let at_median: Vec<f64> = disks.iter().map(|d| d.at_median).collect();
        let overall: Vec<f64> = disks.iter().map(|d| d.overall).collect();
        let over_disk: Vec<f64> = (posts_per_second.current.iter().zip(&at_median))
            .map(|(posts, syncs)| posts / syncs)
            .collect();
        println!();
        println!(
            "The disk's median sync allowed {:.0} syncs per second (median of the rounds; {}; {:.0} overall, slow syncs included), measured just before each round's posting: a bridge that syncs once per post answers at most that many posts per second. The current bridge answered {:.1}× that (median of the rounds' ratios; {}).",
            median(&at_median),
            range(&at_median, 0),
            median(&overall),
            median(&over_disk),
            range(&over_disk, 1)
        );
    }
    println!();
    Ok(())
}
