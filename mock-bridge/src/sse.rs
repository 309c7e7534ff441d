//! Every Server-Sent Events frame the bridge writes, in one place (the panel's
//! `wire` module reads them). Each frame ends in a blank line, and every event a
//! browser must see has a `data:` line: frames without one are never dispatched.

use crate::hub::Gateway;
use crate::message::Message;
use bytes::Bytes;

/// `retry: <ms>`: the reconnection delay the browser should use.
pub fn retry(ms: u64) -> Bytes {
    Bytes::from(format!("retry: {ms}\n\n"))
}

/// A `status` event: the gateway state and the heartbeat interval that sizes
/// the client's watchdog.
pub fn status(gateway: Gateway, heartbeat_interval_ms: u128) -> Bytes {
    let gateway = match gateway {
        Gateway::Connected => "connected",
        Gateway::Reconnecting => "reconnecting",
        Gateway::Disconnected => "disconnected",
    };
    Bytes::from(format!(
        "event: status\ndata: {{\"gateway\":\"{gateway}\",\"heartbeat_interval_ms\":{heartbeat_interval_ms}}}\n\n"
    ))
}

/// A `heartbeat` event with the bridge's clock.
pub fn heartbeat(unix_ms: u64) -> Bytes {
    Bytes::from(format!("event: heartbeat\ndata: {{\"ts\":{unix_ms}}}\n\n"))
}

/// Why a client must refetch history instead of trusting its stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resync {
    /// It fell behind and messages were dropped for it.
    Lagged,
    /// Its resume point is older than what the bridge can replay.
    HistoryGap,
}

/// A `resync` event; on a multi-channel stream, it names the `channels` to catch up.
pub fn resync(reason: Resync, channels: Option<&[String]>) -> Bytes {
    let reason = match reason {
        Resync::Lagged => "lagged",
        Resync::HistoryGap => "history_gap",
    };
    let data = match channels {
        None => serde_json::json!({ "reason": reason }),
        Some(channels) => serde_json::json!({ "reason": reason, "channels": channels }),
    };
    Bytes::from(format!("event: resync\ndata: {data}\n\n"))
}

/// A `message` event, with the `id:` line browsers track as Last-Event-ID.
pub fn message(message: &Message) -> Bytes {
    let json = serde_json::to_string(message).expect("a message always serialises");
    Bytes::from(format!(
        "id: {}\nevent: message\ndata: {json}\n\n",
        message.id
    ))
}

/// Whether a change's event goes out as it is made, or in a replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Live,
    Replayed,
}

/// A message in a replay (its creation, replayed as it now is): without its
/// `reactions_version`. Its reactions are the ones it has now, but a replay
/// brings every reaction change after the cursor too (else it resyncs), in
/// order, and a client that folds by that order must not take the newest
/// order from the message and then drop those changes as older: each says
/// whose reaction changed (`user`, `added`), which the message does not.
pub fn replayed_message(message: &Message) -> Bytes {
    let json = serde_json::to_string(&*unordered(message)).expect("a message always serialises");
    Bytes::from(format!(
        "id: {}\nevent: message\ndata: {json}\n\n",
        message.id
    ))
}

/// `message` without its `reactions_version` (see [`replayed_message`]).
fn unordered(message: &Message) -> std::borrow::Cow<'_, Message> {
    if message.revision.reactions_version.is_none() {
        return std::borrow::Cow::Borrowed(message);
    }
    let mut copy = message.clone();
    copy.revision.reactions_version = None;
    std::borrow::Cow::Owned(copy)
}

/// A change's event, with its change id on the `id:` line, showing
/// `now` (the message as it now is, after the change; `None`: deleted):
/// - an edit: `message_update`, the whole message as it now is; in a replay,
///   only for the message's newest edit (the earlier ones would show the
///   same, so nothing for them), and without its `reactions_version` (see
///   [`replayed_message`]);
/// - a deletion: `message_delete` (`{id, channel_id}`);
/// - a reaction: `reaction`, its emoji's state as it now is, with its own
///   `user`, `added` and `version`, and the whole `reactions` when it is the
///   message's newest reaction change (see [`crate::reactions::ReactionData`]).
///
/// In a replay, a change to a message deleted since has nothing to show:
/// its deletion comes later in the same replay.
pub fn change(change: &crate::message::Change, now: Option<&Message>, when: When) -> Bytes {
    use crate::message::Change;
    let id = change.id();
    let data = match (change, now) {
        (Change::Update { .. }, Some(now)) if when == When::Live => {
            ("message_update", serde_json::to_string(now))
        }
        (Change::Update { .. }, Some(now)) if now.revision.version == Some(id) => {
            ("message_update", serde_json::to_string(&*unordered(now)))
        }
        (
            Change::Delete {
                message_id,
                channel_id,
                ..
            },
            _,
        ) => (
            "message_delete",
            serde_json::to_string(&serde_json::json!({
                "id": message_id.to_string(), "channel_id": channel_id
            })),
        ),
        (
            Change::Reaction {
                emoji, user, added, ..
            },
            Some(now),
        ) => {
            let mut data = crate::reactions::ReactionData::of(now, emoji, user, *added);
            let newest = now.revision.reactions_version == Some(id);
            data.reactions = data.reactions.filter(|_| newest);
            data.version = Some(id);
            ("reaction", serde_json::to_string(&data))
        }
        _ => return Bytes::new(),
    };
    match data {
        (name, Ok(data)) => event(id, name, &data),
        (_, Err(error)) => {
            tracing::error!(%error, id, "a change's event could not be written");
            Bytes::new()
        }
    }
}

/// An event with an `id:` line.
fn event(id: u64, name: &str, data: &str) -> Bytes {
    let mut frame = Vec::with_capacity(data.len() + name.len() + 40);
    frame.extend_from_slice(b"id: ");
    frame.extend_from_slice(id.to_string().as_bytes());
    frame.extend_from_slice(b"\nevent: ");
    frame.extend_from_slice(name.as_bytes());
    frame.extend_from_slice(b"\ndata: ");
    frame.extend_from_slice(data.as_bytes());
    frame.extend_from_slice(b"\n\n");
    Bytes::from(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_frame_carries_the_id_and_ends_with_a_blank_line() {
        let frame = message(&Message {
            id: 42,
            channel_id: "general".into(),
            author: "a".into(),
            content: "line one\nline two".into(),
            timestamp: "t".into(),
            client_id: None,
            revision: Default::default(),
            extras: Default::default(),
        });
        let text = std::str::from_utf8(&frame).unwrap();
        assert!(text.starts_with("id: 42\nevent: message\ndata: {\"id\":\"42\""));
        assert!(text.ends_with("}\n\n"));
        assert_eq!(
            text.matches('\n').count(),
            4,
            "newlines in content are escaped in JSON"
        );
    }

    #[test]
    fn every_frame_is_a_named_event_with_data_or_the_retry_hint() {
        let frames = [
            retry(2_000),
            status(Gateway::Reconnecting, 15_000),
            heartbeat(1),
            resync(Resync::Lagged, None),
            resync(Resync::HistoryGap, Some(&["a".to_owned(), "b".to_owned()])),
        ];
        for frame in frames {
            let text = std::str::from_utf8(&frame).unwrap();
            assert!(text.ends_with("\n\n"), "{text:?}");
            assert!(
                text.starts_with("retry: ") || text.contains("\ndata: {"),
                "{text:?}"
            );
        }
        assert_eq!(
            &status(Gateway::Reconnecting, 15_000)[..],
            b"event: status\ndata: {\"gateway\":\"reconnecting\",\"heartbeat_interval_ms\":15000}\n\n"
        );
    }
}
