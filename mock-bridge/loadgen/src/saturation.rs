//! The saturation load: streams of one channel with heartbeats, then a burst
//! of messages posted as fast as the control API takes them. Deliveries per
//! second, and what the bridge spent on them.

use crate::bridge::{BridgeProcess, CpuTimes};
use crate::client::{post, Shared};
use crate::scenarios::{collect, open_clients, wait_for, READER};
use crate::table::Table;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The saturation load: its shape.
#[derive(Clone, Copy)]
pub struct SaturationLoad {
    pub subscribers: usize,
    pub messages: u64,
    pub posters: u64,
    /// Seconds between heartbeats.
    pub heartbeat: f64,
}

/// What a burst of messages to every subscriber came to.
pub struct Burst {
    /// Messages posted.
    pub messages: u64,
    /// Frames the subscribers received.
    pub delivered: u64,
    /// From the first post to the last delivery (or the deadline).
    pub elapsed: Duration,
    /// From the first post to the last post's answer.
    pub posting: Duration,
    /// Every subscriber got every message within the deadline.
    pub finished: bool,
    /// The bridge's CPU time over the burst.
    pub cpu: CpuTimes,
    /// The load generator's own CPU time over the burst.
    pub loadgen_cpu: CpuTimes,
    /// Streams the bridge dropped as lagged so far.
    pub lagged: u64,
}

impl Burst {
    pub fn per_second(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64()
    }

    /// The bridge's CPU over the burst, as a share of one core.
    pub fn cpu_share(&self) -> f64 {
        (self.cpu.user + self.cpu.kernel).as_secs_f64() / self.elapsed.as_secs_f64()
    }

    /// The load generator's CPU over the burst, as a share of one core.
    pub fn loadgen_share(&self) -> f64 {
        let used = self.loadgen_cpu.user + self.loadgen_cpu.kernel;
        used.as_secs_f64() / self.elapsed.as_secs_f64()
    }

    /// Said beside a figure whose burst did not finish.
    pub fn note(&self) -> &'static str {
        if self.finished {
            ""
        } else {
            " (not all delivered within 120 s)"
        }
    }
}

/// Posts `messages` to channel `bench` from `posters` concurrent posters, as
/// fast as the control API takes them, and waits until each of the
/// `subscribers` (already open on it) has every one.
pub async fn burst_to(
    bridge: &BridgeProcess,
    shared: &Arc<Shared>,
    subscribers: usize,
    messages: u64,
    posters: u64,
) -> Result<Burst, String> {
    let each = messages / posters;
    let before = shared.messages.load(Ordering::Relaxed);
    let cpu_before = CpuTimes::of(&bridge.pid().to_string());
    let loadgen_before = CpuTimes::of("self");
    let started = Instant::now();
    let tasks: Vec<_> = (0..posters)
        .map(|_| {
            let api = bridge.api.clone();
            tokio::spawn(async move {
                for _ in 0..each {
                    let _ = post(&api, "bench", "burst").await;
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let posting = started.elapsed();
    let expected = before + each * posters * subscribers as u64;
    let finished = wait_for(
        Duration::from_secs(120),
        "the burst to be delivered",
        || shared.messages.load(Ordering::Relaxed) >= expected,
    )
    .await
    .is_ok();
    let elapsed = started.elapsed();
    let cpu = CpuTimes::of(&bridge.pid().to_string()).since(cpu_before);
    let loadgen_cpu = CpuTimes::of("self").since(loadgen_before);
    let report = bridge.api.connections().await.map_err(|e| e.to_string())?;
    Ok(Burst {
        messages: each * posters,
        delivered: shared.messages.load(Ordering::Relaxed) - before,
        elapsed,
        posting,
        finished,
        cpu,
        loadgen_cpu,
        lagged: report.closed.lagged,
    })
}

/// The saturation load on its own: `subscribers` streams of one channel
/// with heartbeats every `heartbeat` seconds, then a burst of `messages`
/// from `posters` concurrent posters. Starts `binary`.
pub async fn saturation(
    binary: &std::path::Path,
    subscribers: usize,
    messages: u64,
    posters: u64,
    heartbeat: f64,
) -> Result<Burst, String> {
    let interval = heartbeat.to_string();
    let bridge = BridgeProcess::start_binary(binary, &["--heartbeat-interval", &interval]).await?;
    let shared = Shared::new();
    let clients = open_clients(&bridge, &shared, subscribers, "bench", |_| READER, None).await?;
    // A heartbeat or two goes out before the burst, as on a bridge in use.
    tokio::time::sleep(Duration::from_secs_f64(heartbeat.min(2.0))).await;
    let outcome = burst_to(&bridge, &shared, subscribers, messages, posters).await;
    collect(&shared, clients).await;
    outcome
}

/// The bridge's CPU per delivery, user + kernel, in µs.
pub fn cpu_per_delivery_us(burst: &Burst) -> f64 {
    (burst.cpu.user + burst.cpu.kernel).as_secs_f64() * 1e6 / burst.delivered.max(1) as f64
}

/// `loadgen saturate`: the saturation load once, as a table row.
pub async fn saturate(load: SaturationLoad) -> Result<Vec<Table>, String> {
    let binary = crate::bridge::default_bridge();
    let burst = saturation(
        &binary,
        load.subscribers,
        load.messages,
        load.posters,
        load.heartbeat,
    )
    .await?;
    let mut table = Table::new(
        &[
            "subscribers (heartbeat s)",
            "burst messages (posters)",
            "deliveries",
            "seconds",
            "deliveries per second",
            "posts answered (s)",
            "bridge CPU (% of a core)",
            "load generator CPU (% of a core)",
            "bridge CPU per delivery, user / kernel (µs)",
            "streams dropped as lagged",
        ],
        4,
    );
    table.row(vec![
        format!("{} ({})", load.subscribers, load.heartbeat),
        format!("{} ({})", burst.messages, load.posters),
        burst.delivered.to_string(),
        format!("{:.2}", burst.elapsed.as_secs_f64()),
        format!("{:.0}", burst.per_second()),
        format!("{:.2}", burst.posting.as_secs_f64()),
        format!("{:.0}", burst.cpu_share() * 100.0),
        format!("{:.0}", burst.loadgen_share() * 100.0),
        per_delivery(&burst),
        format!("{}{}", burst.lagged, burst.note()),
    ]);
    Ok(vec![table])
}

pub fn per_delivery(burst: &Burst) -> String {
    let micros = |d: Duration| d.as_secs_f64() * 1e6 / burst.delivered.max(1) as f64;
    format!(
        "{:.2} / {:.2}",
        micros(burst.cpu.user),
        micros(burst.cpu.kernel)
    )
}
