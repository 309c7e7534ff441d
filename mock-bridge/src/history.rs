//! One channel's retained messages and the queries the history endpoint answers.

use crate::message::Message;
use std::collections::VecDeque;
use std::sync::Arc;

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
}

impl ChannelLog {
    pub fn new(capacity: usize) -> Self {
        ChannelLog {
            messages: VecDeque::new(),
            capacity: capacity.max(1),
            evicted_through: None,
        }
    }

    /// Appends a message (its id must be greater than every id held).
    pub fn push(&mut self, message: Arc<Message>) {
        debug_assert!(self.messages.back().is_none_or(|last| last.id < message.id));
        self.messages.push_back(message);
        while self.messages.len() > self.capacity {
            if let Some(evicted) = self.messages.pop_front() {
                self.evicted_through = Some(evicted.id);
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

    /// Messages after `last_event_id` for a replay, or `None` when some of them
    /// were already evicted or there are more than `max` (the client must
    /// refetch instead).
    pub fn replay_after(&self, last_event_id: u64, max: usize) -> Option<Vec<Arc<Message>>> {
        if self
            .evicted_through
            .is_some_and(|evicted| evicted > last_event_id)
        {
            return None;
        }
        let start = self.messages.partition_point(|m| m.id <= last_event_id);
        if self.messages.len() - start > max {
            return None;
        }
        Some(self.messages.range(start..).cloned().collect())
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
            }));
        }
        log
    }

    fn ids(messages: Vec<Arc<Message>>) -> Vec<u64> {
        messages.iter().map(|m| m.id).collect()
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

    #[test]
    fn replay_refuses_to_skip_evicted_messages() {
        let log = log_of(1..=10, 5);
        assert_eq!(
            log.replay_after(5, 100).map(ids),
            Some(vec![6, 7, 8, 9, 10])
        );
        assert_eq!(log.replay_after(10, 100).map(ids), Some(vec![]));
        assert_eq!(log.replay_after(4, 100), None, "5 was evicted");
        assert_eq!(
            log.replay_after(5, 4),
            None,
            "longer than the most replayed"
        );
        assert_eq!(log.replay_after(6, 4).map(ids), Some(vec![7, 8, 9, 10]));
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
