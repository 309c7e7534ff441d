//! The messages a panel holds: ordered by numeric id, never duplicated, bounded.

use crate::message::{Message, MessageId, ReactionChange};
use crate::vecmap::VecMap;
use std::sync::Arc;

/// What a merge did, so the view can skip work when nothing changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MergeOutcome {
    /// Messages that were new and are now held.
    pub added: usize,
    /// Old messages dropped to stay within the bound.
    pub evicted: usize,
    /// Held messages replaced by a newer state (edited, reacted to).
    pub updated: usize,
}

impl MergeOutcome {
    /// Whether the held list changed.
    pub fn changed(&self) -> bool {
        self.added > 0 || self.evicted > 0 || self.updated > 0
    }
}

/// The held messages. Merging is by id, so the same message arriving over the
/// stream and in a history page is kept once, and order is always by id.
#[derive(Clone, Debug)]
pub struct MessageStore {
    /// Keyed by id: ordered iteration and O(log n) dedupe in one structure.
    /// New messages come at the end, and eviction takes a tenth from the
    /// front at once, so a sorted vector moves little.
    by_id: VecMap<MessageId, Arc<Message>>,
    /// Upper bound on `by_id.len()`; the oldest messages go first.
    capacity: usize,
    /// The newest id ever merged, kept even after that message is evicted, so that
    /// catch-up requests never go back in time.
    newest: Option<MessageId>,
    /// The newest id ever evicted: nothing at or below it is taken again, so the
    /// held messages are always every message seen above it, without holes.
    evicted_up_to: Option<MessageId>,
    /// Messages known deleted, so that no late answer brings one back: the
    /// newest [`MAX_TOMBSTONES`] (a late answer is seconds late, not
    /// thousands of deletions).
    deleted: VecMap<MessageId, ()>,
}

/// How many deletions the store remembers.
pub const MAX_TOMBSTONES: usize = 1024;

impl MessageStore {
    /// An empty store holding at most `capacity` (at least 1) messages.
    pub fn new(capacity: usize) -> Self {
        MessageStore {
            by_id: VecMap::new(),
            capacity: capacity.max(1),
            newest: None,
            evicted_up_to: None,
            deleted: VecMap::new(),
        }
    }

    /// Adds the messages not yet held and, past capacity, evicts the oldest.
    ///
    /// Eviction goes in batches: past capacity, the store drops down to nine
    /// tenths of it. A view then reshapes its list (everything shifts up) once
    /// per tenth of capacity instead of on every new message, which is what
    /// keeps one more message cheap with thousands held. Below ten, exactly
    /// `capacity` are kept.
    pub fn merge(&mut self, messages: impl IntoIterator<Item = Message>) -> MergeOutcome {
        self.merge_as(messages, true)
    }

    /// Adds a message that did not come in order (a reply's own post
    /// answer): it is shown like the others, but does not move the point
    /// catch-ups start from, since messages below it may still be on their way.
    /// One older than every held message is left to the older pages: held
    /// below the window, it would make the next older page start below it,
    /// and the messages in between would never be shown (a reply stored long
    /// ago whose answer comes back late, say).
    pub fn merge_aside(&mut self, message: Message) -> MergeOutcome {
        if self.oldest().is_some_and(|oldest| message.id < oldest) {
            return MergeOutcome::default();
        }
        self.merge_as([message], false)
    }

    fn merge_as(
        &mut self,
        messages: impl IntoIterator<Item = Message>,
        in_order: bool,
    ) -> MergeOutcome {
        let mut outcome = MergeOutcome::default();
        for message in messages {
            let id = message.id;
            // Already evicted, or older than what was: taking it would open a
            // hole below the held messages (and it would soon go again).
            if self.evicted_up_to.is_some_and(|floor| id <= floor) {
                continue;
            }
            if self.deleted.contains_key(&id) {
                continue;
            }
            if let Some(held) = self.by_id.get_mut(&id) {
                // Held already, aside (a reply): now it came in order too.
                if in_order {
                    self.newest = self.newest.max(Some(id));
                }
                if let Some(next) = held.fold(&message) {
                    *held = Arc::new(next);
                    outcome.updated += 1;
                }
                continue;
            }
            self.by_id.insert(id, Arc::new(message));
            if in_order {
                self.newest = self.newest.max(Some(id));
            }
            outcome.added += 1;
        }
        if self.by_id.len() > self.capacity {
            let keep = self.capacity - self.capacity / 10;
            let evict = self.by_id.len() - keep;
            let floor = self.by_id.remove_first(evict);
            self.evicted_up_to = self.evicted_up_to.max(floor);
            outcome.evicted += evict;
        }
        outcome
    }

    /// Takes a newer state of a held message (an edit); one not held is
    /// left alone (older than the window, or its creation is still to come
    /// with a catch-up, which brings it as it is now).
    pub fn update(&mut self, message: &Message) -> MergeOutcome {
        let mut outcome = MergeOutcome::default();
        if let Some(held) = self.by_id.get_mut(&message.id) {
            if let Some(next) = held.fold(message) {
                *held = Arc::new(next);
                outcome.updated = 1;
            }
        }
        outcome
    }

    /// Applies a reaction change to a held message.
    pub fn react(&mut self, change: &ReactionChange) -> MergeOutcome {
        let mut outcome = MergeOutcome::default();
        if let Some(held) = self.by_id.get_mut(&change.message_id) {
            if let Some(next) = held.react(change) {
                *held = Arc::new(next);
                outcome.updated = 1;
            }
        }
        outcome
    }

    /// Forgets a deleted message for good; whether it was held.
    pub fn delete(&mut self, id: MessageId) -> bool {
        self.deleted.insert(id, ());
        if self.deleted.len() > MAX_TOMBSTONES {
            self.deleted
                .remove_first(self.deleted.len() - MAX_TOMBSTONES);
        }
        self.by_id.remove(&id).is_some()
    }

    /// A page of changes after `after` (complete through `last`): messages
    /// created after `after` are added, the others only update what is held,
    /// the deleted go, and catch-ups continue after `last`.
    pub fn merge_changes(
        &mut self,
        messages: impl IntoIterator<Item = Message>,
        after: MessageId,
        last: Option<MessageId>,
    ) -> MergeOutcome {
        let (created, changed): (Vec<Message>, Vec<Message>) =
            messages.into_iter().partition(|m| m.id > after);
        let mut outcome = MergeOutcome::default();
        for message in &changed {
            outcome.updated += self.update(message).updated;
        }
        let merged = self.merge(created);
        self.advance(last);
        MergeOutcome {
            added: merged.added,
            evicted: merged.evicted,
            updated: outcome.updated + merged.updated,
        }
    }

    /// Moves the point catch-ups start from to `id` (a change's id seen in
    /// order), if it is newer.
    pub fn advance(&mut self, id: Option<MessageId>) {
        self.newest = self.newest.max(id);
    }

    /// Shows `messages` (the newest page) instead of what is held: the
    /// changes in between could not be replayed, so nothing held can be
    /// trusted. Deletions stay known, and catch-ups never go back.
    pub fn replace(&mut self, messages: Vec<Message>) -> MergeOutcome {
        let before = self.by_id.len();
        self.by_id.clear();
        self.evicted_up_to = None;
        let mut outcome = self.merge(messages);
        if let Some(oldest) = self.oldest() {
            let floor = MessageId(oldest.0.saturating_sub(1));
            self.evicted_up_to = self.evicted_up_to.max(Some(floor));
        }
        outcome.evicted += before;
        outcome
    }

    /// Adds a page of older messages (the newest page below the oldest held),
    /// as many as there is room for, newest first: older pages never push
    /// newer messages out. Returns what changed.
    pub fn merge_older(&mut self, messages: Vec<Message>) -> MergeOutcome {
        let oldest = self.oldest();
        let held = self.by_id.len();
        for message in messages {
            if oldest.is_none_or(|o| message.id < o) && !self.deleted.contains_key(&message.id) {
                self.by_id.insert(message.id, Arc::new(message));
            }
        }
        // Past the room there was, the oldest of the page go again: every one
        // of them is below what was held before.
        let added = self.by_id.len() - held;
        let over = self.by_id.len().saturating_sub(self.capacity.max(held));
        self.by_id.remove_first(over);
        let outcome = MergeOutcome {
            added: added - over,
            ..MergeOutcome::default()
        };
        // The held messages still run without holes from the new oldest.
        if let (Some(floor), Some(oldest)) = (self.evicted_up_to, self.oldest()) {
            if floor >= oldest {
                self.evicted_up_to = Some(MessageId(oldest.0.saturating_sub(1)));
            }
        }
        outcome
    }

    /// Whether there is room for older messages.
    pub fn has_room(&self) -> bool {
        self.by_id.len() < self.capacity
    }

    /// The newest id ever merged (the point to catch up from).
    pub fn newest_id(&self) -> Option<MessageId> {
        self.newest
    }

    /// The oldest id held.
    pub fn oldest(&self) -> Option<MessageId> {
        self.by_id.first_key().copied()
    }

    /// Held messages, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Arc<Message>> + ExactSizeIterator {
        self.by_id.values()
    }

    /// Number of held messages.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
pub(crate) fn message(id: u64) -> Message {
    Message {
        id: MessageId(id),
        channel_id: "general".into(),
        author: "alice".into(),
        content: format!("message {id}"),
        timestamp: "2026-11-22T12:00:00.000Z".into(),
        ..Message::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(store: &MessageStore) -> Vec<u64> {
        store.iter().map(|m| m.id.0).collect()
    }

    /// A reply stored before the held window, confirmed late: held below the
    /// window it would leave a hole the older pages never fill.
    #[test]
    fn a_message_aside_never_lands_below_the_held_window() {
        let mut store = MessageStore::new(100);
        store.merge((100..110).map(message));
        assert!(!store.merge_aside(message(50)).changed());
        assert_eq!(
            store.oldest(),
            Some(MessageId(100)),
            "older pages start at 100"
        );
        // Within the window and above it, it is shown.
        assert!(store.merge_aside(message(105)).added == 0, "held already");
        assert!(store.merge_aside(message(200)).changed());
        assert_eq!(
            store.newest_id(),
            Some(MessageId(109)),
            "not a catch-up point"
        );
        // An empty store has no window yet.
        let mut empty = MessageStore::new(100);
        assert!(empty.merge_aside(message(50)).changed());
    }

    #[test]
    fn merges_by_id_in_numeric_order() {
        let mut store = MessageStore::new(10);
        assert_eq!(store.merge([message(10), message(9)]).added, 2);
        assert_eq!(
            store.merge([message(9), message(100), message(10)]).added,
            1
        );
        assert_eq!(ids(&store), [9, 10, 100]);
        assert_eq!(store.newest_id(), Some(MessageId(100)));
    }

    #[test]
    fn older_pages_fill_the_room_left_newest_first() {
        let mut store = MessageStore::new(6);
        store.merge([message(10), message(11)]);
        // Unordered, with a repeat and ids at or above the oldest held.
        let page = [7, 9, 3, 9, 8, 10, 12, 5].map(message).to_vec();
        let outcome = store.merge_older(page);
        assert_eq!(
            outcome,
            MergeOutcome {
                added: 4,
                ..MergeOutcome::default()
            }
        );
        assert_eq!(ids(&store), [5, 7, 8, 9, 10, 11], "3 had no room left");
        assert!(!store.has_room());
        assert!(
            !store.merge_older(vec![message(1)]).changed(),
            "no room left"
        );
    }

    #[test]
    fn evicts_a_tenth_at_once_past_capacity() {
        let mut store = MessageStore::new(20);
        assert_eq!(store.merge((1..=20).map(message)).evicted, 0);
        assert_eq!(store.len(), 20, "full is not past capacity");
        let outcome = store.merge([message(21)]);
        assert_eq!(
            outcome,
            MergeOutcome {
                added: 1,
                evicted: 3,
                ..MergeOutcome::default()
            }
        );
        assert_eq!(ids(&store), (4..=21).collect::<Vec<_>>());
        // Room again: the next message evicts nothing.
        assert_eq!(store.merge([message(22)]).evicted, 0);
        // Nothing at or below what went can come back, even with room: it would
        // leave a hole below the held messages.
        assert!(!store.merge([message(3), message(2)]).changed());
    }

    #[test]
    fn evicts_the_oldest_beyond_capacity_but_remembers_the_newest() {
        let mut store = MessageStore::new(3);
        let outcome = store.merge((1..=5).map(message));
        assert_eq!(
            outcome,
            MergeOutcome {
                added: 5,
                evicted: 2,
                ..MergeOutcome::default()
            }
        );
        assert_eq!(ids(&store), [3, 4, 5]);
        assert!(
            !store.merge([message(1)]).changed(),
            "an evicted message must not come back"
        );
        assert_eq!(store.newest_id(), Some(MessageId(5)));
    }

    /// Issue 31, item 9: after many deletions of newer messages, the
    /// deletion of an old one is the newest the store knows, and a late
    /// page (computed before it) must not bring that message back.
    #[test]
    fn tombstones_forget_the_oldest_deletions_first() {
        let mut store = MessageStore::new(10);
        store.merge((1..=5).map(message));
        for id in 1_000..1_000 + MAX_TOMBSTONES as u64 {
            store.delete(MessageId(id));
        }
        assert!(store.delete(MessageId(3)), "3 was held");
        // A late answer computed before the deletion.
        store.merge([message(3)]);
        assert_eq!(ids(&store), [1, 2, 4, 5], "3 came back");
        // The oldest deletion is the one forgotten.
        store.merge([message(1_000)]);
        assert_eq!(ids(&store), [1, 2, 4, 5, 1_000]);
        assert!(!store.merge([message(1_001)]).changed());
    }

    proptest! {
        #[test]
        fn holds_the_newest_distinct_ids_sorted(
            batches in proptest::collection::vec(proptest::collection::vec(0u64..60, 0..20), 0..10),
            capacity in 1usize..30,
        ) {
            let mut store = MessageStore::new(capacity);
            let mut seen = std::collections::BTreeSet::new();
            for batch in batches {
                seen.extend(batch.iter().copied());
                store.merge(batch.into_iter().map(message));
                let held = ids(&store);
                prop_assert!(held.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
                prop_assert!(held.len() <= capacity);
                // Whatever is held is exactly the newest `held.len()` ids seen (no
                // hole), and no fewer than batch eviction leaves.
                let newest: Vec<u64> = seen.iter().rev().take(held.len()).rev().copied().collect();
                prop_assert_eq!(&held, &newest);
                prop_assert!(held.len() >= seen.len().min(capacity - capacity / 10));
            }
        }
    }
}
