//! The connection state machine driven by arbitrary event sequences, including
//! stale stream ids, stale history answers and timers firing out of turn. It must
//! never panic, never keep two streams open, and keep its messages ordered and
//! bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panel_core::{
    Command, Engine, Event, Gateway, Incoming, Message, MessageId, Options, PostOutcome,
    ReadyState, Timer,
};
use std::collections::BTreeSet;

fn message(id: u64) -> Message {
    Message {
        id: MessageId(id),
        channel_id: "general".into(),
        author: "fuzz".into(),
        content: format!("m{id}"),
        timestamp: "2026-11-22T12:00:00.000Z".into(),
        client_id: (id % 3 == 0).then(|| format!("c{}", id % 8)),
        ..Message::default()
    }
}

/// Message `id` as edited by change `version`, with a reaction.
fn edited(id: u64, version: u64) -> Message {
    Message {
        content: format!("m{id} as of {version}"),
        edited_at: Some("2026-12-05T00:00:00Z".into()),
        version: Some(MessageId(version)),
        reactions: vec![panel_core::Reaction {
            emoji: "👍".into(),
            count: 1,
            users: vec!["bob".into()],
            ..Default::default()
        }],
        reactions_version: Some(MessageId(version)),
        ..message(id)
    }
}

fuzz_target!(|input: &[u8]| {
    let options = Options {
        max_messages: 16,
        ..Options::default()
    };
    let mut engine = Engine::new("general", options);
    let mut now = 0u64;
    let mut open = BTreeSet::new();
    let mut requests = Vec::new();
    let mut step = |engine: &mut Engine, event: Event, now: u64, requests: &mut Vec<u64>| {
        for command in engine.handle(event, now, 0.5) {
            match command {
                Command::OpenStream { stream, .. } => {
                    assert!(open.insert(stream), "stream {stream} opened twice");
                }
                Command::CloseStream(stream) => {
                    open.remove(&stream);
                }
                Command::FetchHistory { request, .. } => requests.push(request),
                _ => {}
            }
            assert!(open.len() <= 1, "two streams open at once: {open:?}");
        }
        let ids: Vec<_> = engine.messages().map(|m| m.id).collect();
        assert!(ids.len() <= 16);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "held ids out of order");
    };
    step(&mut engine, Event::Mount, now, &mut requests);
    for chunk in input.chunks(3) {
        let [kind, a, b] = *chunk else { break };
        let current = engine.current_stream().unwrap_or(0);
        // Mostly the current stream, sometimes a stale one.
        let stream = if a & 0x80 == 0 {
            current
        } else {
            current.saturating_sub(1)
        };
        let request = requests
            .get(usize::from(b) % requests.len().max(1))
            .copied()
            .unwrap_or(0);
        let id = u64::from(a) * 256 + u64::from(b);
        now += u64::from(b) * 37;
        let event = match kind % 27 {
            0 => Event::StreamOpened(stream),
            1 => Event::StreamError(stream, ReadyState::Connecting),
            2 => Event::StreamError(stream, ReadyState::Closed),
            3 => Event::Received(stream, Incoming::Message(message(id))),
            4 => Event::Received(stream, Incoming::Heartbeat),
            5 => Event::Received(
                stream,
                Incoming::Status {
                    gateway: [
                        Gateway::Connected,
                        Gateway::Reconnecting,
                        Gateway::Disconnected,
                    ][usize::from(b) % 3],
                    heartbeat_interval_ms: (a & 1 == 1).then_some(u64::from(b) * 10),
                },
            ),
            6 => Event::Received(
                stream,
                Incoming::Resync {
                    reason: "lagged".into(),
                },
            ),
            7 => Event::Undecodable(stream),
            8 => Event::TimerFired(
                [Timer::Watchdog, Timer::Backoff, Timer::HistoryRetry][usize::from(a) % 3],
            ),
            9 => Event::HistoryLoaded(
                request,
                (0..u64::from(a % 24))
                    .map(|k| message(u64::from(b) * 16 + k))
                    .collect(),
            ),
            10 => Event::HistoryFailed(request, "offline".into()),
            11 => Event::RetryPressed,
            12 => Event::Online,
            13 => Event::PageVisible,
            14 => Event::Received(stream, Incoming::Message(message(id % 16))),
            15 => Event::Unauthorized,
            16 => Event::Send {
                client_id: format!("c{}", a % 8),
                content: "a reply".into(),
            },
            17 => Event::PostAnswered(
                u64::from(b % 4),
                if a % 2 == 0 {
                    PostOutcome::Stored(message(id))
                } else {
                    PostOutcome::Failed("lost".into())
                },
            ),
            18 => Event::OlderWanted,
            // The host switched accounts: another person's replies.
            19 => Event::OutboxSwitched(
                (0..a % 3)
                    .map(|k| panel_core::Outgoing {
                        client_id: format!("s{}", (b % 4) + k),
                        content: "someone else's".into(),
                        failed: None,
                        target: None,
                        left: true,
                    })
                    .collect(),
            ),
            // Edits, deletions, reactions and catch-ups of changes.
            21 => Event::Received(stream, Incoming::Update(edited(id % 64, id))),
            22 => Event::Received(
                stream,
                Incoming::Delete {
                    deletion: panel_core::message::Deletion {
                        id: MessageId(id % 64),
                        channel_id: "general".into(),
                    },
                    change: Some(MessageId(id)),
                },
            ),
            23 => Event::Received(
                stream,
                Incoming::Reaction(panel_core::message::ReactionChange {
                    message_id: MessageId(id % 64),
                    channel_id: "general".into(),
                    emoji: ["👍", "🎉"][usize::from(a) % 2].into(),
                    count: u32::from(b % 3),
                    version: (a % 3 != 0).then_some(MessageId(id)),
                    ..Default::default()
                }),
            ),
            24 => Event::ChangesLoaded(
                request,
                panel_core::wire::ChangePage {
                    messages: (0..u64::from(a % 6))
                        .map(|k| edited(u64::from(b) + k, id))
                        .collect(),
                    deleted: (0..u64::from(b % 3))
                        .map(|k| MessageId(u64::from(a) + k))
                        .collect(),
                    last: Some(MessageId(id)),
                    more: a % 4 == 0,
                    resync: (b % 7 == 0).then(|| "history_gap".into()),
                },
            ),
            25 => Event::Change {
                client_id: format!("e{}", a % 8),
                target: if b % 2 == 0 {
                    panel_core::Target::Edit(MessageId(id % 64))
                } else {
                    panel_core::Target::Delete(MessageId(id % 64))
                },
                content: "fixed".into(),
            },
            26 => Event::PostAnswered(u64::from(b % 4), PostOutcome::Deleted),
            _ => Event::TimerFired(Timer::Watchdog),
        };
        step(&mut engine, event, now, &mut requests);
    }
    step(&mut engine, Event::Unmount, now, &mut requests);
    assert!(open.is_empty(), "a stream outlived unmount: {open:?}");
});
