//! A client that follows the contract: it holds a view, applies what a
//! catch-up brings (stream events, poll events, pages of changes), and
//! notes the channels the bridge told it to reload (`resync`).

use super::reference::{Entry, Shown, View, READER};
use serde_json::Value;
use std::collections::BTreeSet;

/// One event as a stream (or a poll) delivers it.
#[derive(Debug)]
pub struct Event {
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
                let mine = self
                    .view
                    .get(&id)
                    .map(|s| s.mine.clone())
                    .unwrap_or_default();
                self.view.insert(id, shown_of(data, mine)?);
            }
            "message_delete" => drop(self.view.remove(&id_of(&data["id"])?)),
            "reaction" => {
                let id = id_of(&data["message_id"])?;
                if let Some(shown) = self.view.get_mut(&id) {
                    shown.reactions = entries(&data["reactions"])?;
                    if data["user"] == READER {
                        let emoji = data["emoji"].as_str().ok_or("a reaction without emoji")?;
                        match data["added"].as_bool() {
                            Some(true) => drop(shown.mine.insert(emoji.to_owned())),
                            Some(false) => drop(shown.mine.remove(emoji)),
                            None => return Err(format!("a reaction without `added`: {data}")),
                        }
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
            // Who is here, who types, where a reader stopped: not messages.
            "presence" | "typing" | "read" => {}
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
            let mine = (message["reactions"].as_array().into_iter().flatten())
                .filter(|entry| entry["me"] == true)
                .filter_map(|entry| entry["emoji"].as_str().map(str::to_owned))
                .collect();
            self.view
                .insert(id_of(&message["id"])?, shown_of(message, mine)?);
        }
        for id in page["deleted"].as_array().ok_or("a page without deleted")? {
            self.view.remove(&id_of(id)?);
        }
        Ok(())
    }
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
        mine,
    })
}

fn entries(list: &Value) -> Result<Vec<Entry>, String> {
    let list = list
        .as_array()
        .ok_or_else(|| format!("reactions are no list: {list}"))?;
    (list.iter())
        .map(|entry| {
            Ok(Entry {
                emoji: entry["emoji"].as_str().ok_or("no emoji")?.to_owned(),
                count: entry["count"].as_u64().ok_or("no count")?,
                users: (entry["users"].as_array().ok_or("no users")?.iter())
                    .map(|u| u.as_str().unwrap_or_default().to_owned())
                    .collect(),
            })
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
        let (mut name, mut data) = (None, None);
        for line in frame.lines() {
            match line.split_once(": ") {
                Some(("event", value)) => name = Some(value.to_owned()),
                Some(("data", value)) => data = serde_json::from_str(value).ok(),
                _ => {}
            }
        }
        if let (Some(name), Some(data)) = (name, data) {
            events.push(Event { name, data });
        }
    }
    events
}
