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
//! however many restarts later), and the posts it still recognises by their
//! client ids (so a late retry gets its original, not a copy).
//!
//! Durability: every append is handed to the operating system before the
//! message is acknowledged, so it survives the process being killed; with
//! `fsync` on it is also flushed to the disk, so it survives a power loss.

use crate::message::{Change, Message};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What the file remembers beyond the retained messages.
#[derive(Debug, Default, PartialEq)]
pub struct Memory {
    /// Per channel, the largest id cut from its history.
    pub evicted_through: BTreeMap<String, u64>,
    /// Posts no longer retained that a retry must still find, by client id.
    pub posted: Vec<Message>,
    /// The changes after creations (edits, deletions, reactions) the file
    /// holds since its last compaction, oldest first; on load only.
    pub changes: Vec<Change>,
}

impl Memory {
    pub fn is_empty(&self) -> bool {
        self.evicted_through.is_empty() && self.posted.is_empty()
    }
}

/// One line of the file.
#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum Line {
    Evicted {
        evicted_through: BTreeMap<String, u64>,
    },
    Posted {
        posted: Message,
    },
    Change(Change),
    Message(Message),
}

/// An open history file, positioned for appending.
#[derive(Debug)]
pub struct HistoryFile {
    /// Where it lives, for error messages.
    path: PathBuf,
    /// Opened for append.
    file: File,
    /// Its length after the last complete line: where a failed append is cut back to.
    length: u64,
    /// Flush every append to the disk before acknowledging it.
    fsync: bool,
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
            match serde_json::from_slice::<Line>(line.trim_ascii()) {
                Ok(line) if complete => {
                    match line {
                        Line::Message(message) => messages.push(message),
                        Line::Posted { posted } => memory.posted.push(posted),
                        Line::Change(change) => memory.changes.push(change),
                        Line::Evicted { evicted_through } => {
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
                path: path.to_owned(),
                file,
                length: good_until,
                fsync,
                memory,
            },
            messages,
        ))
    }

    /// What the file remembered beyond its messages when it was opened.
    pub fn take_memory(&mut self) -> Memory {
        std::mem::take(&mut self.memory)
    }

    /// Appends one message. It is in the operating system's hands when this
    /// returns (on the disk, with `fsync`). On failure nothing of it stays.
    pub fn append(&mut self, message: &Message) -> io::Result<()> {
        self.append_line(message)
    }

    /// Appends a change (an edit, a deletion, a reaction), as [`HistoryFile::append`].
    pub fn append_change(&mut self, change: &Change) -> io::Result<()> {
        self.append_line(change)
    }

    fn append_line(&mut self, value: &impl Serialize) -> io::Result<()> {
        let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
        line.push(b'\n');
        let written = self.file.write_all(&line).and_then(|()| {
            if self.fsync {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        match written {
            Ok(()) => {
                self.length += line.len() as u64;
                Ok(())
            }
            Err(error) => {
                // Cut off whatever part of the line reached the file. If even
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
    pub fn compact(&mut self, kept: &[&Message], held: usize, memory: &Memory) -> io::Result<()> {
        if held <= kept.len() && memory.is_empty() {
            return Ok(());
        }
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".compacting");
        let temporary = PathBuf::from(temporary);
        let mut contents = Vec::new();
        if !memory.evicted_through.is_empty() {
            let evicted_through = memory.evicted_through.clone();
            serde_json::to_writer(&mut contents, &Line::Evicted { evicted_through })
                .map_err(io::Error::other)?;
            contents.push(b'\n');
        }
        for posted in &memory.posted {
            let line = Line::Posted {
                posted: posted.clone(),
            };
            serde_json::to_writer(&mut contents, &line).map_err(io::Error::other)?;
            contents.push(b'\n');
        }
        for message in kept {
            serde_json::to_writer(&mut contents, message).map_err(io::Error::other)?;
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
        let kept: Vec<&Message> = loaded.iter().filter(|m| m.id > 7).collect();
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
