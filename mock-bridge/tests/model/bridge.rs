//! The bridge under test: a real `Hub` with a history file, driven in
//! process through its own routes (`app(hub)`), as readers and the control
//! API use them; each answer held against the model's prediction.
//!
//! Around each operation a witness stream (opened before it, let go after
//! it, so channels still come and go) counts the frames the operation
//! broadcast, and gives the change ids an answer does not carry (a
//! deletion's).

use super::client::{events_of, Client, Event};
use super::reference::{Model, View, CHANNELS};
use axum::body::Body;
use clap::Parser;
use mock_bridge::hub::{Hub, Subscription};
use mock_bridge::streams::Listen;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Figures over a whole run, for its report.
pub struct Stats {
    pub compared: AtomicU64,
    pub resynced: AtomicU64,
    pub operations: AtomicU64,
    pub restarts: AtomicU64,
    pub torn: AtomicU64,
    pub cursors: AtomicU64,
    pub live: AtomicU64,
    pub waited: AtomicU64,
    pub refused: AtomicU64,
    pub unchanged: AtomicU64,
}

pub static STATS: Stats = Stats {
    compared: AtomicU64::new(0),
    resynced: AtomicU64::new(0),
    operations: AtomicU64::new(0),
    restarts: AtomicU64::new(0),
    torn: AtomicU64::new(0),
    cursors: AtomicU64::new(0),
    live: AtomicU64::new(0),
    waited: AtomicU64::new(0),
    refused: AtomicU64::new(0),
    unchanged: AtomicU64::new(0),
};

pub fn count(stat: &AtomicU64) {
    stat.fetch_add(1, Ordering::Relaxed);
}

/// How the bridge runs in one case.
#[derive(Clone, Debug)]
pub struct Setup {
    /// `--history-per-channel` at the start: small, so that eviction happens.
    pub capacity: usize,
    /// `--max-replay`.
    pub max_replay: usize,
    /// The `limit` a client pages the changes with.
    pub page: usize,
}

/// How a restart comes about: a crash may tear the write in flight.
#[derive(Clone, Debug)]
pub enum Tear {
    /// A new message's line.
    Create,
    /// A bulk deletion's (one line for all of it).
    Bulk,
    /// A reaction's.
    React,
}

/// One step. A `pick` chooses among the messages created so far (or the
/// posts, the retryable changes, the listeners), whatever became of them.
#[derive(Clone, Debug)]
pub enum Op {
    /// A message from Discord (`reply` false) or a reader's reply.
    Create {
        channel: usize,
        author: usize,
        reply: bool,
    },
    /// A reply posted again (its answer lost).
    RetryPost(usize),
    /// By a reader (an author's name; 3: the control API), with a client id or not.
    Edit {
        pick: usize,
        reader: usize,
        client_id: bool,
    },
    /// A reader's edit or deletion retried with its client id.
    RetryChange(usize),
    Delete {
        pick: usize,
        reader: usize,
        client_id: bool,
    },
    /// In the first pick's channel (a pick of another channel is unknown
    /// there); `repeat` names the first id twice.
    BulkDelete { picks: Vec<usize>, repeat: bool },
    /// A reader's own reaction, added or taken back.
    React {
        pick: usize,
        emoji: usize,
        user: usize,
        add: bool,
    },
    /// `count` new people react with the common emoji.
    Crowd { pick: usize, count: usize },
    /// One reader reacts with `count` different emoji, `e0` on: past 20,
    /// the bound refuses.
    Spread {
        pick: usize,
        count: usize,
        user: usize,
    },
    /// A stream opens: channel 0, 1, or both (2); resuming from a cursor
    /// `back` changes before the newest, or new.
    Listen { kind: usize, back: Option<usize> },
    /// A stream ends.
    Unlisten(usize),
    /// A poll of channel 0, 1 or both comes and goes (`wait=0`).
    Poll(usize),
    /// A poll from the newest change waits while `during` happens.
    WaitingPoll { kind: usize, during: Box<Op> },
    /// A client takes a cursor `back` changes before the newest.
    Cursor { back: usize },
    /// The bridge restarts on its history file (and compacts it), perhaps
    /// with another `--history-per-channel`, perhaps after a crash that
    /// tore a write.
    Restart {
        capacity: Option<usize>,
        tear: Option<(Tear, u8)>,
    },
}

pub const AUTHORS: [&str; 3] = ["ann", "bob", "cy"];
pub const USERS: [&str; 4] = ["ann", "bob", "cy", "dee"];

/// A reader's change made with a client id: retrying it must answer it.
pub struct Retry {
    pub client_id: String,
    pub channel: usize,
    pub message: u64,
    /// The edit's text; `None`: a deletion.
    pub content: Option<String>,
    pub reader: String,
    pub change: u64,
}

/// A stream opened by `Op::Listen`, and the client reading it.
pub struct Listener {
    pub listen: Listen,
    pub subscription: Subscription,
    pub client: Client,
    /// Frames with ids up to this came in its replay.
    pub caught_up: u64,
    /// What the model says the opening must have resynced.
    pub expected: std::collections::BTreeSet<String>,
}

pub struct Bridge {
    pub setup: Setup,
    pub config: mock_bridge::config::Config,
    pub hub: Arc<Hub>,
    pub router: axum::Router,
    pub runtime: tokio::runtime::Runtime,
    pub listeners: Vec<Listener>,
    pub model: Model,
    pub posts: Vec<(String, u64, usize, String)>,
    pub retries: Vec<Retry>,
    pub cursors: Vec<(u64, View)>,
    /// Makes contents, client ids and crowds unique.
    next: usize,
    pub file: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn listen_of(kind: usize) -> Listen {
    match kind {
        0 | 1 => Listen::One(CHANNELS[kind].to_owned()),
        _ => Listen::Many(CHANNELS.map(str::to_owned).to_vec()),
    }
}

/// The index of a channel of the model.
pub fn index_of(channel: &str) -> usize {
    CHANNELS.iter().position(|c| *c == channel).unwrap()
}

impl Bridge {
    /// Runs one case: the operations, then every check.
    pub fn run(setup: Setup, ops: Vec<Op>) -> Result<(), String> {
        let mut bridge = Bridge::start(setup)?;
        for (at, op) in ops.iter().enumerate() {
            bridge
                .step(op)
                .and_then(|()| bridge.follow_listeners())
                .map_err(|e| format!("operation {at} ({op:?}): {e}"))?;
            count(&STATS.operations);
        }
        bridge.end_listeners()?;
        let now = (bridge.model.newest, bridge.model.view());
        let cursors = std::mem::take(&mut bridge.cursors);
        for (cursor, snapshot) in cursors.iter().chain([&now]) {
            bridge.check(*cursor, snapshot)?;
        }
        bridge.check_history()?;
        bridge.check_live_start()
    }

    fn start(setup: Setup) -> Result<Bridge, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let file = dir.path().join("history.jsonl");
        let config = mock_bridge::config::Config::try_parse_from([
            "mock-bridge",
            "--history-file",
            file.to_str().unwrap(),
            "--history-per-channel",
            &setup.capacity.to_string(),
            "--max-replay",
            &setup.max_replay.to_string(),
        ])
        .map_err(|e| e.to_string())?;
        let hub = Arc::new(
            Hub::new(config.clone(), CancellationToken::new()).map_err(|e| e.to_string())?,
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Bridge {
            router: mock_bridge::app::app(hub.clone()),
            model: Model::new(setup.capacity),
            setup,
            config,
            hub,
            runtime,
            listeners: Vec::new(),
            posts: Vec::new(),
            retries: Vec::new(),
            cursors: Vec::new(),
            next: 0,
            file,
            _dir: dir,
        })
    }

    pub fn unique(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }

    pub fn step(&mut self, op: &Op) -> Result<(), String> {
        match op {
            Op::Create {
                channel,
                author,
                reply,
            } => self.create(*channel, AUTHORS[*author], *reply),
            Op::RetryPost(pick) => self.retry_post(*pick),
            Op::Edit {
                pick,
                reader,
                client_id,
            } => self.edit(*pick, *reader, *client_id, false),
            Op::Delete {
                pick,
                reader,
                client_id,
            } => self.edit(*pick, *reader, *client_id, true),
            Op::RetryChange(pick) => self.retry_change(*pick),
            Op::BulkDelete { picks, repeat } => self.bulk_delete(picks, *repeat),
            Op::React {
                pick,
                emoji,
                user,
                add,
            } => match self.model.pick(*pick) {
                Some(id) => self.react(id, &format!("e{emoji}"), USERS[*user], *add),
                None => Ok(()),
            },
            Op::Crowd { pick, count } => {
                let Some(id) = self.model.pick(*pick) else {
                    return Ok(());
                };
                for _ in 0..*count {
                    let user = self.unique("crowd");
                    self.react(id, "e0", &user, true)?;
                }
                Ok(())
            }
            Op::Spread { pick, count, user } => {
                let Some(id) = self.model.pick(*pick) else {
                    return Ok(());
                };
                for emoji in 0..*count {
                    self.react(id, &format!("e{emoji}"), USERS[*user], true)?;
                }
                Ok(())
            }
            Op::Listen { kind, back } => self.listen(*kind, *back),
            Op::Unlisten(pick) => {
                if self.listeners.is_empty() {
                    return Ok(());
                }
                let listener = self.listeners.remove(pick % self.listeners.len());
                self.end_listener(listener)
            }
            Op::Poll(kind) => self.poll_now(*kind),
            Op::WaitingPoll { kind, during } => self.waiting_poll(*kind, during),
            Op::Cursor { back } => {
                count(&STATS.cursors);
                let cursor = self.model.cursor(*back);
                self.cursors.push(cursor);
                Ok(())
            }
            Op::Restart { capacity, tear } => self.restart(*capacity, tear.as_ref()),
        }
    }

    /// Takes the bridge down and starts it again on its file, with
    /// `capacity` messages a channel if given; `tear`: first a write the
    /// bridge was making when it died, cut at `percent` of its bytes.
    fn restart(
        &mut self,
        capacity: Option<usize>,
        tear: Option<&(Tear, u8)>,
    ) -> Result<(), String> {
        count(&STATS.restarts);
        self.end_listeners()?;
        if let Some((tear, percent)) = tear {
            self.tear(tear, *percent)?;
        }
        // One bridge on the file at a time: the old one goes first.
        let old = std::mem::replace(&mut self.router, axum::Router::new());
        drop(old);
        let hub = std::mem::replace(
            &mut self.hub,
            Arc::new(
                Hub::new(
                    mock_bridge::config::Config::for_tests(),
                    CancellationToken::new(),
                )
                .map_err(|e| e.to_string())?,
            ),
        );
        if Arc::strong_count(&hub) != 1 {
            return Err("something still holds the old bridge".into());
        }
        drop(hub);
        let capacity = capacity.unwrap_or(self.model.channels[0].capacity);
        self.config.history_per_channel = capacity as u64;
        let hub = Hub::new(self.config.clone(), CancellationToken::new());
        self.hub = Arc::new(hub.map_err(|e| format!("restart: {e}"))?);
        self.router = mock_bridge::app::app(self.hub.clone());
        self.model.restart(capacity);
        Ok(())
    }

    /// A write the bridge was making when it died: made on the hub as the
    /// bridge makes it, never acknowledged to anyone (the model does not
    /// take it), and its bytes in the file cut short.
    fn tear(&mut self, tear: &Tear, percent: u8) -> Result<(), String> {
        let length = || std::fs::metadata(&self.file).map_or(0, |m| m.len());
        let before = length();
        let held: Vec<u64> = self.model.channels[0].held.iter().copied().collect();
        let made = match tear {
            Tear::Create => {
                let new = mock_bridge::message::NewMessage {
                    author: "torn".into(),
                    content: "never acknowledged".into(),
                    ..Default::default()
                };
                self.hub.publish(CHANNELS[0], new).is_ok()
            }
            Tear::Bulk if held.len() >= 2 => {
                let ids = &held[..held.len().min(3)];
                self.hub.bulk_delete(CHANNELS[0], ids).is_ok()
            }
            Tear::React if !held.is_empty() => {
                let edit = mock_bridge::hub::Edit::React {
                    emoji: "torn".into(),
                    user: "torn".into(),
                    add: true,
                };
                let actor = mock_bridge::hub::Actor::Control;
                self.hub
                    .change(CHANNELS[0], held[0], edit, &actor, None)
                    .is_ok()
            }
            _ => false,
        };
        let after = length();
        if !made || after < before + 2 {
            return Ok(());
        }
        count(&STATS.torn);
        let written = after - before;
        let cut = before + 1 + (written - 2) * u64::from(percent.min(100)) / 100;
        let file = std::fs::OpenOptions::new().write(true).open(&self.file);
        file.and_then(|file| file.set_len(cut))
            .map_err(|e| e.to_string())
    }

    /// A request through the router, as a client on the bridge's own
    /// machine makes it: its status and JSON.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let router = self.router.clone();
        let request = request(method, path, body)?;
        self.runtime
            .block_on(answer_of(router, request, path.to_owned()))
    }

    /// `GET path`, which must succeed: its JSON.
    pub fn get(&self, path: &str) -> Result<Value, String> {
        match self.call("GET", path, None)? {
            (200, value) => Ok(value),
            (status, value) => Err(format!("GET {path}: {status} {value}")),
        }
    }

    /// A witness: a stream of both channels, opened before an operation.
    pub fn witness(&self) -> Result<Subscription, String> {
        let listen = listen_of(2);
        self.hub.subscribe(&listen, None).map_err(|e| e.to_string())
    }

    /// What the witness saw (every change's frame, in order), and it let go.
    pub fn witnessed(&self, mut witness: Subscription) -> Result<Vec<Event>, String> {
        let mut events = Vec::new();
        loop {
            match witness.live.try_recv() {
                Ok(frame) => events.extend(events_of(&frame.bytes)),
                Err(mock_bridge::hub::FeedError::Empty) => break,
                Err(error) => return Err(format!("the witness stream: {error:?}")),
            }
        }
        let mailbox = witness.live.mailbox();
        drop(witness);
        self.hub.release(&listen_of(2), mailbox);
        Ok(events.into_iter().filter(|e| e.name != "status").collect())
    }
}

/// A request with a JSON body, from the bridge's own machine.
pub fn request(
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<axum::http::Request<Body>, String> {
    let builder = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1");
    let request = match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    };
    request.map_err(|e| e.to_string())
}

/// The status and JSON (`Null` without one) of `request` through `router`.
pub async fn answer_of(
    router: axum::Router,
    request: axum::http::Request<Body>,
    path: String,
) -> Result<(u16, Value), String> {
    let response = router.oneshot(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|e| e.to_string())?;
    if body.is_empty() {
        return Ok((status, Value::Null));
    }
    let value = serde_json::from_slice(&body).map_err(|e| format!("{path}: {e}"))?;
    Ok((status, value))
}
