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
    /// Messages of an older page left out for want of room (not held: the
    /// held list did not change for them).
    pub cut: usize,
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
    /// Messages known deleted, so that no late answer brings one back, in
    /// the order the store heard of them: the newest `tombstones` (a late
    /// answer is seconds late, not thousands of deletions). By age, not by
    /// id: the deletion of an old message is as new as any.
    deleted: Vec<MessageId>,
    /// How many deletions are remembered: [`MAX_TOMBSTONES`], fewer in tests.
    tombstones: usize,
    /// While a reload is on its way: the newest id seen when it was asked
    /// for. A message above it came after (a live one), maybe after the
    /// page was computed, which must not undo it.
    reload_from: Option<MessageId>,
    /// Newer states of messages not held, oldest first, at most
    /// [`MAX_PENDING`]: edits and, while a reload is on its way, the states of the
    /// messages evicted meanwhile. A page on its way (older, a reload) may
    /// still bring such a message as it was before, and it is folded with
    /// them then.
    pending: Vec<Message>,
    /// Reaction changes of messages not held (a whole state, or one emoji's
    /// as a contract bridge sends them), oldest first, at most
    /// [`MAX_PENDING`]: applied after the states of `pending` when a page
    /// brings the message, one emoji's to the reactions it has then.
    pending_reactions: Vec<ReactionChange>,
}

/// How many deletions the store remembers.
pub const MAX_TOMBSTONES: usize = 1024;

/// How many newer states of messages not held the store keeps.
pub const MAX_PENDING: usize = 64;

impl MessageStore {
    /// An empty store holding at most `capacity` (at least 1) messages.
    pub fn new(capacity: usize) -> Self {
        MessageStore {
            by_id: VecMap::new(),
            capacity: capacity.max(1),
            newest: None,
            evicted_up_to: None,
            deleted: Vec::new(),
            tombstones: MAX_TOMBSTONES,
            reload_from: None,
            pending: Vec::new(),
            pending_reactions: Vec::new(),
        }
    }

    /// Remembers only the newest `tombstones` deletions (a test's small world).
    #[cfg(test)]
    pub(crate) fn set_tombstones(&mut self, tombstones: usize) {
        self.tombstones = tombstones.max(1);
    }

    /// Adds the messages not yet held and, past capacity, evicts the oldest.
    ///
    /// Eviction goes in batches: past capacity, the store drops down to nine
    /// tenths of it. A view then reshapes its list (everything shifts up) once
    /// per tenth of capacity instead of on every new message, which is what
    /// keeps one more message cheap with thousands held. Below ten, exactly
    /// `capacity` are kept.
    pub fn merge(&mut self, messages: impl IntoIterator<Item = Message>) -> MergeOutcome {
        // One copy of the merge, whatever the caller holds.
        self.merge_as(messages.into_iter().collect(), true)
    }

    /// Adds a message the stream brought. One not held at or below the
    /// newest id seen is stale: the stream is behind a catch-up or a reload
    /// that came first (which held it if it still was; a deletion it
    /// stands for may be forgotten, or never come).
    pub fn merge_live(&mut self, message: Message) -> MergeOutcome {
        let stale = self.newest.is_some_and(|newest| message.id <= newest);
        if stale && !self.by_id.contains_key(&message.id) {
            return MergeOutcome::default();
        }
        self.merge_as(vec![message], true)
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
        self.merge_as(vec![message], false)
    }

    fn merge_as(&mut self, messages: Vec<Message>, in_order: bool) -> MergeOutcome {
        let mut outcome = MergeOutcome::default();
        for mut message in messages {
            let id = message.id;
            // Past what a bridge can give, it would move `newest` where no
            // message can follow (see `MessageId::MAX`).
            if !id.plausible() {
                continue;
            }
            own_as_of_version(&mut message);
            // Already evicted, or older than what was: taking it would open a
            // hole below the held messages (and it would soon go again).
            if self.evicted_up_to.is_some_and(|floor| id <= floor) {
                continue;
            }
            if self.deleted.contains(&id) {
                continue;
            }
            if in_order {
                self.newest = self.newest.max(Some(id));
            }
            if let Some(held) = self.by_id.get_mut(&id) {
                // Held already (aside, a reply: now it came in order too).
                if let Some(next) = held.fold(&message) {
                    *held = Arc::new(next);
                    outcome.updated += 1;
                }
                continue;
            }
            self.insert(message);
            outcome.added += 1;
        }
        if self.by_id.len() > self.capacity {
            let keep = self.capacity - self.capacity / 10;
            let evict = self.by_id.len() - keep;
            // A reload on its way may bring them back as they were before:
            // their newer states wait for it, as changes of messages not
            // held do.
            if self.reload_from.is_some() {
                for message in self.by_id.values().take(evict) {
                    keep_pending(&mut self.pending, (**message).clone());
                }
            }
            let floor = self.by_id.remove_first(evict);
            self.evicted_up_to = self.evicted_up_to.max(floor);
            outcome.evicted += evict;
        }
        outcome
    }

    /// Holds a message not held yet, with the changes of it that came first.
    fn insert(&mut self, mut message: Message) {
        let id = message.id;
        self.pending.retain(|state| {
            if state.id != id {
                return true;
            }
            if let Some(next) = message.fold(state) {
                message = next;
            }
            false
        });
        self.pending_reactions.retain(|change| {
            if change.message_id != id {
                return true;
            }
            if let Some(next) = message.react(change) {
                message = next;
            }
            false
        });
        self.by_id.insert(id, Arc::new(message));
    }

    /// Takes a newer state of a held message (an edit). One not held waits
    /// (see `pending`) until a page brings it, or the bound lets it go.
    pub fn update(&mut self, mut message: Message) -> MergeOutcome {
        own_as_of_version(&mut message);
        let mut outcome = MergeOutcome::default();
        match self.by_id.get_mut(&message.id) {
            Some(held) => {
                if let Some(next) = held.fold(&message) {
                    *held = Arc::new(next);
                    outcome.updated = 1;
                }
            }
            None if !self.deleted.contains(&message.id) => keep_pending(&mut self.pending, message),
            None => {}
        }
        outcome
    }

    /// Applies a reaction change to a held message. One to a message not
    /// held waits, as an edit does, if it has a version to order it by
    /// (see `pending_reactions`).
    pub fn react(&mut self, change: ReactionChange) -> MergeOutcome {
        let mut outcome = MergeOutcome::default();
        match self.by_id.get_mut(&change.message_id) {
            Some(held) => {
                if let Some(next) = held.react(&change) {
                    *held = Arc::new(next);
                    outcome.updated = 1;
                }
            }
            None if change.version.is_none() || self.deleted.contains(&change.message_id) => {}
            None => keep_pending(&mut self.pending_reactions, change),
        }
        outcome
    }

    /// Someone else reads from now on (an account switch): what was known
    /// of the previous reader's own reactions is theirs, not the new one's.
    /// Every own state is unknown until an answer computed for the new
    /// reader, or their own change, says it.
    pub fn forget_own(&mut self) {
        for held in self.by_id.values_mut() {
            let mut message = (**held).clone();
            for reaction in &mut message.reactions {
                (reaction.known, reaction.me) = (None, false);
            }
            *held = Arc::new(message);
        }
        // The states waiting for a page (`pending`: a stream's edits, the
        // copies evicted while a reload is on its way; `pending_reactions`)
        // are left: the page, computed for the new reader, overrides their
        // own states but for a change of the previous one's newer than it.
    }

    /// Forgets a deleted message for good; whether it was held.
    pub fn delete(&mut self, id: MessageId) -> bool {
        if !self.deleted.contains(&id) {
            if self.deleted.len() >= self.tombstones {
                self.deleted.remove(0);
            }
            self.deleted.push(id);
        }
        self.by_id.remove(&id).is_some()
    }

    /// Whether message `id` is known deleted.
    pub fn is_deleted(&self, id: MessageId) -> bool {
        self.deleted.contains(&id)
    }

    /// Whether message `id`, one the reader was shown, is gone: known
    /// deleted, or not held though above the oldest held, since the held
    /// messages run without holes (a reload's page lacked it, say:
    /// remembering each such as deleted would push out the deletions a
    /// late answer must not undo).
    pub fn is_gone(&self, id: MessageId) -> bool {
        let within = self.oldest().is_some_and(|oldest| oldest < id);
        self.is_deleted(id) || (within && !self.by_id.contains_key(&id))
    }

    /// A reload is asked for: what comes from now on is kept through it
    /// (see [`MessageStore::replace`]). Held messages are not, even one
    /// newer than every change seen in order (a reply, shown aside).
    pub fn expect_reload(&mut self) {
        let held = self.by_id.keys().next_back().copied();
        self.reload_from = Some(self.newest.max(held).unwrap_or_default());
    }

    /// The reload asked for will not come (given up): evictions no longer
    /// keep what they evict for it.
    pub fn forget_reload(&mut self) {
        self.reload_from = None;
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
        for message in changed {
            outcome.updated += self.update(message).updated;
        }
        let merged = self.merge(created);
        self.advance(last);
        MergeOutcome {
            added: merged.added,
            evicted: merged.evicted,
            updated: outcome.updated + merged.updated,
            cut: 0,
        }
    }

    /// Moves the point catch-ups start from to `id` (a change's id seen in
    /// order), if it is newer.
    pub fn advance(&mut self, id: Option<MessageId>) {
        self.newest = self.newest.max(id.filter(|id| id.plausible()));
    }

    /// Shows `messages` (the newest page) instead of what is held: the
    /// changes in between could not be replayed. The page was computed
    /// after the reload was asked for (see [`MessageStore::expect_reload`]),
    /// maybe before live events that came meanwhile: it holds every message
    /// there was from its oldest to its newest, so a held message is kept
    /// if it is in the page (folded with it: the newer state wins) or newer
    /// than both the page and what was seen when the reload was asked for
    /// (it came live since); any other is gone. Deletions stay known, and
    /// catch-ups never go back.
    pub fn replace(&mut self, messages: Vec<Message>) -> MergeOutcome {
        let before = self.by_id.len();
        let newest = messages.iter().map(|m| m.id).max();
        let above = self.reload_from.take().max(newest);
        let held = std::mem::take(&mut self.by_id);
        for (&id, message) in held.iter() {
            if above.is_none_or(|above| id > above) || messages.iter().any(|m| m.id == id) {
                self.by_id.insert(id, message.clone());
            }
        }
        self.evicted_up_to = None;
        let mut outcome = self.merge(messages);
        if let Some(oldest) = self.oldest() {
            let floor = MessageId(oldest.0.saturating_sub(1));
            self.evicted_up_to = self.evicted_up_to.max(Some(floor));
        }
        outcome.evicted += before;
        outcome
    }

    /// Adds a page of older messages (the newest page below `before`, the
    /// oldest held when it was asked for), as many as there is room for,
    /// newest first: older pages never push newer messages out. Returns what
    /// changed; `None` when `before` went since (evicted, or a reload showed
    /// newer messages instead): the page would leave a hole above it, so it
    /// is dropped.
    pub fn merge_older(
        &mut self,
        before: MessageId,
        messages: Vec<Message>,
    ) -> Option<MergeOutcome> {
        if self.evicted_up_to.is_some_and(|floor| floor >= before) {
            return None;
        }
        let oldest = self.oldest();
        let held = self.by_id.len();
        for mut message in messages {
            let below = oldest.is_none_or(|o| message.id < o);
            if below && !self.is_deleted(message.id) {
                own_as_of_version(&mut message);
                self.by_id.insert(message.id, Arc::new(message));
            }
        }
        // Past the room there was, the oldest of the page go again: every one
        // of them is below what was held before. Those taken take the newer
        // states of them that waited.
        let added = self.by_id.len() - held;
        let over = self.by_id.len().saturating_sub(self.capacity.max(held));
        self.by_id.remove_first(over);
        let mut taken = Vec::new();
        for &id in self.by_id.keys().take(added - over) {
            taken.push(id);
        }
        for id in taken {
            if let Some(message) = self.by_id.remove(&id) {
                self.insert(Arc::unwrap_or_clone(message));
            }
        }
        let outcome = Some(MergeOutcome {
            added: added - over,
            cut: over,
            ..MergeOutcome::default()
        });
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

    /// Where an older page is asked from: below the oldest held; when every
    /// message held was deleted, below the newest ever seen (the held ones
    /// ran without holes up to it, so what is below is older than all of
    /// them). `None` before anything was seen.
    pub fn older_anchor(&self) -> Option<MessageId> {
        (self.oldest()).or_else(|| {
            self.newest
                .map(|newest| MessageId(newest.0.saturating_add(1)))
        })
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

/// A state from the wire says the reader's own reactions as of its
/// reactions' version (none from a stream's message, whose version the
/// engine took away: it says nothing of them).
fn own_as_of_version(message: &mut Message) {
    for reaction in &mut message.reactions {
        reaction.known = message.reactions_version;
    }
}

/// Keeps a newer state of a message not held, the oldest going past the
/// bound.
fn keep_pending<T>(pending: &mut Vec<T>, change: T) {
    if pending.len() >= MAX_PENDING {
        pending.remove(0);
    }
    pending.push(change);
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
        let outcome = store.merge_older(MessageId(10), page);
        assert_eq!(
            outcome,
            Some(MergeOutcome {
                added: 4,
                // 3, the oldest of five below 10, had no room.
                cut: 1,
                ..MergeOutcome::default()
            })
        );
        assert_eq!(ids(&store), [5, 7, 8, 9, 10, 11], "3 had no room left");
        assert!(!store.has_room());
        assert!(
            !store
                .merge_older(MessageId(5), vec![message(1)])
                .unwrap()
                .changed(),
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
