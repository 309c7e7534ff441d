//! Load generator for mock-bridge: holds streams, measures fan-out latency,
//! reconnect storms and slow clients, and prints each figure as a Markdown line.
//!
//! It starts the bridge itself (the `mock-bridge` binary next to it, or the
//! one `LOADGEN_BRIDGE` names, to compare builds), so that the
//! bridge's memory and CPU can be read from `/proc` for that process alone. Both
//! run on this machine: the figures include the load generator competing for
//! the same cores.
//!
//! ```text
//! loadgen hold    --streams 1000,10000,19500
//! loadgen fanout  --subscribers 1000,10000 --rate 10 --seconds 10
//! loadgen storm   --clients 10000 --missed 20
//! loadgen slow    --subscribers 10000 --slow-percent 1
//! loadgen vanish  --heartbeat 15 --dead-client 15 --grace 5   (root: a network namespace)
//! ```

mod bridge;
mod client;
mod scenarios;
mod table;
mod vanish;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Load generator for mock-bridge")]
struct Args {
    /// Repeat the measurement this many times and show the median run.
    #[arg(long, default_value_t = 1, global = true)]
    runs: usize,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Open N idle streams (heartbeats every second): memory per stream, CPU.
    Hold {
        #[arg(long, value_delimiter = ',', default_value = "1000,10000,19500")]
        streams: Vec<usize>,
        /// Streams anonymous, each named (`as=`), or both in turn.
        #[arg(long, value_enum, default_value = "both")]
        presence: scenarios::Presence,
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
        /// Subscribers anonymous, each named (`as=`), or both in turn.
        #[arg(long, value_enum, default_value = "both")]
        presence: scenarios::Presence,
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
    /// A reader whose network vanishes without a FIN (a laptop put to
    /// sleep): how long until the others see them leave. Needs root: the
    /// reader runs in a network namespace whose link is cut. Cut at several
    /// points between two heartbeats.
    Vanish {
        #[arg(long, default_value_t = 15.0)]
        heartbeat: f64,
        #[arg(long, default_value_t = 15.0)]
        dead_client: f64,
        #[arg(long, default_value_t = 5.0)]
        grace: f64,
        /// Cuts, spread evenly over one heartbeat interval.
        #[arg(long, default_value_t = 3)]
        cuts: usize,
    },
    /// Fan-out where a share of subscribers stops reading.
    Slow {
        #[arg(long, default_value_t = 10_000)]
        subscribers: usize,
        #[arg(long, default_value_t = 1.0)]
        slow_percent: f64,
    },
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let result = runtime.block_on(async {
        let mut runs: Vec<Vec<table::Table>> = Vec::new();
        for _ in 0..args.runs.max(1) {
            let tables = match &args.scenario {
                Scenario::Hold { streams, presence } => scenarios::hold(streams, *presence).await,
                Scenario::Fanout {
                    subscribers,
                    rate,
                    seconds,
                    presence,
                } => scenarios::fanout(subscribers, *rate, *seconds, *presence).await,
                Scenario::Vanish {
                    heartbeat,
                    dead_client,
                    grace,
                    cuts,
                } => vanish::vanish(*heartbeat, *dead_client, *grace, *cuts).await,
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
