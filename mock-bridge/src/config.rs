//! Command-line flags, each with an environment fallback, validated at start.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The bridge's configuration. Invalid values stop the process at start with a
/// sentence saying what is wrong (clap exits with code 2).
#[derive(Clone, Debug, Parser)]
#[command(
    name = "mock-bridge",
    version,
    about = "A stand-in for the Discord bridge: SSE streams, history and a fault-injection control API."
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// Seconds between heartbeat events on every stream (decimals allowed, > 0).
    #[arg(long, env = "HEARTBEAT_INTERVAL_SECONDS", default_value = "15", value_parser = positive_seconds)]
    pub heartbeat_interval: Duration,

    /// Stop sending heartbeats this many seconds after start (streams stay open).
    #[arg(long, env = "PING_STOP_AFTER_SECONDS", value_parser = positive_seconds)]
    pub ping_stop_after: Option<Duration>,

    /// Shut down cleanly (exit code 0) this many seconds after start.
    #[arg(long, env = "SERVER_SHUTDOWN_AFTER_SECONDS", value_parser = positive_seconds)]
    pub shutdown_after: Option<Duration>,

    /// Bearer token for the `/internal` control API. Required on a non-loopback address.
    #[arg(long, env = "CONTROL_TOKEN", hide_env_values = true, value_parser = non_empty)]
    pub control_token: Option<String>,

    /// The `retry:` hint sent to browsers, in milliseconds.
    #[arg(long, env = "RETRY_MS", default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub retry_ms: u64,

    /// Messages retained per channel for history and replay.
    #[arg(long, env = "HISTORY_PER_CHANNEL", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub history_per_channel: u64,

    /// Append-only JSON-lines file that makes history survive restarts.
    #[arg(long, env = "HISTORY_FILE")]
    pub history_file: Option<PathBuf>,

    /// Seed demo messages in a few channels (only where a channel is empty).
    #[arg(long, env = "SEED_DEMO")]
    pub seed_demo: bool,

    /// Demo: cycle the gateway through its three states, one step every N seconds.
    #[arg(long, env = "DEMO_FLAP_SECONDS", value_parser = positive_seconds)]
    pub demo_flap: Option<Duration>,

    /// Demo: post a message to `general` every N seconds.
    #[arg(long, env = "DEMO_CHATTER_SECONDS", value_parser = positive_seconds)]
    pub demo_chatter: Option<Duration>,

    /// Serve the built panel (trunk's `dist/`) from this directory on the same origin.
    #[arg(long, env = "STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Frames queued for a stream served through the router before the bridge
    /// waits for its client to read (a direct stream's queue is its socket buffer).
    #[arg(long, env = "CLIENT_BACKLOG", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub client_backlog: u64,

    /// Origins (e.g. `https://editor.example.com`) whose pages may call `/api`
    /// from the browser; comma-separated. None: same-origin pages only.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',', value_parser = origin)]
    pub allowed_origins: Vec<String>,

    /// Sign-in: a file of `token name` lines. With it, `/api/*` answers only
    /// requests that carry a known token (else 401).
    #[arg(long, env = "USERS_FILE")]
    pub users: Option<PathBuf>,

    /// Let the `--allowed-origins` call `/api` with credentials (cookies), for
    /// hosts that sign people in with a cookie (`dp_token`).
    #[arg(long, env = "ALLOW_CREDENTIALS")]
    pub allow_credentials: bool,

    /// Open streams allowed per client address; 0 for no limit.
    #[arg(long, env = "MAX_STREAMS_PER_CLIENT", default_value_t = 0)]
    pub max_streams_per_client: usize,

    /// How long a poll (`GET /api/poll`) with nothing to tell waits before it
    /// answers anyway, in seconds.
    #[arg(long, env = "POLL_WAIT_SECONDS", default_value = "25", value_parser = positive_seconds)]
    pub poll_wait: Duration,

    /// A client that reads nothing for this many seconds while frames wait is dropped as `lagged`.
    #[arg(long, env = "CLIENT_STALL_SECONDS", default_value = "10", value_parser = positive_seconds)]
    pub client_stall: Duration,

    /// A request (head and body) must arrive within this many seconds of its
    /// first byte, and a new connection must send its first head within it;
    /// else 408 and the connection is closed.
    #[arg(long, env = "HEAD_TIMEOUT_SECONDS", default_value = "10", value_parser = positive_seconds)]
    pub head_timeout: Duration,

    /// A keep-alive connection idle between requests for this many seconds is closed.
    #[arg(long, env = "IDLE_TIMEOUT_SECONDS", default_value = "30", value_parser = positive_seconds)]
    pub idle_timeout: Duration,

    /// Open TCP connections allowed per client address (streams, fetches and
    /// idle keep-alive alike); past it, 503. 0 for no limit.
    #[arg(long, env = "MAX_CONNECTIONS_PER_CLIENT", default_value_t = 1_024)]
    pub max_connections_per_client: usize,

    /// Channels the bridge keeps state for at once. A channel exists while it
    /// holds messages or has listeners; a new one past the limit is refused (503).
    #[arg(long, env = "MAX_CHANNELS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_channels: u64,

    /// Most messages a reconnecting stream is replayed; further behind, it gets
    /// `resync` and pages through history instead.
    #[arg(long, env = "MAX_REPLAY", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_replay: u64,

    /// `fsync` the history file before acknowledging a message: acknowledged
    /// messages then survive a power loss too, at the cost of a disk flush per
    /// write (posts that arrive together share one).
    #[arg(long, env = "HISTORY_FSYNC")]
    pub history_fsync: bool,
}

impl Config {
    /// Checks what flags alone cannot: the control API must not be open to the
    /// network without a token.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(dir) = &self.static_dir {
            if !dir.join("index.html").is_file() {
                return Err(format!(
                    "--static-dir {}: no index.html there (run `trunk build` first)",
                    dir.display()
                ));
            }
        }
        if let Some(path) = &self.users {
            crate::users::Users::load(path)?;
        }
        if self.allow_credentials && self.allowed_origins.is_empty() {
            return Err(
                "--allow-credentials needs --allowed-origins: credentials are only ever allowed to named origins"
                    .into(),
            );
        }
        if !self.listen.ip().is_loopback() && self.control_token.is_none() {
            return Err(format!(
                "refusing to listen on {} without CONTROL_TOKEN: the control API would be open to the network",
                self.listen
            ));
        }
        Ok(())
    }

    /// A configuration for tests: loopback, port 0, fast heartbeats.
    pub fn for_tests() -> Self {
        Config::parse_from([
            "mock-bridge",
            "--listen",
            "127.0.0.1:0",
            "--heartbeat-interval",
            "0.2",
        ])
    }
}

/// A duration in seconds, from one millisecond to a year: anything shorter
/// would round to nothing in the timers it sets.
fn positive_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !seconds.is_finite() || !(0.001..=31_536_000.0).contains(&seconds) {
        return Err(format!(
            "{text:?} must be at least 0.001 (one millisecond) and at most a year of seconds"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// An origin: scheme, host and optional port, nothing else.
fn origin(text: &str) -> Result<String, String> {
    let text = text.trim().trim_end_matches('/');
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ', '*']) => {
            Ok(text.to_owned())
        }
        _ => Err(format!(
            "{text:?} is not an origin like https://editor.example.com"
        )),
    }
}

fn non_empty(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("mock-bridge").chain(args.iter().copied()))
    }

    #[test]
    fn decimal_heartbeats_are_accepted_and_nonsense_refused() {
        assert_eq!(
            parse(&["--heartbeat-interval", "0.5"])
                .unwrap()
                .heartbeat_interval,
            Duration::from_millis(500)
        );
        for bad in ["0", "-1", "abc", "NaN", "inf"] {
            let error = parse(&["--heartbeat-interval", bad]).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{bad}");
        }
        assert!(parse(&["--retry-ms", "0"]).is_err());
        // Under a millisecond rounds to nothing: refused, not a crash later.
        for tiny in ["1e-10", "0.0009"] {
            let error = parse(&["--heartbeat-interval", tiny]).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{tiny}");
        }
        assert!(parse(&["--heartbeat-interval", "0.001"]).is_ok());
        assert!(parse(&["--control-token", " "]).is_err());
    }

    #[test]
    fn origins_must_be_origins() {
        let config = parse(&[
            "--allowed-origins",
            "https://a.example,http://localhost:3000/",
        ])
        .unwrap();
        assert_eq!(
            config.allowed_origins,
            ["https://a.example", "http://localhost:3000"]
        );
        for bad in ["*", "a.example", "https://a.example/path", "ftp://x"] {
            assert!(parse(&["--allowed-origins", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_need_origins_and_a_users_file_must_read() {
        let alone = parse(&["--allow-credentials"]).unwrap();
        assert!(alone.validate().unwrap_err().contains("--allowed-origins"));
        let named = parse(&[
            "--allow-credentials",
            "--allowed-origins",
            "https://editor.example",
        ])
        .unwrap();
        assert!(named.validate().is_ok());
        let missing = parse(&["--users", "/nonexistent/users.txt"]).unwrap();
        assert!(missing.validate().unwrap_err().contains("--users"));
    }

    #[test]
    fn a_public_address_needs_a_token() {
        let open = parse(&["--listen", "0.0.0.0:8787"]).unwrap();
        assert!(open.validate().unwrap_err().contains("CONTROL_TOKEN"));
        let guarded = parse(&["--listen", "0.0.0.0:8787", "--control-token", "s3cret"]).unwrap();
        assert!(guarded.validate().is_ok());
    }
}
