//! The bridge's shared state: channels, gateway, heartbeats, faults, open streams.
//!
//! A channel exists only while it has something to remember (messages, or
//! changes and a cut: deletions a reader who was away must still hear of) or
//! listeners, and there are at most `--max-channels` of them: asking for a
//! name that never held anything creates nothing that outlives the request.

use crate::clock::rfc3339_ms;
use crate::config::Config;
use crate::error::ApiError;
use crate::history::{ChannelLog, Record};
use crate::message::{Change, Message};
use crate::persist::HistoryFile;
use crate::reactions::{Answered, Toggle};
use crate::retries::{ByClientId, Reply};
use crate::snowflake::{now_ms, Snowflakes};
use crate::sse::{self, Resync};
use crate::streams::{Listen, Streams};
use crate::users::Users;
use axum::http::StatusCode;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

mod commit;
pub use commit::Created;

/// Frames a channel's broadcast keeps for subscribers that are a little behind.
const CHANNEL_BROADCAST_CAPACITY: usize = 1_024;

/// A frame ready for the wire, shared by every subscriber.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The change id, for `message` frames and the changes' frames
    /// (`message_update`, `message_delete`, `reaction`): replay and live are
    /// deduplicated by it.
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
    /// Answer with this status.
    Reject(StatusCode),
    /// Accept and send nothing at all.
    Stall,
}

struct Channel {
    log: ChannelLog,
    /// Single-channel streams' feed.
    live: broadcast::Sender<Frame>,
    /// The mailboxes of the multi-channel streams that carry this channel.
    mailboxes: Vec<u64>,
}

/// The sending end of a multi-channel stream's mailbox.
///
/// A multi-channel stream cannot wait on its channels' broadcasts: it would
/// get every status and heartbeat once per channel, and frames of different
/// channels in no defined order. Its mailbox gets each frame of its channels
/// as it is published, so in id order across them, and each status and
/// heartbeat once. The queue grows as it fills (in blocks), unlike a
/// broadcast ring; a full one marks its stream as lagged.
struct Mailbox {
    frames: mpsc::Sender<Frame>,
    lagged: Arc<AtomicBool>,
}

impl Mailbox {
    fn send(&self, frame: Frame) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.frames.try_send(frame) {
            self.lagged.store(true, Ordering::Relaxed);
        }
    }
}

/// Where a stream's live frames come from.
pub enum Feed {
    /// A single-channel stream: its channel's broadcast.
    Channel(broadcast::Receiver<Frame>),
    /// A multi-channel stream: its own mailbox.
    Mailbox {
        id: u64,
        frames: mpsc::Receiver<Frame>,
        lagged: Arc<AtomicBool>,
    },
}

/// Why a feed gave no frame.
#[derive(Debug, PartialEq, Eq)]
pub enum FeedError {
    /// Frames were dropped for this stream: it fell too far behind.
    Lagged,
    /// Nothing is waiting (`try_recv` only).
    Empty,
    /// The feed ended.
    Closed,
}

impl Feed {
    /// The next frame.
    pub async fn recv(&mut self) -> Result<Frame, FeedError> {
        match self {
            Feed::Channel(live) => live.recv().await.map_err(|error| match error {
                broadcast::error::RecvError::Lagged(_) => FeedError::Lagged,
                broadcast::error::RecvError::Closed => FeedError::Closed,
            }),
            Feed::Mailbox { frames, lagged, .. } => {
                let frame = frames.recv().await.ok_or(FeedError::Closed)?;
                Feed::unless_lagged(lagged, frame)
            }
        }
    }

    /// The next frame, if one is waiting.
    pub fn try_recv(&mut self) -> Result<Frame, FeedError> {
        match self {
            Feed::Channel(live) => live.try_recv().map_err(|error| match error {
                broadcast::error::TryRecvError::Lagged(_) => FeedError::Lagged,
                broadcast::error::TryRecvError::Empty => FeedError::Empty,
                broadcast::error::TryRecvError::Closed => FeedError::Closed,
            }),
            Feed::Mailbox { frames, lagged, .. } => {
                let frame = frames.try_recv().map_err(|error| match error {
                    mpsc::error::TryRecvError::Empty => FeedError::Empty,
                    mpsc::error::TryRecvError::Disconnected => FeedError::Closed,
                })?;
                Feed::unless_lagged(lagged, frame)
            }
        }
    }

    /// Once a mailbox has dropped a frame, nothing more of it may go out: the
    /// stream ends as lagged, and its client resumes from the last id it got.
    fn unless_lagged(lagged: &AtomicBool, frame: Frame) -> Result<Frame, FeedError> {
        if lagged.load(Ordering::Relaxed) {
            Err(FeedError::Lagged)
        } else {
            Ok(frame)
        }
    }

    /// The mailbox to take down when the stream ends, if it has one.
    pub fn mailbox(&self) -> Option<u64> {
        match self {
            Feed::Channel(_) => None,
            Feed::Mailbox { id, .. } => Some(*id),
        }
    }
}

/// What a new stream starts with.
pub struct Subscription {
    /// `retry:`, `status`, and a `resync` when it cannot be replayed.
    pub prefix: Bytes,
    /// The messages to replay, oldest first: shared with the channel's log,
    /// serialised only as they are written, and let go as they are.
    pub replay: Vec<Record>,
    /// The id the stream is caught up to once the replay is out.
    pub caught_up_to: u64,
    /// The newest change id its channels know of as it subscribed: where a
    /// client without a cursor starts live (every later change is above it).
    pub newest: u64,
    /// The live frames: messages, and the status and heartbeat frames every
    /// stream gets.
    pub live: Feed,
}

/// The shared state, one per bridge.
pub struct Hub {
    /// The configuration it runs with.
    pub config: Config,
    /// Issues message ids.
    ids: Snowflakes,
    /// Storing, a group of new messages or one change at a time: ids are
    /// issued, written to the history file (when there is one) and added to
    /// their channels in one order. Held across the disk write, so that the
    /// channels lock never is: a slow disk holds up publishers only, never
    /// streams or heartbeats.
    writer: Mutex<Option<HistoryFile>>,
    /// The queue of new messages to the writer task that stores them in
    /// groups, with a history file (see [`commit`]); started with the first.
    creations: std::sync::OnceLock<mpsc::UnboundedSender<commit::Queued>>,
    /// Per-channel history and live broadcast. One lock makes "append and
    /// broadcast" and "subscribe and snapshot" atomic with each other, which is
    /// what makes replay-then-live gap-free and duplicate-free. Status and
    /// heartbeat frames go into every channel's broadcast under it too, so a
    /// stream has one feed to wait on, and a status change cannot fall between
    /// a new stream's first status and its feed. Nothing slow happens under it.
    channels: Mutex<HashMap<String, Channel>>,
    /// Multi-channel streams' mailboxes, by id. Locked only while the
    /// channels lock is held, so both are one state.
    mailboxes: Mutex<HashMap<u64, Mailbox>>,
    next_mailbox: AtomicU64,
    /// The current gateway state, for streams that open later. Changed only
    /// under the channels lock.
    gateway: Mutex<Gateway>,
    /// Heartbeats paused through the control API (a zombie upstream).
    heartbeats_paused: AtomicBool,
    /// The fault applied to new streams, if any.
    fault: Mutex<Option<Fault>>,
    /// Posted messages by their client ids, so that a retried post gets its
    /// original (or 410, deleted since). Taken only under the writer lock.
    posted: Mutex<ByClientId<Reply>>,
    /// Readers' edits and deletions by client id: a retried one is answered
    /// as it was, never applied twice.
    changed_by: Mutex<ByClientId<Arc<Change>>>,
    /// How many of the next posts lose their answer after storing (a test
    /// knob: the client cannot tell whether its message was stored).
    pub drop_post_answers: AtomicU64,
    /// How many of the next posts are turned away unstored, and with which
    /// status (408, 429, 503…): a busy bridge, which a client must retry.
    pub busy_posts: AtomicU64,
    pub busy_status: std::sync::atomic::AtomicU16,
    /// A slow disk (a test knob): every write to the history file (one per
    /// group of new messages, or per change) takes this much longer,
    /// holding the writer lock as a slow write or fsync does.
    pub disk_delay_ms: AtomicU64,
    /// Open streams and close counts.
    pub streams: Streams,
    /// Who may read, with `--users`; `None`: anyone.
    pub users: Option<Arc<Users>>,
    /// Cancelled when the bridge shuts down; every stream ends on it.
    pub shutdown: CancellationToken,
    /// When the bridge started (for `PING_STOP_AFTER_SECONDS`).
    pub started: Instant,
}

/// Why a message was not stored. Each is the bridge's own trouble, not the
/// client's, and answers 503: nothing is acknowledged that was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("could not append to the history file {path}: {source}")]
    Persist {
        path: String,
        source: std::io::Error,
    },
    #[error("message ids are used up: the newest stored id is the largest there is")]
    IdsExhausted,
    #[error(transparent)]
    Channels(#[from] TooManyChannels),
    #[error("the bridge is shutting down")]
    ShuttingDown,
}

impl From<PublishError> for ApiError {
    fn from(error: PublishError) -> Self {
        tracing::error!(%error, "message not stored");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
    }
}

/// Why a change to a message was not made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("channel {channel:?} holds no message {id}")]
    NotFound { channel: String, id: u64 },
    #[error("message {0} is someone else's: only its author may change it")]
    NotYours(u64),
    #[error("this client_id was already used for another change")]
    ClientIdReused,
    #[error(transparent)]
    TooManyEmoji(#[from] crate::reactions::TooManyEmoji),
    #[error("{}", .0.message)]
    TooLarge(ApiError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

impl From<ChangeError> for ApiError {
    fn from(error: ChangeError) -> Self {
        match error {
            ChangeError::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, error.to_string()),
            ChangeError::NotYours(_) => ApiError::new(StatusCode::FORBIDDEN, error.to_string()),
            ChangeError::ClientIdReused => ApiError::new(StatusCode::CONFLICT, error.to_string()),
            ChangeError::TooManyEmoji(_) => ApiError::bad_request(error.to_string()),
            ChangeError::TooLarge(error) => error,
            ChangeError::Publish(error) => error.into(),
        }
    }
}

/// Who asks for a change: the control API (playing Discord: any message), or
/// a reader (their own messages only).
#[derive(Clone, Debug)]
pub enum Actor {
    Control,
    Reader(String),
}

/// What a change does to a message.
#[derive(Clone, Debug)]
pub enum Edit {
    Content(String),
    Delete,
    React {
        emoji: String,
        user: String,
        add: bool,
    },
}

/// Why a client's post was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("this client_id was already used for a message in channel {0:?}")]
    ElsewhereAlready(String),
    #[error("this reply was stored as message {0} and has since been deleted")]
    Deleted(u64),
}

impl From<PostError> for ApiError {
    fn from(error: PostError) -> Self {
        match error {
            PostError::Publish(error) => error.into(),
            PostError::Deleted(_) => ApiError::new(StatusCode::GONE, error.to_string()),
            other => ApiError::new(StatusCode::CONFLICT, other.to_string()),
        }
    }
}

/// A new channel would pass `--max-channels`.
#[derive(Debug, thiserror::Error)]
#[error("the bridge already holds {limit} channels, the most it may; try again later")]
pub struct TooManyChannels {
    limit: u64,
}

impl From<TooManyChannels> for ApiError {
    fn from(error: TooManyChannels) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
    }
}

impl Hub {
    /// Builds the hub, loading the history file if configured and compacting
    /// it to what is retained.
    pub fn new(config: Config, shutdown: CancellationToken) -> std::io::Result<Hub> {
        let capacity = config.history_per_channel as usize;
        let mut channels = HashMap::new();
        let (mut writer, mut floor) = (None, 0);
        let (mut posted, mut changed_by) = Default::default();
        if let Some(path) = &config.history_file {
            let restored = crate::restore::load(path, config.history_fsync, capacity)?;
            channels = (restored.logs.into_iter())
                .map(|(name, log)| (name, Channel::with_log(log)))
                .collect();
            (writer, floor) = (Some(restored.file), restored.floor);
            (posted, changed_by) = (restored.posted, restored.changed);
        }
        let users = match &config.users {
            Some(path) => Some(Arc::new(Users::load(path).map_err(|problem| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, problem)
            })?)),
            None => None,
        };
        Ok(Hub {
            users,
            ids: Snowflakes::starting_above(floor),
            writer: Mutex::new(writer),
            creations: std::sync::OnceLock::new(),
            channels: Mutex::new(channels),
            mailboxes: Mutex::default(),
            next_mailbox: AtomicU64::new(0),
            gateway: Mutex::new(Gateway::Connected),
            heartbeats_paused: AtomicBool::new(false),
            fault: Mutex::new(None),
            posted: Mutex::new(posted),
            changed_by: Mutex::new(changed_by),
            drop_post_answers: AtomicU64::new(0),
            busy_posts: AtomicU64::new(0),
            busy_status: std::sync::atomic::AtomicU16::new(429),
            disk_delay_ms: AtomicU64::new(0),
            streams: Streams::default(),
            shutdown,
            started: Instant::now(),
            config,
        })
    }

    /// Changes a message (an edit, a deletion, a reaction): appended to the
    /// history file, applied, and broadcast with its change id. With a
    /// history file, on a thread where blocking on the disk is fine; without
    /// one, here and now (as [`Hub::publish_async`]).
    pub async fn change_async(
        self: &Arc<Self>,
        channel_id: String,
        message_id: u64,
        edit: Edit,
        actor: Actor,
        client_id: Option<String>,
    ) -> Result<Changed, ChangeError> {
        if self.config.history_file.is_none() {
            return self.change(&channel_id, message_id, edit, &actor, client_id);
        }
        let hub = self.clone();
        let changed = tokio::task::spawn_blocking(move || {
            hub.change(&channel_id, message_id, edit, &actor, client_id)
        })
        .await;
        changed.map_err(|_| ChangeError::Publish(PublishError::ShuttingDown))?
    }

    /// [`Hub::change_async`], here and now. Edits and deletions by a
    /// reader must be of their own messages; a reaction is anyone's to toggle
    /// (as its `user`). A change with a `client_id` seen before (a retry
    /// after a lost answer) is not made again: the first one answers. A
    /// reaction that would change nothing (there already, or not there to
    /// take back) is not made either: it answers the state as it is.
    pub fn change(
        &self,
        channel_id: &str,
        message_id: u64,
        edit: Edit,
        actor: &Actor,
        client_id: Option<String>,
    ) -> Result<Changed, ChangeError> {
        let mut writer = self.writer.lock().unwrap();
        if let Some(done) = (client_id.as_deref()).and_then(|c| {
            let changed_by = self.changed_by.lock().unwrap();
            changed_by.get(c).cloned()
        }) {
            if done.message_id() == message_id && done.channel_id() == channel_id {
                return Ok(self.answered_again(done));
            }
            return Err(ChangeError::ClientIdReused);
        }
        let current = self.held(channel_id, message_id)?;
        if let (Actor::Reader(who), Edit::Content(_) | Edit::Delete) = (actor, &edit) {
            if current.author != *who {
                return Err(ChangeError::NotYours(message_id));
            }
        }
        if let Edit::React { emoji, user, add } = &edit {
            let channels = self.channels.lock().unwrap();
            let would = (channels.get(channel_id))
                .and_then(|channel| channel.log.would_react(message_id, emoji, user, *add));
            if let Some(Toggle::Nothing) = would.transpose()? {
                return Ok(Changed::Unchanged {
                    now: current,
                    emoji: emoji.clone(),
                    user: user.clone(),
                    holds: *add,
                });
            }
        }
        let id = self.ids.next().ok_or(PublishError::IdsExhausted)?;
        let change = Arc::new(made_of(&current, id, edit, client_id)?);
        // Let go of it before it changes: the log then changes it in place
        // rather than copy it (see `ChannelLog::apply`).
        drop(current);
        let mut made = self.commit(&mut writer, channel_id, vec![change.clone()])?;
        if let Some(client_id) = change.client_id() {
            let mut changed_by = self.changed_by.lock().unwrap();
            changed_by.insert(client_id.to_owned(), change.clone());
        }
        let now = made.pop().flatten();
        Ok(Changed::Made { change, now })
    }

    /// A retried change's answer, as the first one's: a deletion's; an
    /// edit's message as the edit made it, with its reactions as they are
    /// now when it is still held (the edit kept none).
    fn answered_again(&self, done: Arc<Change>) -> Changed {
        let now = match &*done {
            Change::Update { message, .. } => {
                let mut answer = Message::clone(message);
                if let Ok(held) = self.held(&message.channel_id, message.id) {
                    answer
                        .revision
                        .reactions
                        .clone_from(&held.revision.reactions);
                    answer.revision.reactions_version = held.revision.reactions_version;
                }
                Some(Arc::new(answer))
            }
            _ => None,
        };
        Changed::Made { change: done, now }
    }

    /// The message `id` of a channel, held now.
    fn held(&self, channel_id: &str, id: u64) -> Result<Arc<Message>, ChangeError> {
        (self.channels.lock().unwrap().get(channel_id))
            .and_then(|channel| channel.log.get(id).cloned())
            .ok_or_else(|| ChangeError::NotFound {
                channel: channel_id.to_owned(),
                id,
            })
    }

    /// Deletes messages of a channel all at once, or none: each must be held
    /// (else `NotFound`, and nothing is deleted); a repeated id counts once.
    /// Checked and made under the writer lock, so that no other change comes
    /// between; each deletion is a change of its own.
    pub fn bulk_delete(
        &self,
        channel_id: &str,
        ids: &[u64],
    ) -> Result<Vec<Arc<Change>>, ChangeError> {
        let mut writer = self.writer.lock().unwrap();
        let mut unique: Vec<u64> = Vec::with_capacity(ids.len());
        for &id in ids {
            if !unique.contains(&id) {
                self.held(channel_id, id)?;
                unique.push(id);
            }
        }
        let mut deletions = Vec::with_capacity(unique.len());
        for message_id in unique {
            let deletion = Change::Delete {
                id: self.ids.next().ok_or(PublishError::IdsExhausted)?,
                message_id,
                channel_id: channel_id.to_owned(),
                client_id: None,
            };
            deletions.push(Arc::new(deletion));
        }
        self.commit(&mut writer, channel_id, deletions.clone())?;
        Ok(deletions)
    }

    /// [`Hub::bulk_delete`], on a thread where blocking is fine with a
    /// history file, here and now without one.
    pub async fn bulk_delete_async(
        self: &Arc<Self>,
        channel_id: String,
        ids: Vec<u64>,
    ) -> Result<Vec<Arc<Change>>, ChangeError> {
        if self.config.history_file.is_none() {
            return self.bulk_delete(&channel_id, &ids);
        }
        let hub = self.clone();
        let deleted = tokio::task::spawn_blocking(move || hub.bulk_delete(&channel_id, &ids)).await;
        deleted.map_err(|_| ChangeError::Publish(PublishError::ShuttingDown))?
    }

    /// Makes changes of one channel (under the writer lock): appended to the
    /// history file together (one line for several: all or none survive a
    /// crash), then each made (see [`ChannelLog::apply`]) and broadcast.
    /// Answers each message as it then is (`None`: deleted). A reply deleted
    /// is remembered as such, so that a retry of it answers 410.
    fn commit(
        &self,
        writer: &mut Option<HistoryFile>,
        channel_id: &str,
        changes: Vec<Arc<Change>>,
    ) -> Result<Vec<Option<Arc<Message>>>, PublishError> {
        if let Some(file) = writer.as_mut() {
            file.append_changes(&changes)
                .map_err(|source| PublishError::Persist {
                    path: file.path().display().to_string(),
                    source,
                })?;
        }
        let mut deleted_replies = Vec::new();
        let mut made = Vec::with_capacity(changes.len());
        let mut channels = self.channels.lock().unwrap();
        if let Some(channel) = channels.get_mut(channel_id) {
            for change in changes {
                if let Change::Delete { message_id, .. } = *change {
                    let held = channel.log.get(message_id);
                    deleted_replies.extend(held.and_then(|m| m.client_id.clone()));
                }
                let now = channel.log.apply(change.clone());
                let frame = Frame {
                    id: Some(change.id()),
                    bytes: sse::change(&change, now.as_deref(), sse::When::Live),
                };
                self.to_channel(channel, frame);
                made.push(now);
            }
        }
        drop(channels);
        let mut posted = self.posted.lock().unwrap();
        for client_id in deleted_replies {
            if let Some(reply) = posted.get_mut(&client_id) {
                reply.deleted = true;
            }
        }
        Ok(made)
    }

    /// How many appends the history file has had since the start, each one
    /// write and, with `--history-fsync`, one sync (0 without a file).
    pub fn history_writes(&self) -> u64 {
        (self.writer.lock().unwrap().as_ref()).map_or(0, HistoryFile::writes)
    }

    /// Whether the channel holds this message now.
    pub fn holds(&self, channel_id: &str, id: u64) -> bool {
        let channels = self.channels.lock().unwrap();
        (channels.get(channel_id)).is_some_and(|channel| channel.log.get(id).is_some())
    }

    /// Every change of a channel after `after`, coalesced (see
    /// [`ChannelLog::changes_after`]); `None`: no longer known that far back.
    pub fn changes_after(
        &self,
        channel_id: &str,
        after: u64,
        limit: usize,
        reader: Option<&str>,
    ) -> Option<crate::history::Coalesced> {
        let channels = self.channels.lock().unwrap();
        match channels.get(channel_id) {
            Some(channel) => channel.log.changes_after(after, limit, reader),
            None => Some(crate::history::Coalesced::default()),
        }
    }

    /// Refuses channels that do not exist yet when they would make more than
    /// `--max-channels`.
    fn check_room_for<'a>(
        &self,
        channels: &HashMap<String, Channel>,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), TooManyChannels> {
        let limit = self.config.max_channels;
        let new = names
            .into_iter()
            .filter(|name| !channels.contains_key(*name))
            .count();
        if new == 0 || (channels.len() + new) as u64 <= limit {
            Ok(())
        } else {
            Err(TooManyChannels { limit })
        }
    }

    /// Hands a frame to every stream of a channel: its broadcast and the
    /// mailboxes of the multi-channel streams that carry it. Returns how many
    /// streams it reached. Under the channels lock.
    fn to_channel(&self, channel: &Channel, frame: Frame) -> usize {
        let mut reached = 0;
        if !channel.mailboxes.is_empty() {
            let mailboxes = self.mailboxes.lock().unwrap();
            for mailbox in channel.mailboxes.iter().filter_map(|id| mailboxes.get(id)) {
                mailbox.send(frame.clone());
                reached += 1;
            }
        }
        // No receivers is not an error: nobody listens to it alone.
        reached + channel.live.send(frame).unwrap_or(0)
    }

    /// Hands a frame without an id to every stream, once each. Under the
    /// channels lock.
    fn to_every_stream(&self, channels: &HashMap<String, Channel>, bytes: Bytes) {
        for channel in channels.values() {
            let _ = channel.live.send(Frame {
                id: None,
                bytes: bytes.clone(),
            });
        }
        for mailbox in self.mailboxes.lock().unwrap().values() {
            mailbox.send(Frame {
                id: None,
                bytes: bytes.clone(),
            });
        }
    }

    /// Sends a raw frame to a channel's streams (test knob for malformed events).
    pub fn broadcast_raw(&self, channel_id: &str, bytes: Bytes) -> usize {
        let channels = self.channels.lock().unwrap();
        channels
            .get(channel_id)
            .map_or(0, |c| self.to_channel(c, Frame { id: None, bytes }))
    }

    /// Answers a history query, for `reader` (their own reactions marked).
    pub fn history(
        &self,
        channel_id: &str,
        query: crate::history::HistoryQuery,
        reader: Option<&str>,
    ) -> Vec<Answered> {
        let channels = self.channels.lock().unwrap();
        channels
            .get(channel_id)
            .map_or_else(Vec::new, |c| c.log.answered(c.log.query(query), reader))
    }

    /// How many channels the bridge keeps state for.
    pub fn channel_count(&self) -> usize {
        self.channels.lock().unwrap().len()
    }

    /// How many streams and polls listen to a channel now.
    pub fn listeners(&self, channel_id: &str) -> usize {
        let channels = self.channels.lock().unwrap();
        (channels.get(channel_id)).map_or(0, |c| c.live.receiver_count() + c.mailboxes.len())
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
    /// live feed and the replay snapshot (references only; the frames are
    /// written later, outside the lock). A replay longer than `--max-replay`
    /// is a `resync` instead: the client pages through history. A
    /// multi-channel stream's replay is its channels' messages merged in id
    /// order, and its `resync` names the channels that need a catch-up.
    pub fn subscribe(
        &self,
        listen: &Listen,
        last_event_id: Option<u64>,
    ) -> Result<Subscription, TooManyChannels> {
        let capacity = self.config.history_per_channel as usize;
        let mut channels = self.channels.lock().unwrap();
        let names = listen.names();
        self.check_room_for(&channels, names.iter().map(String::as_str))?;
        let mut prefix = sse::retry(self.config.retry_ms).to_vec();
        prefix.extend_from_slice(&self.status_frame(self.gateway()));
        for name in names {
            if !channels.contains_key(name) {
                channels.insert(name.clone(), Channel::new(capacity));
            }
        }
        let live = match listen {
            Listen::One(name) => Feed::Channel(channels[name].live.subscribe()),
            Listen::Many(names) => {
                let id = self.next_mailbox.fetch_add(1, Ordering::Relaxed);
                let (sender, frames) = mpsc::channel(CHANNEL_BROADCAST_CAPACITY);
                let lagged = Arc::new(AtomicBool::new(false));
                for name in names {
                    (channels.get_mut(name).unwrap().mailboxes).push(id);
                }
                let mailbox = Mailbox {
                    frames: sender,
                    lagged: lagged.clone(),
                };
                self.mailboxes.lock().unwrap().insert(id, mailbox);
                Feed::Mailbox { id, frames, lagged }
            }
        };
        let mut replay = Vec::new();
        let mut caught_up_to = 0;
        let newest = (names.iter())
            .map(|name| channels[name].log.newest_known())
            .max()
            .unwrap_or(0);
        if let Some(last) = last_event_id {
            let max = self.config.max_replay as usize;
            let mut behind = Vec::new();
            let mut replayed = Vec::new();
            for name in names {
                match channels[name].log.replay_after(last, max) {
                    Some(messages) if messages.is_empty() => {}
                    Some(messages) => {
                        replayed.push(name.clone());
                        replay.extend(messages);
                    }
                    None => behind.push(name.clone()),
                }
            }
            if replay.len() > max {
                // Together too many to replay: each of them is caught up by paging instead.
                replay.clear();
                behind.extend(replayed);
            }
            replay.sort_unstable_by_key(Record::id);
            caught_up_to = replay.last().map_or(last, Record::id);
            // A channel that cannot be replayed is caught up over history:
            // what it holds now is not the stream's to send again (and a
            // poll's cursor moves past it, rather than asking again).
            for name in &behind {
                caught_up_to = caught_up_to.max(channels[name].log.newest_known());
            }
            if !behind.is_empty() {
                let named = matches!(listen, Listen::Many(_)).then_some(&behind[..]);
                prefix.extend_from_slice(&sse::resync(Resync::HistoryGap, named));
            }
        }
        drop(channels);
        Ok(Subscription {
            prefix: prefix.into(),
            replay,
            caught_up_to,
            newest,
            live,
        })
    }

    /// Takes down what a stream that ended subscribed (its feed already
    /// dropped): its mailbox, and each of its channels that nobody listens to
    /// and that has nothing to remember (a channel emptied by deletions keeps
    /// them, and its cut, for the readers who were away).
    pub fn release(&self, listen: &Listen, mailbox: Option<u64>) {
        let mut channels = self.channels.lock().unwrap();
        if let Some(id) = mailbox {
            self.mailboxes.lock().unwrap().remove(&id);
        }
        for name in listen.names() {
            let Some(channel) = channels.get_mut(name) else {
                continue;
            };
            channel.mailboxes.retain(|held| Some(*held) != mailbox);
            let unused = channel.live.receiver_count() == 0
                && channel.mailboxes.is_empty()
                && channel.log.is_blank();
            if unused {
                channels.remove(name);
            }
        }
    }

    pub fn gateway(&self) -> Gateway {
        *self.gateway.lock().unwrap()
    }

    /// Changes the gateway state and tells every stream.
    pub fn set_gateway(&self, gateway: Gateway) {
        let channels = self.channels.lock().unwrap();
        *self.gateway.lock().unwrap() = gateway;
        self.to_every_stream(&channels, self.status_frame(gateway));
        drop(channels);
        tracing::info!(?gateway, "gateway state changed");
    }

    /// Pauses or resumes heartbeats on every stream (streams stay open).
    pub fn pause_heartbeats(&self, paused: bool) {
        self.heartbeats_paused.store(paused, Ordering::Relaxed);
        let state = if paused { "paused" } else { "resumed" };
        tracing::info!(paused, "heartbeats {state}");
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
        let channels = self.channels.lock().unwrap();
        self.to_every_stream(&channels, sse::heartbeat(now_ms()));
    }

    pub fn fault(&self) -> Option<Fault> {
        *self.fault.lock().unwrap()
    }

    pub fn set_fault(&self, fault: Option<Fault>) {
        *self.fault.lock().unwrap() = fault;
        tracing::info!(?fault, "event-stream fault set");
    }

    fn status_frame(&self, gateway: Gateway) -> Bytes {
        sse::status(gateway, self.config.heartbeat_interval.as_millis())
    }
}

/// The change `edit` makes, as change `id`, of the message `current`
/// (what the change keeps; the channel's log makes it, see
/// [`ChannelLog::apply`]). An edit that would make the message larger than
/// the bound is refused.
fn made_of(
    current: &Message,
    id: u64,
    edit: Edit,
    client_id: Option<String>,
) -> Result<Change, ChangeError> {
    Ok(match edit {
        Edit::Content(content) => {
            let mut message = current.without_reactions();
            message.content = content;
            message.revision.edited_at = Some(rfc3339_ms(now_ms()));
            message.revision.version = Some(id);
            crate::message::check_size(&message).map_err(ChangeError::TooLarge)?;
            Change::Update {
                id,
                message: Box::new(message),
                client_id,
            }
        }
        Edit::Delete => Change::Delete {
            id,
            message_id: current.id,
            channel_id: current.channel_id.clone(),
            client_id,
        },
        Edit::React { emoji, user, add } => Change::Reaction {
            id,
            message_id: current.id,
            channel_id: current.channel_id.clone(),
            emoji,
            user,
            added: add,
        },
    })
}

/// What a change request came to.
#[derive(Clone, Debug)]
pub enum Changed {
    /// The change made (or, for a retry, made before), and the message as
    /// it then is (`None`: deleted).
    Made {
        change: Arc<Change>,
        now: Option<Arc<Message>>,
    },
    /// A reaction that would change nothing: the message as it is, and
    /// whether `user` reacts with `emoji` (`holds`).
    Unchanged {
        now: Arc<Message>,
        emoji: String,
        user: String,
        holds: bool,
    },
}

impl Changed {
    /// The change made, if any.
    pub fn change(&self) -> Option<&Arc<Change>> {
        match self {
            Changed::Made { change, .. } => Some(change),
            Changed::Unchanged { .. } => None,
        }
    }
}

impl Channel {
    fn new(capacity: usize) -> Channel {
        Channel::with_log(ChannelLog::new(capacity))
    }

    fn with_log(log: ChannelLog) -> Channel {
        Channel {
            log,
            live: broadcast::channel(CHANNEL_BROADCAST_CAPACITY).0,
            mailboxes: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::NewMessage;
    use clap::Parser;

    /// A disk that takes its time (here: the history file's lock held by the
    /// test) holds up the publisher, but never the streams: subscribing and
    /// heartbeats need only the channels lock, which a publisher waiting on the
    /// disk does not hold.
    #[test]
    fn a_slow_history_write_does_not_hold_up_streams() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        let path = dir.join("history.jsonl");
        let config = Config::parse_from(["mock-bridge", "--history-file", path.to_str().unwrap()]);
        let hub = Arc::new(Hub::new(config, CancellationToken::new()).unwrap());
        let disk = hub.writer.lock().unwrap();
        let publisher = {
            let hub = hub.clone();
            std::thread::spawn(move || {
                let new = NewMessage {
                    author: "a".into(),
                    content: "b".into(),
                    ..Default::default()
                };
                hub.publish("c", new).map(|m| m.id)
            })
        };
        // For half a second, while the publish waits on the disk, the channels
        // stay free for subscribers and heartbeats.
        let until = Instant::now() + std::time::Duration::from_millis(500);
        while Instant::now() < until {
            assert!(
                hub.channels.try_lock().is_ok(),
                "a publish waiting on the disk holds the channels"
            );
            std::thread::yield_now();
        }
        drop(disk);
        assert!(publisher.join().unwrap().is_ok());
    }

    fn new_message(content: &str) -> NewMessage {
        NewMessage {
            author: "a".into(),
            content: content.into(),
            ..Default::default()
        }
    }

    /// A multi-channel stream whose mailbox overflows gets nothing more: its
    /// next read says it lagged, even with frames still queued, so that no
    /// frame after the gap goes out. Its end takes the mailbox down.
    #[test]
    fn a_full_mailbox_ends_its_stream_as_lagged() {
        let config = Config::parse_from(["mock-bridge"]);
        let hub = Hub::new(config, CancellationToken::new()).unwrap();
        let listen = Listen::Many(vec!["a".into(), "b".into()]);
        let mut subscription = hub.subscribe(&listen, None).unwrap();
        let mut fits = hub.subscribe(&listen, None).unwrap();
        for index in 0..CHANNEL_BROADCAST_CAPACITY {
            let channel = ["a", "b"][index % 2];
            hub.publish(channel, new_message("m")).unwrap();
        }
        assert!(fits.live.try_recv().is_ok_and(|f| f.id.is_some()));
        hub.publish("b", new_message("one too many")).unwrap();
        assert!(matches!(
            subscription.live.try_recv(),
            Err(FeedError::Lagged)
        ));
        // The other one took a frame off in time: it has room, and no gap.
        assert!(fits.live.try_recv().is_ok());
        let mailbox = subscription.live.mailbox();
        drop(subscription);
        hub.release(&listen, mailbox);
        assert_eq!(hub.mailboxes.lock().unwrap().len(), 1);
        let held: Vec<usize> = ["a", "b"]
            .iter()
            .map(|name| hub.channels.lock().unwrap()[*name].mailboxes.len())
            .collect();
        assert_eq!(held, [1, 1]);
    }
}
