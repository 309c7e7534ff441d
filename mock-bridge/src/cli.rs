//! The bridge as a command-line program: parse the configuration, listen,
//! run until a signal or `SERVER_SHUTDOWN_AFTER_SECONDS`.

use crate::config::Config;
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// How long open streams get to end after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Runs the bridge with the process's arguments; returns the exit code.
#[tokio::main]
pub async fn main() -> ExitCode {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // Colours only on a terminal: logs in files and CI stay readable.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    if let Err(problem) = config.validate() {
        eprintln!("mock-bridge: {problem}");
        return ExitCode::from(2);
    }
    raise_open_file_limit();
    let listener = match listen(config.listen) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("mock-bridge: cannot listen on {}: {error}", config.listen);
            return ExitCode::from(1);
        }
    };
    tracing::info!(
        listen = %config.listen,
        heartbeat_interval_s = config.heartbeat_interval.as_secs_f64(),
        ping_stop_after_s = config.ping_stop_after.map(|d| d.as_secs_f64()),
        shutdown_after_s = config.shutdown_after.map(|d| d.as_secs_f64()),
        retry_ms = config.retry_ms,
        history_per_channel = config.history_per_channel,
        history_file = ?config.history_file,
        static_dir = ?config.static_dir,
        control_token = config.control_token.is_some(),
        users = ?config.users,
        allow_credentials = config.allow_credentials,
        client_backlog = config.client_backlog,
        max_channels = config.max_channels,
        max_connections_per_client = config.max_connections_per_client,
        head_timeout_s = config.head_timeout.as_secs_f64(),
        idle_timeout_s = config.idle_timeout.as_secs_f64(),
        "mock-bridge starting"
    );
    let shutdown = CancellationToken::new();
    tokio::spawn(watch_signals(shutdown.clone(), config.shutdown_after));
    let bridge = match crate::spawn(config, listener, shutdown.clone()) {
        Ok(bridge) => bridge,
        Err(error) => {
            eprintln!("mock-bridge: cannot start: {error}");
            // Another bridge on the history file is a bad start, as bad
            // flags are (see crate::lock); anything else is the machine's.
            let busy = error.kind() == std::io::ErrorKind::ResourceBusy;
            return ExitCode::from(if busy { 2 } else { 1 });
        }
    };
    tracing::info!(addr = %bridge.addr, "listening");
    shutdown.cancelled().await;
    let open = bridge.hub.streams.active_count();
    tracing::info!(open_streams = open, "shutting down");
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    let served = tokio::time::timeout_at(deadline, bridge.task).await;
    // The server is done once every connection has ended; a stream served
    // through the router records its close just after its response ends. Wait
    // for those records too, so nothing is left behind uncounted.
    let _ = tokio::time::timeout_at(deadline, bridge.hub.streams.all_closed()).await;
    let report = bridge.hub.streams.report();
    match served {
        Ok(Ok(Ok(()))) => {
            tracing::info!(closed = %report["closed"], left_open = bridge.hub.streams.active_count(), "stopped cleanly");
            ExitCode::SUCCESS
        }
        Ok(Ok(Err(error))) => {
            tracing::error!(%error, "server error during shutdown");
            ExitCode::from(1)
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "server task failed");
            ExitCode::from(1)
        }
        Err(_) => {
            tracing::warn!("connections still open after the grace period; exiting anyway");
            ExitCode::SUCCESS
        }
    }
}

/// Every stream holds a file descriptor: the soft limit (often 1,024) is raised
/// to the hard one, and both are logged, so a full bridge says why.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if read != 0 {
        tracing::warn!("could not read the open-file limit");
        return;
    }
    let soft = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: as above.
    let raised =
        soft == limit.rlim_max || unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == 0;
    let now = if raised { limit.rlim_max } else { soft };
    tracing::info!(
        soft_before = soft,
        soft_now = now,
        hard = limit.rlim_max,
        "open-file limit"
    );
}

/// Streams come back all at once after a restart: a deep accept queue
/// (the kernel caps it at `net.core.somaxconn`) keeps their handshakes from
/// being dropped or answered with cookies while the accept loop catches up.
const LISTEN_BACKLOG: u32 = 4096;

fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As std and tokio do for listeners: a restarted bridge can bind at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

async fn watch_signals(shutdown: CancellationToken, after: Option<Duration>) {
    let deadline = async {
        match after {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    };
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler works on Unix");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        _ = terminate.recv() => tracing::info!("SIGTERM received"),
        _ = deadline => tracing::info!("SERVER_SHUTDOWN_AFTER_SECONDS reached"),
    }
    shutdown.cancel();
}
