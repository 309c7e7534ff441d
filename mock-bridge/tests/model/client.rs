//! A client that follows the contract: it holds a view, applies what a
//! catch-up or a live stream brings (stream events, poll events, pages of
//! changes), and notes the channels the bridge told it to reload
//! (`resync`). A `reaction` event is read by its contract fields (the
//! emoji's `count` and `users`, who changed it and how), and by the whole
//! `reactions` when it carries them (an extension); the two must agree.
//!
//! It folds as the panel does (`panel_core::message::Message::fold` and
//! `react`): each state of a message says how new it is, its text by
//! `version` (else its id), its reactions by `reactions_version`; a state
//! older than the one held is not taken, and a `reaction` event not newer
//! than the reactions held is dropped whole (its `user` and `added` too).

use super::reference::{Entry, Shown, View, READER};
use serde_json::Value;
use std::collections::BTreeSet;

/// One event as a stream (or a poll) delivers it.
#[derive(Debug)]
pub struct Event {
    pub id: Option<u64>,
    pub name: String,
    pub data: Value,
}

pub struct Client {
    pub view: View,
    /// Channels it must reload: the bridge said so.
    pub resynced: BTreeSet<String>,
}

impl Client {
    pub fn from(snapshot: &View) -> Client {
        Client {
            view: snapshot.clone(),
            resynced: BTreeSet::new(),
        }
    }

    /// Applies one event of a stream or poll that carries `channels`.
    pub fn event(&mut self, event: &Event, channels: &[&str]) -> Result<(), String> {
        let data = &event.data;
        match event.name.as_str() {
            "status" | "heartbeat" => {}
            "message" | "message_update" => {
                let id = id_of(&data["id"])?;
                let state = shown_of(data, Default::default())?;
                match self.view.get_mut(&id) {
                    Some(held) => fold(held, state, id),
                    None => drop(self.view.insert(id, state)),
                }
            }
            "message_delete" => drop(self.view.remove(&id_of(&data["id"])?)),
            "reaction" => {
                let id = id_of(&data["message_id"])?;
                let version = match data.get("version") {
                    Some(version) => Some(id_of(version)?),
                    None => event.id,
                };
                if let Some(shown) = self.view.get_mut(&id) {
                    let older =
                        version.is_some_and(|v| shown.reactions_version.is_some_and(|o| v <= o));
                    if !older {
                        react(shown, data)?;
                        shown.reactions_version = version.or(shown.reactions_version);
                    }
                }
            }
            "resync" => match data["channels"].as_array() {
                Some(named) => {
                    for name in named {
                        self.resynced
                            .insert(name.as_str().unwrap_or_default().to_owned());
                    }
                }
                None => self.resynced.extend(channels.iter().map(|c| c.to_string())),
            },
            other => return Err(format!("an unknown event {other:?}")),
        }
        Ok(())
    }

    /// Applies one page of `GET …/changes` (asked `as` the reader).
    pub fn page(&mut self, page: &Value, channel: &str) -> Result<(), String> {
        if page.get("resync").is_some() {
            self.resynced.insert(channel.to_owned());
            return Ok(());
        }
        for message in page["messages"]
            .as_array()
            .ok_or("a page without messages")?
        {
            self.view
                .insert(id_of(&message["id"])?, shown_of(message, mine_of(message))?);
        }
        for id in page["deleted"].as_array().ok_or("a page without deleted")? {
            self.view.remove(&id_of(id)?);
        }
        Ok(())
    }
}

/// `state` (another state of message `id`) folded into `held`: its text
/// if edited later, its reactions if changed later (or, without an order,
/// when they differ); the reader's own marks stay (a stream's message says
/// nothing of them).
fn fold(held: &mut Shown, state: Shown, id: u64) {
    let version = |s: &Shown| {
        s.version
            .as_ref()
            .and_then(|v| v.parse().ok())
            .unwrap_or(id)
    };
    if version(&state) > version(held) {
        held.content = state.content;
        held.version = state.version;
    }
    let newer = match (state.reactions_version, held.reactions_version) {
        (Some(theirs), Some(ours)) => {
            theirs > ours || (theirs == ours && state.reactions != held.reactions)
        }
        (Some(_), None) => true,
        (None, None) => state.reactions != held.reactions,
        (None, Some(_)) => false,
    };
    if newer {
        held.reactions = state.reactions;
        held.reactions_version = state.reactions_version;
    }
}

/// A `reaction` event applied to a message shown: the emoji's entry from
/// the contract fields, the whole list when the event has it (which must
/// hold that same entry), and the reader's own state of that emoji when
/// the reader changed it.
fn react(shown: &mut Shown, data: &Value) -> Result<(), String> {
    let emoji = data["emoji"].as_str().ok_or("a reaction without emoji")?;
    let entry = Entry {
        emoji: emoji.to_owned(),
        count: data["count"].as_u64().ok_or("a reaction without count")?,
        users: names(&data["users"])?,
    };
    let at = shown.reactions.iter().position(|r| r.emoji == emoji);
    match (at, entry.count) {
        (Some(at), 0) => drop(shown.reactions.remove(at)),
        (Some(at), _) => shown.reactions[at] = entry.clone(),
        (None, 0) => {}
        (None, _) => shown.reactions.push(entry.clone()),
    }
    if let Some(list) = data.get("reactions") {
        let whole = entries(list)?;
        let listed = whole.iter().find(|r| r.emoji == emoji);
        if listed != (entry.count > 0).then_some(&entry) {
            return Err(format!(
                "a reaction's own entry and its list disagree: {data}"
            ));
        }
        shown.reactions = whole;
    }
    if data["user"] == READER {
        match data["added"].as_bool() {
            Some(true) => drop(shown.mine.insert(emoji.to_owned())),
            Some(false) => drop(shown.mine.remove(emoji)),
            None => return Err(format!("a reaction without `added`: {data}")),
        }
    }
    Ok(())
}

/// The emoji a message answered for the reader is marked with (`me`).
pub fn mine_of(message: &Value) -> BTreeSet<String> {
    (message["reactions"].as_array().into_iter().flatten())
        .filter(|entry| entry["me"] == true)
        .filter_map(|entry| entry["emoji"].as_str().map(str::to_owned))
        .collect()
}

/// A message's state as a client shows it, from its JSON.
pub fn shown_of(message: &Value, mine: BTreeSet<String>) -> Result<Shown, String> {
    Ok(Shown {
        channel: message["channel_id"]
            .as_str()
            .ok_or("no channel_id")?
            .to_owned(),
        content: message["content"].as_str().ok_or("no content")?.to_owned(),
        version: message["version"].as_str().map(str::to_owned),
        reactions: match message.get("reactions") {
            None => Vec::new(),
            Some(list) => entries(list)?,
        },
        reactions_version: match message.get("reactions_version") {
            None => None,
            Some(version) => Some(id_of(version)?),
        },
        mine,
    })
}

pub fn entries(list: &Value) -> Result<Vec<Entry>, String> {
    let list = list
        .as_array()
        .ok_or_else(|| format!("reactions are no list: {list}"))?;
    (list.iter())
        .map(|entry| {
            Ok(Entry {
                emoji: entry["emoji"].as_str().ok_or("no emoji")?.to_owned(),
                count: entry["count"].as_u64().ok_or("no count")?,
                users: names(&entry["users"])?,
            })
        })
        .collect()
}

fn names(list: &Value) -> Result<Vec<String>, String> {
    (list.as_array().ok_or("no users")?.iter())
        .map(|u| {
            u.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("a user is no name: {u}"))
        })
        .collect()
}

pub fn id_of(value: &Value) -> Result<u64, String> {
    (value.as_str().and_then(|id| id.parse().ok())).ok_or_else(|| format!("not an id: {value}"))
}

/// The events of SSE text the bridge wrote.
pub fn events_of(bytes: &[u8]) -> Vec<Event> {
    let text = String::from_utf8_lossy(bytes);
    let mut events = Vec::new();
    for frame in text.split("\n\n") {
        let (mut id, mut name, mut data) = (None, None, None);
        for line in frame.lines() {
            match line.split_once(": ") {
                Some(("id", value)) => id = value.parse().ok(),
                Some(("event", value)) => name = Some(value.to_owned()),
                Some(("data", value)) => data = serde_json::from_str(value).ok(),
                _ => {}
            }
        }
        if let (Some(name), Some(data)) = (name, data) {
            events.push(Event { id, name, data });
        }
    }
    events
}

/// The events of a poll's answer.
pub fn poll_events(answer: &Value) -> Result<Vec<Event>, String> {
    let events = answer["events"]
        .as_array()
        .ok_or_else(|| format!("a poll answered {answer}"))?;
    (events.iter())
        .map(|event| {
            let data = event["data"].as_str().ok_or("an event without data")?;
            Ok(Event {
                id: event["id"].as_str().and_then(|id| id.parse().ok()),
                name: (event["event"].as_str())
                    .ok_or("an event without a name")?
                    .to_owned(),
                data: serde_json::from_str(data).map_err(|e| e.to_string())?,
            })
        })
        .collect()
}
