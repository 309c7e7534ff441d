//! The reference model: every message's true state, kept plainly (no
//! bounds, no files, no restarts), and what a client should show of it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The reader whose own reactions the clients keep.
pub const READER: &str = "ann";
/// The channels the model drives.
pub const CHANNELS: [&str; 2] = ["a", "b"];
/// Names on the wire per reaction entry (the contract's bound).
const SHOWN: usize = 20;
/// Different emoji a message may carry.
const MAX_EMOJI: usize = 20;

/// One message as it truly is.
#[derive(Clone, Debug)]
pub struct Truth {
    pub channel: usize,
    pub author: String,
    pub content: String,
    /// The change id of its newest edit.
    pub version: Option<u64>,
    /// Each emoji with every reactor, in the order they reacted.
    pub reactions: Vec<(String, Vec<String>)>,
    pub deleted: bool,
}

/// One reaction entry as a client shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub emoji: String,
    pub count: u64,
    pub users: Vec<String>,
}

/// One message as a client shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown {
    pub channel: String,
    pub content: String,
    pub version: Option<String>,
    pub reactions: Vec<Entry>,
    /// The emoji the reader reacted with.
    pub mine: BTreeSet<String>,
}

/// What a client shows: every message it holds, by id.
pub type View = BTreeMap<u64, Shown>;

/// The truth, and what the bridge retains of it.
pub struct Model {
    pub messages: BTreeMap<u64, Truth>,
    /// Ids in creation order, for picking a message.
    pub created: Vec<u64>,
    /// Per channel, the ids the bridge retains (its `--history-per-channel`).
    pub held: [VecDeque<u64>; 2],
    pub capacity: usize,
    /// The newest change id the bridge acknowledged.
    pub newest: u64,
}

impl Model {
    pub fn new(capacity: usize) -> Model {
        Model {
            messages: BTreeMap::new(),
            created: Vec::new(),
            held: Default::default(),
            capacity,
            newest: 0,
        }
    }

    /// A message id picked by `pick`, if any was created.
    pub fn pick(&self, pick: usize) -> Option<u64> {
        (!self.created.is_empty()).then(|| self.created[pick % self.created.len()])
    }

    pub fn saw(&mut self, change_id: u64) {
        assert!(
            change_id > self.newest,
            "change ids grow: {change_id} after {}",
            self.newest
        );
        self.newest = change_id;
    }

    pub fn create(&mut self, id: u64, channel: usize, author: &str, content: &str) {
        self.saw(id);
        self.messages.insert(
            id,
            Truth {
                channel,
                author: author.to_owned(),
                content: content.to_owned(),
                version: None,
                reactions: Vec::new(),
                deleted: false,
            },
        );
        self.created.push(id);
        let held = &mut self.held[channel];
        held.push_back(id);
        if held.len() > self.capacity {
            held.pop_front();
        }
    }

    /// Whether the bridge still holds message `id` (so may change it).
    pub fn holds(&self, id: u64) -> bool {
        let channel = self.messages[&id].channel;
        self.held[channel].contains(&id)
    }

    pub fn edit(&mut self, id: u64, change_id: u64, content: &str) {
        self.saw(change_id);
        let message = self.messages.get_mut(&id).unwrap();
        message.content = content.to_owned();
        message.version = Some(change_id);
    }

    pub fn delete(&mut self, id: u64, change_id: u64) {
        self.saw(change_id);
        let message = self.messages.get_mut(&id).unwrap();
        message.deleted = true;
        self.held[message.channel].retain(|held| *held != id);
    }

    /// Whether the reaction would be refused (a new emoji past the bound).
    pub fn refuses(&self, id: u64, emoji: &str, add: bool) -> bool {
        let reactions = &self.messages[&id].reactions;
        add && reactions.len() >= MAX_EMOJI && !reactions.iter().any(|(e, _)| e == emoji)
    }

    pub fn react(&mut self, id: u64, change_id: u64, emoji: &str, user: &str, add: bool) {
        self.saw(change_id);
        let reactions = &mut self.messages.get_mut(&id).unwrap().reactions;
        let at = match reactions.iter().position(|(e, _)| e == emoji) {
            Some(at) => at,
            None if add => {
                reactions.push((emoji.to_owned(), Vec::new()));
                reactions.len() - 1
            }
            None => return,
        };
        let users = &mut reactions[at].1;
        match (users.iter().position(|u| u == user), add) {
            (None, true) => users.push(user.to_owned()),
            (Some(i), false) => drop(users.remove(i)),
            _ => {}
        }
        if users.is_empty() {
            reactions.remove(at);
        }
    }

    /// What a client that missed nothing shows now.
    pub fn view(&self) -> View {
        (self.messages.iter())
            .filter(|(_, m)| !m.deleted)
            .map(|(id, m)| (*id, shown(m)))
            .collect()
    }
}

fn shown(truth: &Truth) -> Shown {
    let reactions = (truth.reactions.iter())
        .map(|(emoji, users)| Entry {
            emoji: emoji.clone(),
            count: users.len() as u64,
            users: users[users.len().saturating_sub(SHOWN)..].to_vec(),
        })
        .collect();
    let mine = (truth.reactions.iter())
        .filter(|(_, users)| users.iter().any(|u| u == READER))
        .map(|(emoji, _)| emoji.clone())
        .collect();
    Shown {
        channel: CHANNELS[truth.channel].to_owned(),
        content: truth.content.clone(),
        version: truth.version.map(|v| v.to_string()),
        reactions,
        mine,
    }
}

/// The messages of one channel in a view.
pub fn of_channel(view: &View, channel: &str) -> View {
    (view.iter())
        .filter(|(_, shown)| shown.channel == channel)
        .map(|(id, shown)| (*id, shown.clone()))
        .collect()
}
