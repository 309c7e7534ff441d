//! The bridge's shared state: channels, gateway, heartbeats, faults, connections.

use crate::clock::rfc3339_ms;
use crate::config::Config;
use crate::connections::Connections;
use crate::history::ChannelLog;
use crate::message::{Message, NewMessage};
use crate::persist::HistoryFile;
use crate::snowflake::{now_ms, Snowflakes};
use axum::http::StatusCode;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Frames a channel's broadcast keeps for subscribers that are a little behind.
const CHANNEL_BROADCAST_CAPACITY: usize = 1_024;

/// A frame ready for the wire, shared by every subscriber.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The message id, for `message` frames (replay and live are deduplicated by it).
    pub id: Option<u64>,
    /// The bytes, ending in a blank line.
    pub bytes: Bytes,
}

/// The simulated upstream gateway's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gateway {
    Connected,
    Reconnecting,
    Disconnected,
}

/// A fault injected into new event-stream requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Answer with this status.
    Reject(StatusCode),
    /// Accept and send nothing at all.
    Stall,
}

struct Channel {
    log: ChannelLog,
    live: broadcast::Sender<Frame>,
}

/// What a new stream starts with.
pub struct Subscription {
    /// `retry:`, `status`, then the replay (or `resync`), as one chunk.
    pub prefix: Bytes,
    /// The id the stream is caught up to.
    pub caught_up_to: u64,
    /// The channel's live frames: its messages, and the status and heartbeat
    /// frames every channel gets.
    pub live: broadcast::Receiver<Frame>,
}

/// The shared state, one per bridge.
pub struct Hub {
    /// The configuration it runs with.
    pub config: Config,
    /// Issues message ids.
    ids: Snowflakes,
    /// Per-channel history and live broadcast. One lock makes "append and
    /// broadcast" and "subscribe and snapshot" atomic with each other, which is
    /// what makes replay-then-live gap-free and duplicate-free. Status and
    /// heartbeat frames go into every channel's broadcast under it too, so a
    /// stream has one feed to wait on, and a status change cannot fall between
    /// a new stream's first status and its feed.
    channels: Mutex<HashMap<String, Channel>>,
    /// The current gateway state, for streams that open later. Changed only
    /// under the channels lock.
    gateway: Mutex<Gateway>,
    /// Heartbeats paused through the control API.
    pub heartbeats_paused: AtomicBool,
    /// The fault applied to new streams.
    fault: Mutex<Fault>,
    /// Open streams and close counts.
    pub connections: Connections,
    /// Cancelled when the bridge shuts down; every stream ends on it.
    pub shutdown: CancellationToken,
    /// The history file, when persistence is on.
    file: Option<Mutex<HistoryFile>>,
    /// When the bridge started (for `PING_STOP_AFTER_SECONDS`).
    pub started: Instant,
}

/// Why a message could not be stored.
#[derive(Debug, thiserror::Error)]
#[error("could not append to the history file {path}: {source}")]
pub struct PersistError {
    path: String,
    source: std::io::Error,
}

impl Hub {
    /// Builds the hub, loading the history file if configured.
    pub fn new(config: Config, shutdown: CancellationToken) -> std::io::Result<Hub> {
        let mut channels: HashMap<String, Channel> = HashMap::new();
        let capacity = config.history_per_channel as usize;
        let (file, loaded) = match &config.history_file {
            Some(path) => {
                let (file, loaded) = HistoryFile::open(path)?;
                tracing::info!(path = %path.display(), messages = loaded.len(), "history file loaded");
                (Some(Mutex::new(file)), loaded)
            }
            None => (None, Vec::new()),
        };
        let floor = loaded.iter().map(|m| m.id).max().unwrap_or(0);
        for message in loaded {
            let channel = channels
                .entry(message.channel_id.clone())
                .or_insert_with(|| Channel::new(capacity));
            channel.log.push(Arc::new(message));
        }
        Ok(Hub {
            ids: Snowflakes::starting_above(floor),
            channels: Mutex::new(channels),
            gateway: Mutex::new(Gateway::Connected),
            heartbeats_paused: AtomicBool::new(false),
            fault: Mutex::new(Fault::None),
            connections: Connections::default(),
            shutdown,
            file,
            started: Instant::now(),
            config,
        })
    }

    /// Stores a message, appends it to the file, and broadcasts it.
    pub fn publish(&self, channel_id: &str, new: NewMessage) -> Result<Arc<Message>, PersistError> {
        let mut channels = self.channels.lock().unwrap();
        let message = Arc::new(Message {
            id: self.ids.next(),
            channel_id: channel_id.to_owned(),
            author: new.author,
            content: new.content,
            timestamp: rfc3339_ms(now_ms()),
        });
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap();
            file.append(&message).map_err(|source| PersistError {
                path: file.path().display().to_string(),
                source,
            })?;
        }
        let capacity = self.config.history_per_channel as usize;
        let channel = channels
            .entry(channel_id.to_owned())
            .or_insert_with(|| Channel::new(capacity));
        channel.log.push(message.clone());
        let _ = channel.live.send(Frame {
            id: Some(message.id),
            bytes: message.frame(),
        });
        Ok(message)
    }

    /// Sends a raw frame to a channel's streams (test knob for malformed events).
    pub fn broadcast_raw(&self, channel_id: &str, bytes: Bytes) -> usize {
        let channels = self.channels.lock().unwrap();
        channels
            .get(channel_id)
            .map_or(0, |c| c.live.send(Frame { id: None, bytes }).unwrap_or(0))
    }

    /// Answers a history query.
    pub fn history(
        &self,
        channel_id: &str,
        query: crate::history::HistoryQuery,
    ) -> Vec<Arc<Message>> {
        let channels = self.channels.lock().unwrap();
        channels
            .get(channel_id)
            .map_or_else(Vec::new, |c| c.log.query(query))
    }

    /// Whether a channel holds no messages (for demo seeding).
    pub fn is_empty(&self, channel_id: &str) -> bool {
        self.channels
            .lock()
            .unwrap()
            .get(channel_id)
            .is_none_or(|c| c.log.is_empty())
    }

    /// Subscribes a new stream: under the channel lock, the gateway state, the
    /// live feed and the replay snapshot.
    pub fn subscribe(&self, channel_id: &str, last_event_id: Option<u64>) -> Subscription {
        let mut prefix = format!("retry: {}\n\n", self.config.retry_ms).into_bytes();
        let capacity = self.config.history_per_channel as usize;
        let mut channels = self.channels.lock().unwrap();
        prefix.extend_from_slice(&self.status_frame(self.gateway()));
        let channel = channels
            .entry(channel_id.to_owned())
            .or_insert_with(|| Channel::new(capacity));
        let live = channel.live.subscribe();
        let mut caught_up_to = 0;
        if let Some(last) = last_event_id {
            caught_up_to = last;
            match channel.log.replay_after(last) {
                Some(replay) => {
                    for message in replay {
                        prefix.extend_from_slice(&message.frame());
                        caught_up_to = message.id;
                    }
                }
                None => prefix.extend_from_slice(&resync_frame("history_gap")),
            }
        }
        drop(channels);
        Subscription {
            prefix: prefix.into(),
            caught_up_to,
            live,
        }
    }

    pub fn gateway(&self) -> Gateway {
        *self.gateway.lock().unwrap()
    }

    /// Changes the gateway state and tells every stream.
    pub fn set_gateway(&self, gateway: Gateway) {
        let channels = self.channels.lock().unwrap();
        *self.gateway.lock().unwrap() = gateway;
        to_every_channel(&channels, self.status_frame(gateway));
        drop(channels);
        tracing::info!(?gateway, "gateway state changed");
    }

    /// Sends a heartbeat to every stream, unless paused or past `PING_STOP_AFTER_SECONDS`.
    pub fn heartbeat(&self) {
        if self.heartbeats_paused.load(Ordering::Relaxed) {
            return;
        }
        if self
            .config
            .ping_stop_after
            .is_some_and(|after| self.started.elapsed() >= after)
        {
            return;
        }
        let bytes = Bytes::from(format!(
            "event: heartbeat\ndata: {{\"ts\":{}}}\n\n",
            now_ms()
        ));
        to_every_channel(&self.channels.lock().unwrap(), bytes);
    }

    pub fn fault(&self) -> Fault {
        *self.fault.lock().unwrap()
    }

    pub fn set_fault(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
        tracing::info!(?fault, "event-stream fault set");
    }

    fn status_frame(&self, gateway: Gateway) -> Bytes {
        let interval_ms = self.config.heartbeat_interval.as_millis();
        let gateway = serde_json::to_string(&gateway).expect("enum serialises");
        Bytes::from(format!(
            "event: status\ndata: {{\"gateway\":{gateway},\"heartbeat_interval_ms\":{interval_ms}}}\n\n"
        ))
    }
}

impl Channel {
    fn new(capacity: usize) -> Channel {
        Channel {
            log: ChannelLog::new(capacity),
            live: broadcast::channel(CHANNEL_BROADCAST_CAPACITY).0,
        }
    }
}

/// Sends a frame without an id to every channel's streams.
fn to_every_channel(channels: &HashMap<String, Channel>, bytes: Bytes) {
    for channel in channels.values() {
        // No receivers is not an error here: nobody is listening on that channel.
        let _ = channel.live.send(Frame {
            id: None,
            bytes: bytes.clone(),
        });
    }
}

/// A `resync` frame.
pub fn resync_frame(reason: &str) -> Bytes {
    Bytes::from(format!(
        "event: resync\ndata: {{\"reason\":\"{reason}\"}}\n\n"
    ))
}
