//! The bridge under test, as a child process, and readings of its resources.

use bridge_client::BridgeClient;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The bridge binary every scenario starts, unless told otherwise
/// (`--bridge`): the `mock-bridge` next to this binary.
static BRIDGE: OnceLock<PathBuf> = OnceLock::new();

/// Makes `binary` the bridge that [`BridgeProcess::start`] runs.
pub fn use_bridge(binary: PathBuf) {
    let _ = BRIDGE.set(binary);
}

/// The bridge that [`BridgeProcess::start`] runs.
pub fn default_bridge() -> PathBuf {
    BRIDGE.get().cloned().unwrap_or_else(|| {
        let exe = std::env::current_exe().unwrap_or_default();
        exe.with_file_name("mock-bridge")
    })
}

pub struct BridgeProcess {
    child: Child,
    pub addr: SocketAddr,
    /// Its control API.
    pub api: BridgeClient,
}

/// Whether `binary` takes `flag` (an earlier bridge may not): its `--help` names it.
pub fn takes_flag(binary: &Path, flag: &str) -> bool {
    Command::new(binary)
        .arg("--help")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(flag))
}

impl BridgeProcess {
    /// Starts the bridge ([`default_bridge`]) on a free port.
    pub async fn start(extra: &[&str]) -> Result<BridgeProcess, String> {
        BridgeProcess::start_binary(&default_bridge(), extra).await
    }

    /// Starts `binary` on a free port.
    pub async fn start_binary(binary: &Path, extra: &[&str]) -> Result<BridgeProcess, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = Command::new(binary)
            .args(["--listen", &addr.to_string()])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let api = BridgeClient::new(format!("http://{addr}"));
        let bridge = BridgeProcess { child, addr, api };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if Instant::now() > deadline {
                return Err("the bridge did not start listening".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(bridge)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// User + system CPU time used so far.
    pub fn cpu(&self) -> Duration {
        let times = CpuTimes::of(&self.pid().to_string());
        times.user + times.kernel
    }

    /// CPU use over `window`, as a share of one core.
    pub async fn cpu_share(&self, window: Duration) -> f64 {
        let before = self.cpu();
        tokio::time::sleep(window).await;
        (self.cpu() - before).as_secs_f64() / window.as_secs_f64()
    }
}

/// CPU time a process has used so far, in user space and in the kernel.
#[derive(Clone, Copy, Default)]
pub struct CpuTimes {
    pub user: Duration,
    pub kernel: Duration,
}

impl CpuTimes {
    /// Reads `/proc/{pid}/stat` (`pid` may be `self`).
    pub fn of(pid: &str) -> CpuTimes {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // USER_HZ is 100 on Linux.
        let ticks = |i: usize| {
            Duration::from_millis(
                fields
                    .get(i)
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0)
                    * 10,
            )
        };
        CpuTimes {
            user: ticks(11),
            kernel: ticks(12),
        }
    }

    /// What was used since `earlier`.
    pub fn since(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user.saturating_sub(earlier.user),
            kernel: self.kernel.saturating_sub(earlier.kernel),
        }
    }

    /// What was used since `earlier`, per `count` events, as "user / kernel" in µs.
    pub fn per(self, earlier: CpuTimes, count: u64) -> String {
        let micros = |d: Duration| d.as_secs_f64() * 1e6 / count.max(1) as f64;
        format!(
            "{:.1} / {:.1}",
            micros(self.user.saturating_sub(earlier.user)),
            micros(self.kernel.saturating_sub(earlier.kernel))
        )
    }
}

impl Drop for BridgeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
