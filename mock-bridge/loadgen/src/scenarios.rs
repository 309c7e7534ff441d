//! The four measurements. Each prints Markdown table rows on stdout.

use crate::bridge::{BridgeProcess, CpuTimes};
use crate::client::{post, source_for, subscribe, Behaviour, Seen, Shared};
use crate::saturation::burst_to;
use crate::table::Table;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

pub type Clients = Vec<JoinHandle<std::io::Result<Seen>>>;

pub const READER: Behaviour = Behaviour {
    reads: true,
    record_ids: false,
};

/// Starts `count` clients on `channel`, in batches so the accept queue keeps up,
/// and waits until all are subscribed.
pub async fn open_clients(
    bridge: &BridgeProcess,
    shared: &Arc<Shared>,
    count: usize,
    channel: &str,
    behaviour: impl Fn(usize) -> Behaviour,
    resume: Option<u64>,
) -> Result<Clients, String> {
    let mut clients = Vec::with_capacity(count);
    let already = shared.subscribed.load(Ordering::Relaxed);
    for index in 0..count {
        let task = subscribe(
            bridge.addr,
            source_for(index),
            channel.to_owned(),
            resume,
            behaviour(index),
            shared.clone(),
        );
        clients.push(tokio::spawn(task));
        if index % 500 == 499 {
            // A client that finished before the stop failed to connect.
            if let Some(at) = clients.iter().position(|c| c.is_finished()) {
                let why = match clients.swap_remove(at).await {
                    Ok(Ok(_)) => "its stream ended".to_owned(),
                    Ok(Err(error)) => error.to_string(),
                    Err(panic) => panic.to_string(),
                };
                return Err(format!(
                    "client {at} failed while opening {count} streams: {why}"
                ));
            }
            wait_for(Duration::from_secs(60), "a batch to subscribe", || {
                shared.subscribed.load(Ordering::Relaxed) >= already + index + 1 - 250
            })
            .await?;
        }
    }
    wait_for(
        Duration::from_secs(120),
        "every client to subscribe",
        || shared.subscribed.load(Ordering::Relaxed) >= already + count,
    )
    .await?;
    Ok(clients)
}

pub async fn wait_for(
    within: Duration,
    what: &str,
    check: impl Fn() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    while !check() {
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

pub async fn collect(shared: &Arc<Shared>, clients: Clients) -> Vec<Seen> {
    shared.stop.cancel();
    let mut seen = Vec::with_capacity(clients.len());
    for client in clients {
        if let Ok(Ok(result)) = client.await {
            seen.push(result);
        }
    }
    seen
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank] as f64 / 1_000.0
}

pub async fn hold(sizes: &[usize]) -> Result<Vec<Table>, String> {
    let mut table = Table::new(
        &[
            "streams",
            "bridge RSS idle (MiB)",
            "RSS held (MiB)",
            "KiB per stream",
            "bridge CPU (% of a core)",
        ],
        3,
    );
    for &count in sizes {
        let bridge = BridgeProcess::start(&["--heartbeat-interval", "1"]).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle = bridge.rss_kib();
        let shared = Shared::new();
        let clients = open_clients(&bridge, &shared, count, "hold", |_| READER, None).await?;
        tokio::time::sleep(Duration::from_secs(3)).await; // heartbeats flowing
        let held = bridge.rss_kib();
        let cpu = bridge.cpu_share(Duration::from_secs(5)).await;
        let per_stream = (held.saturating_sub(idle)) as f64 / count as f64;
        table.row(vec![
            count.to_string(),
            format!("{:.1}", idle as f64 / 1024.0),
            format!("{:.1}", held as f64 / 1024.0),
            format!("{per_stream:.2}"),
            format!("{:.1}", cpu * 100.0),
        ]);
        collect(&shared, clients).await;
    }
    Ok(vec![table])
}

/// CPU per delivery while messages flow steadily, as "user / kernel" in µs:
/// the bridge's and the load generator's own.
struct SteadyCpu {
    bridge: String,
    loadgen: String,
}

/// Steady messages with latency stamps.
async fn steady(
    bridge: &BridgeProcess,
    shared: &Arc<Shared>,
    subscribers: usize,
    rate: u32,
    seconds: u32,
) -> Result<SteadyCpu, String> {
    let count = (rate * seconds) as u64;
    let before = shared.messages.load(Ordering::Relaxed);
    let bridge_before = CpuTimes::of(&bridge.pid().to_string());
    let loadgen_before = CpuTimes::of("self");
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    for _ in 0..count {
        ticker.tick().await;
        post(&bridge.api, "bench", &format!("bench:{}", shared.now_us()))
            .await
            .map_err(|e| e.to_string())?;
    }
    let expected = before + count * subscribers as u64;
    wait_for(
        Duration::from_secs(60),
        "every subscriber to get every message",
        || shared.messages.load(Ordering::Relaxed) >= expected,
    )
    .await?;
    let deliveries = count * subscribers as u64;
    Ok(SteadyCpu {
        bridge: CpuTimes::of(&bridge.pid().to_string()).per(bridge_before, deliveries),
        loadgen: CpuTimes::of("self").per(loadgen_before, deliveries),
    })
}

/// Count, p50, p99 and max (ms) of every latency the clients saw.
fn latency_cells(seen: &[Seen]) -> Vec<String> {
    let mut all: Vec<u32> = seen
        .iter()
        .flat_map(|s| s.latencies_us.iter().copied())
        .collect();
    all.sort_unstable();
    vec![
        all.len().to_string(),
        format!("{:.1}", percentile(&all, 50.0)),
        format!("{:.1}", percentile(&all, 99.0)),
        format!(
            "{:.1}",
            all.last().map_or(f64::NAN, |&m| m as f64 / 1_000.0)
        ),
    ]
}

pub async fn fanout(sizes: &[usize], rate: u32, seconds: u32) -> Result<Vec<Table>, String> {
    let mut latency = Table::new(
        &[
            "subscribers, rate",
            "deliveries measured",
            "p50 (ms)",
            "p99 (ms)",
            "max (ms)",
            "bridge CPU per delivery, user / kernel (µs)",
            "load generator CPU per delivery, user / kernel (µs)",
        ],
        3,
    );
    let mut saturation = Table::new(
        &[
            "subscribers",
            "burst messages",
            "deliveries",
            "seconds",
            "deliveries per second",
            "streams dropped as lagged",
        ],
        4,
    );
    for &subscribers in sizes {
        let bridge = BridgeProcess::start(&["--heartbeat-interval", "15"]).await?;
        let shared = Shared::new();
        let clients =
            open_clients(&bridge, &shared, subscribers, "bench", |_| READER, None).await?;
        let cpu = steady(&bridge, &shared, subscribers, rate, seconds).await?;

        // Saturation: a burst posted by 4 concurrent posters.
        let burst = (2_000_000 / subscribers).clamp(100, 1_000) as u64;
        let outcome = burst_to(&bridge, &shared, subscribers, burst, 4).await?;
        saturation.row(vec![
            subscribers.to_string(),
            outcome.messages.to_string(),
            outcome.delivered.to_string(),
            format!("{:.2}", outcome.elapsed.as_secs_f64()),
            format!("{:.0}", outcome.per_second()),
            format!("{}{}", outcome.lagged, outcome.note()),
        ]);
        let seen = collect(&shared, clients).await;
        let mut row = vec![format!("{subscribers} × {rate}/s for {seconds} s")];
        row.extend(latency_cells(&seen));
        row.extend([cpu.bridge, cpu.loadgen]);
        latency.row(row);
    }
    Ok(vec![latency, saturation])
}

pub async fn storm(count: usize, missed: usize) -> Result<Vec<Table>, String> {
    let bridge = BridgeProcess::start(&[
        "--heartbeat-interval",
        "15",
        "--history-per-channel",
        "1000",
    ])
    .await?;
    let shared = Shared::new();
    let clients = open_clients(&bridge, &shared, count, "storm", |_| READER, None).await?;
    let base = post(&bridge.api, "storm", "base")
        .await
        .map_err(|e| e.to_string())?;
    wait_for(
        Duration::from_secs(30),
        "the base message everywhere",
        || shared.messages.load(Ordering::Relaxed) >= count as u64,
    )
    .await?;
    collect(&shared, clients).await;
    let mut expected = Vec::new();
    for i in 0..missed {
        expected.push(
            post(&bridge.api, "storm", &format!("missed {i}"))
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    // Everyone comes back at once.
    let shared = Shared::new();
    let started = Instant::now();
    let behaviour = Behaviour {
        reads: true,
        record_ids: true,
    };
    let clients: Clients = (0..count)
        .map(|i| {
            tokio::spawn(subscribe(
                bridge.addr,
                source_for(i),
                "storm".into(),
                Some(base),
                behaviour,
                shared.clone(),
            ))
        })
        .collect();
    wait_for(
        Duration::from_secs(180),
        "every client to get every missed message",
        || shared.messages.load(Ordering::Relaxed) >= (count * missed) as u64,
    )
    .await?;
    let elapsed = started.elapsed();
    let seen = collect(&shared, clients).await;
    let exact = seen.iter().filter(|s| s.ids == expected).count();
    let mut table = Table::new(
        &[
            "clients",
            "missed messages",
            "all streaming and caught up (s)",
            "clients with every missed message exactly once",
        ],
        2,
    );
    table.row(vec![
        count.to_string(),
        missed.to_string(),
        format!("{:.2}", elapsed.as_secs_f64()),
        format!("{exact} of {count}"),
    ]);
    Ok(vec![table])
}

pub async fn slow(subscribers: usize, slow_percent: f64) -> Result<Vec<Table>, String> {
    let mut table = Table::new(
        &[
            "run",
            "streams (stuck)",
            "deliveries measured",
            "p50 (ms)",
            "p99 (ms)",
            "max (ms)",
            "bridge RSS before → after (MiB)",
            "dropped as lagged",
        ],
        4,
    );
    for stuck_share in [0.0, slow_percent] {
        let bridge =
            BridgeProcess::start(&["--heartbeat-interval", "1", "--client-stall", "5"]).await?;
        let shared = Shared::new();
        let stuck_every = if stuck_share > 0.0 {
            (100.0 / stuck_share).round() as usize
        } else {
            usize::MAX
        };
        let behaviour = move |i: usize| Behaviour {
            reads: i % stuck_every != stuck_every - 1,
            record_ids: false,
        };
        let clients = open_clients(&bridge, &shared, subscribers, "bench", behaviour, None).await?;
        let stuck = (0..subscribers).filter(|&i| !behaviour(i).reads).count();
        let before = bridge.rss_kib();
        // 10 messages/s for 20 s, 200 bytes each: small enough that the load
        // generator itself keeps up with 10,000 readers on 2 shared cores.
        let padding = "p".repeat(200);
        let readers = subscribers - stuck;
        let start_count = shared.messages.load(Ordering::Relaxed);
        let mut ticker = tokio::time::interval(Duration::from_millis(100));
        for _ in 0..200 {
            ticker.tick().await;
            let content = format!("bench:{} {padding}", shared.now_us());
            post(&bridge.api, "bench", &content)
                .await
                .map_err(|e| e.to_string())?;
        }
        wait_for(
            Duration::from_secs(60),
            "the readers to get everything",
            || shared.messages.load(Ordering::Relaxed) >= start_count + 200 * readers as u64,
        )
        .await?;
        let after = bridge.rss_kib();
        let report = bridge.api.connections().await.map_err(|e| e.to_string())?;
        let seen = collect(&shared, clients).await;
        let label = if stuck == 0 {
            "all reading"
        } else {
            "with stuck clients"
        };
        let mut row = vec![label.to_owned(), format!("{subscribers} ({stuck})")];
        row.extend(latency_cells(&seen));
        row.push(format!(
            "{:.1} → {:.1}",
            before as f64 / 1024.0,
            after as f64 / 1024.0
        ));
        row.push(report.closed.lagged.to_string());
        table.row(row);
    }
    Ok(vec![table])
}

/// Connect, get the first frames, disconnect — `cycles` times, `parallel` at a
/// time, on one channel or (`distinct`) each on a channel of its own. Then: is
/// every record and channel gone, and where is the bridge's memory?
pub async fn flood(cycles: usize, parallel: usize, distinct: bool) -> Result<Vec<Table>, String> {
    let bridge = BridgeProcess::start(&["--heartbeat-interval", "1"]).await?;
    // Warm up once so allocator arenas exist before the baseline is read.
    one_cycle_at(bridge.addr, 0, distinct).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = bridge.rss_kib();
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..parallel)
        .map(|_| {
            let (next, addr) = (next.clone(), bridge.addr);
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= cycles {
                        return Ok::<(), String>(());
                    }
                    one_cycle_at(addr, index, distinct).await?;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.map_err(|e| e.to_string())??;
    }
    let elapsed = started.elapsed();
    let mut active = usize::MAX;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let report = bridge.api.connections().await.map_err(|e| e.to_string())?;
        active = report.active.len();
        if active == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = bridge.rss_kib();
    let mut table = Table::new(
        &[
            if distinct {
                "cycles, each on a new channel name"
            } else {
                "connect/disconnect cycles"
            },
            "seconds",
            "records left",
            "bridge RSS before → after (MiB)",
            "growth (KiB)",
        ],
        4,
    );
    table.row(vec![
        cycles.to_string(),
        format!("{:.1}", elapsed.as_secs_f64()),
        active.to_string(),
        format!(
            "{:.1} → {:.1}",
            baseline as f64 / 1024.0,
            after as f64 / 1024.0
        ),
        format!("{}", after as i64 - baseline as i64),
    ]);
    Ok(vec![table])
}

/// Opens a stream (of channel `flood`, or `flood-<index>` when `distinct`),
/// reads until its status frame, and closes it.
async fn one_cycle_at(
    addr: std::net::SocketAddr,
    index: usize,
    distinct: bool,
) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket.set_reuseaddr(true).map_err(|e| e.to_string())?;
    socket
        .bind((source_for(index), 0).into())
        .map_err(|e| e.to_string())?;
    let mut stream = socket.connect(addr).await.map_err(|e| e.to_string())?;
    let channel = if distinct {
        format!("flood-{index}")
    } else {
        "flood".to_owned()
    };
    let request = format!("GET /api/channels/{channel}/events HTTP/1.0\r\nHost: bench\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut seen = Vec::new();
    let mut chunk = [0u8; 512];
    while !seen.windows(13).any(|w| w == b"event: status") {
        let read = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("the stream ended early".into());
        }
        seen.extend_from_slice(&chunk[..read]);
    }
    Ok(())
}

/// Opens `count` connections, half sending nothing and half a partial request
/// head, against a bridge with a 2 s head timeout. Then: how many does the
/// bridge still hold after the timeout, and what did they cost it?
pub async fn idle(count: usize) -> Result<Vec<Table>, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let bridge = BridgeProcess::start(&["--head-timeout", "2"]).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = bridge.rss_kib();
    let mut sockets = Vec::with_capacity(count);
    for index in 0..count {
        let socket = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
        socket
            .bind((source_for(index), 0).into())
            .map_err(|e| e.to_string())?;
        let mut stream = socket
            .connect(bridge.addr)
            .await
            .map_err(|e| e.to_string())?;
        if index % 2 == 1 {
            stream
                .write_all(b"GET /api/channels/c/events HTTP/1.1\r\nHost: be")
                .await
                .map_err(|e| e.to_string())?;
        }
        sockets.push(stream);
    }
    let opened = Instant::now();
    let holding = bridge.rss_kib();
    // Each connection ends when the bridge closes it (read returns 0 or fails).
    let closed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut stream| {
            let closed = closed.clone();
            tokio::spawn(async move {
                let mut scratch = [0u8; 512];
                loop {
                    match stream.read(&mut scratch).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                closed.fetch_add(1, Ordering::Relaxed);
                // Kept open on this side, so only the bridge's close counts.
                std::future::pending::<()>().await;
            })
        })
        .collect();
    wait_for(
        Duration::from_secs(30),
        "the bridge to close every idle connection",
        || closed.load(Ordering::Relaxed) == count,
    )
    .await?;
    let all_closed = opened.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = bridge.rss_kib();
    for reader in readers {
        reader.abort();
    }
    let mut table = Table::new(
        &[
            "idle connections (half silent, half a partial head)",
            "all closed by the bridge after (s, head timeout 2)",
            "bridge RSS before → holding → after (MiB)",
        ],
        1,
    );
    table.row(vec![
        count.to_string(),
        format!("{:.1}", all_closed.as_secs_f64()),
        format!(
            "{:.1} → {:.1} → {:.1}",
            baseline as f64 / 1024.0,
            holding as f64 / 1024.0,
            after as f64 / 1024.0
        ),
    ]);
    Ok(vec![table])
}
