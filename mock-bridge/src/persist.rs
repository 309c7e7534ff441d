//! The optional history file: JSON lines, appended as messages are accepted.
//!
//! A crash can tear the last line; on load such a line is skipped with a
//! warning and cut off, so the next append starts on a clean line. A bad line in
//! the middle is skipped with a warning too: the bridge always starts.
//!
//! An append that fails part-way (a full disk) is cut back off at once, so the
//! next message starts a clean line and nothing half-written is ever glued to
//! it. The file holds only what the bridge retains: [`HistoryFile::compact`]
//! rewrites it at start (to a temporary file, then renamed over it).
//!
//! What the bridge knows beyond the messages it retains is kept too, in lines
//! of their own that compaction writes first ([`Memory`]): how far each
//! channel's history was cut (so a resume from before it is told to resync,
//! however many restarts later), the posts it still recognises by their
//! client ids (so a late retry gets its original, not a copy, or its 410
//! when it was deleted), and the readers' changes it still recognises by
//! theirs (so a retried edit answers as it first did, never made twice).
//!
//! A reaction change is kept as its delta (who, which emoji, added or taken
//! back): the state is rebuilt when the file is loaded ([`crate::restore`]).
//! A message line holds its reactions as the wire shows them, plus, where
//! the names shown are cut, every reactor (`reactors`): written once per
//! compaction, never per change. Lines from before deltas (a reaction line
//! with the emoji's whole state) still load.
//!
//! Changes made together (a bulk deletion) are one line, `{"bulk":[…]}`: a
//! crash that tears it loses all of them, never some.
//!
//! One bridge at a time: a bridge holds the file's lock
//! ([`crate::lock::FileLock`]) for as long as it runs.
//!
//! Durability: every append is handed to the operating system before the
//! message is acknowledged, so it survives the process being killed; with
//! `fsync` on it is also flushed to the disk, so it survives a power loss.

use crate::message::{parse_id, Change, Message, Reaction};
use crate::reactions::Reactors;
use serde::de::Error as _;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the file remembers beyond the retained messages.
#[derive(Debug, Default, PartialEq)]
pub struct Memory {
    /// Per channel, the largest id cut from its history.
    pub evicted_through: BTreeMap<String, u64>,
    /// Posts no longer retained that a retry must still find, by client id.
    pub posted: Vec<PostedReply>,
    /// Readers' changes a retry must still find, each with its client id,
    /// oldest first.
    pub changed: Vec<Change>,
    /// The changes after creations (edits, deletions, reactions) the file
    /// holds since its last compaction, in file order; on load only.
    pub changes: Vec<Stored>,
}

impl Memory {
    pub fn is_empty(&self) -> bool {
        self.evicted_through.is_empty() && self.posted.is_empty() && self.changed.is_empty()
    }
}

/// A post remembered by its client id.
#[derive(Clone, Debug, PartialEq)]
pub struct PostedReply {
    /// As it was stored.
    pub message: Message,
    /// Deleted since: a retry answers 410.
    pub deleted: bool,
}

/// A change line as the file holds it.
// Read once at start and let go: the size of the larger variant is no cost.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    Change(Change),
    /// From before reaction deltas: one emoji's whole state after a change.
    Reactors {
        id: u64,
        message_id: u64,
        channel_id: String,
        emoji: String,
        users: Vec<String>,
    },
}

impl Stored {
    pub fn id(&self) -> u64 {
        match self {
            Stored::Change(change) => change.id(),
            Stored::Reactors { id, .. } => *id,
        }
    }
}

/// One line of the file.
enum Line {
    Evicted(BTreeMap<String, u64>),
    Posted(PostedReply),
    Changed(Change),
    Stored(Stored),
    /// Changes made together (see the module's doc).
    Bulk(Vec<Change>),
    Message(Message),
}

impl Line {
    /// Reads a line, telling its kind by its fields.
    fn parse(text: &[u8]) -> serde_json::Result<Line> {
        let mut value: Value = serde_json::from_slice(text)?;
        let object =
            (value.as_object_mut()).ok_or_else(|| serde_json::Error::custom("not an object"))?;
        if let Some(cut) = object.remove("evicted_through") {
            return Ok(Line::Evicted(serde_json::from_value(cut)?));
        }
        if let Some(posted) = object.remove("posted") {
            let deleted = object.get("deleted").and_then(Value::as_bool) == Some(true);
            let message = serde_json::from_value(posted)?;
            return Ok(Line::Posted(PostedReply { message, deleted }));
        }
        if let Some(changed) = object.remove("changed") {
            let mut change: Change = serde_json::from_value(changed)?;
            // A file from before kept an edit's message with its reactions.
            if let Change::Update { message, .. } = &mut change {
                **message = message.without_reactions();
            }
            return Ok(Line::Changed(change));
        }
        if let Some(bulk) = object.remove("bulk") {
            return Ok(Line::Bulk(serde_json::from_value(bulk)?));
        }
        match object.get("change").and_then(Value::as_str) {
            Some("reaction") => Ok(Line::Stored(whole_reaction(&value)?)),
            Some(_) => Ok(Line::Stored(Stored::Change(serde_json::from_value(value)?))),
            None => {
                let reactors = object.remove("reactors");
                let mut message: Message = serde_json::from_value(value)?;
                let mut reactors: BTreeMap<String, Vec<String>> = match reactors {
                    Some(reactors) => serde_json::from_value(reactors)?,
                    None => BTreeMap::new(),
                };
                for reaction in &mut message.revision.reactions {
                    if let Some(users) = reactors.remove(&reaction.emoji) {
                        reaction.users = users;
                    }
                    reaction.count = reaction.users.len();
                }
                Ok(Line::Message(message))
            }
        }
    }
}

/// A reaction line from before deltas: the emoji's whole state.
fn whole_reaction(value: &Value) -> serde_json::Result<Stored> {
    let id = |name: &str| {
        (value[name].as_str().and_then(parse_id))
            .ok_or_else(|| serde_json::Error::custom(format!("{name} must be a decimal id")))
    };
    let text = |name: &str| {
        (value[name].as_str().map(str::to_owned))
            .ok_or_else(|| serde_json::Error::custom(format!("{name} must be a string")))
    };
    Ok(Stored::Reactors {
        id: id("id")?,
        message_id: id("message_id")?,
        channel_id: text("channel_id")?,
        emoji: text("emoji")?,
        users: serde_json::from_value(value["users"].clone())?,
    })
}

/// A message's line: as clients get it, plus every reactor where the names
/// shown are cut (`reactors`).
fn message_line(message: &Message, reactors: Option<&Reactors>) -> serde_json::Result<Vec<u8>> {
    let reactions = &message.revision.reactions;
    let cut = |r: &Reaction| r.users.len() < r.count;
    let Some(reactors) = reactors.filter(|_| reactions.iter().any(cut)) else {
        return serde_json::to_vec(message);
    };
    let mut value = serde_json::to_value(message)?;
    let every: serde_json::Map<String, Value> = (reactors.every())
        .filter(|(_, users)| users.len() > crate::message::SHOWN_REACTORS)
        .map(|(emoji, users)| (emoji.to_owned(), Value::from(users)))
        .collect();
    value["reactors"] = Value::Object(every);
    serde_json::to_vec(&value)
}

/// A message to keep at a compaction, with every reactor it has.
pub type Kept<'a> = (&'a Message, Option<&'a Reactors>);

/// An open history file, positioned for appending.
#[derive(Debug)]
pub struct HistoryFile {
    /// The lock that keeps other bridges off it, held as long as it is open
    /// (see [`HistoryFile::keep_locked`]).
    lock: Option<crate::lock::FileLock>,
    /// Where it lives, for error messages.
    path: PathBuf,
    /// Opened for append.
    file: File,
    /// Its length after the last complete line: where a failed append is cut back to.
    length: u64,
    /// Flush every append to the disk before acknowledging it.
    fsync: bool,
    /// Appends made since it was opened, each one write (and one sync with
    /// `fsync`), whatever the number of lines.
    writes: u64,
    /// What the file remembered when it was opened ([`HistoryFile::take_memory`]).
    memory: Memory,
}

impl HistoryFile {
    /// Opens (or creates) the file and reads back every valid message in it.
    pub fn open(path: &Path, fsync: bool) -> io::Result<(HistoryFile, Vec<Message>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .create(true)
            .append(true)
            .open(path)?;
        let mut messages = Vec::new();
        let mut memory = Memory::default();
        let mut good_until = 0u64;
        let mut offset = 0u64;
        let mut reader = BufReader::new(&mut file);
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line)?;
            if read == 0 {
                break;
            }
            number += 1;
            offset += read as u64;
            let complete = line.ends_with(b"\n");
            match Line::parse(line.trim_ascii()) {
                Ok(line) if complete => {
                    match line {
                        Line::Message(message) => messages.push(message),
                        Line::Posted(posted) => memory.posted.push(posted),
                        Line::Changed(change) => memory.changed.push(change),
                        Line::Stored(change) => memory.changes.push(change),
                        Line::Bulk(changes) => memory
                            .changes
                            .extend(changes.into_iter().map(Stored::Change)),
                        Line::Evicted(evicted_through) => {
                            for (channel, id) in evicted_through {
                                let through = memory.evicted_through.entry(channel).or_default();
                                *through = (*through).max(id);
                            }
                        }
                    }
                    good_until = offset;
                }
                _ if line.trim_ascii().is_empty() => good_until = offset,
                Err(error) if complete => {
                    tracing::warn!(path = %path.display(), line = number, %error, "skipping an unreadable history line");
                    good_until = offset;
                }
                _ => tracing::warn!(
                    path = %path.display(), line = number,
                    "skipping a torn last history line (the bridge stopped while writing it)"
                ),
            }
        }
        drop(reader);
        if good_until < offset {
            file.set_len(good_until)?;
        }
        file.seek(SeekFrom::End(0))?;
        messages.sort_by_key(|m| m.id);
        messages.dedup_by_key(|m| m.id);
        Ok((
            HistoryFile {
                lock: None,
                path: path.to_owned(),
                file,
                length: good_until,
                writes: 0,
                fsync,
                memory,
            },
            messages,
        ))
    }

    /// Keeps `lock` (this file's) for as long as the file is open.
    pub fn keep_locked(&mut self, lock: crate::lock::FileLock) {
        self.lock = Some(lock);
    }

    /// What the file remembered beyond its messages when it was opened.
    pub fn take_memory(&mut self) -> Memory {
        std::mem::take(&mut self.memory)
    }

    /// Appends one message. It is in the operating system's hands when this
    /// returns (on the disk, with `fsync`). On failure nothing of it stays.
    pub fn append(&mut self, message: &Message) -> io::Result<()> {
        let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
        line.push(b'\n');
        self.append_lines(&line)
    }

    /// Appends new messages in one write (and one sync), as
    /// [`HistoryFile::append`]: all of them stay, or none.
    pub fn append_messages(&mut self, messages: &[Arc<Message>]) -> io::Result<()> {
        let mut lines = Vec::with_capacity(messages.len() * 300);
        for message in messages {
            serde_json::to_writer(&mut lines, &**message).map_err(io::Error::other)?;
            lines.push(b'\n');
        }
        self.append_lines(&lines)
    }

    /// Appends changes (edits, deletions, reactions) in one write, as
    /// [`HistoryFile::append`]: all of them stay, or none, also across a
    /// crash (several are one line, see the module's doc).
    pub fn append_changes(&mut self, changes: &[Arc<Change>]) -> io::Result<()> {
        let mut line = Vec::new();
        match changes {
            [one] => serde_json::to_writer(&mut line, &**one),
            all => serde_json::to_writer(&mut line, &serde_json::json!({ "bulk": all })),
        }
        .map_err(io::Error::other)?;
        line.push(b'\n');
        self.append_lines(&line)
    }

    fn append_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        let written = self.file.write_all(lines).and_then(|()| {
            if self.fsync {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        match written {
            Ok(()) => {
                self.length += lines.len() as u64;
                self.writes += 1;
                Ok(())
            }
            Err(error) => {
                // Cut off whatever part of the lines reached the file. If even
                // that fails, the torn line is cut at the next start.
                if let Err(cut) = self.file.set_len(self.length) {
                    tracing::error!(path = %self.path.display(), error = %cut, "could not cut a failed append back off");
                }
                Err(error)
            }
        }
    }

    /// Rewrites the file to hold exactly `memory` and `kept` (what the bridge
    /// retains), when it holds more or there is something to remember: a new
    /// file is written and flushed beside it, then renamed over it, so a crash
    /// midway leaves the old file whole.
    pub fn compact(&mut self, kept: &[Kept], held: usize, memory: &Memory) -> io::Result<()> {
        if held <= kept.len() && memory.is_empty() {
            return Ok(());
        }
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".compacting");
        let temporary = PathBuf::from(temporary);
        let mut contents = Vec::new();
        let mut line = |value: &Value| -> io::Result<()> {
            serde_json::to_writer(&mut contents, value).map_err(io::Error::other)?;
            contents.push(b'\n');
            Ok(())
        };
        if !memory.evicted_through.is_empty() {
            line(&serde_json::json!({ "evicted_through": memory.evicted_through }))?;
        }
        for posted in &memory.posted {
            let mut value = serde_json::json!({ "posted": posted.message });
            if posted.deleted {
                value["deleted"] = Value::Bool(true);
            }
            line(&value)?;
        }
        for change in &memory.changed {
            line(&serde_json::json!({ "changed": change }))?;
        }
        for (message, reactors) in kept {
            contents.extend(message_line(message, *reactors).map_err(io::Error::other)?);
            contents.push(b'\n');
        }
        let mut file = File::create(&temporary)?;
        file.write_all(&contents)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &self.path)?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)?;
        self.length = contents.len() as u64;
        tracing::info!(path = %self.path.display(), before = held, after = kept.len(), "history file compacted");
        Ok(())
    }

    /// Appends made since it was opened (see [`HistoryFile::writes`]).
    pub fn writes(&self) -> u64 {
        self.writes
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u64) -> Message {
        Message {
            id,
            channel_id: "c".into(),
            author: "a".into(),
            content: format!("m{id}"),
            timestamp: "t".into(),
            client_id: None,
            revision: Default::default(),
            extras: Default::default(),
        }
    }

    #[test]
    fn survives_a_torn_last_line_and_appends_cleanly_after_it() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        let path = dir.join("history.jsonl");
        {
            let (mut file, loaded) = HistoryFile::open(&path, false).unwrap();
            assert!(loaded.is_empty());
            file.append(&message(1)).unwrap();
            file.append(&message(2)).unwrap();
        }
        // A crash mid-write, plus a corrupt line in the middle from some other accident.
        let mut raw = std::fs::read_to_string(&path).unwrap();
        raw.insert_str(raw.find('\n').unwrap() + 1, "garbage\n");
        raw.push_str(r#"{"id":"3","channel_id":"c","auth"#);
        std::fs::write(&path, raw).unwrap();
        {
            let (mut file, loaded) = HistoryFile::open(&path, true).unwrap();
            assert_eq!(loaded.iter().map(|m| m.id).collect::<Vec<_>>(), [1, 2]);
            file.append(&message(4)).unwrap();
        }
        let (_, loaded) = HistoryFile::open(&path, false).unwrap();
        assert_eq!(loaded.iter().map(|m| m.id).collect::<Vec<_>>(), [1, 2, 4]);
    }

    #[test]
    fn compaction_keeps_what_is_retained_and_appends_after_it() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        let path = dir.join("history.jsonl");
        let (mut file, _) = HistoryFile::open(&path, false).unwrap();
        for id in 1..=10 {
            file.append(&message(id)).unwrap();
        }
        let (mut file, loaded) = HistoryFile::open(&path, false).unwrap();
        let kept: Vec<Kept> = (loaded.iter().filter(|m| m.id > 7))
            .map(|m| (m, None))
            .collect();
        file.compact(&kept, loaded.len(), &Memory::default())
            .unwrap();
        file.append(&message(11)).unwrap();
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines, 4);
        let (_, loaded) = HistoryFile::open(&path, false).unwrap();
        assert_eq!(
            loaded.iter().map(|m| m.id).collect::<Vec<_>>(),
            [8, 9, 10, 11]
        );
    }
}
