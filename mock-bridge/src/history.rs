//! One channel's retained messages, the reactors of each, the changes kept
//! for replays, and the queries the history endpoint answers.
//!
//! Every change to the channel's state goes through [`ChannelLog::apply`]
//! (live) or [`ChannelLog::restore`] (a restart reading the history file):
//! one path for both. A change kept for replays is what the change was (an
//! edit's text, a reaction's delta), never a copy of the message's state;
//! a replay shows each message as it is when the replay is made.

use crate::message::{Change, Message};
use crate::persist::Stored;
use crate::reactions::{Answered, Reactors, Toggle, TooManyEmoji};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// One entry of a channel's ordered history of changes, as a stream replays it.
#[derive(Clone, Debug)]
pub enum Record {
    /// A message's creation, replayed as the message as it now is.
    Created(Arc<Message>),
    /// A later change to it, with the message as it now is (`None`: deleted
    /// since, later in the same replay).
    Changed(Arc<Change>, Option<Arc<Message>>),
}

impl Record {
    /// Its change id.
    pub fn id(&self) -> u64 {
        match self {
            Record::Created(message) => message.id,
            Record::Changed(change, _) => change.id(),
        }
    }

    /// Its event on the wire (none for a change the replay shows otherwise:
    /// see [`crate::sse::change`]).
    pub fn frame(&self) -> Bytes {
        match self {
            Record::Created(message) => crate::sse::replayed_message(message),
            Record::Changed(change, now) => {
                crate::sse::change(change, now.as_deref(), crate::sse::When::Replayed)
            }
        }
    }
}

/// What the changes after an id come to, each touched message once.
#[derive(Debug, Default)]
pub struct Coalesced {
    /// The touched messages still held, as they now are (for the reader the
    /// answer is for), oldest first.
    pub messages: Vec<Answered>,
    /// The ids of the touched messages deleted since.
    pub deleted: Vec<u64>,
    /// The newest change id covered (the next page's `after`).
    pub last: Option<u64>,
    /// More changes follow it.
    pub more: bool,
}

/// What a history query asks for (already validated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryQuery {
    /// At most this many messages.
    pub limit: usize,
    /// Only ids greater than this; with it, the oldest `limit` such messages.
    pub after: Option<u64>,
    /// Only ids smaller than this; without `after`, the newest `limit` such.
    pub before: Option<u64>,
}

/// A bounded, id-ordered log of one channel's messages.
#[derive(Debug)]
pub struct ChannelLog {
    /// Oldest first; ids strictly increasing.
    messages: VecDeque<Arc<Message>>,
    /// How many are kept; older ones are evicted.
    capacity: usize,
    /// The largest id ever evicted: a replay from an id below it would have a hole.
    evicted_through: Option<u64>,
    /// Changes after the creations (edits, deletions, reactions), oldest first,
    /// as many as `capacity`.
    changes: VecDeque<Arc<Change>>,
    /// Every reactor of each held message that has reactions.
    reactors: HashMap<u64, Reactors>,
}

impl ChannelLog {
    pub fn new(capacity: usize) -> Self {
        ChannelLog {
            messages: VecDeque::new(),
            capacity: capacity.max(1),
            evicted_through: None,
            changes: VecDeque::new(),
            reactors: HashMap::new(),
        }
    }

    /// The held message with this id.
    pub fn get(&self, id: u64) -> Option<&Arc<Message>> {
        let at = self.messages.binary_search_by_key(&id, |m| m.id).ok()?;
        self.messages.get(at)
    }

    /// Makes a change (its id greater than every id held) and keeps it for
    /// replays: answers the message as it now is (`None`: deleted, or not
    /// held). A change to a message no longer held is kept too (a client
    /// may still hold it).
    pub fn apply(&mut self, change: Arc<Change>) -> Option<Arc<Message>> {
        let now = self.make(&change).cloned();
        self.changes.push_back(change);
        while self.changes.len() > self.capacity {
            if let Some(evicted) = self.changes.pop_front() {
                self.evicted_through = self.evicted_through.max(Some(evicted.id()));
            }
        }
        now
    }

    /// Makes a change read back from the history file at a restart, without
    /// keeping it: a replay from before it resyncs.
    pub fn restore(&mut self, stored: &Stored) {
        match stored {
            Stored::Change(change) => {
                self.make(change);
            }
            Stored::Reactors {
                id,
                message_id,
                emoji,
                users,
                ..
            } => {
                if let Some((message, reactors)) = self.state_of(*message_id) {
                    reactors.set(&mut message.revision.reactions, emoji, users);
                    message.revision.reactions_version = Some(*id);
                }
            }
        }
        self.changes_unknown_through(stored.id());
    }

    /// Makes `change` to the message it changes, if held: the message as it
    /// now is (`None`: deleted, or not held).
    fn make(&mut self, change: &Change) -> Option<&Arc<Message>> {
        match change {
            Change::Delete { message_id, .. } => {
                self.remove(*message_id);
                return None;
            }
            Change::Update { id, message, .. } => {
                let now = self.message_mut(message.id)?;
                now.content.clone_from(&message.content);
                now.revision
                    .edited_at
                    .clone_from(&message.revision.edited_at);
                now.revision.version = Some(*id);
            }
            Change::Reaction {
                id,
                message_id,
                emoji,
                user,
                added,
                ..
            } => {
                let (now, reactors) = self.state_of(*message_id)?;
                let reactions = &mut now.revision.reactions;
                if let Err(error) = reactors.toggle(reactions, *message_id, emoji, user, *added) {
                    // Only a history line from before the bound can be past it.
                    tracing::warn!(%error, "a stored reaction is past the bounds: skipped");
                }
                now.revision.reactions_version = Some(*id);
            }
        }
        self.get(change.message_id())
    }

    /// The held message `id`, to change in place: copied first only while
    /// a replay or an answer still holds it (and then without its reactors,
    /// which are not part of it).
    fn message_mut(&mut self, id: u64) -> Option<&mut Message> {
        let at = self.messages.binary_search_by_key(&id, |m| m.id).ok()?;
        Some(Arc::make_mut(&mut self.messages[at]))
    }

    /// The held message `id` to change in place (see [`Self::message_mut`]),
    /// with its reactors.
    fn state_of(&mut self, id: u64) -> Option<(&mut Message, &mut Reactors)> {
        let at = self.messages.binary_search_by_key(&id, |m| m.id).ok()?;
        let message = Arc::make_mut(&mut self.messages[at]);
        Some((message, self.reactors.entry(id).or_default()))
    }

    /// What a reaction would do to held message `id` (`None`: not held).
    pub fn would_react(
        &self,
        id: u64,
        emoji: &str,
        user: &str,
        add: bool,
    ) -> Option<Result<Toggle, TooManyEmoji>> {
        self.get(id)?;
        Some(match self.reactors.get(&id) {
            Some(reactors) => reactors.would(id, emoji, user, add),
            None => Reactors::default().would(id, emoji, user, add),
        })
    }

    /// Each of `messages` as `reader` is answered it (their own reactions marked).
    pub fn answered(&self, messages: Vec<Arc<Message>>, reader: Option<&str>) -> Vec<Answered> {
        (messages.into_iter())
            .map(|message| {
                let mine = reader
                    .and_then(|reader| Some(self.reactors.get(&message.id)?.mine(reader)))
                    .unwrap_or(0);
                Answered { message, mine }
            })
            .collect()
    }

    /// Every reactor of held message `id`, if it has reactions.
    pub fn reactors(&self, id: u64) -> Option<&Reactors> {
        self.reactors.get(&id).filter(|r| !r.is_empty())
    }

    /// Holds a message read back from the history file: its reactions as
    /// the file holds them (every reactor), the wire's kept in the message.
    pub fn push_restored(&mut self, mut message: Message) {
        let reactors = Reactors::from_whole(&mut message.revision.reactions);
        let id = message.id;
        self.push(Arc::new(message));
        if !reactors.is_empty() && self.get(id).is_some() {
            self.reactors.insert(id, reactors);
        }
    }

    /// Lets go of message `id` and its reactors, without a change to replay.
    pub fn remove(&mut self, id: u64) {
        if let Ok(at) = self.messages.binary_search_by_key(&id, |m| m.id) {
            drop(self.messages.remove(at));
        }
        self.reactors.remove(&id);
    }

    /// Whether message `id` was deleted (as far as the changes kept tell).
    pub fn is_deleted(&self, id: u64) -> bool {
        (self.changes.iter())
            .any(|c| matches!(**c, Change::Delete { message_id, .. } if message_id == id))
    }

    /// Forgets everything before `id` as far as replays go: the history file
    /// kept the messages as they are, not the changes that made them so.
    pub fn changes_unknown_through(&mut self, id: u64) {
        self.evicted_through = self.evicted_through.max(Some(id));
    }

    /// The newest change id of this channel (a creation or a later change).
    pub fn newest_change(&self) -> Option<u64> {
        let created = self.messages.back().map(|m| m.id);
        let changed = self.changes.back().map(|c| c.id());
        created.max(changed)
    }

    /// The newest change id this channel knows of, held or cut.
    pub fn newest_known(&self) -> u64 {
        self.newest_change().max(self.evicted_through).unwrap_or(0)
    }

    /// Whether it has nothing to remember: no message, no change, no cut. A
    /// channel emptied by deletions is not blank: readers who were away must
    /// still hear of them.
    pub fn is_blank(&self) -> bool {
        self.messages.is_empty() && self.changes.is_empty() && self.evicted_through.is_none()
    }

    /// Every change after `after`, coalesced: each touched message once, as
    /// it now is, or its id among the deleted; at most `limit` changes
    /// covered. `None` when changes after `after` are no longer known.
    pub fn changes_after(
        &self,
        after: u64,
        limit: usize,
        reader: Option<&str>,
    ) -> Option<Coalesced> {
        if self.evicted_through.is_some_and(|evicted| evicted > after) {
            return None;
        }
        let mut records = self.records_after(after);
        let more = records.len() > limit;
        records.truncate(limit);
        let mut coalesced = Coalesced {
            last: records.last().map(Record::id),
            more,
            ..Coalesced::default()
        };
        let mut touched: Vec<u64> = records
            .iter()
            .map(|r| match r {
                Record::Created(message) => message.id,
                Record::Changed(change, _) => change.message_id(),
            })
            .collect();
        touched.sort_unstable();
        touched.dedup();
        let mut held = Vec::new();
        for id in touched {
            match self.get(id) {
                Some(message) => held.push(message.clone()),
                None if self.is_deleted(id) => coalesced.deleted.push(id),
                None => {}
            }
        }
        coalesced.messages = self.answered(held, reader);
        Some(coalesced)
    }

    /// The records after `after`, in id order.
    fn records_after(&self, after: u64) -> Vec<Record> {
        let start = self.messages.partition_point(|m| m.id <= after);
        let mut records: Vec<Record> = (self.messages.range(start..))
            .cloned()
            .map(Record::Created)
            .collect();
        let start = self.changes.partition_point(|c| c.id() <= after);
        records.extend((self.changes.range(start..)).map(|change| {
            let now = self.get(change.message_id()).cloned();
            Record::Changed(change.clone(), now)
        }));
        records.sort_unstable_by_key(Record::id);
        records
    }

    /// Appends a message (its id must be greater than every id held).
    pub fn push(&mut self, message: Arc<Message>) {
        debug_assert!(self.messages.back().is_none_or(|last| last.id < message.id));
        self.messages.push_back(message);
        while self.messages.len() > self.capacity {
            if let Some(evicted) = self.messages.pop_front() {
                self.reactors.remove(&evicted.id);
                // A client may hold it as it was before its newest change:
                // a catch-up from before that change cannot show it anymore.
                let revision = &evicted.revision;
                let newest = (Some(evicted.id))
                    .max(revision.version)
                    .max(revision.reactions_version);
                self.evicted_through = self.evicted_through.max(newest);
            }
        }
    }

    /// Remembers that the history was cut through `id` before (a restart
    /// after compaction): a replay from below it must resync.
    pub fn evicted_through(&mut self, id: u64) {
        self.evicted_through = self.evicted_through.max(Some(id));
    }

    /// The largest id cut from this history, if any.
    pub fn evicted(&self) -> Option<u64> {
        self.evicted_through
    }

    /// Answers a history query, oldest to newest.
    pub fn query(&self, query: HistoryQuery) -> Vec<Arc<Message>> {
        let start = query
            .after
            .map_or(0, |after| self.messages.partition_point(|m| m.id <= after));
        let end = query.before.map_or(self.messages.len(), |before| {
            self.messages.partition_point(|m| m.id < before)
        });
        if start >= end {
            return Vec::new();
        }
        let range = if query.after.is_some() {
            start..end.min(start + query.limit)
        } else {
            end.saturating_sub(query.limit).max(start)..end
        };
        self.messages.range(range).cloned().collect()
    }

    /// Every change after `last_event_id` for a replay (creations as the
    /// messages now are, then edits, deletions and reactions, in id order),
    /// or `None` when some were already evicted or there are more than `max`
    /// (the client must refetch instead).
    pub fn replay_after(&self, last_event_id: u64, max: usize) -> Option<Vec<Record>> {
        if self
            .evicted_through
            .is_some_and(|evicted| evicted > last_event_id)
        {
            return None;
        }
        let records = self.records_after(last_event_id);
        (records.len() <= max).then_some(records)
    }

    /// The retained messages, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Message>> {
        self.messages.iter()
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn log_of(ids: impl IntoIterator<Item = u64>, capacity: usize) -> ChannelLog {
        let mut log = ChannelLog::new(capacity);
        for id in ids {
            log.push(Arc::new(Message {
                id,
                channel_id: "c".into(),
                author: "a".into(),
                content: "x".into(),
                timestamp: "t".into(),
                client_id: None,
                revision: Default::default(),
                extras: Default::default(),
            }));
        }
        log
    }

    fn ids(messages: Vec<Arc<Message>>) -> Vec<u64> {
        messages.iter().map(|m| m.id).collect()
    }

    fn record_ids(records: Vec<Record>) -> Vec<u64> {
        records.iter().map(Record::id).collect()
    }

    #[test]
    fn queries_follow_the_contract() {
        let log = log_of([10, 20, 30, 40, 50], 100);
        let q = |limit, after, before| {
            ids(log.query(HistoryQuery {
                limit,
                after,
                before,
            }))
        };
        assert_eq!(q(2, None, None), [40, 50], "newest, oldest first");
        assert_eq!(q(2, Some(10), None), [20, 30], "oldest after");
        assert_eq!(q(2, None, Some(40)), [20, 30], "newest before");
        assert_eq!(q(10, Some(20), Some(50)), [30, 40]);
        assert_eq!(q(10, Some(50), None), Vec::<u64>::new());
        assert_eq!(q(10, Some(45), Some(20)), Vec::<u64>::new());
        assert_eq!(
            q(10, Some(15), None),
            [20, 30, 40, 50],
            "an unknown id works as a bound"
        );
    }

    /// Issue 31, defect 1: once a channel is full, every new message evicts
    /// its oldest, and the cut must not move down past changes already
    /// evicted (here the deletion of message 1), or a catch-up from before
    /// them skips them without a word.
    #[test]
    fn a_full_channel_never_moves_its_cut_down() {
        let mut log = log_of([1, 2], 2);
        let deletion = Change::Delete {
            id: 3,
            message_id: 1,
            channel_id: "c".into(),
            client_id: None,
        };
        log.apply(Arc::new(deletion));
        for id in [4, 5] {
            let mut message = (**log.get(2).unwrap()).clone();
            message.content = format!("edit {id}");
            message.revision.version = Some(id);
            let change = Change::Update {
                id,
                message: Box::new(message),
                client_id: None,
            };
            log.apply(Arc::new(change));
        }
        // Changes kept: 4 and 5; the deletion (3) was evicted.
        log.push(log_of([6], 1).iter().next().unwrap().clone());
        log.push(log_of([7], 1).iter().next().unwrap().clone());
        assert!(
            log.changes_after(2, 100, None).is_none(),
            "the deletion of 1 (change 3) is no longer known: {:?}",
            log.changes_after(2, 100, None)
        );
        assert!(
            log.replay_after(2, 100).is_none(),
            "a replay from 2 would skip the deletion"
        );
    }

    /// Found by the model (tests/model.rs): a message edited, then evicted.
    /// A client that saw it before the edit still shows it; the changes
    /// route cannot show it anymore (it shows held messages only), so a
    /// catch-up from before the edit must resync, not skip it.
    #[test]
    fn a_message_evicted_after_its_edit_resyncs_a_catch_up_from_before_it() {
        let mut log = log_of([1, 2], 2);
        let mut message = (**log.get(1).unwrap()).clone();
        message.content = "edited".into();
        message.revision.version = Some(3);
        let change = Change::Update {
            id: 3,
            message: Box::new(message),
            client_id: None,
        };
        log.apply(Arc::new(change));
        log.push(log_of([4], 1).iter().next().unwrap().clone());
        assert!(
            log.changes_after(2, 100, None).is_none(),
            "message 1, edited at 3 and evicted since, is skipped: {:?}",
            log.changes_after(2, 100, None)
                .map(|page| page.messages.len())
        );
    }

    #[test]
    fn replay_refuses_to_skip_evicted_messages() {
        let log = log_of(1..=10, 5);
        assert_eq!(
            log.replay_after(5, 100).map(record_ids),
            Some(vec![6, 7, 8, 9, 10])
        );
        assert_eq!(log.replay_after(10, 100).map(record_ids), Some(vec![]));
        assert!(log.replay_after(4, 100).is_none(), "5 was evicted");
        assert!(
            log.replay_after(5, 4).is_none(),
            "longer than the most replayed"
        );
        assert_eq!(
            log.replay_after(6, 4).map(record_ids),
            Some(vec![7, 8, 9, 10])
        );
    }

    proptest! {
        #[test]
        fn after_pages_cover_everything_once(
            gaps in proptest::collection::vec(1u64..5, 0..60),
            limit in 1usize..10,
        ) {
            let all: Vec<u64> = gaps.iter().scan(0, |id, gap| { *id += gap; Some(*id) }).collect();
            let log = log_of(all.clone(), 1_000);
            let mut seen = vec![];
            let mut after = 0;
            loop {
                let page = ids(log.query(HistoryQuery { limit, after: Some(after), before: None }));
                prop_assert!(page.len() <= limit);
                let Some(&last) = page.last() else { break };
                seen.extend(page);
                after = last;
            }
            prop_assert_eq!(seen, all);
        }
    }
}
