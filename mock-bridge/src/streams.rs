//! A record per open stream, and counts of why streams ended. (TCP connections,
//! streams or not, are counted by the accept loop in [`crate::server`].)

use crate::users::Identity;
use serde::Serialize;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Why a stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed it (its end of the connection sent a FIN).
    ClientClosed,
    /// The bridge ended it on request (`/internal/disconnect`). Earlier
    /// releases called this `server_closed`.
    Kicked,
    /// The token it was opened with was revoked (`DELETE /internal/users`).
    AuthExpired,
    /// The connection failed: a write to the client failed, the kernel gave
    /// up on unacknowledged data (`--dead-client`), a reset, or bytes the
    /// client should never send.
    Error,
    /// The client fell too far behind.
    Lagged,
    /// The bridge is shutting down.
    Shutdown,
}

impl CloseReason {
    const ALL: [CloseReason; 6] = [
        CloseReason::ClientClosed,
        CloseReason::Kicked,
        CloseReason::AuthExpired,
        CloseReason::Error,
        CloseReason::Lagged,
        CloseReason::Shutdown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "client_closed",
            CloseReason::Kicked => "kicked",
            CloseReason::AuthExpired => "auth_expired",
            CloseReason::Error => "error",
            CloseReason::Lagged => "lagged",
            CloseReason::Shutdown => "shutdown",
        }
    }

    fn index(self) -> usize {
        CloseReason::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or(3)
    }
}

/// How a stream is served (see [`crate::stream`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    /// Straight on the socket: the connection's first request.
    Direct,
    /// Through hyper and the router: a stream asked for on a connection that served other requests first.
    Router,
}

impl Served {
    pub fn as_str(self) -> &'static str {
        match self {
            Served::Direct => "direct",
            Served::Router => "router",
        }
    }
}

/// The channels a stream carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    /// `GET /api/channels/{channel}/events`.
    One(String),
    /// `GET /api/events?channels=…`: distinct names, in the order asked.
    Many(Vec<String>),
}

impl Listen {
    pub fn names(&self) -> &[String] {
        match self {
            Listen::One(name) => std::slice::from_ref(name),
            Listen::Many(names) => names,
        }
    }

    pub fn contains(&self, channel: &str) -> bool {
        self.names().iter().any(|name| name == channel)
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

/// One open stream.
#[derive(Debug)]
pub struct StreamRecord {
    /// Unique per process.
    pub id: u64,
    /// The channels streamed.
    pub channels: Listen,
    /// When it opened (RFC 3339), for the report.
    pub opened_at: String,
    /// When it opened, for the duration logged at close.
    pub opened: std::time::Instant,
    /// The id of the last message sent on it (0 before any).
    pub last_event_id: AtomicU64,
    /// Cancelled to end this stream from the server side; a child of the
    /// bridge's shutdown token, so it is cancelled by shutdown too.
    pub cancel: CancellationToken,
    /// The client's address, when known, for the per-client limit.
    pub peer: Option<IpAddr>,
    /// How it is served.
    pub served: Served,
    /// Who opened it, with `--users`.
    pub identity: Option<Arc<Identity>>,
    /// The person it counts for in presence: the token's user, or without
    /// `--users` the stream URL's `as=` name; `None`: anonymous.
    pub person: Option<Arc<str>>,
    /// The client's address and port, when known (for the callbacks).
    pub remote: Option<SocketAddr>,
    /// Its person's own frames (read markers), when it has a person.
    pub inbox: Option<Arc<crate::inbox::Inbox>>,
    /// Why the bridge ends it, when it does on purpose (kicked, or its
    /// sign-in expired): set before its token is cancelled. 0: not set.
    ended_by: AtomicU8,
}

impl StreamRecord {
    /// Why the bridge ended this stream on purpose, if it did.
    pub fn ended_by(&self) -> Option<CloseReason> {
        let index = self.ended_by.load(Ordering::Relaxed) as usize;
        index.checked_sub(1).map(|i| CloseReason::ALL[i])
    }

    /// Ends the stream from the bridge's side, saying why.
    pub fn end(&self, reason: CloseReason) {
        let code = reason.index() as u8 + 1;
        let _ = (self.ended_by).compare_exchange(0, code, Ordering::Relaxed, Ordering::Relaxed);
        self.cancel.cancel();
    }
}

/// What a new stream is: registered by [`Streams::open`].
pub struct NewStream {
    pub channels: Listen,
    pub remote: Option<SocketAddr>,
    pub served: Served,
    pub identity: Option<Arc<Identity>>,
    pub person: Option<Arc<str>>,
    pub inbox: Option<Arc<crate::inbox::Inbox>>,
}

#[derive(Debug, Default)]
struct Active {
    records: HashMap<u64, Arc<StreamRecord>>,
    /// Open streams per client address.
    per_peer: HashMap<IpAddr, usize>,
}

/// Every open stream, and the totals.
#[derive(Debug, Default)]
pub struct Streams {
    next_id: AtomicU64,
    active: Mutex<Active>,
    opened_total: AtomicU64,
    closed: [AtomicU64; 6],
    /// Woken when the last open stream closes.
    idle: tokio::sync::Notify,
}

/// A client already holds as many streams as it may.
#[derive(Debug, thiserror::Error)]
#[error("{peer} already holds {limit} open streams, the most one client may hold")]
pub struct TooManyStreams {
    pub peer: IpAddr,
    pub limit: usize,
}

#[derive(Serialize)]
pub struct ActiveReport {
    id: u64,
    /// A single-channel stream's channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<String>,
    /// A multi-channel stream's channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    channels: Option<Vec<String>>,
    opened_at: String,
    last_event_id: String,
    served: &'static str,
    /// The person it counts for: the signed-in user's name (never the
    /// token), or without `--users` its `as=` name.
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
}

impl Streams {
    /// Registers a new stream, unless its client already holds `limit`
    /// streams (0: no limit).
    pub fn open(
        &self,
        new: NewStream,
        limit: usize,
        shutdown: &CancellationToken,
    ) -> Result<Arc<StreamRecord>, TooManyStreams> {
        let mut active = self.active.lock().unwrap();
        let peer = new.remote.map(|remote| remote.ip());
        if let Some(peer) = peer {
            let held = active.per_peer.entry(peer).or_default();
            if limit > 0 && *held >= limit {
                return Err(TooManyStreams { peer, limit });
            }
            *held += 1;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let record = Arc::new(StreamRecord {
            id,
            channels: new.channels,
            opened_at: crate::clock::rfc3339_ms(crate::snowflake::now_ms()),
            opened: std::time::Instant::now(),
            last_event_id: AtomicU64::new(0),
            cancel: shutdown.child_token(),
            peer,
            served: new.served,
            identity: new.identity,
            person: new.person,
            remote: new.remote,
            inbox: new.inbox,
            ended_by: AtomicU8::new(0),
        });
        active.records.insert(id, record.clone());
        self.opened_total.fetch_add(1, Ordering::Relaxed);
        Ok(record)
    }

    /// Forgets a stream that never opened (its connect callback refused
    /// it): no close is counted, and it was never counted as opened.
    pub fn discard(&self, id: u64) {
        if self.remove(id) {
            self.opened_total.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Forgets a stream and counts why it ended.
    pub fn close(&self, id: u64, reason: CloseReason) {
        if self.remove(id) {
            self.closed[reason.index()].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes a record out of the open ones; whether it was there.
    fn remove(&self, id: u64) -> bool {
        let mut active = self.active.lock().unwrap();
        let Some(record) = active.records.remove(&id) else {
            return false;
        };
        if let Some(peer) = record.peer {
            if let Some(held) = active.per_peer.get_mut(&peer) {
                *held -= 1;
                if *held == 0 {
                    active.per_peer.remove(&peer);
                }
            }
        }
        let idle = active.records.is_empty();
        drop(active);
        if idle {
            self.idle.notify_waiters();
        }
        true
    }

    /// Ends the streams that carry `channel` (all when `None`), as
    /// `kicked`; returns how many.
    pub fn disconnect(&self, channel: Option<&str>) -> usize {
        let active = self.active.lock().unwrap();
        let chosen = active
            .records
            .values()
            .filter(|r| channel.is_none_or(|c| r.channels.contains(c)));
        chosen.map(|record| record.end(CloseReason::Kicked)).count()
    }

    /// Ends the streams opened with `token` (it was revoked), as
    /// `auth_expired`; returns how many.
    pub fn disconnect_token(&self, token: &str) -> usize {
        let active = self.active.lock().unwrap();
        (active.records.values())
            .filter(|r| r.identity.as_ref().is_some_and(|i| i.token == token))
            .map(|record| record.end(CloseReason::AuthExpired))
            .count()
    }

    /// Resolves once no stream is open (at once if none is).
    pub async fn all_closed(&self) {
        loop {
            let mut notified = std::pin::pin!(self.idle.notified());
            // Registered before the check, so a close in between is not missed.
            notified.as_mut().enable();
            if self.active_count() == 0 {
                return;
            }
            notified.await;
        }
    }

    pub fn active_count(&self) -> usize {
        self.active.lock().unwrap().records.len()
    }

    /// The `/internal/connections` report.
    pub fn report(&self) -> serde_json::Value {
        let mut active: Vec<ActiveReport> = (self.active.lock().unwrap().records.values())
            .map(|r| ActiveReport {
                id: r.id,
                channel: match &r.channels {
                    Listen::One(name) => Some(name.clone()),
                    Listen::Many(_) => None,
                },
                channels: match &r.channels {
                    Listen::One(_) => None,
                    Listen::Many(names) => Some(names.clone()),
                },
                opened_at: r.opened_at.clone(),
                last_event_id: r.last_event_id.load(Ordering::Relaxed).to_string(),
                served: r.served.as_str(),
                user: r.person.as_deref().map(str::to_owned),
            })
            .collect();
        active.sort_by_key(|r| r.id);
        let closed: serde_json::Map<String, serde_json::Value> =
            (CloseReason::ALL.iter().zip(&self.closed))
                .map(|(reason, count)| {
                    (
                        reason.as_str().to_owned(),
                        count.load(Ordering::Relaxed).into(),
                    )
                })
                .collect();
        // The contract's report names a kick `server_closed` (the
        // disconnect callback's reason is `kicked`): both keys, one count.
        let mut closed = closed;
        if let Some(kicked) = closed.get("kicked").cloned() {
            closed.insert("server_closed".to_owned(), kicked);
        }
        serde_json::json!({
            "active": active,
            "opened_total": self.opened_total.load(Ordering::Relaxed),
            "closed": closed,
        })
    }
}
