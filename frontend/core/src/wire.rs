//! Decoding of the bridge's event-stream payloads.
//!
//! Input comes from the network, so nothing here may panic: every malformed,
//! oversized or unexpected payload becomes a [`DecodeError`] that the glue logs
//! once and drops. Unknown fields are ignored so the bridge can grow its payloads.

use crate::json::{self, collect, Error, Fields, Items};
use crate::message::{Deletion, Message, MessageId, Reaction, ReactionChange};
use crate::number::digits;
use crate::payload::{count, id, ids, optional_id, strings};
use crate::people::{read_typing, Presence};
use crate::protocol::Gateway;
use std::fmt;

/// Payloads above this size are refused unread (a message is at most 4000
/// characters, so a legitimate payload is far smaller).
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// The names of the events a stream carries that the panel reads.
pub const EVENT_NAMES: [&str; 10] = [
    "message",
    "message_update",
    "message_delete",
    "reaction",
    "status",
    "heartbeat",
    "resync",
    "presence",
    "typing",
    "read",
];

/// Whether events of this name carry an `id:` line (a change's id).
pub fn is_change(event: &str) -> bool {
    matches!(
        event,
        "message" | "message_update" | "message_delete" | "reaction"
    )
}

impl Incoming {
    /// The channel a message or change concerns (none for the others).
    pub fn channel(&self) -> Option<&str> {
        match self {
            Incoming::Message(m) | Incoming::Update(m) => Some(&m.channel_id),
            Incoming::Delete { deletion, .. } => Some(&deletion.channel_id),
            Incoming::Reaction(r) => Some(&r.channel_id),
            Incoming::Presence(p) => Some(&p.channel_id),
            Incoming::Typing { channel_id, .. } | Incoming::Read { channel_id, .. } => {
                Some(channel_id)
            }
            _ => None,
        }
    }
}

/// A decoded, well-formed event from the stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// A chat message (`event: message`).
    Message(Message),
    /// A message as it is after an edit (`event: message_update`).
    Update(Message),
    /// A message deleted (`event: message_delete`); `change`: the change id.
    Delete {
        deletion: Deletion,
        change: Option<MessageId>,
    },
    /// One emoji's reactions to a message after a change (`event: reaction`).
    Reaction(ReactionChange),
    /// The bridge's upstream gateway state (`event: status`).
    Status {
        /// The gateway's state.
        gateway: Gateway,
        /// The heartbeat interval the bridge promises, which sizes the watchdog.
        heartbeat_interval_ms: Option<u64>,
    },
    /// Proof of life (`event: heartbeat`).
    Heartbeat,
    /// The bridge dropped or cannot replay messages for us: refetch (`event: resync`).
    Resync {
        /// Why, as the bridge put it (`lagged`, `history_gap`, or something newer).
        reason: String,
    },
    /// Who is in the channel now (`event: presence`).
    Presence(Presence),
    /// Someone types in the channel (`event: typing`).
    Typing { channel_id: String, user: String },
    /// The reader's read marker changed (`event: read`, on their own
    /// streams only).
    Read {
        channel_id: String,
        last_read: MessageId,
    },
}

/// Why a payload was dropped.
#[derive(Debug)]
pub enum DecodeError {
    /// Bigger than [`MAX_PAYLOAD_BYTES`].
    TooLarge { event: String, bytes: usize },
    /// Not JSON of the expected shape. `reason` names the field that was
    /// wrong, or the byte where the JSON broke; `data` is the payload's
    /// start, so the log line shows what was read.
    Malformed {
        event: String,
        reason: String,
        data: String,
    },
    /// A name the panel does not know (the browser only delivers names we listen to,
    /// so this means a glue bug or a newer bridge).
    UnknownEvent { event: String },
}

impl DecodeError {
    /// The sentence a log line shows (what `Display` writes), joined
    /// without `core::fmt`.
    pub fn sentence(&self) -> String {
        match self {
            DecodeError::TooLarge { event, bytes } => [
                "dropped a ",
                &digits(*bytes as u64),
                "-byte `",
                event,
                "` event (limit ",
                &digits(MAX_PAYLOAD_BYTES as u64),
                " bytes)",
            ]
            .concat(),
            DecodeError::Malformed {
                event,
                reason,
                data,
            } => [
                "dropped a malformed `",
                event,
                "` event: ",
                reason,
                "; it read: ",
                data,
            ]
            .concat(),
            DecodeError::UnknownEvent { event } => {
                ["ignored an unknown `", event, "` event"].concat()
            }
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence())
    }
}

impl std::error::Error for DecodeError {}

/// A `resync`'s reason, and the channels it names on a multi-channel
/// stream (none: all of them).
fn resync(data: &str) -> Result<(String, Option<Vec<String>>), Error> {
    let f = json::parse(data)?.fields("", &["reason", "channels"])?;
    let reason = f.optional_string("reason");
    let channels = f
        .optional("channels")
        .map(|v| strings(v.array("channels")?));
    let channels = f.take(channels.transpose());
    f.done((reason.unwrap_or_else(|| "unspecified".into()), channels))
}

/// The channels a multi-channel stream's `resync` names (`None`: all of them,
/// or not a well-formed resync).
pub fn resync_channels(data: &str) -> Option<Vec<String>> {
    resync(data).ok()?.1
}

/// Decodes the `data` of an event named `event`.
pub fn decode(event: &str, data: &str) -> Result<Incoming, DecodeError> {
    decode_at(event, data, "")
}

/// Decodes the `data` of an event named `event` whose `id:` line (the
/// `MessageEvent`'s `lastEventId`) was `last_event_id`: a change's id, which
/// orders a reaction and moves the cursor past a deletion.
pub fn decode_at(event: &str, data: &str, last_event_id: &str) -> Result<Incoming, DecodeError> {
    if data.len() > MAX_PAYLOAD_BYTES {
        return Err(DecodeError::TooLarge {
            event: event.to_owned(),
            bytes: data.len(),
        });
    }
    let incoming = match event {
        // One read for both (each its own copy cost a second inlined read).
        "message" | "message_update" => {
            json::parse(data)
                .and_then(Message::read)
                .map(|m| match event {
                    "message" => Incoming::Message(m),
                    _ => Incoming::Update(m),
                })
        }
        "message_delete" => deletion(data, last_event_id),
        "reaction" => reaction(data, last_event_id).map(Incoming::Reaction),
        "status" => status(data),
        // The heartbeat's content does not matter, only that it arrived;
        // still, it must be JSON, or something is wrong upstream worth a
        // log line.
        "heartbeat" => json::parse(data).map(|_| Incoming::Heartbeat),
        "resync" => resync(data).map(|(reason, _)| Incoming::Resync { reason }),
        "presence" => Presence::read(data).map(Incoming::Presence),
        "typing" => {
            read_typing(data).map(|(channel_id, user)| Incoming::Typing { channel_id, user })
        }
        "read" => crate::read::read_event(data).map(|(channel_id, last_read)| Incoming::Read {
            channel_id,
            last_read,
        }),
        other => {
            return Err(DecodeError::UnknownEvent {
                event: other.to_owned(),
            })
        }
    };
    incoming.map_err(|reason| DecodeError::Malformed {
        event: event.to_owned(),
        reason: reason.into_string(),
        data: excerpt(data, EXCERPT_CHARS),
    })
}

/// A `message_delete`; `change`: the event's `id:` line.
fn deletion(data: &str, change: &str) -> Result<Incoming, Error> {
    let f = json::parse(data)?.fields("", &["channel_id", "id"])?;
    let deletion = Deletion {
        channel_id: f.string("channel_id"),
        id: id(&f, "id"),
    };
    let change = change.parse().ok();
    f.done(Incoming::Delete { deletion, change })
}

const REACTION: &[&str] = &[
    "message_id",
    "channel_id",
    "emoji",
    "count",
    "users",
    "reactions",
    "version",
    "user",
    "added",
];

/// A `reaction`; `change`: the event's `id:` line, its version unless the
/// data says one.
fn reaction(data: &str, change: &str) -> Result<ReactionChange, Error> {
    let f = json::parse(data)?.fields("", REACTION)?;
    let reactions = f.optional("reactions").map(|all| {
        let all = all.array("reactions")?;
        collect(all, Reaction::read)
    });
    let change = ReactionChange {
        message_id: id(&f, "message_id"),
        channel_id: f.string("channel_id"),
        emoji: f.string("emoji"),
        // Saturated: a count past the range is no reason to drop it.
        count: count(&f),
        users: f.take(strings(f.optional_list("users"))),
        reactions: f.take(reactions.transpose()),
        version: optional_id(&f, "version").or(change.parse().ok()),
        user: f.optional_string("user"),
        added: f.optional_bool("added"),
    };
    f.done(change)
}

/// A `status`: the gateway's state is required, and must be one the panel knows.
fn status(data: &str) -> Result<Incoming, Error> {
    let f = json::parse(data)?.fields("", &["gateway", "heartbeat_interval_ms"])?;
    let heartbeat = f.optional("heartbeat_interval_ms");
    let heartbeat_interval_ms = heartbeat.map(|ms| ms.u64("heartbeat_interval_ms"));
    let heartbeat_interval_ms = f.take(heartbeat_interval_ms.transpose());
    let gateway = match f.optional_string("gateway") {
        Some(name) => Gateway::parse(&name).ok_or_else(|| Error::unknown("gateway state", &name)),
        None => Err(Error::missing("gateway")),
    };
    let gateway = f.take(gateway.map(Some));
    // Some whenever nothing was refused.
    let gateway = f.done(gateway)?.ok_or_else(|| Error::missing("gateway"))?;
    Ok(Incoming::Status {
        gateway,
        heartbeat_interval_ms,
    })
}

/// `text` for a message or a log line: its first `max_chars` characters,
/// and `…` if there were more.
pub(crate) fn excerpt(text: &str, max_chars: usize) -> String {
    // Cut where the character past the last one shown starts (a byte
    // that is no UTF-8 continuation): a slice, where collecting the
    // characters compiled a char-by-char push.
    let starts = text.bytes().enumerate().filter(|(_, b)| b & 0xC0 != 0x80);
    match starts.map(|(at, _)| at).nth(max_chars) {
        Some(at) => [text.get(..at).unwrap_or_default(), "…"].concat(),
        None => text.to_owned(),
    }
}

/// How much of a malformed payload a log line shows.
const EXCERPT_CHARS: usize = 120;

/// Decodes a history answer (`GET …/messages`): a JSON array of messages, oldest
/// first. Anything else is refused whole, with the reason, so a half-read page
/// never leaves a hole that looks like "no messages".
pub fn decode_history(body: &str) -> Result<Vec<Message>, String> {
    check_history_size(body.len())?;
    let unreadable = |e: Error| ["unreadable history: ", &e.into_string()].concat();
    let messages = json::parse(body)
        .and_then(|page| page.array(""))
        .map_err(unreadable)?;
    // Counted before anything is read: a hostile page is refused unread.
    let count = messages.clone().count();
    if count > MAX_HISTORY_MESSAGES {
        return Err([
            "a history answer of ",
            &digits(count as u64),
            " messages; the bridge never sends more than ",
            &digits(MAX_HISTORY_MESSAGES as u64),
        ]
        .concat());
    }
    collect(messages, Message::read).map_err(unreadable)
}

/// A page of the changes after a change id
/// (`GET …/changes?after=&limit=`), coalesced by the bridge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangePage {
    /// Every message created or changed in the page, as it is now.
    pub messages: Vec<Message>,
    /// The messages deleted in the page.
    pub deleted: Vec<MessageId>,
    /// The newest change id the page covers (none: nothing changed).
    pub last: Option<MessageId>,
    /// More changes follow `last`.
    pub more: bool,
    /// Set instead of the rest when the bridge no longer knows every change
    /// after the id asked for (`"history_gap"`).
    pub resync: Option<String>,
}

/// Decodes a catch-up answer, bounded like a history answer.
pub fn decode_changes(body: &str) -> Result<ChangePage, String> {
    check_history_size(body.len())?;
    let unreadable = |e: Error| ["unreadable changes: ", &e.into_string()].concat();
    let f = json::parse(body).and_then(|page| page.fields("", CHANGES));
    let f = f.map_err(unreadable)?;
    let (messages, deleted) = (f.optional_list("messages"), f.optional_list("deleted"));
    // Counted before anything is read: a hostile page is refused unread.
    let (count, gone) = (messages.clone().count(), deleted.clone().count());
    if count + gone > MAX_HISTORY_MESSAGES * 2 {
        return Err([
            "a changes answer of ",
            &digits(count as u64),
            " messages and ",
            &digits(gone as u64),
            " deletions",
        ]
        .concat());
    }
    change_page(f, messages, deleted).map_err(unreadable)
}

const CHANGES: &[&str] = &["messages", "deleted", "last", "more", "resync"];

fn change_page(
    f: Fields<'_>,
    messages: Items<'_>,
    deleted: Items<'_>,
) -> Result<ChangePage, Error> {
    let page = ChangePage {
        messages: f.take(collect(messages, Message::read)),
        deleted: f.take(ids(deleted)),
        last: optional_id(&f, "last"),
        more: f.optional_bool("more").unwrap_or_default(),
        resync: f.optional_string("resync"),
    };
    f.done(page)
}

/// The most messages one history answer may hold (the bridge's own limit).
pub const MAX_HISTORY_MESSAGES: usize = 500;

/// The largest history answer read: 500 messages of 4,000 characters, each
/// escaped to its longest, fit well inside it.
pub const MAX_HISTORY_BYTES: usize = 16 * 1024 * 1024;

/// Refuses a history answer of `bytes` bytes (its `Content-Length`, before
/// reading it, or its text) past [`MAX_HISTORY_BYTES`].
pub fn check_history_size(bytes: usize) -> Result<(), String> {
    if bytes > MAX_HISTORY_BYTES {
        Err([
            "a history answer of ",
            &digits(bytes as u64),
            " bytes; the most read is ",
            &digits(MAX_HISTORY_BYTES as u64),
        ]
        .concat())
    } else {
        Ok(())
    }
}

/// Refuses an answer whose `Content-Length` announces more than
/// [`MAX_HISTORY_BYTES`], before reading it. A length past what the
/// browser's `usize` holds (4 GiB in wasm32), or one that is not a number,
/// is as absurd as a large one (browsers refuse a malformed one anyway).
pub fn check_announced_size(content_length: &str) -> Result<(), String> {
    let bytes = crate::number::parse_u64(content_length)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX);
    check_history_size(bytes)
}

/// The bridge's sentence from an error answer (`{"error": "…"}`), if the body is one.
pub fn error_sentence(body: &str) -> Option<String> {
    let f = json::parse(body).ok()?.fields("", &["error"]).ok()?;
    let error = f.optional_string("error");
    f.done(error).ok()?
}

/// What the status of a post's answer means for the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostAnswer {
    /// Stored (201), or stored before (200, the same client id again).
    Stored,
    /// The sign-in was refused (401).
    SignIn,
    /// A final refusal, with the bridge's sentence: the reply itself is wrong.
    Refused,
    /// Stored before, and deleted since (410): nothing more to do.
    Deleted,
    /// Not stored this time, and nothing is wrong with the reply: a timeout
    /// (408), too early (425), too many requests (429), or any 5xx. Tried
    /// again with the same client id, so it can never be stored twice.
    Retry,
}

/// Classifies a post's answer by its status.
pub fn post_answer(status: u16) -> PostAnswer {
    match status {
        200 | 201 => PostAnswer::Stored,
        401 => PostAnswer::SignIn,
        410 => PostAnswer::Deleted,
        408 | 425 | 429 => PostAnswer::Retry,
        400..=499 => PostAnswer::Refused,
        _ => PostAnswer::Retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageId;
    use proptest::prelude::*;

    #[test]
    fn history_answers_are_bounded_in_size_and_count() {
        let one = r#"{"id":"1","channel_id":"c","author":"a","content":"x","timestamp":"t"}"#;
        let page = |n: usize| format!("[{}]", vec![one; n].join(","));
        assert_eq!(decode_history(&page(500)).unwrap().len(), 500);
        assert!(decode_history(&page(501))
            .unwrap_err()
            .contains("never sends more than 500"));
        let huge = format!("[{}]", " ".repeat(MAX_HISTORY_BYTES));
        assert!(decode_history(&huge).unwrap_err().contains("the most read"));
        assert!(check_history_size(MAX_HISTORY_BYTES).is_ok());
    }

    #[test]
    fn decodes_each_event_kind() {
        let message = decode(
            "message",
            r#"{"id":"7","channel_id":"general","author":"a","content":"<b>hi</b>","timestamp":"t","extra":1}"#,
        )
        .unwrap();
        assert!(
            matches!(message, Incoming::Message(m) if m.id == MessageId(7) && m.content == "<b>hi</b>")
        );
        assert_eq!(
            decode(
                "status",
                r#"{"gateway":"reconnecting","heartbeat_interval_ms":500}"#
            )
            .unwrap(),
            Incoming::Status {
                gateway: Gateway::Reconnecting,
                heartbeat_interval_ms: Some(500)
            }
        );
        assert_eq!(
            decode("heartbeat", r#"{"ts":1}"#).unwrap(),
            Incoming::Heartbeat
        );
        assert_eq!(
            decode("resync", r#"{"reason":"lagged"}"#).unwrap(),
            Incoming::Resync {
                reason: "lagged".into()
            }
        );
    }

    #[test]
    fn refuses_bad_payloads_with_a_reason() {
        let cases = [
            ("message", "{not json"),
            ("message", r#"{"id":"7"}"#),
            (
                "message",
                r#"{"id":"x","channel_id":"g","author":"a","content":"c","timestamp":"t"}"#,
            ),
            ("status", r#"{"gateway":"sideways"}"#),
            ("status", "[]"),
            ("status", r#"{"heartbeat_interval_ms":1000}"#),
            ("status", r#"{"gateway":null}"#),
            ("heartbeat", ""),
            ("resync", "null"),
        ];
        for (event, data) in cases {
            let error = decode(event, data).expect_err(data);
            assert!(
                matches!(error, DecodeError::Malformed { .. }),
                "{event} {data}: {error}"
            );
            let text = error.to_string();
            assert!(text.contains(event), "{text}");
            assert!(text.ends_with(&format!("it read: {data}")), "{text}");
        }
        // A long payload is shown by its start, cut at a character.
        let long = format!("{{\"id\":\"{}\"", "é".repeat(200));
        let text = decode("message", &long).unwrap_err().to_string();
        let shown = text.split("it read: ").nth(1).unwrap();
        assert!(shown.ends_with('…') && shown.chars().count() <= EXCERPT_CHARS + 1);
        assert!(long.starts_with(shown.trim_end_matches('…')));
        assert!(matches!(
            decode("whispering", "{}"),
            Err(DecodeError::UnknownEvent { .. })
        ));
        let huge = format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_PAYLOAD_BYTES));
        assert!(matches!(
            decode("heartbeat", &huge),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    /// Issue 31, item 11: a reaction's count out of its type's range (a
    /// hostile or broken bridge) is saturated, not a reason to refuse the
    /// whole page or event: one number must not empty the panel.
    #[test]
    fn reaction_counts_out_of_range_saturate() {
        let page = r#"[{"id":"1","channel_id":"g","author":"a","content":"c","timestamp":"t",
            "reactions":[{"emoji":"👍","count":99999999999,"users":[]},
                         {"emoji":"🎉","count":-3,"users":[]},
                         {"emoji":"👀","count":2.5,"users":["bob"]}]}]"#;
        let messages = decode_history(page).expect("the page is read");
        let counts: Vec<u32> = messages[0].reactions.iter().map(|r| r.count).collect();
        assert_eq!(counts, [u32::MAX, 0, 2]);
        let event = r#"{"message_id":"1","channel_id":"g","emoji":"👍","count":1e12,"users":[]}"#;
        match decode("reaction", event) {
            Ok(Incoming::Reaction(change)) => assert_eq!(change.count, u32::MAX),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn history_pages_decode_whole_or_not_at_all() {
        let page = r#"[{"id":"1","channel_id":"g","author":"a","content":"c","timestamp":"t"},
                       {"id":"2","channel_id":"g","author":"b","content":"d","timestamp":"t"}]"#;
        let messages = decode_history(page).unwrap();
        assert_eq!(messages.iter().map(|m| m.id.0).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(decode_history("[]").unwrap(), []);
        for bad in ["", "{}", "[1]", r#"[{"id":"1"}]"#, "[", "null"] {
            let error = decode_history(bad).expect_err(bad);
            assert!(error.starts_with("unreadable history"), "{error}");
        }
        assert_eq!(
            error_sentence(r#"{"error":"channel name is invalid","code":"bad_channel"}"#)
                .as_deref(),
            Some("channel name is invalid")
        );
        assert_eq!(error_sentence("<html>502</html>"), None);
    }

    #[test]
    fn an_answer_announced_past_the_bound_or_past_any_number_is_refused_unread() {
        assert!(check_announced_size("1024").is_ok());
        assert!(check_announced_size("16777217").is_err());
        // Past u64, or (in wasm32) past usize: refused, where they were
        // taken as no length at all and the whole body read.
        assert!(check_announced_size("99999999999999999999999").is_err());
        assert!(check_announced_size("five").is_err());
    }

    proptest! {
        #[test]
        fn never_panics_on_any_input(event in "(message|status|heartbeat|resync|presence|typing|read|[a-z]{1,8})", data in ".{0,200}") {
            let _ = decode(&event, &data);
        }

        #[test]
        fn never_panics_on_json_like_input(data in r#"\{("[a-z_]{1,16}":("[^"]{0,8}"|[0-9]{1,25}|null|true|\[\]),?){0,6}\}"#) {
            for event in ["message", "status", "heartbeat", "resync", "presence", "typing", "read"] {
                let _ = decode(event, &data);
            }
        }
    }

    #[test]
    fn a_post_is_refused_only_for_what_is_wrong_with_the_reply() {
        assert_eq!(post_answer(201), PostAnswer::Stored);
        assert_eq!(post_answer(200), PostAnswer::Stored);
        assert_eq!(post_answer(401), PostAnswer::SignIn);
        for busy in [408, 425, 429, 500, 502, 503, 504] {
            assert_eq!(post_answer(busy), PostAnswer::Retry, "{busy}");
        }
        for wrong in [400, 403, 404, 413, 422] {
            assert_eq!(post_answer(wrong), PostAnswer::Refused, "{wrong}");
        }
    }
}

#[cfg(test)]
mod review {
    use super::*;

    /// HOSTILE INPUT (a bridge in another language, say, that writes
    /// `"me":null` for "not the reader's"): read as not the reader's. As a
    /// plain `bool` it made the whole page unreadable, and the panel
    /// stopped ("Couldn't load messages") on every load.
    #[test]
    fn a_null_me_does_not_empty_the_panel() {
        let page = r#"[{"id":"1","channel_id":"g","author":"a","content":"c","timestamp":"t",
            "reactions":[{"emoji":"👍","count":1,"users":["bob"],"me":null}]}]"#;
        assert!(decode_history(page).is_ok(), "{:?}", decode_history(page));
    }
}
