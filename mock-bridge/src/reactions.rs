//! A message's reactions: toggling one within Discord's bounds, and a
//! message as one reader is answered it (their own reactions marked).
//!
//! The bridge holds every reactor of every emoji, so the count and each
//! reader's own state stay exact; what goes on the wire is bounded (see
//! [`crate::message::Reaction`]): a popular message's events stay small, and
//! one frame serves every stream.

use crate::message::{Change, Message, Reaction, ReactionsAfter};
use serde::{Serialize, Serializer};

/// Most different emoji one message may carry (Discord's own limit).
pub const MAX_EMOJI: usize = 20;

/// A new emoji past [`MAX_EMOJI`].
#[derive(Debug, thiserror::Error)]
#[error(
    "message {0} already has {MAX_EMOJI} different reactions, the most a message may have: \
     react with one of those instead"
)]
pub struct TooManyEmoji(pub u64);

/// `user`'s reaction `emoji` to `message` (its whole state) added or taken
/// back, as change `id`: the message as it now is. Adding one already there,
/// or taking back one that is not, changes nothing but the order stamp.
pub fn toggle(
    message: &Message,
    id: u64,
    emoji: &str,
    user: &str,
    added: bool,
) -> Result<Message, TooManyEmoji> {
    let mut now = message.clone();
    let reactions = &mut now.revision.reactions;
    match reactions.iter().position(|r| r.emoji == emoji) {
        Some(at) => {
            let reaction = &mut reactions[at];
            let had = reaction.users.iter().position(|u| u == user);
            match (had, added) {
                (None, true) => reaction.users.push(user.to_owned()),
                (Some(at), false) => drop(reaction.users.remove(at)),
                _ => {}
            }
            reaction.count = reaction.users.len();
            if reaction.users.is_empty() {
                reactions.remove(at);
            }
        }
        None if added => {
            if reactions.len() >= MAX_EMOJI {
                return Err(TooManyEmoji(message.id));
            }
            reactions.push(Reaction {
                emoji: emoji.to_owned(),
                count: 1,
                users: vec![user.to_owned()],
            });
        }
        None => {}
    }
    now.revision.reactions_version = Some(id);
    Ok(now)
}

/// The change that made `now` (see [`toggle`]), with the state its event
/// shows.
pub fn change(now: &Message, id: u64, emoji: String, user: String, added: bool) -> Change {
    let entry = now.revision.reactions.iter().find(|r| r.emoji == emoji);
    Change::Reaction {
        id,
        message_id: now.id,
        channel_id: now.channel_id.clone(),
        after: ReactionsAfter {
            count: entry.map_or(0, |r| r.count),
            users: entry.map_or_else(Vec::new, |r| r.shown_users().to_vec()),
            reactions: now.revision.reactions.iter().map(Reaction::shown).collect(),
        },
        emoji,
        user,
        added,
    }
}

/// Sets one emoji's reactors outright (a history line from before reaction
/// deltas, which held the emoji's whole state).
pub fn set(message: &mut Message, id: u64, emoji: &str, users: Vec<String>) {
    let reactions = &mut message.revision.reactions;
    let at = reactions.iter().position(|r| r.emoji == emoji);
    match (at, users.is_empty()) {
        (Some(at), true) => drop(reactions.remove(at)),
        (Some(at), false) => {
            reactions[at].count = users.len();
            reactions[at].users = users;
        }
        (None, true) => {}
        (None, false) => reactions.push(Reaction {
            emoji: emoji.to_owned(),
            count: users.len(),
            users,
        }),
    }
    message.revision.reactions_version = Some(id);
}

/// A message as one reader is answered it: `"me":true` in each reaction
/// entry they reacted with. Without a reader, the message as everyone gets it.
pub struct ForReader<'a> {
    pub message: &'a Message,
    pub reader: Option<&'a str>,
}

impl Serialize for ForReader<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let reactions = &self.message.revision.reactions;
        let mine = |r: &Reaction| {
            self.reader
                .is_some_and(|me| r.users.iter().any(|u| u == me))
        };
        if !reactions.iter().any(mine) {
            return self.message.serialize(serializer);
        }
        let mut value = serde_json::to_value(self.message).map_err(serde::ser::Error::custom)?;
        if let Some(entries) = value["reactions"].as_array_mut() {
            for (entry, reaction) in entries.iter_mut().zip(reactions) {
                if mine(reaction) {
                    entry["me"] = serde_json::Value::Bool(true);
                }
            }
        }
        value.serialize(serializer)
    }
}

/// Each message of `messages` as `reader` is answered it.
pub fn for_reader<'a, M: AsRef<Message>>(
    messages: &'a [M],
    reader: Option<&'a str>,
) -> Vec<ForReader<'a>> {
    (messages.iter())
        .map(|message| ForReader {
            message: message.as_ref(),
            reader,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            id: 1,
            channel_id: "c".into(),
            author: "a".into(),
            content: "x".into(),
            timestamp: "t".into(),
            client_id: None,
            revision: Default::default(),
            extras: Default::default(),
        }
    }

    #[test]
    fn toggles_keep_every_reactor_in_order_and_show_the_newest_twenty() {
        let mut now = message();
        for n in 0..25 {
            now = toggle(&now, 10 + n, "ok", &format!("u{n}"), true).unwrap();
        }
        now = toggle(&now, 40, "ok", "u3", true).unwrap();
        assert_eq!(now.revision.reactions[0].count, 25, "twice is once");
        now = toggle(&now, 41, "ok", "u24", false).unwrap();
        let reaction = &now.revision.reactions[0];
        assert_eq!(reaction.count, 24);
        let shown: Vec<String> = (4..24).map(|n| format!("u{n}")).collect();
        assert_eq!(reaction.shown_users(), &shown[..]);
        let wire = serde_json::to_value(reaction).unwrap();
        assert_eq!(wire["users"].as_array().unwrap().len(), 20);
        assert_eq!(now.revision.reactions_version, Some(41));
        let Change::Reaction { after, .. } = change(&now, 41, "ok".into(), "u24".into(), false)
        else {
            unreachable!()
        };
        assert_eq!((after.count, after.users.len()), (24, 20));
    }

    #[test]
    fn a_new_emoji_past_twenty_is_refused_and_others_still_count() {
        let mut now = message();
        for n in 0..MAX_EMOJI as u64 {
            now = toggle(&now, 10 + n, &format!("e{n}"), "ann", true).unwrap();
        }
        assert!(toggle(&now, 99, "new", "ann", true).is_err());
        assert!(toggle(&now, 99, "e1", "bob", true).is_ok());
        assert!(
            toggle(&now, 99, "new", "ann", false).is_ok(),
            "nothing to take back"
        );
    }

    #[test]
    fn the_reader_sees_their_own_reactions_marked() {
        let mut now = message();
        now = toggle(&now, 2, "a", "ann", true).unwrap();
        now = toggle(&now, 3, "b", "bob", true).unwrap();
        let as_ann = serde_json::to_value(ForReader {
            message: &now,
            reader: Some("ann"),
        })
        .unwrap();
        assert_eq!(as_ann["reactions"][0]["me"], true);
        assert_eq!(as_ann["reactions"][1].get("me"), None);
        let nobody = serde_json::to_value(ForReader {
            message: &now,
            reader: None,
        })
        .unwrap();
        assert_eq!(nobody, serde_json::to_value(&now).unwrap());
    }
}
