//! The bridge's state rebuilt from its history file at start, and the file
//! compacted to it.
//!
//! Every line is replayed in id order (creations, edits, deletions and
//! reaction deltas alike) through the same retention as when it was
//! live, so a restart holds exactly what the bridge held before it. The
//! changes themselves are not kept for replays: a replay from before a
//! channel's newest change resyncs ([`ChannelLog::changes_unknown_through`]).
//! Compaction then keeps the messages as they now are, and what retries
//! need ([`crate::retries`]), however many restarts later.

use crate::history::ChannelLog;
use crate::message::{Change, Message};
use crate::persist::{HistoryFile, Kept, Memory, PostedReply, Stored};
use crate::retries::{ByClientId, Reply};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// What the file held, rebuilt.
pub struct Restored {
    /// Each channel's log.
    pub logs: HashMap<String, ChannelLog>,
    /// The file, compacted, open for appending.
    pub file: HistoryFile,
    /// The largest id ever used: new ids go on above it.
    pub floor: u64,
    /// Posts by client id.
    pub posted: ByClientId<Reply>,
    /// Readers' changes by client id.
    pub changed: ByClientId<Arc<Change>>,
    /// The client id of each reply read back, by message id: a deletion
    /// marks its reply deleted even when the retention (which a restart may
    /// make smaller) has cut the message before the deletion is read.
    replies: HashMap<u64, String>,
}

/// A line to replay, in id order.
// One per line, at start, let go as it is replayed: its size is no cost.
#[allow(clippy::large_enum_variant)]
enum Step {
    Created(Message),
    Changed(Stored),
}

/// Loads the file at `path`, rebuilds the channels (`capacity` messages
/// each), and compacts the file to what they retain.
pub fn load(path: &Path, fsync: bool, capacity: usize) -> std::io::Result<Restored> {
    // Before anything is read: another bridge on the file would be undone.
    let lock = crate::lock::FileLock::take(path)?;
    let (mut file, messages) = HistoryFile::open(path, fsync)?;
    file.keep_locked(lock);
    tracing::info!(path = %path.display(), messages = messages.len(), "history file loaded");
    let held = messages.len();
    let memory = file.take_memory();
    let mut restored = Restored {
        logs: HashMap::new(),
        floor: 0,
        posted: ByClientId::default(),
        changed: ByClientId::default(),
        replies: HashMap::new(),
        file,
    };
    let mut floor = (memory.posted.iter().map(|p| p.message.id))
        .chain(memory.evicted_through.values().copied())
        .chain(memory.changed.iter().map(Change::id))
        .max()
        .unwrap_or(0);
    for PostedReply { message, deleted } in memory.posted {
        if let Some(client_id) = message.client_id.clone() {
            let message = Arc::new(message);
            restored
                .posted
                .insert(client_id, Reply { message, deleted });
        }
    }
    for change in memory.changed {
        if let Some(client_id) = change.client_id() {
            restored
                .changed
                .insert(client_id.to_owned(), Arc::new(change));
        }
    }
    for (channel, through) in memory.evicted_through {
        let log = (restored.logs.entry(channel)).or_insert_with(|| ChannelLog::new(capacity));
        log.evicted_through(through);
    }
    let mut steps: Vec<(u64, Step)> = (messages.into_iter())
        .map(|m| (m.id, Step::Created(m)))
        .chain(
            memory
                .changes
                .into_iter()
                .map(|c| (c.id(), Step::Changed(c))),
        )
        .collect();
    steps.sort_by_key(|(id, _)| *id);
    floor = floor.max(steps.last().map_or(0, |(id, _)| *id));
    for (_, step) in steps {
        restored.replay(step, capacity);
    }
    restored.floor = floor;
    restored.compact(held)?;
    Ok(restored)
}

impl Restored {
    fn replay(&mut self, step: Step, capacity: usize) {
        match step {
            Step::Created(message) => {
                if let Some(client_id) = &message.client_id {
                    self.replies.insert(message.id, client_id.clone());
                    let reply = Reply {
                        message: Arc::new(message.without_reactions()),
                        deleted: false,
                    };
                    self.posted.insert(client_id.clone(), reply);
                }
                (self.logs.entry(message.channel_id.clone()))
                    .or_insert_with(|| ChannelLog::new(capacity))
                    .push_restored(message);
            }
            Step::Changed(stored) => {
                if let Stored::Change(change) = &stored {
                    if let Some(client_id) = change.client_id() {
                        self.changed
                            .insert(client_id.to_owned(), Arc::new(change.clone()));
                    }
                    if let Change::Delete { message_id, .. } = change {
                        let reply = self.replies.get(message_id);
                        if let Some(reply) = reply.and_then(|id| self.posted.get_mut(id)) {
                            reply.deleted = true;
                        }
                    }
                }
                let channel = match &stored {
                    Stored::Change(change) => change.channel_id(),
                    Stored::Reactors { channel_id, .. } => channel_id,
                };
                let Some(log) = self.logs.get_mut(channel) else {
                    return;
                };
                log.restore(&stored);
            }
        }
    }

    /// Rewrites the file to what is retained and remembered.
    fn compact(&mut self, held: usize) -> std::io::Result<()> {
        let mut kept: Vec<Kept> = (self.logs.values())
            .flat_map(|log| log.iter().map(|m| (&**m, log.reactors(m.id))))
            .collect();
        kept.sort_by_key(|(m, _)| m.id);
        let retained: HashSet<u64> = kept.iter().map(|(m, _)| m.id).collect();
        let memory = Memory {
            evicted_through: (self.logs.iter())
                .filter_map(|(name, log)| Some((name.clone(), log.evicted()?)))
                .collect(),
            posted: (self.posted.in_order())
                .filter(|reply| !retained.contains(&reply.message.id))
                .map(|reply| PostedReply {
                    message: (*reply.message).clone(),
                    deleted: reply.deleted,
                })
                .collect(),
            changed: self.changed.in_order().map(|c| (**c).clone()).collect(),
            changes: Vec::new(),
        };
        self.file.compact(&kept, held, &memory)
    }
}
