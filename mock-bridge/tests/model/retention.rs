//! What the bridge must still know of one channel, by the rules its README
//! states, kept apart from the bridge's own code: it retains the newest
//! `--history-per-channel` messages and as many later changes; a message
//! evicted cuts the history through its newest change; a change evicted
//! cuts it through itself; a restart reads the file back in id order
//! through the retention it now has (which may differ) and knows the
//! messages as they are, not the changes that made them so (it cuts through
//! every change it read). A catch-up from a cursor below the cut must
//! resync; one at or above it must not.

use std::collections::VecDeque;

/// One step the history file holds since the last restart.
#[derive(Clone, Copy, Debug)]
enum Step {
    Create(u64),
    Delete {
        id: u64,
        message: u64,
    },
    /// An edit or a reaction.
    Change(u64),
}

#[derive(Clone, Debug)]
pub struct Retention {
    pub capacity: usize,
    /// The messages retained, oldest first.
    pub held: VecDeque<u64>,
    /// The changes kept for replays, oldest first.
    kept: VecDeque<u64>,
    /// The largest change id the bridge no longer knows the way to (0: none).
    pub cut: u64,
    /// As the last restart left them (the file's compacted part).
    base: Vec<u64>,
    base_cut: u64,
    /// What the file has had appended since, in id order.
    since: Vec<Step>,
}

impl Retention {
    pub fn new(capacity: usize) -> Retention {
        Retention {
            capacity: capacity.max(1),
            held: VecDeque::new(),
            kept: VecDeque::new(),
            cut: 0,
            base: Vec::new(),
            base_cut: 0,
            since: Vec::new(),
        }
    }

    /// Message `id` created; `newest_change` says, of a message evicted,
    /// the id of its newest change (its own id when it has none).
    pub fn create(&mut self, id: u64, newest_change: impl Fn(u64) -> u64) {
        self.since.push(Step::Create(id));
        self.held.push_back(id);
        while self.held.len() > self.capacity {
            let evicted = self.held.pop_front().unwrap();
            self.cut = self.cut.max(newest_change(evicted));
        }
    }

    /// An edit or a reaction, change `id`.
    pub fn change(&mut self, id: u64) {
        self.since.push(Step::Change(id));
        self.keep(id);
    }

    /// Message `message` deleted as change `id`.
    pub fn delete(&mut self, id: u64, message: u64) {
        self.since.push(Step::Delete { id, message });
        self.held.retain(|held| *held != message);
        self.keep(id);
    }

    fn keep(&mut self, id: u64) {
        self.kept.push_back(id);
        while self.kept.len() > self.capacity {
            let evicted = self.kept.pop_front().unwrap();
            self.cut = self.cut.max(evicted);
        }
    }

    /// The bridge restarts with `capacity`: what it reads back from the
    /// file (what the last restart retained, then every step since).
    pub fn restart(&mut self, capacity: usize) {
        let capacity = capacity.max(1);
        let mut held = VecDeque::new();
        let mut cut = self.base_cut;
        let steps =
            (self.base.iter().map(|id| Step::Create(*id))).chain(self.since.iter().copied());
        for step in steps {
            match step {
                Step::Create(id) => {
                    held.push_back(id);
                    if held.len() > capacity {
                        // Its changes are all at most the cut (before the
                        // last restart) or read back (since): its own id is
                        // what may pass them.
                        cut = cut.max(held.pop_front().unwrap());
                    }
                }
                Step::Delete { id, message } => {
                    held.retain(|held| *held != message);
                    cut = cut.max(id);
                }
                Step::Change(id) => cut = cut.max(id),
            }
        }
        *self = Retention {
            capacity,
            base: held.iter().copied().collect(),
            base_cut: cut,
            held,
            kept: VecDeque::new(),
            cut,
            since: Vec::new(),
        };
    }

    /// How many records a replay from `cursor` holds: the retained
    /// messages created after it, and the kept changes after it.
    pub fn records_after(&self, cursor: u64) -> usize {
        let created = self.held.iter().filter(|id| **id > cursor).count();
        created + self.kept.iter().filter(|id| **id > cursor).count()
    }

    /// The newest change id the channel knows of (a creation held, a
    /// change kept, or the cut): where a client without a cursor starts.
    pub fn newest(&self) -> u64 {
        let held = self.held.back().copied().unwrap_or(0);
        let kept = self.kept.back().copied().unwrap_or(0);
        held.max(kept).max(self.cut)
    }

    /// Whether the bridge no longer knows every change after `cursor`.
    pub fn cut_above(&self, cursor: u64) -> bool {
        self.cut > cursor
    }
}
