//! Tabs sharing one stream: table tests of the share machine, and properties
//! of whole simulated browser profiles (tabs with a share machine and a
//! panel's engine each, the Web Locks manager, the `BroadcastChannel`, and a
//! bridge) under random openings, closings, crashes, freezes, zombie streams
//! and publishing, editing, deleting and reacting: once healed, every panel
//! holds each message of its channel exactly once, as the bridge has it now,
//! shows Live, and the bridge serves one stream.

mod common;
use common::{message_json, posts, reactions_json};
use panel_core::share::{
    PanelId, Relay, Share, ShareCommand, ShareEvent, Shared, Source, EPOCH_AHEAD_MS,
};
use panel_core::{Command, Engine, Event, Label, MessageId, Options, ReadyState, Timer, Transport};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

const CHANNELS: [&str; 3] = ["general", "design", "random"];

/// A name a link can put in a tab (`?channel=bad%20name`): its panel stops on
/// its own, and must never touch the other tabs.
const BAD: &str = "bad name";

fn valid(channel: &str) -> bool {
    channel != BAD
}

fn message_data(id: u64, channel: &str) -> String {
    format!(
        r#"{{"id":"{id}","channel_id":"{channel}","author":"a","content":"m{id}","timestamp":"2026-11-24T00:00:00.000Z"}}"#
    )
}

/// The message a change (`id`, its event) is about.
fn target_of((name, data): &(&'static str, String), id: u64) -> u64 {
    let value: serde_json::Value = serde_json::from_str(data).unwrap();
    let field = match *name {
        "message" => return id,
        "reaction" => "message_id",
        _ => "id",
    };
    value[field].as_str().unwrap().parse().unwrap()
}

const STATUS_CONNECTED: &str = r#"{"gateway":"connected","heartbeat_interval_ms":1000}"#;

fn options() -> Options {
    Options {
        initial_watchdog_ms: 3_000,
        backoff_base_ms: 100,
        backoff_cap_ms: 2_000,
        max_attempts: 4,
        stability_window_ms: 1_000,
        history_limit: 500,
        page_limit: 500,
        ..Options::default()
    }
}

// ---------------------------------------------------------------- table tests

/// Whether `event` only tells a panel how the shared stream is carried.
fn told(event: &Event) -> bool {
    matches!(event, Event::Transport(_))
}

/// Tab 3, a follower, with one panel of `general` waiting on its stream 1.
fn follower_with_a_panel() -> Share {
    let mut share = Share::new(3);
    share.handle(ShareEvent::PanelMounted {
        panel: 1,
        channel: "general".into(),
    });
    share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 1,
    });
    share
}

/// Tab 1, holding the lock, with one panel of `general` whose stream 1 is
/// open on the holder's first real stream.
fn holder_with_an_open_stream() -> Share {
    let mut share = Share::new(1);
    share.handle(ShareEvent::PanelMounted {
        panel: 1,
        channel: "general".into(),
    });
    share.handle(ShareEvent::LockGranted { now: 0 });
    share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 1,
    });
    share.handle(ShareEvent::StreamOpened(1));
    share
}

#[test]
fn the_first_panel_asks_for_the_lock_and_the_holder_opens_the_union() {
    let mut share = Share::new(7);
    let out = share.handle(ShareEvent::PanelMounted {
        panel: 1,
        channel: "general".into(),
    });
    assert!(out.contains(&ShareCommand::RequestLock { steal: false }));
    assert!(posts(&out).contains(&&Relay::Wants {
        tab: 7,
        channels: vec!["general".into()],
        waiting: false,
    }));
    // Its history loaded, the panel waits on its virtual stream.
    let out = share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 1,
    });
    assert!(posts(&out).contains(&&Relay::Wants {
        tab: 7,
        channels: vec!["general".into()],
        waiting: true,
    }));
    // Another tab shows `design`.
    share.handle(ShareEvent::Relayed(
        Relay::Wants {
            tab: 9,
            channels: vec!["design".into()],
            waiting: true,
        },
        0,
    ));
    let out = share.handle(ShareEvent::LockGranted { now: 0 });
    assert!(share.is_holder());
    assert!(out.contains(&ShareCommand::OpenStream {
        stream: 1,
        channels: vec!["design".into(), "general".into()],
        last_event_id: None,
    }));
    assert!(posts(&out).contains(&&Relay::Who { tab: 7 }));
}

#[test]
fn a_union_change_reopens_from_the_cursor_and_keeps_virtual_streams_open() {
    let mut share = Share::new(1);
    share.handle(ShareEvent::PanelMounted {
        panel: 1,
        channel: "general".into(),
    });
    share.handle(ShareEvent::LockGranted { now: 0 });
    share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 1,
    });
    let out = share.handle(ShareEvent::StreamOpened(1));
    assert!(out.contains(&ShareCommand::Deliver {
        panel: 1,
        event: Event::StreamOpened(1)
    }));
    share.handle(ShareEvent::StreamEvent {
        stream: 1,
        name: "message".into(),
        data: message_data(42, "general"),
        last_event_id: "42".into(),
    });
    let out = share.handle(ShareEvent::Relayed(
        Relay::Wants {
            tab: 2,
            channels: vec!["design".into()],
            waiting: true,
        },
        0,
    ));
    assert!(out.contains(&ShareCommand::CloseStream(1)));
    assert!(out.contains(&ShareCommand::OpenStream {
        stream: 2,
        channels: vec!["design".into(), "general".into()],
        last_event_id: Some(MessageId(42)),
    }));
    let out = share.handle(ShareEvent::StreamOpened(2));
    let delivered: Vec<&ShareCommand> = out
        .iter()
        .filter(|c| matches!(c, ShareCommand::Deliver { .. }))
        .collect();
    assert!(
        delivered.is_empty(),
        "the panel saw the switch: {delivered:?}"
    );
    // Events of the new stream reach it; the old one's do not.
    let out = share.handle(ShareEvent::StreamEvent {
        stream: 1,
        name: "heartbeat".into(),
        data: r#"{"ts":1}"#.into(),
        last_event_id: String::new(),
    });
    assert!(out.is_empty());
    let out = share.handle(ShareEvent::StreamEvent {
        stream: 2,
        name: "heartbeat".into(),
        data: r#"{"ts":2}"#.into(),
        last_event_id: String::new(),
    });
    assert!(out
        .iter()
        .any(|c| matches!(c, ShareCommand::Deliver { panel: 1, .. })));
}

#[test]
fn a_switch_with_no_id_to_resume_from_tells_the_panels_to_catch_up() {
    let mut share = holder_with_an_open_stream();
    let out = share.handle(ShareEvent::Relayed(
        Relay::Wants {
            tab: 2,
            channels: vec!["design".into()],
            waiting: true,
        },
        0,
    ));
    assert!(out.contains(&ShareCommand::OpenStream {
        stream: 2,
        channels: vec!["design".into(), "general".into()],
        last_event_id: None,
    }));
    let out = share.handle(ShareEvent::StreamOpened(2));
    let delivered: Vec<&Event> = out
        .iter()
        .filter_map(|c| match c {
            ShareCommand::Deliver { event, .. } => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(
        delivered,
        [&Event::Received(
            1,
            panel_core::Incoming::Resync {
                reason: "stream_switched".into()
            }
        )]
    );
}

#[test]
fn changes_in_quick_succession_stay_seamless_for_every_tab() {
    let mut share = holder_with_an_open_stream();
    let wants = |channels: &[&str]| {
        ShareEvent::Relayed(
            Relay::Wants {
                tab: 2,
                channels: channels.iter().map(|c| c.to_string()).collect(),
                waiting: true,
            },
            0,
        )
    };
    // Tab 2 mounts a panel of a new channel, then drops its old one, before
    // the first reopening is done; then it asks again while waiting.
    let mut out = share.handle(wants(&["design", "random"]));
    out.extend(share.handle(wants(&["random"])));
    out.extend(share.handle(wants(&["random"])));
    out.extend(share.handle(ShareEvent::StreamOpened(3)));
    let states: Vec<bool> = out
        .iter()
        .filter_map(|c| match c {
            ShareCommand::Post(Relay::State { seamless, .. }) => Some(*seamless),
            _ => None,
        })
        .collect();
    assert!(states.iter().all(|s| *s), "{out:?}");
    let delivered: Vec<&ShareCommand> = out
        .iter()
        .filter(|c| {
            matches!(
                c,
                ShareCommand::Deliver {
                    event: Event::StreamError(..),
                    ..
                }
            )
        })
        .collect();
    assert!(delivered.is_empty(), "{delivered:?}");
}

#[test]
fn a_new_attempt_gets_a_fresh_stream_only_if_the_shared_one_failed() {
    let mut share = Share::new(1);
    share.handle(ShareEvent::PanelMounted {
        panel: 1,
        channel: "general".into(),
    });
    share.handle(ShareEvent::LockGranted { now: 0 });
    // Still opening for the first time: the panel waits for it.
    let out = share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 1,
    });
    assert!(!out.contains(&ShareCommand::CloseStream(1)), "{out:?}");
    share.handle(ShareEvent::StreamOpened(1));
    // It dropped and the browser retries it, perhaps slowly (offline, say):
    // the panel's next attempt does not wait for the browser.
    share.handle(ShareEvent::StreamError(1, ReadyState::Connecting));
    share.handle(ShareEvent::Unsubscribe {
        panel: 1,
        stream: 1,
    });
    let out = share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 2,
    });
    assert!(out.contains(&ShareCommand::CloseStream(1)), "{out:?}");
    assert!(out
        .iter()
        .any(|c| matches!(c, ShareCommand::OpenStream { stream: 2, .. })));
}

/// Issue 31, item 7: a shared stream that fails and whose retry (the
/// browser's own, or the poller's) fails too is closed, and the panels are
/// told it gave up, as a panel's own stream would be: a new one opens only
/// when a panel tries again, on its own backoff.
#[test]
fn a_shared_stream_whose_retry_failed_too_waits_for_a_panel_to_try_again() {
    let mut share = holder_with_an_open_stream();
    let out = share.handle(ShareEvent::StreamError(1, ReadyState::Connecting));
    assert!(!out.contains(&ShareCommand::CloseStream(1)), "{out:?}");
    assert!(out.contains(&ShareCommand::Deliver {
        panel: 1,
        event: Event::StreamError(1, ReadyState::Connecting)
    }));
    // The retry fails too: closed, and the panel hears that it gave up.
    let out = share.handle(ShareEvent::StreamError(1, ReadyState::Connecting));
    assert!(out.contains(&ShareCommand::CloseStream(1)), "{out:?}");
    assert!(
        out.contains(&ShareCommand::Deliver {
            panel: 1,
            event: Event::StreamError(1, ReadyState::Closed)
        }),
        "{out:?}"
    );
    assert!(!out
        .iter()
        .any(|c| matches!(c, ShareCommand::OpenStream { .. })));
    // Its engine backs off; nothing opens meanwhile, even when asked where
    // the stream is.
    share.handle(ShareEvent::Unsubscribe {
        panel: 1,
        stream: 1,
    });
    let out = share.handle(ShareEvent::Relayed(Relay::Who { tab: 4 }, 0));
    assert!(!out
        .iter()
        .any(|c| matches!(c, ShareCommand::OpenStream { .. })));
    // Its next attempt opens a new one; one that fails before it ever
    // opened is closed at once, as a panel's own would be.
    let out = share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 2,
    });
    assert!(out
        .iter()
        .any(|c| matches!(c, ShareCommand::OpenStream { stream: 2, .. })));
    let out = share.handle(ShareEvent::StreamError(2, ReadyState::Connecting));
    assert!(out.contains(&ShareCommand::CloseStream(2)), "{out:?}");
    // Another tab's panel waiting on it opens the next.
    let out = share.handle(ShareEvent::Relayed(
        Relay::Wants {
            tab: 2,
            channels: vec!["general".into()],
            waiting: true,
        },
        0,
    ));
    assert!(
        out.iter()
            .any(|c| matches!(c, ShareCommand::OpenStream { stream: 3, .. })),
        "{out:?}"
    );
}

/// Issue 31, item 13: after the browser reconnected the shared stream on
/// its own, a panel is not handed the status of the connection before:
/// its engine shows Reconnecting until the new one delivers.
#[test]
fn a_reconnected_shared_stream_opens_its_panels_without_the_old_status() {
    let mut share = follower_with_a_panel();
    let source = Source {
        epoch: 5,
        stream: 1,
    };
    let state = |state, status: Option<&str>| {
        ShareEvent::Relayed(
            Relay::State {
                source,
                state,
                seamless: false,
                channels: vec!["general".into()],
                status: status.map(str::to_owned),
                transport: Transport::EventSource,
            },
            0,
        )
    };
    let delivered = |out: Vec<ShareCommand>| -> Vec<Event> {
        (out.into_iter())
            .filter_map(|c| match c {
                ShareCommand::Deliver { event, .. } if !told(&event) => Some(event),
                _ => None,
            })
            .collect()
    };
    let out = delivered(share.handle(state(Shared::Open, Some(STATUS_CONNECTED))));
    assert_eq!(out.len(), 2, "open, then the status: {out:?}");
    let out = delivered(share.handle(state(Shared::Connecting, None)));
    assert_eq!(out, [Event::StreamError(1, ReadyState::Connecting)]);
    let out = delivered(share.handle(state(Shared::Open, None)));
    assert_eq!(
        out,
        [Event::StreamOpened(1)],
        "the status from before the drop"
    );
    // The holder's own panels, the same.
    let mut share = holder_with_an_open_stream();
    share.handle(ShareEvent::StreamEvent {
        stream: 1,
        name: "status".into(),
        data: STATUS_CONNECTED.into(),
        last_event_id: String::new(),
    });
    share.handle(ShareEvent::StreamError(1, ReadyState::Connecting));
    let out = delivered(share.handle(ShareEvent::StreamOpened(1)));
    assert_eq!(
        out,
        [Event::StreamOpened(1)],
        "the status from before the drop"
    );
}

#[test]
fn a_status_heard_late_reaches_a_panel_already_open() {
    let mut share = follower_with_a_panel();
    let source = Source {
        epoch: 5,
        stream: 1,
    };
    let state = |status: Option<&str>| {
        ShareEvent::Relayed(
            Relay::State {
                source,
                state: Shared::Open,
                seamless: false,
                channels: vec!["general".into()],
                status: status.map(str::to_owned),
                transport: Transport::EventSource,
            },
            0,
        )
    };
    share.handle(state(None));
    let out = share.handle(state(Some(STATUS_CONNECTED)));
    assert!(
        out.iter().any(|c| matches!(
            c,
            ShareCommand::Deliver {
                event: Event::Received(1, panel_core::Incoming::Status { .. }),
                ..
            }
        )),
        "{out:?}"
    );
    // The same status again is nothing new.
    assert!(share.handle(state(Some(STATUS_CONNECTED))).is_empty());
}

/// A follower can hear of the holder's stream before the holder has heard
/// its `Wants`: its panel waits for a stream that carries its channel, so a
/// message posted in between is caught up over history, not lost.
#[test]
fn a_panel_opens_only_on_a_stream_that_carries_its_channel() {
    let mut share = follower_with_a_panel();
    let state = |stream, seamless, channels: &[&str]| {
        ShareEvent::Relayed(
            Relay::State {
                source: Source { epoch: 5, stream },
                state: Shared::Open,
                seamless,
                channels: channels.iter().map(|c| c.to_string()).collect(),
                status: Some(STATUS_CONNECTED.into()),
                transport: Transport::EventSource,
            },
            0,
        )
    };
    let out = share.handle(state(1, false, &["design"]));
    assert!(
        !out.iter()
            .any(|c| matches!(c, ShareCommand::Deliver { event, .. } if !told(event))),
        "opened on a stream without its channel: {out:?}"
    );
    assert!(
        posts(&out)
            .iter()
            .any(|r| matches!(r, Relay::Wants { channels, .. } if channels == &["general"])),
        "the holder is reminded: {out:?}"
    );
    // Nor does a new attempt open on it.
    share.handle(ShareEvent::Unsubscribe {
        panel: 1,
        stream: 1,
    });
    let out = share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 2,
    });
    assert!(
        !out.iter()
            .any(|c| matches!(c, ShareCommand::Deliver { .. })),
        "a new attempt opened on a stream without its channel: {out:?}"
    );
    // The holder adds the channel: a seamless switch for the others, an
    // opening (and so a catch-up) for this panel.
    let out = share.handle(state(2, true, &["design", "general"]));
    assert!(
        out.contains(&ShareCommand::Deliver {
            panel: 1,
            event: Event::StreamOpened(2),
        }),
        "{out:?}"
    );
    // A later stream that drops the channel takes the panel off it.
    let out = share.handle(state(3, true, &["design"]));
    assert_eq!(
        out[0],
        ShareCommand::Deliver {
            panel: 1,
            event: Event::StreamError(2, panel_core::ReadyState::Connecting),
        },
        "{out:?}"
    );
}

#[test]
fn a_follower_hears_only_the_newest_holder_and_sees_a_handover_as_a_move() {
    let mut share = follower_with_a_panel();
    let old = Source {
        epoch: 1,
        stream: 4,
    };
    let state = |source, state| {
        ShareEvent::Relayed(
            Relay::State {
                source,
                state,
                seamless: false,
                channels: vec!["general".into()],
                status: Some(STATUS_CONNECTED.into()),
                transport: Transport::EventSource,
            },
            0,
        )
    };
    let out = share.handle(state(old, Shared::Open));
    assert_eq!(
        out.iter()
            .filter(|c| matches!(c, ShareCommand::Deliver { event, .. } if !told(event)))
            .count(),
        2,
        "open and the latest status: {out:?}"
    );
    // A new holder: a move (no failure), then open.
    let new = Source {
        epoch: 2,
        stream: 1,
    };
    let out = share.handle(state(new, Shared::Open));
    assert_eq!(
        out[0],
        ShareCommand::Deliver {
            panel: 1,
            event: Event::StreamMoved(1)
        }
    );
    assert_eq!(
        out[1],
        ShareCommand::Deliver {
            panel: 1,
            event: Event::StreamOpened(1)
        }
    );
    // The old holder wakes up and relays: ignored.
    assert!(share.handle(state(old, Shared::Open)).is_empty());
    let event = Relay::Event {
        source: old,
        name: "heartbeat".into(),
        data: r#"{"ts":1}"#.into(),
        to: None,
        id: None,
    };
    assert!(share.handle(ShareEvent::Relayed(event, 0)).is_empty());
}

#[test]
fn messages_go_to_the_panels_of_their_channel_only() {
    let mut share = Share::new(3);
    for (panel, channel) in [(1, "general"), (2, "design")] {
        share.handle(ShareEvent::PanelMounted {
            panel,
            channel: channel.into(),
        });
        share.handle(ShareEvent::Subscribe { panel, stream: 1 });
    }
    let source = Source {
        epoch: 1,
        stream: 1,
    };
    share.handle(ShareEvent::Relayed(
        Relay::State {
            source,
            state: Shared::Open,
            seamless: false,
            channels: vec!["design".into(), "general".into()],
            status: None,
            transport: Transport::EventSource,
        },
        0,
    ));
    let out = share.handle(ShareEvent::Relayed(
        Relay::Event {
            source,
            name: "message".into(),
            data: message_data(5, "design"),
            to: Some(vec!["design".into()]),
            id: Some(5),
        },
        0,
    ));
    let panels: Vec<PanelId> = out
        .iter()
        .filter_map(|c| match c {
            ShareCommand::Deliver { panel, .. } => Some(*panel),
            _ => None,
        })
        .collect();
    assert_eq!(panels, [2]);
}

#[test]
fn a_follower_whose_stream_went_silent_steals_the_lock_once() {
    let mut share = follower_with_a_panel();
    let out = share.handle(ShareEvent::Silent {
        panel: 1,
        stream: 1,
    });
    assert_eq!(
        &out[1..],
        [
            ShareCommand::ReleaseLock,
            ShareCommand::RequestLock { steal: true }
        ]
    );
    // Once holder, a newer stream exists: a late silence of the old one changes nothing.
    share.handle(ShareEvent::LockGranted { now: 0 });
    assert!(share
        .handle(ShareEvent::Silent {
            panel: 1,
            stream: 1
        })
        .is_empty());
}

#[test]
fn the_last_panel_leaving_says_goodbye_and_lets_the_lock_go() {
    let mut share = Share::new(3);
    share.handle(ShareEvent::PanelMounted {
        panel: 1,
        channel: "general".into(),
    });
    share.handle(ShareEvent::LockGranted { now: 0 });
    share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 1,
    });
    let out = share.handle(ShareEvent::PanelUnmounted { panel: 1 });
    assert_eq!(
        out,
        [
            ShareCommand::Post(Relay::Bye { tab: 3 }),
            ShareCommand::CloseStream(1),
            ShareCommand::FirstByte(None),
            ShareCommand::ReleaseLock,
        ]
    );
    assert!(share.is_empty());
}

#[test]
fn relays_round_trip_as_lines_and_anything_else_is_refused() {
    let source = Source {
        epoch: 1_795_000_000_000,
        stream: 9,
    };
    let relays = [
        Relay::Wants {
            tab: 9_007_199_254_740_991,
            channels: vec!["a".into(), "b-c".into()],
            waiting: true,
        },
        Relay::Wants {
            tab: 1,
            channels: vec![],
            waiting: false,
        },
        Relay::Bye { tab: 3 },
        Relay::Who { tab: 4 },
        Relay::State {
            source,
            state: Shared::Open,
            seamless: true,
            channels: vec!["a".into(), "b".into()],
            status: Some(STATUS_CONNECTED.into()),
            transport: Transport::EventSource,
        },
        Relay::State {
            source,
            state: Shared::Closed,
            seamless: false,
            channels: vec![],
            status: None,
            // A polled stream's state is in capitals.
            transport: Transport::Polling,
        },
        Relay::Event {
            source,
            name: "message".into(),
            // Separators in the data are data.
            data: message_data(u64::MAX - 1, "a").replace("m", "|,|*"),
            to: Some(vec!["a".into()]),
            id: Some(u64::MAX - 1),
        },
        Relay::Event {
            source,
            name: "heartbeat".into(),
            data: String::new(),
            to: None,
            id: None,
        },
    ];
    // The lines themselves: tabs of other builds read them.
    let lines = [
        "W|9007199254740991|a,b-c",
        "w|1|",
        "B|3",
        "H|4",
        "S|1795000000000|9|o|1|a,b|+{\"gateway\":\"connected\",\"heartbeat_interval_ms\":1000}",
        "S|1795000000000|9|X|0||-",
    ];
    for (relay, line) in relays.iter().zip(lines) {
        assert_eq!(relay.encode(), line);
    }
    let heartbeat = relays.last().map(Relay::encode);
    assert_eq!(
        heartbeat.as_deref(),
        Some("E|1795000000000|9|heartbeat|*||")
    );
    for relay in relays {
        let line = relay.encode();
        assert_eq!(Relay::decode(&line), Some(relay), "{line}");
    }
    for bad in [
        "",
        "W",
        "Q|1",
        "B|x",
        "S|1|2|o|2|a|-",
        "S|1|2|z|0|a|-",
        "S|1|2|o|0|a|status",
        "S|1|2|o|0|-",
        "E|1|2|message|*|12a|{}",
        "E|1|message",
        "{\"k\":\"bye\",\"tab\":1}",
    ] {
        assert_eq!(Relay::decode(bad), None, "{bad:?}");
    }
}

proptest! {
    #[test]
    fn any_line_decodes_without_panicking(line in ".{0,80}") {
        let _ = Relay::decode(&line);
    }
}

// ------------------------------------------------------------- the simulation

struct Panel {
    id: PanelId,
    channel: String,
    engine: Engine,
    timers: BTreeMap<Timer, u64>,
    requests: Vec<(u64, Option<MessageId>)>,
}

struct RealStream {
    id: u64,
    channels: Vec<String>,
    resume_after: Option<u64>,
    open: bool,
    zombie: bool,
}

struct Tab {
    share: Share,
    panel: Panel,
    /// Relays posted by other tabs (or lines from elsewhere), not yet delivered.
    bus: VecDeque<Relay>,
    real: Option<RealStream>,
    prune_due: Option<u64>,
    /// The real stream's first-byte deadline, and whether the holder's
    /// carrier ever switched this bridge to polling (no proxy here buffers:
    /// every stream says its status as it opens).
    first_byte_due: Option<u64>,
    polled: bool,
    frozen: bool,
    /// Work for a frozen tab, done when it thaws.
    backlog: VecDeque<Work>,
}

#[allow(clippy::large_enum_variant)] // a test's queue
enum Work {
    Share(ShareEvent),
    Engine(Event),
}

/// A timer of a tab: the holder's prune timer, a panel's, or the holder's
/// first-byte deadline (in this order when due at once).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Prune,
    Panel(Timer),
    FirstByte,
}

#[derive(Default)]
struct Locks {
    holder: Option<usize>,
    queue: VecDeque<usize>,
}

struct World {
    tabs: BTreeMap<usize, Tab>,
    next_tab: usize,
    locks: Locks,
    work: VecDeque<(usize, Work)>,
    /// The bridge's changes: id 1, 2, … and their channel…
    published: Vec<&'static str>,
    /// …and their events, as streamed (name, data).
    events: Vec<(&'static str, String)>,
    /// Every message as the bridge has it now; deleted ones are gone.
    state: BTreeMap<u64, panel_core::Message>,
    deleted: BTreeSet<u64>,
    now: u64,
    /// The bridge is unreachable: every stream and request fails.
    down: bool,
    /// Real streams opened so far, by every tab.
    opened: u64,
}

#[derive(Clone, Copy, Debug)]
enum Action {
    OpenTab(u8),
    CloseTab(u8),
    CrashTab(u8),
    FreezeTab(u8),
    Publish(u8),
    OpenReal(u8),
    Bus(u8),
    FireTimer(u8),
    AnswerHistory(u8),
    Heartbeat,
    Zombie(u8),
    Wait(u16),
    /// A message picked among the bridge's: edited (0), deleted (1), or
    /// reacted to (2..).
    Change(u8, u8),
    /// The bridge goes down (its streams fail), or comes back.
    Down,
    /// A line from elsewhere on the origin reaches every tab (see `hostile`).
    Hostile(u8),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        2 => any::<u8>().prop_map(Action::OpenTab),
        1 => any::<u8>().prop_map(Action::CloseTab),
        1 => any::<u8>().prop_map(Action::CrashTab),
        1 => any::<u8>().prop_map(Action::FreezeTab),
        4 => any::<u8>().prop_map(Action::Publish),
        3 => any::<u8>().prop_map(Action::OpenReal),
        6 => any::<u8>().prop_map(Action::Bus),
        3 => any::<u8>().prop_map(Action::FireTimer),
        3 => any::<u8>().prop_map(Action::AnswerHistory),
        2 => Just(Action::Heartbeat),
        1 => any::<u8>().prop_map(Action::Zombie),
        2 => any::<u16>().prop_map(Action::Wait),
        3 => (any::<u8>(), 0u8..5).prop_map(|(m, k)| Action::Change(m, k)),
        1 => Just(Action::Down),
        1 => any::<u8>().prop_map(Action::Hostile),
    ]
}

impl World {
    fn new() -> World {
        World {
            tabs: BTreeMap::new(),
            next_tab: 0,
            locks: Locks::default(),
            work: VecDeque::new(),
            published: Vec::new(),
            events: Vec::new(),
            state: BTreeMap::new(),
            deleted: BTreeSet::new(),
            now: 0,
            down: false,
            opened: 0,
        }
    }

    fn pick(&self, pick: u8) -> Option<usize> {
        let keys: Vec<usize> = self.tabs.keys().copied().collect();
        (!keys.is_empty()).then(|| keys[pick as usize % keys.len()])
    }

    fn open_tab(&mut self, channel: &str) {
        let tab = self.next_tab;
        self.next_tab += 1;
        let panel = Panel {
            id: 1,
            channel: channel.to_owned(),
            engine: Engine::new(channel, options()),
            timers: BTreeMap::new(),
            requests: Vec::new(),
        };
        let mut share = Share::new(tab as u64);
        let options = options();
        (share.carrier()).deadlines(options.first_byte_ms, options.probe_ms);
        self.tabs.insert(
            tab,
            Tab {
                share,
                panel,
                bus: VecDeque::new(),
                real: None,
                prune_due: None,
                first_byte_due: None,
                polled: false,
                frozen: false,
                backlog: VecDeque::new(),
            },
        );
        let mounted = ShareEvent::PanelMounted {
            panel: 1,
            channel: channel.to_owned(),
        };
        self.work.push_back((tab, Work::Share(mounted)));
        self.work.push_back((tab, Work::Engine(Event::Mount)));
    }

    fn close_tab(&mut self, tab: usize) {
        if self.tabs[&tab].frozen {
            return; // a frozen page runs no code; closing it is a crash
        }
        self.work.push_back((tab, Work::Engine(Event::Unmount)));
        let gone = ShareEvent::PanelUnmounted { panel: 1 };
        self.work.push_back((tab, Work::Share(gone)));
        self.run();
        self.crash_tab(tab);
    }

    /// The browser drops the tab: its lock and queued request go, so does its stream.
    fn crash_tab(&mut self, tab: usize) {
        self.tabs.remove(&tab);
        self.locks.queue.retain(|t| *t != tab);
        if self.locks.holder == Some(tab) {
            self.locks.holder = None;
            self.grant_next();
        }
    }

    fn grant_next(&mut self) {
        if self.locks.holder.is_none() {
            if let Some(next) = self.locks.queue.pop_front() {
                self.locks.holder = Some(next);
                self.work
                    .push_back((next, Work::Share(ShareEvent::LockGranted { now: self.now })));
            }
        }
    }

    /// Does all pending work, in order; a frozen tab's waits for it to thaw.
    fn run(&mut self) {
        let mut steps = 0;
        while let Some((tab, work)) = self.work.pop_front() {
            steps += 1;
            assert!(steps < 100_000, "runaway work");
            let Some(t) = self.tabs.get_mut(&tab) else {
                continue;
            };
            if t.frozen {
                t.backlog.push_back(work);
                continue;
            }
            match work {
                Work::Share(event) => self.share_step(tab, event),
                Work::Engine(event) => self.engine_step(tab, event),
            }
        }
    }

    fn share_step(&mut self, tab: usize, event: ShareEvent) {
        let commands = self.tabs.get_mut(&tab).unwrap().share.handle(event);
        for command in commands {
            match command {
                ShareCommand::RequestLock { steal: false } => {
                    if self.locks.holder.is_none() {
                        self.locks.holder = Some(tab);
                        self.work.push_back((
                            tab,
                            Work::Share(ShareEvent::LockGranted { now: self.now }),
                        ));
                    } else if self.locks.holder != Some(tab) {
                        self.locks.queue.push_back(tab);
                    }
                }
                ShareCommand::RequestLock { steal: true } => {
                    if let Some(old) = self.locks.holder.filter(|old| *old != tab) {
                        self.work
                            .push_back((old, Work::Share(ShareEvent::LockLost)));
                    }
                    self.locks.holder = Some(tab);
                    self.work
                        .push_back((tab, Work::Share(ShareEvent::LockGranted { now: self.now })));
                }
                ShareCommand::ReleaseLock => {
                    self.locks.queue.retain(|t| *t != tab);
                    if self.locks.holder == Some(tab) {
                        self.locks.holder = None;
                        self.grant_next();
                    }
                }
                ShareCommand::Post(relay) => {
                    for (other, t) in self.tabs.iter_mut() {
                        if *other != tab {
                            t.bus.push_back(relay.clone());
                        }
                    }
                }
                ShareCommand::OpenStream {
                    stream,
                    channels,
                    last_event_id,
                } => {
                    self.opened += 1;
                    let t = self.tabs.get_mut(&tab).unwrap();
                    t.real = Some(RealStream {
                        id: stream,
                        channels,
                        resume_after: last_event_id.map(|id| id.0),
                        open: false,
                        zombie: false,
                    });
                }
                ShareCommand::CloseStream(stream) => {
                    let t = self.tabs.get_mut(&tab).unwrap();
                    if t.real.as_ref().is_some_and(|r| r.id == stream) {
                        t.real = None;
                    }
                }
                ShareCommand::Deliver { event, .. } => {
                    self.work.push_back((tab, Work::Engine(event)));
                }
                ShareCommand::ArmPruneTimer(after) => {
                    self.tabs.get_mut(&tab).unwrap().prune_due = Some(self.now + after);
                }
                ShareCommand::FirstByte(after) => {
                    self.tabs.get_mut(&tab).unwrap().first_byte_due = after.map(|a| self.now + a);
                }
                ShareCommand::Poll => self.tabs.get_mut(&tab).unwrap().polled = true,
                ShareCommand::Log(_) | ShareCommand::Warn(_) => {}
                ShareCommand::Overflow { .. } => panic!("three channels filled a stream"),
            }
        }
    }

    fn engine_step(&mut self, tab: usize, event: Event) {
        let now = self.now;
        let panel = &mut self.tabs.get_mut(&tab).unwrap().panel;
        let id = panel.id;
        for command in panel.engine.handle(event, now, 0.5) {
            match command {
                Command::OpenStream { stream, .. } => {
                    let subscribe = ShareEvent::Subscribe { panel: id, stream };
                    self.work.push_back((tab, Work::Share(subscribe)));
                }
                Command::CloseStream(stream) => {
                    let unsubscribe = ShareEvent::Unsubscribe { panel: id, stream };
                    self.work.push_back((tab, Work::Share(unsubscribe)));
                }
                Command::StreamSilent(stream) => {
                    let silent = ShareEvent::Silent { panel: id, stream };
                    self.work.push_back((tab, Work::Share(silent)));
                }
                Command::ArmTimer(timer, after) => {
                    panel.timers.insert(timer, now + after);
                }
                Command::CancelTimer(timer) => {
                    panel.timers.remove(&timer);
                }
                Command::FetchHistory { request, after, .. } => {
                    panel.requests.push((request, after));
                }
                Command::ShowMessages
                | Command::Deleted(_)
                | Command::Discontinuity
                | Command::ShowStatus(_)
                | Command::AuthExpired
                | Command::PostMessage { .. }
                | Command::ChangeMessage { .. }
                | Command::UseTransport(_)
                | Command::Probe { .. }
                | Command::FetchOlder { .. }
                | Command::ShowOutbox
                | Command::EditDraft(_)
                | Command::ShowPresence
                | Command::ShowTyping
                | Command::ShowUnread
                | Command::FetchRead
                | Command::PutRead { .. }
                | Command::Log(_) => {}
            }
        }
    }

    fn stream_event(&mut self, tab: usize, stream: u64, name: &str, data: String, id: String) {
        let event = ShareEvent::StreamEvent {
            stream,
            name: name.into(),
            data,
            last_event_id: id,
        };
        self.work.push_back((tab, Work::Share(event)));
    }

    fn publish(&mut self, channel: &'static str) {
        let id = self.published.len() as u64 + 1;
        let data = message_data(id, channel);
        let message = panel_core::json::parse(&data).and_then(panel_core::Message::read);
        let message = message.unwrap();
        self.state.insert(id, message);
        self.record(channel, "message", message_data(id, channel));
    }

    /// Changes a message the bridge has: `kind` 0 edits it, 1 deletes it,
    /// 2 and up toggles someone's reaction.
    fn change(&mut self, pick: u8, kind: u8) {
        let ids: Vec<u64> = self.state.keys().copied().collect();
        let Some(&target) = ids.get(pick as usize % ids.len().max(1)) else {
            return;
        };
        let id = self.published.len() as u64 + 1;
        let message = self.state.get_mut(&target).unwrap();
        let channel = *CHANNELS.iter().find(|c| **c == message.channel_id).unwrap();
        match kind {
            0 => {
                message.content = format!("m{target}, edited as {id}");
                message.edited_at = Some("2026-12-05T00:00:00.000Z".into());
                message.version = Some(MessageId(id));
                let data = message_json(message);
                self.record(channel, "message_update", data);
            }
            1 => {
                self.state.remove(&target);
                self.deleted.insert(target);
                let data = format!(r#"{{"id":"{target}","channel_id":"{channel}"}}"#);
                self.record(channel, "message_delete", data);
            }
            _ => {
                let user = ["ann", "bob", "cy"][kind as usize % 3];
                let reactions = &mut message.reactions;
                if reactions.is_empty() {
                    reactions.push(panel_core::Reaction {
                        emoji: "👍".into(),
                        ..Default::default()
                    });
                }
                let users = &mut reactions[0].users;
                match users.iter().position(|u| u == user) {
                    Some(at) => drop(users.remove(at)),
                    None => users.push(user.into()),
                }
                let (count, users) = (users.len() as u32, users.clone());
                reactions[0].count = count;
                if count == 0 {
                    reactions.clear();
                }
                message.reactions_version = Some(MessageId(id));
                let data = serde_json::json!({
                    "message_id": target.to_string(), "channel_id": channel, "emoji": "👍",
                    "count": count, "users": users, "reactions": reactions_json(&message.reactions),
                    "version": id.to_string(),
                });
                self.record(channel, "reaction", data.to_string());
            }
        }
    }

    /// Logs change `id` (the next) and streams it to every open stream
    /// that carries its channel.
    fn record(&mut self, channel: &'static str, name: &'static str, data: String) {
        self.published.push(channel);
        self.events.push((name, data));
        let id = self.published.len() as u64;
        let reached: Vec<(usize, u64)> = (self.tabs.iter_mut())
            .filter_map(|(&tab, t)| {
                let real = t.real.as_mut()?;
                let carries = real.channels.iter().any(|c| c == channel);
                (real.open && !real.zombie && carries).then(|| {
                    real.resume_after = Some(id);
                    (tab, real.id)
                })
            })
            .collect();
        for (tab, stream) in reached {
            if let Some((name, data)) = self.replayed(id) {
                self.stream_event(tab, stream, name, data, id.to_string());
            }
        }
    }

    /// Change `id` as a stream carries it: a creation as the message is now
    /// (the bridge keeps messages, not their first states), none once deleted.
    fn replayed(&self, id: u64) -> Option<(&'static str, String)> {
        let (name, data) = &self.events[id as usize - 1];
        match *name {
            "message" if self.deleted.contains(&id) => None,
            "message" => Some((name, message_json(&self.state[&id]))),
            _ => Some((name, data.clone())),
        }
    }

    /// The bridge answers a pending real stream: open, the replay, the status.
    fn open_real(&mut self, tab: usize) {
        let Some(real) = self.tabs.get_mut(&tab).and_then(|t| t.real.as_mut()) else {
            return;
        };
        if real.open || real.zombie {
            return;
        }
        // Down: this attempt fails (and so does each retry).
        if self.down {
            let failed = ShareEvent::StreamError(real.id, ReadyState::Connecting);
            return self.work.push_back((tab, Work::Share(failed)));
        }
        // The bridge refuses a list with a name that is not a channel (400),
        // and the browser gives up on the stream.
        if !real.channels.iter().all(|c| valid(c)) {
            let refused = ShareEvent::StreamError(real.id, ReadyState::Closed);
            real.zombie = true; // nothing more comes of it
            return self.work.push_back((tab, Work::Share(refused)));
        }
        real.open = true;
        let stream = real.id;
        let replay: Vec<u64> = match real.resume_after {
            None => Vec::new(),
            Some(after) => (after + 1..=self.published.len() as u64)
                .filter(|id| {
                    let channel = self.published[*id as usize - 1];
                    real.channels.iter().any(|c| c == channel)
                })
                .collect(),
        };
        if let Some(last) = replay.last() {
            real.resume_after = Some(*last);
        }
        self.work
            .push_back((tab, Work::Share(ShareEvent::StreamOpened(stream))));
        self.stream_event(
            tab,
            stream,
            "status",
            STATUS_CONNECTED.into(),
            String::new(),
        );
        for id in replay {
            if let Some((name, data)) = self.replayed(id) {
                self.stream_event(tab, stream, name, data, id.to_string());
            }
        }
    }

    fn fire_timer(&mut self, pick: usize) {
        let mut due: Vec<(u64, usize, Due)> = Vec::new();
        for (&tab, t) in &self.tabs {
            if t.frozen {
                continue;
            }
            for (&timer, &at) in &t.panel.timers {
                due.push((at, tab, Due::Panel(timer)));
            }
            if let Some(at) = t.prune_due {
                due.push((at, tab, Due::Prune));
            }
            if let Some(at) = t.first_byte_due {
                due.push((at, tab, Due::FirstByte));
            }
        }
        if due.is_empty() {
            return;
        }
        due.sort();
        let (at, tab, timer) = due[pick % due.len()];
        self.now = self.now.max(at);
        let t = self.tabs.get_mut(&tab).unwrap();
        match timer {
            Due::Panel(timer) => {
                t.panel.timers.remove(&timer);
                self.work
                    .push_back((tab, Work::Engine(Event::TimerFired(timer))));
            }
            Due::FirstByte => {
                t.first_byte_due = None;
                let missed = ShareEvent::FirstByteMissed;
                self.work.push_back((tab, Work::Share(missed)));
            }
            Due::Prune => {
                t.prune_due = None;
                self.work
                    .push_back((tab, Work::Share(ShareEvent::PruneTimer)));
            }
        }
    }

    fn answer_history(&mut self, tab: usize) {
        let published = &self.published;
        let Some(t) = self.tabs.get_mut(&tab).filter(|t| !t.frozen) else {
            return;
        };
        if t.panel.requests.is_empty() {
            return;
        }
        let (request, after) = t.panel.requests.remove(0);
        if self.down {
            let failed = Event::HistoryFailed(request, "the bridge is down".into());
            return self.work.push_back((tab, Work::Engine(failed)));
        }
        let channel = t.panel.channel.clone();
        let ours = |m: &&panel_core::Message| m.channel_id == channel;
        let loaded = match after {
            // The newest page: every message as it is now.
            None => {
                Event::HistoryLoaded(request, self.state.values().filter(ours).cloned().collect())
            }
            // The changes route: every message touched after `after`, as it
            // is now, and the deleted.
            Some(after) => {
                let touched: BTreeSet<u64> = (after.0 + 1..=published.len() as u64)
                    .filter(|id| published[*id as usize - 1] == channel)
                    .map(|id| target_of(&self.events[id as usize - 1], id))
                    .collect();
                let page = panel_core::wire::ChangePage {
                    messages: (touched.iter())
                        .filter_map(|id| self.state.get(id).cloned())
                        .collect(),
                    deleted: (touched.iter())
                        .filter(|id| self.deleted.contains(id))
                        .map(|id| MessageId(*id))
                        .collect(),
                    last: (published.len() as u64 > after.0)
                        .then_some(MessageId(published.len() as u64)),
                    ..Default::default()
                };
                Event::ChangesLoaded(request, page)
            }
        };
        self.work.push_back((tab, Work::Engine(loaded)));
    }

    fn act(&mut self, action: Action) {
        self.now += 5;
        match action {
            Action::OpenTab(pick) => {
                if self.tabs.len() < 5 {
                    let channel = CHANNELS.get(pick as usize % 4).copied().unwrap_or(BAD);
                    self.open_tab(channel);
                }
            }
            Action::CloseTab(pick) => {
                if let Some(tab) = self.pick(pick) {
                    self.close_tab(tab);
                }
            }
            Action::CrashTab(pick) => {
                if let Some(tab) = self.pick(pick) {
                    self.crash_tab(tab);
                }
            }
            Action::FreezeTab(pick) => {
                if let Some(tab) = self.pick(pick) {
                    self.set_frozen(tab, !self.tabs[&tab].frozen);
                }
            }
            Action::Publish(_) | Action::Change(..) if self.down => {}
            Action::Publish(pick) => self.publish(CHANNELS[pick as usize % 3]),
            Action::OpenReal(pick) => {
                if let Some(tab) = self.pick(pick) {
                    self.open_real(tab);
                }
            }
            Action::Bus(pick) => {
                if let Some(tab) = self.pick(pick) {
                    self.deliver_bus(tab);
                }
            }
            Action::FireTimer(pick) => self.fire_timer(pick as usize),
            Action::AnswerHistory(pick) => {
                if let Some(tab) = self.pick(pick) {
                    self.answer_history(tab);
                }
            }
            Action::Heartbeat => {
                let beating: Vec<(usize, u64)> = (self.tabs.iter())
                    .filter_map(|(&tab, t)| {
                        let real = t.real.as_ref()?;
                        (real.open && !real.zombie).then_some((tab, real.id))
                    })
                    .collect();
                for (tab, stream) in beating {
                    let data = format!(r#"{{"ts":{}}}"#, self.now);
                    self.stream_event(tab, stream, "heartbeat", data, String::new());
                }
            }
            Action::Zombie(pick) => {
                if let Some(real) = self
                    .pick(pick)
                    .and_then(|tab| self.tabs.get_mut(&tab)?.real.as_mut())
                {
                    real.zombie = true;
                }
            }
            Action::Wait(ms) => self.now += ms as u64 % 5_000,
            Action::Change(pick, kind) => self.change(pick, kind),
            Action::Down => self.set_down(!self.down),
            Action::Hostile(pick) => self.hostile(pick),
        }
        self.run();
    }

    /// A line from a script elsewhere on the origin, to every tab: a holder
    /// from the far future (refused), one from within a day ahead (followed,
    /// then taken over: it never delivers), a tab wanting junk channels that
    /// never answers a `Who`, or an event of no stream.
    fn hostile(&mut self, pick: u8) {
        let ahead = self.now.saturating_add(EPOCH_AHEAD_MS / 2);
        let line = match pick % 4 {
            0 => "S|18446744073709551615|0|x|0|general|-".to_owned(),
            1 => format!("S|{ahead}|7|o|0|design,general,random|+{STATUS_CONNECTED}"),
            2 => format!("W|{}|j0,j1,j2,j3,j4,j5,j6,j7", 1_000_000 + pick as u64),
            _ => format!(
                "E|{ahead}|7|message|general|1|{}",
                message_data(1, "general")
            ),
        };
        let relay = Relay::decode(&line).expect("a relay line");
        for t in self.tabs.values_mut() {
            t.bus.push_back(relay.clone());
        }
    }

    /// The bridge goes down (its open streams fail: the browser retries
    /// each on its own) or comes back.
    fn set_down(&mut self, down: bool) {
        self.down = down;
        if !down {
            return;
        }
        for (&tab, t) in self.tabs.iter_mut() {
            if let Some(real) = t.real.as_mut().filter(|r| r.open) {
                real.open = false;
                let failed = ShareEvent::StreamError(real.id, ReadyState::Connecting);
                self.work.push_back((tab, Work::Share(failed)));
            }
        }
    }

    fn deliver_bus(&mut self, tab: usize) {
        let Some(t) = self.tabs.get_mut(&tab).filter(|t| !t.frozen) else {
            return;
        };
        if let Some(relay) = t.bus.pop_front() {
            self.work
                .push_back((tab, Work::Share(ShareEvent::Relayed(relay, self.now))));
        }
    }

    fn set_frozen(&mut self, tab: usize, frozen: bool) {
        let t = self.tabs.get_mut(&tab).unwrap();
        t.frozen = frozen;
        if !frozen {
            let backlog: Vec<Work> = t.backlog.drain(..).collect();
            for work in backlog {
                self.work.push_back((tab, work));
            }
            self.work.push_back((tab, Work::Engine(Event::PageVisible)));
        }
    }

    /// No more faults: thaw, deliver, open, answer, and let time pass until
    /// every panel is Live with nothing in flight.
    fn heal(&mut self) -> Result<(), TestCaseError> {
        self.set_down(false);
        let frozen: Vec<usize> = (self.tabs.iter())
            .filter(|(_, t)| t.frozen)
            .map(|(&tab, _)| tab)
            .collect();
        for tab in frozen {
            self.set_frozen(tab, false);
        }
        self.run();
        for _ in 0..3_000 {
            let tabs: Vec<usize> = self.tabs.keys().copied().collect();
            if let Some(&tab) = tabs.iter().find(|tab| !self.tabs[tab].bus.is_empty()) {
                self.deliver_bus(tab);
            } else if let Some(&tab) = tabs
                .iter()
                .find(|tab| !self.tabs[tab].panel.requests.is_empty())
            {
                self.answer_history(tab);
            } else if let Some(&tab) = tabs.iter().find(|tab| {
                self.tabs[tab]
                    .real
                    .as_ref()
                    .is_some_and(|r| !r.open && !r.zombie)
            }) {
                self.open_real(tab);
            } else if let Some(&tab) = tabs.iter().find(|tab| {
                let panel = &self.tabs[tab].panel;
                panel.engine.view().stopped && valid(&panel.channel)
            }) {
                self.work
                    .push_back((tab, Work::Engine(Event::RetryPressed)));
            } else if self.settled() {
                return Ok(());
            } else {
                self.fire_timer(0);
                // Heartbeats keep healthy streams alive while time passes.
                self.act(Action::Heartbeat);
            }
            self.run();
        }
        Err(TestCaseError::fail(format!(
            "did not settle: {}",
            self.describe()
        )))
    }

    /// Every panel of a valid channel Live over one stream; a panel of an
    /// invalid name stopped, holding no stream.
    fn settled(&self) -> bool {
        // Every panel follows the holder's stream (not one a line from
        // elsewhere named, which a panel is Live on until its watchdog).
        let holder = (self.tabs.values()).find(|t| t.share.is_holder());
        let followed = holder.and_then(|t| t.share.current());
        let one_stream = (self.tabs.values())
            .filter(|t| valid(&t.panel.channel))
            .all(|t| t.share.current() == followed);
        let valid_tabs = (self.tabs.values())
            .filter(|t| valid(&t.panel.channel))
            .count();
        self.tabs.values().all(|t| {
            let view = t.panel.engine.view();
            let shown = if valid(&t.panel.channel) {
                view.label == Label::Live
            } else {
                view.stopped && t.real.is_none()
            };
            // A failed history request waits to be tried again: not done.
            shown
                && t.panel.requests.is_empty()
                && !t.panel.timers.contains_key(&Timer::HistoryRetry)
                && t.bus.is_empty()
                && t.real.as_ref().is_none_or(|r| r.open && !r.zombie)
        }) && self.streams() == usize::from(valid_tabs > 0)
            && one_stream
    }

    fn streams(&self) -> usize {
        self.tabs.values().filter(|t| t.real.is_some()).count()
    }

    fn describe(&self) -> String {
        let tabs: Vec<String> = (self.tabs.iter())
            .map(|(tab, t)| {
                format!(
                    "tab {tab} ({}): {:?}, stream {:?}, holder {}, real {:?}",
                    t.panel.channel,
                    t.panel.engine.view(),
                    t.panel.engine.current_stream(),
                    t.share.is_holder(),
                    t.real
                        .as_ref()
                        .map(|r| (r.id, r.open, r.zombie, r.channels.clone()))
                )
            })
            .collect();
        format!("{tabs:#?}, lock {:?}", self.locks.holder)
    }

    fn check(&self) -> Result<(), TestCaseError> {
        for (tab, t) in &self.tabs {
            prop_assert!(
                !t.polled,
                "tab {} polls, with no proxy: {}",
                tab,
                self.describe()
            );
            let held: Vec<&panel_core::Message> = t.panel.engine.messages().map(|m| &**m).collect();
            let expected: Vec<&panel_core::Message> = (self.state.values())
                .filter(|m| m.channel_id == t.panel.channel)
                .collect();
            prop_assert_eq!(held, expected, "tab {} of {}", tab, t.panel.channel);
        }
        Ok(())
    }
}

/// Issue 31, item 7: while the bridge is down, the tabs try it on their
/// panels' backoff, and once every panel gave up (Disconnected), no tab
/// holds a stream to it or opens one, however long it stays down. When it
/// is back, Retry brings every tab back.
#[test]
fn a_bridge_that_is_down_is_tried_no_more_once_every_panel_gave_up() {
    let mut world = World::new();
    for channel in ["general", "design", "general"] {
        world.open_tab(channel);
        world.run();
    }
    world.heal().unwrap();
    world.set_down(true);
    let step = |world: &mut World| {
        for tab in world.tabs.keys().copied().collect::<Vec<_>>() {
            world.deliver_bus(tab);
            world.answer_history(tab);
            world.open_real(tab);
        }
        world.fire_timer(0);
        world.run();
    };
    let mut steps = 0;
    while !(world.tabs.values()).all(|t| t.panel.engine.view().stopped) {
        steps += 1;
        assert!(
            steps < 10_000,
            "the panels never gave up: {}",
            world.describe()
        );
        step(&mut world);
    }
    // None is open. One may be on its way, for a panel that waited still
    // when the holder heard it (it gave up in the same instant).
    assert!(
        (world.tabs.values()).all(|t| t.real.as_ref().is_none_or(|r| !r.open)),
        "every panel gave up, and a tab still holds a stream: {}",
        world.describe()
    );
    // A panel's request still on its way to the holder (sent before it gave
    // up) may open one more stream, which fails and closes like the others;
    // once every tab heard the others, nothing opens any more.
    // (Without firing timers: the holder's periodic `Who` would refill them.)
    let in_flight: usize = world.tabs.values().map(|t| t.bus.len()).sum();
    let opened = world.opened;
    while world.tabs.values().any(|t| !t.bus.is_empty()) || world.streams() > 0 {
        for tab in world.tabs.keys().copied().collect::<Vec<_>>() {
            world.deliver_bus(tab);
            world.open_real(tab);
        }
        world.run();
    }
    assert!(
        world.opened - opened <= in_flight as u64,
        "{} streams opened for {in_flight} relays on their way",
        world.opened - opened
    );
    let opened = world.opened;
    for _ in 0..200 {
        step(&mut world);
        world.now += 5_000;
    }
    assert_eq!(
        world.opened, opened,
        "streams opened after every panel gave up"
    );
    world.heal().unwrap();
    world.check().unwrap();
}

/// Closing the holder's tab again and again, faster than any stability
/// window, makes no other tab give up: a move is no failure.
#[test]
fn handovers_never_make_a_tab_give_up() {
    let mut world = World::new();
    // Each tab lives through more handovers than `max_attempts` (4).
    for channel in [
        "general", "design", "general", "random", "general", "design",
    ] {
        world.open_tab(channel);
        world.run();
    }
    world.heal().unwrap();
    for round in 0..14 {
        let holder = *world
            .tabs
            .iter()
            .find(|(_, t)| t.share.is_holder())
            .expect("a holder")
            .0;
        world.close_tab(holder);
        world.open_tab(CHANNELS[round % 3]);
        world.run();
        world.publish("general");
        for _ in 0..50 {
            for tab in world.tabs.keys().copied().collect::<Vec<_>>() {
                world.deliver_bus(tab);
                world.answer_history(tab);
                world.open_real(tab);
            }
            world.run();
        }
        for (tab, t) in &world.tabs {
            assert!(
                !t.panel.engine.view().stopped,
                "round {round}: tab {tab} gave up: {}",
                world.describe()
            );
        }
    }
    world.heal().unwrap();
    world.check().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn every_tab_ends_live_with_each_message_once_over_one_stream(
        actions in proptest::collection::vec(action(), 0..150),
        first in 0u8..3,
    ) {
        let mut world = World::new();
        world.open_tab(CHANNELS[first as usize]);
        world.run();
        for action in actions {
            world.act(action);
            prop_assert!(world.streams() <= world.tabs.len());
        }
        if world.tabs.is_empty() {
            world.open_tab("general");
            world.run();
        }
        world.heal()?;
        world.check()?;
        // And one more message reaches every tab of its channel, once.
        world.publish("general");
        world.publish("design");
        world.run();
        for tab in world.tabs.keys().copied().collect::<Vec<_>>() {
            world.deliver_bus(tab);
        }
        world.heal()?;
        world.check()?;
    }
}

/// Runs `actions` from one tab of `general`, heals, and checks every tab.
fn replay(actions: &[Action]) -> Result<(), TestCaseError> {
    let mut world = World::new();
    world.open_tab("general");
    world.run();
    for &action in actions {
        world.act(action);
    }
    world.heal()?;
    world.check()
}

/// Found by the property: the holder froze before it heard the other tabs'
/// `Wants`; thawed, it handled a message while it knew of no other tab, and
/// did not relay it, though a follower already listened.
#[test]
fn a_holder_relays_what_it_hears_before_it_knows_of_other_tabs() {
    use Action::*;
    replay(&[
        OpenTab(0),
        OpenTab(27),
        OpenReal(15),
        Bus(188),
        AnswerHistory(32),
        AnswerHistory(8),
        FreezeTab(0),
        Publish(234),
    ])
    .unwrap();
}

/// Found by the property: a follower of `design` heard of a stream of
/// `general` only (the holder had not heard its `Wants`) and took it for its
/// own; a `design` message in between was never seen.
#[test]
fn a_follower_does_not_take_a_stream_without_its_channel_for_its_own() {
    use Action::*;
    replay(&[
        OpenTab(0),
        OpenTab(43),
        OpenReal(15),
        Bus(188),
        AnswerHistory(32),
        AnswerHistory(8),
        Publish(82),
        Publish(234),
    ])
    .unwrap();
}

// ------------------------------- the review of issue 31's transport fixes

/// The wall clock in the tests below (ms since the epoch).
const NOW: u64 = 1_700_000_000_000;

/// A relay of `source` in `state`, carrying `general`.
fn relayed_state(source: Source, state: Shared) -> ShareEvent {
    let relay = Relay::State {
        source,
        state,
        seamless: false,
        channels: vec!["general".into()],
        status: Some(STATUS_CONNECTED.into()),
        transport: Transport::EventSource,
    };
    ShareEvent::Relayed(relay, NOW)
}

/// A holder's relay from `ahead` ms past the wall clock, gone (`x`), as a
/// script elsewhere on the origin could post it.
fn from_the_future(ahead: u64) -> ShareEvent {
    let mut line = String::from("S|");
    line.push_str(&NOW.saturating_add(ahead).to_string());
    line.push_str("|0|x|0|general|-");
    ShareEvent::Relayed(Relay::decode(&line).unwrap(), NOW)
}

/// Finding 3: one `BroadcastChannel` line, `S|18446744073709551615|…`,
/// named a holder no real one could ever outrank: a follower ignored every
/// real holder's stream for the rest of the page's life. An epoch more
/// than a day past the wall clock is no holder's and is refused; one
/// within the bound costs the follower one handover at most: its panel
/// finds the stream silent and takes it over, past the line's epoch.
#[test]
fn a_relay_from_the_far_future_does_not_deafen_a_follower() {
    let opened = |out: &[ShareCommand], stream| {
        out.contains(&ShareCommand::Deliver {
            panel: 1,
            event: Event::StreamOpened(stream),
        })
    };
    let real = |stream| Source { epoch: NOW, stream };
    let mut share = follower_with_a_panel();
    assert!(opened(
        &share.handle(relayed_state(real(1), Shared::Open)),
        1
    ));
    share.handle(from_the_future(u64::MAX));
    let out = share.handle(relayed_state(real(2), Shared::Open));
    assert!(
        opened(&out, 1),
        "refused, the line changes nothing: {out:?}"
    );
    // Within the bound: followed (it could be a holder), so the real
    // holder's next stream is not; the panel waits, finds it silent, and
    // its tab takes the stream over, past the line's epoch.
    let mut share = follower_with_a_panel();
    share.handle(relayed_state(real(1), Shared::Open));
    share.handle(from_the_future(EPOCH_AHEAD_MS - 1));
    share.handle(ShareEvent::Unsubscribe {
        panel: 1,
        stream: 1,
    });
    share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 2,
    });
    let out = share.handle(relayed_state(real(2), Shared::Open));
    assert!(!opened(&out, 2), "{out:?}");
    let out = share.handle(ShareEvent::Silent {
        panel: 1,
        stream: 2,
    });
    assert!(out.contains(&ShareCommand::RequestLock { steal: true }));
    share.handle(ShareEvent::Unsubscribe {
        panel: 1,
        stream: 2,
    });
    share.handle(ShareEvent::LockGranted { now: NOW });
    let out = share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 3,
    });
    let epoch = posts(&out).iter().find_map(|r| match r {
        Relay::State { source, .. } => Some(source.epoch),
        _ => None,
    });
    assert_eq!(epoch, Some(NOW + EPOCH_AHEAD_MS), "{out:?}");
    let out = share.handle(ShareEvent::StreamOpened(1));
    assert!(opened(&out, 3), "served by its own stream: {out:?}");
}

/// Finding 3, the holder's side: hearing the same line, the holder gave the
/// lock up (a newer holder), and when granted it again, `epoch + 1`
/// overflowed (a panic in a debug build; in the release build the epoch
/// wrapped below the line's, and every tab ignored its stream). Refused
/// now; and a line within the bound costs one handover, after which the
/// holder serves its panels again.
#[test]
fn a_holder_that_hears_a_relay_from_the_far_future_still_serves_its_panels() {
    let mut share = holder_with_an_open_stream();
    let out = share.handle(from_the_future(u64::MAX));
    assert!(out.is_empty() && share.is_holder(), "{out:?}");
    let mut share = holder_with_an_open_stream();
    let out = share.handle(from_the_future(EPOCH_AHEAD_MS));
    assert!(
        out.contains(&ShareCommand::CloseStream(1)),
        "a newer holder: {out:?}"
    );
    share.handle(ShareEvent::Unsubscribe {
        panel: 1,
        stream: 1,
    });
    share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 2,
    });
    let out = share.handle(ShareEvent::LockGranted { now: NOW });
    let real = out
        .iter()
        .find_map(|c| match c {
            ShareCommand::OpenStream { stream, .. } => Some(*stream),
            _ => None,
        })
        .expect("the holder opens a stream");
    let out = share.handle(ShareEvent::StreamOpened(real));
    assert!(
        out.contains(&ShareCommand::Deliver {
            panel: 1,
            event: Event::StreamOpened(2)
        }),
        "the holder's own panel is not opened on its own stream: {out:?}"
    );
}

/// Finding 5: a zombie bridge (streams open with the cached `status`, then
/// nothing: heartbeats stopped) makes every panel give up on its watchdog;
/// each panel's `Silent` made the holder open a new stream at once, and the
/// one opened as the last panel gave up was held for the page's life. A
/// silent stream is given up now, as a panel's own is: the next opens when
/// a panel tries again, and none once every panel gave up.
#[test]
fn a_zombie_bridge_is_held_no_stream_once_every_panel_gave_up() {
    let mut world = World::new();
    for channel in ["general", "design"] {
        world.open_tab(channel);
        world.run();
    }
    world.heal().unwrap();
    let step = |world: &mut World| {
        for tab in world.tabs.keys().copied().collect::<Vec<_>>() {
            world.deliver_bus(tab);
            world.answer_history(tab);
            world.open_real(tab);
        }
        world.fire_timer(0);
        world.run();
    };
    let mut steps = 0;
    loop {
        // Zombie: whatever stream is open says nothing more (a new one opens
        // with its `status`, as the bridge's does, then nothing).
        for t in world.tabs.values_mut() {
            if let Some(real) = t.real.as_mut().filter(|r| r.open) {
                real.zombie = true;
            }
        }
        if (world.tabs.values()).all(|t| t.panel.engine.view().stopped) {
            break;
        }
        steps += 1;
        assert!(
            steps < 10_000,
            "the panels never gave up: {}",
            world.describe()
        );
        step(&mut world);
    }
    for _ in 0..50 {
        step(&mut world);
        world.now += 5_000;
    }
    assert_eq!(
        world.streams(),
        0,
        "every panel gave up (Disconnected), and a tab still holds a stream to the zombie: {}",
        world.describe()
    );
}
