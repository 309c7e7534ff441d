//! Durable posting: readers' posts to a bridge with a history file on the
//! disk and `--history-fsync`, beside how fast the disk itself syncs.

use crate::bridge::{BridgeProcess, CpuTimes};
use crate::table::Table;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The durable-posting load: its shape.
#[derive(Clone)]
pub struct PostsLoad {
    pub posts: u64,
    pub posters: u64,
    /// Where the history files go (a disk, not memory: `fsync` must cost
    /// what it costs).
    pub dir: PathBuf,
    /// With `--history-fsync` (false: the history file without it, for
    /// the ceiling that HTTP and the file's writes alone set).
    pub fsync: bool,
}

/// What posting with `--history-fsync` came to.
pub struct Posting {
    pub posts: u64,
    pub elapsed: Duration,
    /// The bridge's CPU time over the posts.
    pub cpu: CpuTimes,
}

impl Posting {
    pub fn per_second(&self) -> f64 {
        self.posts as f64 / self.elapsed.as_secs_f64()
    }

    /// The bridge's CPU per post, user + kernel, in µs.
    pub fn cpu_per_post_us(&self) -> f64 {
        (self.cpu.user + self.cpu.kernel).as_secs_f64() * 1e6 / self.posts.max(1) as f64
    }
}

/// How fast the disk under `dir` syncs: appends of a short line, each
/// followed by `fdatasync`, from several threads taking turns on one file as
/// a bridge's posts do. A rough figure on a shared machine: the same probe
/// gives a median sync of 0.15 ms at one moment and 4 ms at the next, and a
/// bridge syncing once per post has been measured faster than the probe
/// beside it. An earlier bridge that syncs once per post, measured in the
/// same rounds, says better what that allows.
pub struct Disk {
    /// Syncs per second over the whole probe, slow ones included (other
    /// programs' writes make some syncs tens of milliseconds long).
    pub overall: f64,
    /// One over the median sync's time: the rate of a typical moment.
    pub at_median: f64,
}

/// Measures [`Disk`] with `count` syncs.
pub fn probe_disk(dir: &Path, count: u32) -> Result<Disk, String> {
    const THREADS: u32 = 8;
    let path = dir.join(format!("fsync-probe-{}.txt", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let file = std::sync::Mutex::new(file);
    let line = [b'x'; 250];
    let started = Instant::now();
    let synced: Result<Vec<Duration>, std::io::Error> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    let mut times = Vec::new();
                    for _ in 0..count / THREADS {
                        let mut file = file.lock().unwrap();
                        file.write_all(&line)?;
                        let sync = Instant::now();
                        file.sync_data()?;
                        times.push(sync.elapsed());
                    }
                    Ok::<_, std::io::Error>(times)
                })
            })
            .collect();
        let mut all = Vec::new();
        for thread in threads {
            all.extend(thread.join().unwrap()?);
        }
        Ok(all)
    });
    let elapsed = started.elapsed();
    let _ = std::fs::remove_file(&path);
    let mut times = synced.map_err(|e| format!("{}: {e}", path.display()))?;
    times.sort_unstable();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    Ok(Disk {
        overall: times.len() as f64 / elapsed.as_secs_f64(),
        at_median: 1.0 / median.as_secs_f64().max(1e-9),
    })
}

/// Starts `binary` with a new history file in `load.dir` (and `--history-fsync`),
/// and posts `load.posts` readers' messages from `load.posters` concurrent
/// posters; every post must be answered 201.
pub async fn posting(binary: &Path, load: &PostsLoad) -> Result<Posting, String> {
    let file = load
        .dir
        .join(format!("history-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let path = file
        .to_str()
        .ok_or("the history file's path is not UTF-8")?;
    let mut flags = vec!["--history-file", path];
    if load.fsync {
        flags.push("--history-fsync");
    }
    let bridge = BridgeProcess::start_binary(binary, &flags).await?;
    let each = load.posts / load.posters;
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let cpu_before = CpuTimes::of(&bridge.pid().to_string());
    let started = Instant::now();
    let tasks: Vec<_> = (0..load.posters)
        .map(|poster| {
            let (api, failures) = (bridge.api.clone(), failures.clone());
            tokio::spawn(async move {
                for n in 0..each {
                    let client_id = format!("bench-{poster}-{n}");
                    if let Err(error) = api.reply("bench", "bench", "post", &client_id).await {
                        failures.lock().unwrap().push(error.to_string());
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|e| e.to_string())?;
    }
    let elapsed = started.elapsed();
    let cpu = CpuTimes::of(&bridge.pid().to_string()).since(cpu_before);
    drop(bridge);
    let _ = std::fs::remove_file(&file);
    let failures = failures.lock().unwrap();
    if let Some(first) = failures.first() {
        return Err(format!(
            "{} posts failed, the first: {first}",
            failures.len()
        ));
    }
    Ok(Posting {
        posts: each * load.posters,
        elapsed,
        cpu,
    })
}

/// `loadgen posts`: durable posting once, beside what one fsync per post allows.
pub async fn posts(load: PostsLoad) -> Result<Vec<Table>, String> {
    let disk = probe_disk(&load.dir, 800)?;
    let posting = posting(&crate::bridge::default_bridge(), &load).await?;
    let mut table = Table::new(
        &[
            "posts (concurrent posters)",
            "--history-fsync",
            "seconds",
            "posts per second",
            "bridge CPU per post (µs)",
            "the disk's syncs per second (a rough probe): at the median sync, overall",
            "posts per second ÷ syncs per second at the median",
        ],
        3,
    );
    table.row(vec![
        format!("{} ({})", posting.posts, load.posters),
        if load.fsync { "on" } else { "off" }.to_owned(),
        format!("{:.2}", posting.elapsed.as_secs_f64()),
        format!("{:.0}", posting.per_second()),
        format!("{:.0}", posting.cpu_per_post_us()),
        format!("{:.0}, {:.0}", disk.at_median, disk.overall),
        format!("{:.1}", posting.per_second() / disk.at_median),
    ]);
    Ok(vec![table])
}
