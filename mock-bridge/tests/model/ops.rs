//! Each operation through the routes readers and the control API use, its
//! answer and the frames it broadcast held against the model's prediction,
//! and the model told what was made.

use super::bridge::{count, Bridge, Retry, AUTHORS, STATS};
use super::client::{entries, id_of, shown_of, Event};
use super::reference::{Shown, CHANNELS};
use serde_json::{json, Value};

/// The frames an operation broadcast, as the model expects them: each
/// event's name, and the change ids they carry.
fn ids_of(events: &[Event], name: &str, expected: usize) -> Result<Vec<u64>, String> {
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    if events.len() != expected || events.iter().any(|e| e.name != name) {
        return Err(format!(
            "expected {expected} {name} frames, the bridge broadcast {names:?}"
        ));
    }
    (events.iter())
        .map(|e| e.id.ok_or_else(|| format!("a {name} frame without an id")))
        .collect()
}

/// `answer` against message `id` as the model shows it now (the reader's
/// own marks aside).
fn matches_truth(bridge: &Bridge, id: u64, answer: &Value) -> Result<(), String> {
    let truth = bridge.model.shown(id);
    let shown = shown_of(answer, truth.mine.clone())?;
    if shown != truth {
        return Err(format!("answered {shown:?}\ntruth {truth:?}"));
    }
    Ok(())
}

impl Bridge {
    pub fn create(&mut self, channel: usize, author: &str, reply: bool) -> Result<(), String> {
        let content = self.unique("m");
        let witness = self.witness()?;
        let (status, message, client_id) = if reply {
            let client_id = self.unique("p");
            let path = format!("/api/channels/{}/messages", CHANNELS[channel]);
            let body = json!({ "content": content, "client_id": client_id, "author": author });
            let (status, message) = self.call("POST", &path, Some(body))?;
            (status, message, Some(client_id))
        } else {
            let path = format!("/internal/channels/{}/messages", CHANNELS[channel]);
            let body = json!({ "author": author, "content": content });
            let (status, message) = self.call("POST", &path, Some(body))?;
            (status, message, None)
        };
        let frames = self.witnessed(witness)?;
        if status != 201 {
            return Err(format!("a new message answered {status} {message}"));
        }
        let id = id_of(&message["id"])?;
        if ids_of(&frames, "message", 1)? != [id] {
            return Err(format!("message {id} was broadcast as {frames:?}"));
        }
        if let Some(client_id) = client_id {
            self.posts.push((client_id, id, channel, author.to_owned()));
        }
        self.model.create(id, channel, author, &content);
        Ok(())
    }

    pub fn retry_post(&mut self, pick: usize) -> Result<(), String> {
        if self.posts.is_empty() {
            return Ok(());
        }
        let (client_id, id, channel, author) = self.posts[pick % self.posts.len()].clone();
        let deleted = self.model.messages[&id].deleted;
        let path = format!("/api/channels/{}/messages", CHANNELS[channel]);
        let body = json!({ "content": "retried", "client_id": client_id, "author": author });
        match self.call("POST", &path, Some(body))? {
            (410, _) if deleted => Ok(()),
            (200, message) if !deleted && id_of(&message["id"]) == Ok(id) => Ok(()),
            (status, answer) => Err(format!(
                "a retry of reply {id} (deleted: {deleted}) answered {status} {answer}"
            )),
        }
    }

    /// An edit (or, with `delete`, a deletion) by a reader (an author's
    /// name) or the control API (`reader` 3).
    pub fn edit(
        &mut self,
        pick: usize,
        reader: usize,
        client_id: bool,
        delete: bool,
    ) -> Result<(), String> {
        let Some(id) = self.model.pick(pick) else {
            return Ok(());
        };
        let content = self.unique("m");
        let who = AUTHORS.get(reader).copied();
        let client_id = (client_id && who.is_some()).then(|| self.unique("c"));
        let truth = &self.model.messages[&id];
        let channel = truth.channel;
        let held = self.model.holds(id);
        let theirs = who.is_none_or(|who| who == truth.author);
        let path = match who {
            Some(_) => format!("/api/channels/{}/messages/{id}", CHANNELS[channel]),
            None => format!("/internal/channels/{}/messages/{id}", CHANNELS[channel]),
        };
        let body = match who {
            Some(who) => {
                let mut body = json!({ "author": who });
                if let Some(client_id) = &client_id {
                    body["client_id"] = json!(client_id);
                }
                if !delete {
                    body["content"] = json!(content);
                }
                Some(body)
            }
            None => (!delete).then(|| json!({ "content": content })),
        };
        let witness = self.witness()?;
        let method = if delete { "DELETE" } else { "PATCH" };
        let (status, answer) = self.call(method, &path, body)?;
        let frames = self.witnessed(witness)?;
        match status {
            200 if held && theirs => {}
            404 if !held => return ids_of(&frames, "none", 0).map(drop),
            403 if held && !theirs => return ids_of(&frames, "none", 0).map(drop),
            _ => return Err(format!("held {held}, theirs {theirs}: {status} {answer}")),
        }
        let change = if delete {
            if answer != json!({ "deleted": id.to_string() }) {
                return Err(format!("a deletion answered {answer}"));
            }
            let change = ids_of(&frames, "message_delete", 1)?[0];
            self.model.delete(id, change);
            change
        } else {
            let change = id_of(&answer["version"])?;
            if ids_of(&frames, "message_update", 1)? != [change] {
                return Err(format!("edit {change} was broadcast as {frames:?}"));
            }
            self.model.edit(id, change, &content);
            matches_truth(self, id, &answer)?;
            change
        };
        if let (Some(client_id), Some(reader)) = (client_id, who) {
            self.retries.push(Retry {
                client_id,
                channel,
                message: id,
                content: (!delete).then_some(content),
                reader: reader.to_owned(),
                change,
            });
        }
        Ok(())
    }

    /// A reader's change sent again with its client id: answered as the
    /// first was, never made again.
    pub fn retry_change(&mut self, pick: usize) -> Result<(), String> {
        if self.retries.is_empty() {
            return Ok(());
        }
        let retry = &self.retries[pick % self.retries.len()];
        let path = format!(
            "/api/channels/{}/messages/{}",
            CHANNELS[retry.channel], retry.message
        );
        let mut body = json!({ "author": retry.reader, "client_id": retry.client_id });
        let method = match &retry.content {
            Some(content) => {
                body["content"] = json!(content);
                "PATCH"
            }
            None => "DELETE",
        };
        let witness = self.witness()?;
        let (status, answer) = self.call(method, &path, Some(body))?;
        ids_of(&self.witnessed(witness)?, "none", 0)?;
        let as_first = match &retry.content {
            Some(content) => {
                answer["content"] == json!(content) && id_of(&answer["version"]) == Ok(retry.change)
            }
            None => answer == json!({ "deleted": retry.message.to_string() }),
        };
        if status != 200 || !as_first {
            return Err(format!(
                "a retry of change {} ({}) answered {status} {answer}",
                retry.change, retry.client_id
            ));
        }
        Ok(())
    }

    pub fn bulk_delete(&mut self, picks: &[usize], repeat: bool) -> Result<(), String> {
        let mut ids: Vec<u64> = picks.iter().filter_map(|p| self.model.pick(*p)).collect();
        let Some(&first) = ids.first() else {
            return Ok(());
        };
        if repeat {
            ids.push(first);
        }
        let channel = self.model.messages[&first].channel;
        let all_held = (ids.iter())
            .all(|id| self.model.holds(*id) && self.model.messages[id].channel == channel);
        let path = format!(
            "/internal/channels/{}/messages/bulk-delete",
            CHANNELS[channel]
        );
        let named: Vec<String> = ids.iter().map(u64::to_string).collect();
        let witness = self.witness()?;
        let (status, answer) = self.call("POST", &path, Some(json!({ "ids": named })))?;
        let frames = self.witnessed(witness)?;
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        match status {
            200 if all_held => {}
            404 if !all_held => return ids_of(&frames, "none", 0).map(drop),
            _ => return Err(format!("all held {all_held}: {status} {answer}")),
        }
        let changes = ids_of(&frames, "message_delete", unique.len())?;
        let mut deleted = Vec::new();
        for (event, change) in frames.iter().zip(changes) {
            let id = id_of(&event.data["id"])?;
            deleted.push(id);
            self.model.delete(id, change);
        }
        deleted.sort_unstable();
        let answered: Vec<u64> = (answer["deleted"].as_array().into_iter().flatten())
            .filter_map(|id| id_of(id).ok())
            .collect();
        if deleted != unique || answered.len() != unique.len() {
            return Err(format!(
                "deleted {deleted:?} (answered {answer}) of {ids:?}"
            ));
        }
        Ok(())
    }

    /// `user`'s own reaction through the reader's route: its answer (the
    /// state, and `me`) and its frame (none when it changes nothing).
    pub fn react(&mut self, id: u64, emoji: &str, user: &str, add: bool) -> Result<(), String> {
        let channel = self.model.messages[&id].channel;
        let held = self.model.holds(id);
        let refused = held && self.model.refuses(id, emoji, add);
        let changes = held && !refused && self.model.changes(id, emoji, user, add);
        let path = format!(
            "/api/channels/{}/messages/{id}/reactions/{emoji}",
            CHANNELS[channel]
        );
        let witness = self.witness()?;
        let method = if add { "PUT" } else { "DELETE" };
        let (status, answer) = self.call(method, &path, Some(json!({ "author": user })))?;
        let frames = self.witnessed(witness)?;
        match status {
            200 if held && !refused => {}
            404 if !held => return ids_of(&frames, "none", 0).map(drop),
            400 if refused && answer["error"].as_str().is_some_and(|e| e.contains("20")) => {
                count(&STATS.refused);
                return ids_of(&frames, "none", 0).map(drop);
            }
            _ => return Err(format!("held {held}, refused {refused}: {status} {answer}")),
        }
        if changes {
            let change = id_of(&answer["version"])?;
            if ids_of(&frames, "reaction", 1)? != [change] {
                return Err(format!("reaction {change} was broadcast as {frames:?}"));
            }
            self.model.react(id, change, emoji, user, add);
        } else {
            count(&STATS.unchanged);
            ids_of(&frames, "reaction", 0)?;
            let version = self.model.messages[&id].reactions_version;
            if answer.get("version").map(id_of).transpose()? != version {
                return Err(format!("a reaction that changed nothing answered {answer}"));
            }
        }
        let truth: Shown = self.model.shown(id);
        let entry = truth.reactions.iter().find(|r| r.emoji == emoji);
        let holds = self.model.reacts(id, emoji, user);
        let fields = (
            answer["count"].as_u64(),
            entries(
                &json!([{ "emoji": emoji, "count": answer["count"], "users": answer["users"] }]),
            )?,
            &answer["user"],
            &answer["added"],
            &answer["me"],
        );
        let expected = (
            Some(entry.map_or(0, |e| e.count)),
            vec![entry.cloned().unwrap_or_else(|| super::reference::Entry {
                emoji: emoji.to_owned(),
                count: 0,
                users: Vec::new(),
            })],
            &json!(user),
            &json!(add),
            &json!(holds),
        );
        if fields != expected || entries(&answer["reactions"])? != truth.reactions {
            return Err(format!("a reaction answered {answer}\ntruth {truth:?}"));
        }
        Ok(())
    }
}
