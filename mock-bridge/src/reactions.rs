//! A message's reactions: every reactor of each emoji, toggled within
//! Discord's bounds, and what the wire shows of them.
//!
//! The bridge holds every reactor ([`Reactors`], beside the message in its
//! channel's log), so that each count and each reader's own state stay
//! exact; the message itself holds what every answer and event shows of
//! them (each emoji's count and newest [`SHOWN_REACTORS`] names). A toggle
//! costs the same however many react (it runs under the writer lock every
//! post and change waits on): a hash lookup and a step in an ordered map
//! for the one emoji changed, then that emoji's twenty names shown. Nothing
//! else is copied.
//!
//! Bounds, so that no event of a message can pass the panel's 64 KiB: at
//! most [`MAX_EMOJI`] emoji, each of at most [`MAX_EMOJI_CHARS`] characters
//! and [`MAX_EMOJI_BYTES`] bytes; names are bounded as
//! [`crate::message::check_name`] says.

use crate::error::ApiError;
use crate::message::{Message, Reaction, SHOWN_REACTORS};
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Most different emoji one message may carry (Discord's own limit).
pub const MAX_EMOJI: usize = 20;
/// Most characters in an emoji.
pub const MAX_EMOJI_CHARS: usize = 64;
/// Most bytes (UTF-8) in an emoji: the longest Discord emoji (a flag with
/// tags, a family with skin tones, a custom emoji's `name:id`) take under 60.
pub const MAX_EMOJI_BYTES: usize = 64;

/// A new emoji past [`MAX_EMOJI`].
#[derive(Debug, thiserror::Error)]
#[error(
    "message {0} already has {MAX_EMOJI} different reactions, the most a message may have: \
     react with one of those instead"
)]
pub struct TooManyEmoji(pub u64);

/// Checks an emoji: 1 to [`MAX_EMOJI_CHARS`] characters, at most
/// [`MAX_EMOJI_BYTES`] bytes, none of them a control character.
pub fn check_emoji(emoji: &str) -> Result<(), ApiError> {
    let chars = emoji.chars().count();
    if chars == 0
        || chars > MAX_EMOJI_CHARS
        || emoji.len() > MAX_EMOJI_BYTES
        || emoji.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(format!(
            "an emoji is 1 to {MAX_EMOJI_CHARS} characters and at most {MAX_EMOJI_BYTES} bytes, \
             none of them control characters"
        )));
    }
    Ok(())
}

/// What a toggle would do to a message's reactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Toggle {
    /// Nothing: the reaction is there already, or not there to take back.
    Nothing,
    /// A change.
    Changes,
}

/// Every reactor of one message, per emoji, in the order the emoji were
/// first added (the order of the message's `reactions`, which it follows).
#[derive(Debug, Default)]
pub struct Reactors {
    emoji: Vec<EmojiReactors>,
}

/// One emoji's reactors, each with the turn they reacted in.
#[derive(Debug)]
struct EmojiReactors {
    emoji: String,
    turn_of: HashMap<Arc<str>, u64>,
    /// The newest last.
    by_turn: BTreeMap<u64, Arc<str>>,
    next_turn: u64,
}

impl EmojiReactors {
    fn new(emoji: &str) -> EmojiReactors {
        EmojiReactors {
            emoji: emoji.to_owned(),
            turn_of: HashMap::new(),
            by_turn: BTreeMap::new(),
            next_turn: 0,
        }
    }

    fn add(&mut self, user: &str) -> bool {
        if self.turn_of.contains_key(user) {
            return false;
        }
        let user: Arc<str> = user.into();
        let turn = self.next_turn;
        self.next_turn += 1;
        self.turn_of.insert(user.clone(), turn);
        self.by_turn.insert(turn, user);
        true
    }

    fn remove(&mut self, user: &str) -> bool {
        match self.turn_of.remove(user) {
            Some(turn) => self.by_turn.remove(&turn).is_some(),
            None => false,
        }
    }

    /// The entry the wire shows: the exact count, the newest names.
    fn shown(&self) -> Reaction {
        let mut users: Vec<String> = (self.by_turn.values().rev())
            .take(SHOWN_REACTORS)
            .map(|user| user.to_string())
            .collect();
        users.reverse();
        Reaction {
            emoji: self.emoji.clone(),
            count: self.turn_of.len(),
            users,
        }
    }
}

impl Reactors {
    /// Reactors as a message line of the history file holds them (each
    /// entry with every reactor, in order); `shown` is left with the names
    /// the wire shows.
    pub fn from_whole(shown: &mut [Reaction]) -> Reactors {
        let mut reactors = Reactors::default();
        for entry in shown.iter_mut() {
            let mut set = EmojiReactors::new(&entry.emoji);
            for user in &entry.users {
                set.add(user);
            }
            *entry = set.shown();
            reactors.emoji.push(set);
        }
        reactors
    }

    fn at(&self, emoji: &str) -> Option<usize> {
        // At most MAX_EMOJI of them.
        self.emoji.iter().position(|set| set.emoji == emoji)
    }

    /// Whether `user` reacts with `emoji`.
    pub fn has(&self, emoji: &str, user: &str) -> bool {
        (self.at(emoji)).is_some_and(|at| self.emoji[at].turn_of.contains_key(user))
    }

    /// What toggling would do (nothing is changed): a new emoji past the
    /// bound is refused.
    pub fn would(
        &self,
        message_id: u64,
        emoji: &str,
        user: &str,
        add: bool,
    ) -> Result<Toggle, TooManyEmoji> {
        let at = self.at(emoji);
        if add && at.is_none() && self.emoji.len() >= MAX_EMOJI {
            return Err(TooManyEmoji(message_id));
        }
        let has = at.is_some_and(|at| self.emoji[at].turn_of.contains_key(user));
        Ok(if has == add {
            Toggle::Nothing
        } else {
            Toggle::Changes
        })
    }

    /// Adds `user`'s `emoji` or takes it back, within the bound; `shown`
    /// (the message's reactions) follows. Answers whether anything changed.
    pub fn toggle(
        &mut self,
        shown: &mut Vec<Reaction>,
        message_id: u64,
        emoji: &str,
        user: &str,
        add: bool,
    ) -> Result<bool, TooManyEmoji> {
        if self.would(message_id, emoji, user, add)? == Toggle::Nothing {
            return Ok(false);
        }
        let at = match self.at(emoji) {
            Some(at) => at,
            None => {
                self.emoji.push(EmojiReactors::new(emoji));
                self.emoji.len() - 1
            }
        };
        let set = &mut self.emoji[at];
        if add {
            set.add(user);
        } else {
            set.remove(user);
        }
        self.follow(shown, at);
        Ok(true)
    }

    /// Sets one emoji's reactors outright (a history line from before
    /// reaction deltas, which held the emoji's whole state).
    pub fn set(&mut self, shown: &mut Vec<Reaction>, emoji: &str, users: &[String]) {
        let at = match self.at(emoji) {
            Some(at) => at,
            None => {
                self.emoji.push(EmojiReactors::new(emoji));
                self.emoji.len() - 1
            }
        };
        self.emoji[at] = EmojiReactors::new(emoji);
        for user in users {
            self.emoji[at].add(user);
        }
        self.follow(shown, at);
    }

    /// Brings entry `at` of `shown` in line with its reactors: its count and
    /// names, or gone with the last of them.
    fn follow(&mut self, shown: &mut Vec<Reaction>, at: usize) {
        if self.emoji[at].turn_of.is_empty() {
            self.emoji.remove(at);
            if at < shown.len() {
                shown.remove(at);
            }
        } else if at < shown.len() {
            shown[at] = self.emoji[at].shown();
        } else {
            shown.push(self.emoji[at].shown());
        }
    }

    /// Which entries `reader` reacted with: bit `i` for the `i`th emoji.
    pub fn mine(&self, reader: &str) -> u32 {
        (self.emoji.iter().enumerate())
            .filter(|(_, set)| set.turn_of.contains_key(reader))
            .fold(0, |mask, (at, _)| mask | 1 << at)
    }

    /// Each emoji with every reactor, oldest first: what a compaction
    /// writes where the names shown are cut.
    pub fn every(&self) -> impl Iterator<Item = (&str, Vec<&str>)> {
        (self.emoji.iter()).map(|set| {
            (
                set.emoji.as_str(),
                set.by_turn.values().map(|u| &**u).collect(),
            )
        })
    }

    pub fn is_empty(&self) -> bool {
        self.emoji.is_empty()
    }
}

/// A `reaction` event's data, and a reaction's answer: `emoji`'s state on
/// `message` as it now is (`count`, `users`), who changed it and how
/// (`user`, `added`), and the order of that state (`version`, an extension).
/// With `whole`, every emoji's entry too (`reactions`, an extension): on
/// live events and answers always; in a replay only on the message's newest
/// reaction change (the state is the message's as it now is, so the earlier
/// ones carry their own emoji alone, and the newest the whole of it). `me`:
/// the reader's own state of `emoji`, in a reader's own answer.
#[derive(Serialize)]
pub struct ReactionData<'a> {
    #[serde(serialize_with = "as_string")]
    pub message_id: u64,
    pub channel_id: &'a str,
    pub emoji: &'a str,
    pub count: usize,
    pub users: &'a [String],
    pub user: &'a str,
    pub added: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions: Option<&'a [Reaction]>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_as_string"
    )]
    pub version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub me: Option<bool>,
}

impl<'a> ReactionData<'a> {
    /// `emoji` on `message` as it now is, changed by `user` (`added`).
    pub fn of(message: &'a Message, emoji: &'a str, user: &'a str, added: bool) -> Self {
        let entry = (message.revision.reactions.iter()).find(|r| r.emoji == emoji);
        ReactionData {
            message_id: message.id,
            channel_id: &message.channel_id,
            emoji,
            count: entry.map_or(0, |r| r.count),
            users: entry.map_or(&[], |r| r.shown_users()),
            user,
            added,
            reactions: Some(&message.revision.reactions),
            version: message.revision.reactions_version,
            me: None,
        }
    }
}

fn as_string<S: Serializer>(id: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(id)
}

fn opt_as_string<S: Serializer>(id: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => serializer.collect_str(id),
        None => serializer.serialize_none(),
    }
}

/// A message as one reader is answered it: `"me":true` in each reaction
/// entry they reacted with (`mine`, bit `i` for the `i`th entry).
#[derive(Clone, Debug)]
pub struct Answered {
    pub message: Arc<Message>,
    pub mine: u32,
}

impl Serialize for Answered {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.mine == 0 {
            return self.message.serialize(serializer);
        }
        let mut value = serde_json::to_value(&*self.message).map_err(serde::ser::Error::custom)?;
        if let Some(entries) = value["reactions"].as_array_mut() {
            for (at, entry) in entries.iter_mut().enumerate() {
                if self.mine & (1 << at) != 0 {
                    entry["me"] = serde_json::Value::Bool(true);
                }
            }
        }
        value.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toggled(
        reactors: &mut Reactors,
        shown: &mut Vec<Reaction>,
        emoji: &str,
        user: &str,
        add: bool,
    ) -> bool {
        reactors.toggle(shown, 1, emoji, user, add).unwrap()
    }

    #[test]
    fn toggles_keep_every_reactor_in_order_and_show_the_newest_twenty() {
        let (mut reactors, mut shown) = (Reactors::default(), Vec::new());
        for n in 0..25 {
            assert!(toggled(
                &mut reactors,
                &mut shown,
                "ok",
                &format!("u{n}"),
                true
            ));
        }
        assert!(
            !toggled(&mut reactors, &mut shown, "ok", "u3", true),
            "twice is once"
        );
        assert_eq!(shown[0].count, 25);
        assert!(toggled(&mut reactors, &mut shown, "ok", "u24", false));
        assert_eq!(shown[0].count, 24);
        let newest: Vec<String> = (4..24).map(|n| format!("u{n}")).collect();
        assert_eq!(shown[0].users, newest);
        // Back again: the newest now.
        assert!(toggled(&mut reactors, &mut shown, "ok", "u24", true));
        assert_eq!(shown[0].users.last().map(String::as_str), Some("u24"));
        assert!(toggled(&mut reactors, &mut shown, "ok", "u24", false));
        assert!(reactors.has("ok", "u1") && !reactors.has("ok", "u24"));
    }

    #[test]
    fn a_new_emoji_past_twenty_is_refused_and_others_still_count() {
        let (mut reactors, mut shown) = (Reactors::default(), Vec::new());
        for n in 0..MAX_EMOJI {
            toggled(&mut reactors, &mut shown, &format!("e{n}"), "ann", true);
        }
        assert!(reactors.toggle(&mut shown, 1, "new", "ann", true).is_err());
        assert_eq!(
            reactors.would(1, "e1", "bob", true).unwrap(),
            Toggle::Changes
        );
        assert_eq!(
            reactors.would(1, "new", "ann", false).unwrap(),
            Toggle::Nothing
        );
        assert_eq!(
            reactors.would(1, "e1", "ann", true).unwrap(),
            Toggle::Nothing
        );
        // The last reactor of an emoji gone: the emoji goes, and a new one fits.
        assert!(toggled(&mut reactors, &mut shown, "e3", "ann", false));
        assert_eq!(shown.len(), MAX_EMOJI - 1);
        assert!(!shown.iter().any(|r| r.emoji == "e3"));
        assert!(toggled(&mut reactors, &mut shown, "new", "ann", true));
        assert_eq!(shown.last().unwrap().emoji, "new");
        let order: Vec<&str> = reactors.every().map(|(emoji, _)| emoji).collect();
        let shown_order: Vec<&str> = shown.iter().map(|r| r.emoji.as_str()).collect();
        assert_eq!(order, shown_order, "the reactors follow the entries");
    }

    /// The widest string the bounds allow, by bytes in JSON: `chars`
    /// characters and `bytes` bytes at most, no control characters (a
    /// quote or backslash takes two bytes in JSON, a character of 2, 3 or 4
    /// bytes takes as many). Found by trying every mix.
    fn widest(chars: usize, bytes: usize) -> String {
        let mut best = (0, (0, 0, 0, 0));
        for quotes in 0..=chars {
            for wide in 0..=(chars - quotes) {
                for three in 0..=(chars - quotes - wide) {
                    let used = quotes + 4 * wide + 3 * three;
                    if used > bytes {
                        continue;
                    }
                    let plain = (chars - quotes - wide - three).min(bytes - used);
                    let json = 2 * quotes + 4 * wide + 3 * three + plain;
                    if json > best.0 {
                        best = (json, (quotes, wide, three, plain));
                    }
                }
            }
        }
        let (json, (quotes, wide, three, plain)) = best;
        let text =
            "\"".repeat(quotes) + &"😀".repeat(wide) + &"€".repeat(three) + &"a".repeat(plain);
        assert_eq!(serde_json::to_string(&text).unwrap().len(), json + 2);
        text
    }

    /// Issue 31's review, finding 1: no event the bridge can send for one
    /// message passes the panel's 64 KiB (frontend/core/src/wire.rs), at
    /// the worst case the bounds allow: a message as large as it may be,
    /// twenty emoji of the widest kind, each with twenty of the widest
    /// names and a count as long as counts get; its `message_update`, and
    /// each `reaction` (with the whole list), as the bridge writes them.
    #[test]
    fn the_worst_case_of_every_event_fits_the_panels_cap() {
        const PANEL_MAX_PAYLOAD_BYTES: usize = 64 * 1024;
        let (name, emoji) = (
            widest(
                crate::message::MAX_NAME_CHARS,
                crate::message::MAX_NAME_BYTES,
            ),
            widest(MAX_EMOJI_CHARS, MAX_EMOJI_BYTES),
        );
        assert!(crate::message::is_person_name(&name) && check_emoji(&emoji).is_ok());
        let mut message = Message {
            id: u64::MAX,
            channel_id: "c".repeat(64),
            author: name.clone(),
            content: String::new(),
            timestamp: crate::clock::rfc3339_ms(0),
            client_id: Some("c".repeat(64)),
            revision: crate::message::Revision {
                edited_at: Some(crate::clock::rfc3339_ms(0)),
                version: Some(u64::MAX),
                ..Default::default()
            },
            extras: Default::default(),
        };
        // Text as long as the bound lets it be (a plain letter is a byte).
        let room = crate::message::MAX_MESSAGE_JSON_BYTES - message.json_bytes_without_reactions();
        message.content = "a".repeat(room);
        let size = message.json_bytes_without_reactions();
        assert_eq!(size, crate::message::MAX_MESSAGE_JSON_BYTES);
        assert!(crate::message::check_size(&message).is_ok());
        let entry = |at: usize| Reaction {
            emoji: format!("{at:02}") + &emoji[2..],
            count: usize::MAX,
            users: vec![name.clone(); SHOWN_REACTORS],
        };
        message.revision.reactions = (0..MAX_EMOJI).map(entry).collect();
        message.revision.reactions_version = Some(u64::MAX);
        let update = crate::message::Change::Update {
            id: u64::MAX,
            message: Box::new(message.without_reactions()),
            client_id: None,
        };
        let first = message.revision.reactions[0].emoji.clone();
        let reaction = crate::message::Change::Reaction {
            id: u64::MAX,
            message_id: message.id,
            channel_id: message.channel_id.clone(),
            emoji: first,
            user: name.clone(),
            added: true,
        };
        for (what, change) in [("message_update", update), ("reaction", reaction)] {
            let frame = crate::sse::change(&change, Some(&message), crate::sse::When::Live);
            let text = String::from_utf8(frame.to_vec()).unwrap();
            let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            assert!(
                data.len() <= PANEL_MAX_PAYLOAD_BYTES,
                "the worst {what} is {} bytes",
                data.len()
            );
            eprintln!("the worst {what}: {} bytes of data", data.len());
        }
    }

    #[test]
    fn the_reader_sees_their_own_reactions_marked() {
        let (mut reactors, mut shown) = (Reactors::default(), Vec::new());
        toggled(&mut reactors, &mut shown, "a", "ann", true);
        toggled(&mut reactors, &mut shown, "b", "bob", true);
        let message = Message {
            id: 1,
            channel_id: "c".into(),
            author: "a".into(),
            content: "x".into(),
            timestamp: "t".into(),
            client_id: None,
            revision: crate::message::Revision {
                reactions: shown,
                ..Default::default()
            },
            extras: Default::default(),
        };
        let message = Arc::new(message);
        let as_ann = Answered {
            message: message.clone(),
            mine: reactors.mine("ann"),
        };
        let as_ann = serde_json::to_value(as_ann).unwrap();
        assert_eq!(as_ann["reactions"][0]["me"], true);
        assert_eq!(as_ann["reactions"][1].get("me"), None);
        let nobody = serde_json::to_value(Answered {
            message: message.clone(),
            mine: 0,
        })
        .unwrap();
        assert_eq!(nobody, serde_json::to_value(&*message).unwrap());
    }
}
