//! A chat message and its id, in the bridge's JSON shape.

use crate::number::digits;
use std::fmt;
use std::str::FromStr;

/// A message id: an unsigned 64-bit number sent as a decimal string.
///
/// Ids grow strictly in the order the bridge accepted messages, so they order
/// messages. They are compared as numbers: `"9" < "10"` here, unlike as text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub u64);

impl MessageId {
    /// The largest id taken from the wire. Every bridge's ids fit below it
    /// (a sequence from 1; Discord's snowflakes are 63 bits); one past it
    /// is broken or hostile, and taken it would move the point catch-ups
    /// and streams resume from where nothing can follow, silencing the
    /// panel for good.
    pub const MAX: MessageId = MessageId(i64::MAX as u64);

    /// Whether it is an id a bridge can have given (see [`MessageId::MAX`]).
    pub fn plausible(self) -> bool {
        self <= MessageId::MAX
    }
}

impl MessageId {
    /// The id in decimal, as the bridge writes it. Inherent, so that every
    /// `id.to_string()` writes it without `core::fmt`, which the panel's
    /// wasm does not carry; `Display` writes the same.
    #[allow(clippy::inherent_to_string_shadow_display)]
    pub fn to_string(&self) -> String {
        digits(self.0)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&digits(self.0))
    }
}

/// Text that is no message id (see [`MessageId`]'s `FromStr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotAnId;

impl FromStr for MessageId {
    type Err = NotAnId;

    /// Accepts only plain decimal digits (no sign, no spaces), as the contract says.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decimal(s).map(MessageId).ok_or(NotAnId)
    }
}

/// A `u64` from plain decimal digits (no sign, no space, not empty), none
/// past `u64::MAX`. Written out: std's `parse::<u64>` (sign, radix and
/// error kinds) was a second copy of its code in the panel's build.
pub fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |n, b| {
        let digit = u64::from(b.wrapping_sub(b'0'));
        // (A bound by division: `checked_mul` compiled a 128-bit product.)
        (digit < 10 && n <= (u64::MAX - digit) / 10).then(|| n * 10 + digit)
    })
}

/// One chat message. `content` is plain text and is only ever rendered as text.
///
/// A message changes after its creation (edits, reactions), and each state
/// says how new it is: `version` for its content (the change id of its
/// newest edit; its own id if never edited) and `reactions_version` for its
/// reactions (the change id of the newest reaction change; none if none
/// ever). [`Message::fold`] keeps the newer of two states, part by part, so
/// states can arrive in any order (a replay, a relay, a late catch-up).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// Orders messages and deduplicates them across stream and history.
    pub id: MessageId,
    /// The channel the message belongs to; a panel ignores other channels' messages.
    pub channel_id: String,
    /// Display name of the sender.
    pub author: String,
    /// Plain text, up to 4000 characters.
    pub content: String,
    /// RFC 3339 time the bridge accepted the message, shown as given.
    pub timestamp: String,
    /// The id its sender gave it, for a reply posted from a panel: how the
    /// sender recognises its own reply when it comes back.
    pub client_id: Option<String>,
    /// When it was last edited (RFC 3339); none if never.
    pub edited_at: Option<String>,
    /// The change id of its newest edit; none if never edited.
    pub version: Option<MessageId>,
    /// Its reactions, in the order they were first added.
    pub reactions: Vec<Reaction>,
    /// The change id of its newest reaction change (a bridge extension: a
    /// bridge without it gives reactions no order, and the newest state
    /// heard wins).
    pub reactions_version: Option<MessageId>,
    /// The names of the users, roles and channels its `<@id>`, `<@&id>` and
    /// `<#id>` stand for, as the bridge resolved them.
    pub mentions: Mentions,
    /// The message it replies to: its id, author and first words.
    pub referenced_message: Option<Referenced>,
    /// Its files.
    pub attachments: Vec<Attachment>,
}

/// The names a message's mentions stand for, by id: a JSON object read
/// into a list (a map type would cost the panel's wasm its own code).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mentions(pub Vec<(String, String)>);

impl Mentions {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name for `id`, if the message carries one.
    pub fn get(&self, id: &str) -> Option<&String> {
        self.0
            .iter()
            .find(|(key, _)| key == id)
            .map(|(_, name)| name)
    }
}

/// The message a reply answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Referenced {
    pub id: MessageId,
    pub author: String,
    pub content: String,
}

/// A file attached to a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub size: u64,
    pub url: String,
}

/// One emoji's reactions to a message.
#[derive(Clone, Debug, Default)]
pub struct Reaction {
    pub emoji: String,
    /// How many reacted: exact, where `users` may be cut short.
    pub count: u32,
    /// Who reacted (names, as messages' authors are); a bridge may send
    /// only the newest of them.
    pub users: Vec<String>,
    /// Whether the reader is one of them: in answers computed for the
    /// reader (`me`), kept from `reaction` events' `user` and `added`
    /// ([`Message::react`]). A bridge without it never sets it, and the
    /// view looks for the reader in `users` instead.
    pub me: bool,
    /// The change `me` is known as of: the reactions version of the state
    /// computed for the reader it came from, or the reader's own change;
    /// none when it was only carried along from an older state.
    pub known: Option<MessageId>,
}

/// Equal when they show the same: how `me` is known is the store's business.
impl PartialEq for Reaction {
    fn eq(&self, other: &Reaction) -> bool {
        self.emoji == other.emoji
            && self.count == other.count
            && self.me == other.me
            && self.users == other.users
    }
}

impl Eq for Reaction {}

impl Message {
    /// How new its content is: the newest edit's change id, else its own id.
    pub fn content_version(&self) -> MessageId {
        self.version.unwrap_or(self.id)
    }

    /// This message with what is newer in `other` (another state of the same
    /// message): its content if edited later, its reactions if changed later,
    /// and the reader's own state of an emoji if known as of a later change.
    /// `None` when `other` brings nothing newer. An equal version is the same
    /// state, except for reactions built from one emoji's change
    /// ([`Message::react`]), which a whole state of the same version completes.
    pub fn fold(&self, other: &Message) -> Option<Message> {
        let content = other.content_version() > self.content_version();
        let reactions = match (other.reactions_version, self.reactions_version) {
            (Some(theirs), Some(ours)) => {
                theirs > ours || (theirs == ours && other.reactions != self.reactions)
            }
            (Some(_), None) => true,
            // No order to go by: what came later is taken.
            (None, None) => other.reactions != self.reactions,
            (None, Some(_)) => false,
        };
        let mut next = self.clone();
        if content {
            next.content = other.content.clone();
            next.edited_at = other.edited_at.clone();
            next.version = other.version;
        }
        if reactions {
            next.reactions = other.reactions.clone();
            next.reactions_version = other.reactions_version;
        }
        // Each emoji's own state is the one known as of the later change,
        // whichever state says it: one computed for the reader says it of
        // every emoji, a reaction change of the one the reader changed, a
        // stream's message of none. An emoji a state lacks had no one as of
        // its version: not the reader.
        let mut own = false;
        for reaction in &mut next.reactions {
            let ours = own_state(&self.reactions, &reaction.emoji, self.reactions_version);
            let theirs = own_state(&other.reactions, &reaction.emoji, other.reactions_version);
            let newest = ours.max(theirs);
            own |= newest != ours;
            (reaction.known, reaction.me) = newest;
        }
        (content || reactions || own).then_some(next)
    }

    /// This message after a reaction change (see [`ReactionChange::state`]).
    /// `None` when the change is not newer than what is held.
    pub fn react(&self, change: &ReactionChange) -> Option<Message> {
        if change
            .version
            .is_some_and(|v| self.reactions_version.is_some_and(|ours| v <= ours))
        {
            return None;
        }
        self.fold(&change.state(self.id, &self.reactions))
    }
}

/// The reader's own state of `emoji` in `list`, and the change it is known
/// as of (`absent` when the list lacks the emoji).
fn own_state(
    list: &[Reaction],
    emoji: &str,
    absent: Option<MessageId>,
) -> (Option<MessageId>, bool) {
    (list.iter().find(|r| r.emoji == emoji)).map_or((absent, false), |r| (r.known, r.me))
}

impl ReactionChange {
    /// The change as a state of message `id`'s reactions alone (its content
    /// older than any): all of them when the bridge sends them, else
    /// `base` with the one emoji's new state; and the reader's own state of
    /// that emoji when they changed it (`added`, which the engine keeps only
    /// for the reader's own change). An emoji no one reacts with any more
    /// goes.
    pub fn state(&self, id: MessageId, base: &[Reaction]) -> Message {
        let changed = Reaction {
            emoji: self.emoji.clone(),
            count: self.count,
            users: self.users.clone(),
            me: self.added.unwrap_or_default(),
            known: self.added.and(self.version),
        };
        let mut reactions = self.reactions.clone().unwrap_or_else(|| base.to_vec());
        match reactions.iter_mut().find(|r| r.emoji == self.emoji) {
            Some(one) => *one = changed,
            None => reactions.push(changed),
        }
        reactions.retain(|r| r.count > 0);
        Message {
            id,
            reactions,
            reactions_version: self.version,
            ..Message::default()
        }
    }
}

/// A `reaction` event: one emoji's state on one message after a change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReactionChange {
    pub message_id: MessageId,
    pub channel_id: String,
    pub emoji: String,
    pub count: u32,
    pub users: Vec<String>,
    /// The message's reactions after the change, all of them (a bridge
    /// extension that makes each reaction event a whole state).
    pub reactions: Option<Vec<Reaction>>,
    /// The change's id (the event's `id:` line, or its data's `version`).
    pub version: Option<MessageId>,
    /// Who changed it, and whether they added (a bridge extension). The
    /// engine keeps `added` only when `user` is the reader: it is then the
    /// reader's own state of that emoji.
    pub user: Option<String>,
    pub added: Option<bool>,
}

/// A `message_delete` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deletion {
    pub id: MessageId,
    pub channel_id: String,
}

/// Whether `channel` is a valid channel name: `^[A-Za-z0-9_-]{1,64}$`.
pub fn is_valid_channel(channel: &str) -> bool {
    (1..=64).contains(&channel.len())
        && channel
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_follow_the_contract() {
        assert!(
            is_valid_channel("general")
                && is_valid_channel("a-b_C9")
                && is_valid_channel(&"x".repeat(64))
        );
        for bad in ["", "a b", "a/b", "ä", &"x".repeat(65), "../x"] {
            assert!(!is_valid_channel(bad), "{bad:?}");
        }
    }

    #[test]
    fn ids_compare_as_numbers_not_text() {
        let nine: MessageId = "9".parse().unwrap();
        let ten: MessageId = "10".parse().unwrap();
        assert!(nine < ten);
    }

    #[test]
    fn ids_reject_signs_spaces_and_overflow() {
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1 ",
            "0x10",
            "18446744073709551616",
            "1.0",
        ] {
            assert!(bad.parse::<MessageId>().is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            "18446744073709551615".parse::<MessageId>().unwrap().0,
            u64::MAX
        );
    }
}
