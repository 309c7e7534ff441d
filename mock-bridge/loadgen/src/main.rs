//! Load generator for mock-bridge: holds streams, measures fan-out latency,
//! reconnect storms and slow clients, and prints each figure as a Markdown line.
//!
//! It starts the bridge itself (the `mock-bridge` binary next to it), so that the
//! bridge's memory and CPU can be read from `/proc` for that process alone. Both
//! run on this machine: the figures include the load generator competing for
//! the same cores.
//!
//! ```text
//! loadgen hold    --streams 1000,10000,19500
//! loadgen fanout  --subscribers 1000,10000 --rate 10 --seconds 10
//! loadgen storm   --clients 10000 --missed 20
//! loadgen slow    --subscribers 10000 --slow-percent 1
//! loadgen saturate --subscribers 1000 --messages 1000 --heartbeat 1
//! loadgen posts   --posts 6400 --posters 64 --dir target/bench-scratch
//! loadgen versus  --base ~/.cache/discussion-panel/bench-base/128254e438c6/mock-bridge --rounds 5
//! ```
//!
//! `--bridge PATH` starts another bridge binary instead; `versus` starts both.

mod bridge;
mod client;
mod posting;
mod saturation;
mod scenarios;
mod table;
mod versus;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Load generator for mock-bridge")]
struct Args {
    /// Repeat the measurement this many times and show the median run.
    #[arg(long, default_value_t = 1, global = true)]
    runs: usize,
    /// The bridge binary to start (default: the `mock-bridge` next to this one).
    #[arg(long, global = true)]
    bridge: Option<PathBuf>,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Open N idle streams (heartbeats every second): memory per stream, CPU.
    Hold {
        #[arg(long, value_delimiter = ',', default_value = "1000,10000,19500")]
        streams: Vec<usize>,
    },
    /// N subscribers on one channel, messages at a steady rate: latency; then a
    /// burst to saturate: deliveries per second.
    Fanout {
        #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
        subscribers: Vec<usize>,
        #[arg(long, default_value_t = 10)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
    /// N clients reconnect at once with Last-Event-ID after missing messages.
    Storm {
        #[arg(long, default_value_t = 10_000)]
        clients: usize,
        #[arg(long, default_value_t = 20)]
        missed: usize,
    },
    /// Connect and disconnect many times: records must all go, memory must
    /// settle. With `--distinct-channels`, each cycle asks for a new channel
    /// name: nothing may be kept for names nobody uses.
    Flood {
        #[arg(long, default_value_t = 10_000)]
        cycles: usize,
        #[arg(long, default_value_t = 64)]
        parallel: usize,
        #[arg(long)]
        distinct_channels: bool,
    },
    /// Streams that send nothing, or half a request head: all must be
    /// closed by the head timeout, and memory must come back.
    Idle {
        #[arg(long, default_value_t = 5_000)]
        connections: usize,
    },
    /// Fan-out where a share of subscribers stops reading.
    Slow {
        #[arg(long, default_value_t = 10_000)]
        subscribers: usize,
        #[arg(long, default_value_t = 1.0)]
        slow_percent: f64,
    },
    /// Saturation alone: N streams with heartbeats, then a burst posted as
    /// fast as the control API takes it: deliveries per second, bridge CPU.
    Saturate {
        #[command(flatten)]
        load: SaturationArgs,
    },
    /// Readers' posts with `--history-fsync` and a history file in `--dir`:
    /// posts per second, beside the disk's own fsyncs per second.
    Posts {
        #[command(flatten)]
        load: PostsArgs,
    },
    /// The saturation load (and with `--dir`, durable posting) against an
    /// earlier bridge and this one, interleaved round by round: the ratios.
    Versus {
        /// The earlier bridge's binary.
        #[arg(long)]
        base: PathBuf,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[command(flatten)]
        saturation: SaturationArgs,
        #[command(flatten)]
        posts: PostsArgs,
    },
}

#[derive(clap::Args)]
struct SaturationArgs {
    #[arg(long, default_value_t = 1_000)]
    subscribers: usize,
    /// Messages in the burst.
    #[arg(long, default_value_t = 1_000)]
    messages: u64,
    /// Concurrent posters of the burst.
    #[arg(long, default_value_t = 4)]
    burst_posters: u64,
    /// Seconds between heartbeats.
    #[arg(long, default_value_t = 1.0)]
    heartbeat: f64,
}

impl SaturationArgs {
    fn load(&self) -> saturation::SaturationLoad {
        saturation::SaturationLoad {
            subscribers: self.subscribers,
            messages: self.messages,
            posters: self.burst_posters.max(1),
            heartbeat: self.heartbeat,
        }
    }
}

#[derive(clap::Args)]
struct PostsArgs {
    #[arg(long, default_value_t = 6_400)]
    posts: u64,
    /// Concurrent posters.
    #[arg(long, default_value_t = 64)]
    posters: u64,
    /// A folder on the disk for the history files (`posts` needs it; for
    /// `versus`, without it durable posting is not measured).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Without `--history-fsync`: the ceiling HTTP and plain writes set.
    #[arg(long)]
    no_fsync: bool,
}

impl PostsArgs {
    fn load(&self) -> Option<posting::PostsLoad> {
        Some(posting::PostsLoad {
            posts: self.posts,
            posters: self.posters.max(1),
            dir: self.dir.clone()?,
            fsync: !self.no_fsync,
        })
    }
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    if let Some(bridge) = &args.bridge {
        bridge::use_bridge(bridge.clone());
    }
    if let Scenario::Versus {
        base,
        rounds,
        saturation,
        posts,
    } = &args.scenario
    {
        let compared = runtime.block_on(versus::versus(
            base,
            *rounds,
            saturation.load(),
            posts.load(),
        ));
        if let Err(problem) = compared {
            eprintln!("loadgen: {problem}");
            std::process::exit(1);
        }
        return;
    }
    let result = runtime.block_on(async {
        let mut runs: Vec<Vec<table::Table>> = Vec::new();
        for _ in 0..args.runs.max(1) {
            let tables = match &args.scenario {
                Scenario::Hold { streams } => scenarios::hold(streams).await,
                Scenario::Fanout {
                    subscribers,
                    rate,
                    seconds,
                } => scenarios::fanout(subscribers, *rate, *seconds).await,
                Scenario::Storm { clients, missed } => scenarios::storm(*clients, *missed).await,
                Scenario::Slow {
                    subscribers,
                    slow_percent,
                } => scenarios::slow(*subscribers, *slow_percent).await,
                Scenario::Flood {
                    cycles,
                    parallel,
                    distinct_channels,
                } => scenarios::flood(*cycles, *parallel, *distinct_channels).await,
                Scenario::Idle { connections } => scenarios::idle(*connections).await,
                Scenario::Saturate { load } => saturation::saturate(load.load()).await,
                Scenario::Posts { load } => match load.load() {
                    Some(load) => posting::posts(load).await,
                    None => Err("posts needs --dir, a folder on the disk".into()),
                },
                Scenario::Versus { .. } => unreachable!("handled above"),
            }?;
            runs.push(tables);
        }
        Ok::<_, String>(runs)
    });
    match result {
        Ok(runs) => {
            for index in 0..runs[0].len() {
                let tables: Vec<table::Table> = runs.iter().map(|r| r[index].clone()).collect();
                table::Table::print_median(&tables);
            }
        }
        Err(problem) => {
            eprintln!("loadgen: {problem}");
            std::process::exit(1);
        }
    }
}
