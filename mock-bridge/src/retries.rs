//! What makes a client's retry safe: its posts and its changes remembered
//! by their client ids, so that a retry (after an answer that never came)
//! is answered as the first try was, never made twice. Both survive
//! restarts in the history file ([`crate::persist::Memory`]).

use crate::message::Message;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// How many client ids are remembered (of posts, and of changes): a retry
/// comes within seconds, and each entry holds its message.
pub const REMEMBERED: usize = 10_000;

/// A post remembered by its client id.
#[derive(Clone, Debug)]
pub struct Reply {
    /// As it was stored.
    pub message: Arc<Message>,
    /// Deleted since: a retry answers 410, it must not come back.
    pub deleted: bool,
}

/// Entries by client id, the oldest forgotten past [`REMEMBERED`].
#[derive(Debug)]
pub struct ByClientId<T> {
    by_id: HashMap<String, T>,
    order: VecDeque<String>,
}

impl<T> Default for ByClientId<T> {
    fn default() -> Self {
        ByClientId {
            by_id: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<T> ByClientId<T> {
    pub fn get(&self, client_id: &str) -> Option<&T> {
        self.by_id.get(client_id)
    }

    pub fn get_mut(&mut self, client_id: &str) -> Option<&mut T> {
        self.by_id.get_mut(client_id)
    }

    /// The remembered entries, oldest first.
    pub fn in_order(&self) -> impl Iterator<Item = &T> {
        self.order.iter().filter_map(|id| self.by_id.get(id))
    }

    pub fn insert(&mut self, client_id: String, entry: T) {
        if self.by_id.insert(client_id.clone(), entry).is_none() {
            self.order.push_back(client_id);
        }
        while self.order.len() > REMEMBERED {
            if let Some(oldest) = self.order.pop_front() {
                self.by_id.remove(&oldest);
            }
        }
    }
}
