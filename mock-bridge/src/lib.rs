//! mock-bridge: a stand-in for the Discord bridge the discussion panel talks to.
//!
//! The map:
//! - [`cli`]: the program: configuration, signals, graceful shutdown.
//! - [`config`]: flags with environment fallbacks, validated at start.
//! - [`app`]: the router, built by `app(hub)`: everything but the direct
//!   streams. The tests drive it over real sockets through [`spawn`], and a
//!   property test calls it in-process.
//! - [`hub`]: shared state — channels, gateway state, heartbeats, faults; new
//!   messages are stored by its `commit` module (in groups, with a history file).
//! - [`server`]: the accept loop: streams served directly on the socket, the rest through the router.
//! - [`stream`]: one Server-Sent Events stream: admission and the delivery loop.
//! - [`sse`]: every frame the bridge writes.
//! - [`extract`]: what handlers take from a request (channel, peer, resume id).
//! - [`api`]: history, replies and who is signed in.
//! - [`poll`]: long polling, the same events for clients whose proxy buffers streams.
//! - [`changes`]: edits, deletions and reactions (control API and readers),
//!   and the catch-up of every change after a change id.
//! - [`control`]: the `/internal` control API for tests and developers.
//! - [`streams`]: a record per open stream and why streams ended (TCP
//!   connections are the [`server`]'s).
//! - [`history`], [`persist`], [`restore`]: retained messages and later
//!   changes per channel, the history file, and the state rebuilt from it;
//!   [`lock`]: one bridge per history file.
//! - [`reactions`]: toggling reactions within their bounds; a reader's own.
//! - [`retries`]: posts and changes remembered by client id, so retries are safe.
//! - [`message`], [`snowflake`], [`clock`], [`error`]: the small nouns.
//! - [`demo`]: demo seeding, a flapping gateway and chatter for the run command.
//!
//! [`spawn`] starts a whole bridge in-process on a listener, which is how the
//! integration tests and the load generator use it.

pub mod api;
pub mod app;
pub mod changes;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod demo;
pub mod error;
pub mod extract;
pub mod history;
pub mod hub;
pub mod lock;
pub mod message;
pub mod persist;
pub mod poll;
pub mod reactions;
pub mod restore;
pub mod retries;
pub mod server;
pub mod snowflake;
pub mod sse;
pub mod stream;
pub mod streams;
pub mod users;

use config::Config;
use hub::Hub;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A bridge running in this process.
pub struct RunningBridge {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state, for tests that look inside.
    pub hub: Arc<Hub>,
    /// Cancel to shut it down.
    pub shutdown: CancellationToken,
    /// Finishes when the server has stopped.
    pub task: JoinHandle<std::io::Result<()>>,
}

/// Starts a bridge on `listener`; it runs until `shutdown` is cancelled.
pub fn spawn(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<RunningBridge> {
    let addr = listener.local_addr()?;
    let hub = Arc::new(Hub::new(config, shutdown.clone())?);
    if hub.config.seed_demo {
        demo::seed(&hub);
    }
    tokio::spawn(heartbeats(hub.clone()));
    if let Some(every) = hub.config.demo_flap {
        tokio::spawn(demo::flap(hub.clone(), every));
    }
    if let Some(every) = hub.config.demo_chatter {
        tokio::spawn(demo::chatter(hub.clone(), every));
    }
    let router = app::app(hub.clone());
    let task = tokio::spawn(server::serve(
        listener,
        hub.clone(),
        router,
        shutdown.clone(),
    ));
    Ok(RunningBridge {
        addr,
        hub,
        shutdown,
        task,
    })
}

/// One shared ticker sends every stream its heartbeat: one timer for the whole
/// bridge instead of one per stream.
async fn heartbeats(hub: Arc<Hub>) {
    let mut ticker = tokio::time::interval(hub.config.heartbeat_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate; streams already got their status
    loop {
        tokio::select! {
            _ = hub.shutdown.cancelled() => return,
            _ = ticker.tick() => hub.heartbeat(),
        }
    }
}
