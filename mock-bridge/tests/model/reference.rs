//! The reference model: every message's true state, kept plainly (no
//! bounds but the documented ones, no files), what a client should show of
//! it at each change, and what the bridge must still know of each channel
//! ([`Retention`]).

use super::retention::Retention;
use std::collections::{BTreeMap, BTreeSet};

/// The reader whose own reactions the clients keep.
pub const READER: &str = "ann";
/// The channels the model drives.
pub const CHANNELS: [&str; 2] = ["a", "b"];
/// Names on the wire per reaction entry (the contract's bound).
const SHOWN: usize = 20;
/// Different emoji a message may carry.
pub const MAX_EMOJI: usize = 20;

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
    /// The change id of its newest reaction change.
    pub reactions_version: Option<u64>,
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
    /// The change id of its newest reaction change, which orders them.
    pub reactions_version: Option<u64>,
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
    /// Per channel, what the bridge must still know.
    pub channels: [Retention; 2],
    /// The newest change id the bridge acknowledged.
    pub newest: u64,
    /// Every change acknowledged, with the view right after it, oldest
    /// first: the points a client's cursor can be at.
    pub timeline: Vec<(u64, View)>,
}

impl Model {
    pub fn new(capacity: usize) -> Model {
        Model {
            messages: BTreeMap::new(),
            created: Vec::new(),
            channels: [Retention::new(capacity), Retention::new(capacity)],
            newest: 0,
            timeline: Vec::new(),
        }
    }

    /// A message id picked by `pick`, if any was created.
    pub fn pick(&self, pick: usize) -> Option<u64> {
        (!self.created.is_empty()).then(|| self.created[pick % self.created.len()])
    }

    /// Change `change_id` was made: the view after it is a cursor's.
    fn saw(&mut self, change_id: u64) {
        assert!(
            change_id > self.newest,
            "change ids grow: {change_id} after {}",
            self.newest
        );
        self.newest = change_id;
        let view = self.view();
        self.timeline.push((change_id, view));
    }

    /// A cursor `back` changes before the newest (at the start, before any,
    /// when there are fewer), with the view then.
    pub fn cursor(&self, back: usize) -> (u64, View) {
        match self.timeline.len().checked_sub(back + 1) {
            Some(at) => self.timeline[at].clone(),
            None => (0, View::new()),
        }
    }

    pub fn create(&mut self, id: u64, channel: usize, author: &str, content: &str) {
        self.messages.insert(
            id,
            Truth {
                channel,
                author: author.to_owned(),
                content: content.to_owned(),
                version: None,
                reactions: Vec::new(),
                reactions_version: None,
                deleted: false,
            },
        );
        self.created.push(id);
        let messages = &self.messages;
        let newest_change = |id: u64| {
            let truth = &messages[&id];
            (Some(id).max(truth.version).max(truth.reactions_version)).unwrap_or(id)
        };
        self.channels[channel].create(id, newest_change);
        self.saw(id);
    }

    /// Whether the bridge still holds message `id` (so may change it).
    pub fn holds(&self, id: u64) -> bool {
        let channel = self.messages[&id].channel;
        self.channels[channel].held.contains(&id)
    }

    pub fn edit(&mut self, id: u64, change_id: u64, content: &str) {
        let message = self.messages.get_mut(&id).unwrap();
        message.content = content.to_owned();
        message.version = Some(change_id);
        let channel = message.channel;
        self.channels[channel].change(change_id);
        self.saw(change_id);
    }

    pub fn delete(&mut self, id: u64, change_id: u64) {
        let message = self.messages.get_mut(&id).unwrap();
        message.deleted = true;
        let channel = message.channel;
        self.channels[channel].delete(change_id, id);
        self.saw(change_id);
    }

    /// Whether the reaction would be refused (a new emoji past the bound).
    pub fn refuses(&self, id: u64, emoji: &str, add: bool) -> bool {
        let reactions = &self.messages[&id].reactions;
        add && reactions.len() >= MAX_EMOJI && !reactions.iter().any(|(e, _)| e == emoji)
    }

    /// Whether `user` reacts with `emoji` to message `id`.
    pub fn reacts(&self, id: u64, emoji: &str, user: &str) -> bool {
        let reactions = &self.messages[&id].reactions;
        (reactions.iter()).any(|(e, users)| e == emoji && users.iter().any(|u| u == user))
    }

    /// Whether the reaction changes anything.
    pub fn changes(&self, id: u64, emoji: &str, user: &str, add: bool) -> bool {
        self.reacts(id, emoji, user) != add
    }

    /// A reaction that changes something (see [`Model::changes`]).
    pub fn react(&mut self, id: u64, change_id: u64, emoji: &str, user: &str, add: bool) {
        let message = self.messages.get_mut(&id).unwrap();
        let reactions = &mut message.reactions;
        let at = match reactions.iter().position(|(e, _)| e == emoji) {
            Some(at) => at,
            None => {
                reactions.push((emoji.to_owned(), Vec::new()));
                reactions.len() - 1
            }
        };
        let users = &mut reactions[at].1;
        match (users.iter().position(|u| u == user), add) {
            (None, true) => users.push(user.to_owned()),
            (Some(i), false) => drop(users.remove(i)),
            other => panic!("a reaction that changes nothing: {other:?}"),
        }
        if users.is_empty() {
            reactions.remove(at);
        }
        message.reactions_version = Some(change_id);
        let channel = message.channel;
        self.channels[channel].change(change_id);
        self.saw(change_id);
    }

    /// The bridge restarts, retaining `capacity` messages a channel.
    pub fn restart(&mut self, capacity: usize) {
        for channel in &mut self.channels {
            channel.restart(capacity);
        }
    }

    /// What a client that missed nothing shows now.
    pub fn view(&self) -> View {
        (self.messages.iter())
            .filter(|(_, m)| !m.deleted)
            .map(|(id, m)| (*id, shown(m)))
            .collect()
    }

    /// Message `id` as a client shows it now.
    pub fn shown(&self, id: u64) -> Shown {
        shown(&self.messages[&id])
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
        reactions_version: truth.reactions_version,
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
