//! One tab, one link or one panel must never break another's: table tests of
//! the share machine's guards (a name that is not a channel never reaches the
//! shared stream; a full stream moves the panels it leaves out to another
//! group instead of leaving them without a stream).

mod common;
use common::posts;
use panel_core::share::{
    Relay, Share, ShareCommand, ShareEvent, Shared, Source, MAX_STREAM_CHANNELS,
};
use panel_core::{Event, ReadyState, Transport};

fn opened(commands: &[ShareCommand]) -> Vec<Vec<String>> {
    commands
        .iter()
        .filter_map(|c| match c {
            ShareCommand::OpenStream { channels, .. } => Some(channels.clone()),
            _ => None,
        })
        .collect()
}

/// Tab 1 holding the lock, its panel 1 of `channel` waiting on its stream.
fn holder_of(channel: &str) -> Share {
    let mut share = Share::new(1);
    share.handle(ShareEvent::PanelMounted {
        panel: 1,
        channel: channel.into(),
    });
    share.handle(ShareEvent::LockGranted { now: 0 });
    share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 1,
    });
    share
}

/// Mounts panels `0..` of `channels` in `share`, the first waiting on its
/// stream (a holder opens a stream for a panel that wants one).
fn mount_all(share: &mut Share, channels: Vec<String>) {
    for (panel, channel) in channels.into_iter().enumerate() {
        share.handle(ShareEvent::PanelMounted {
            panel: panel as u64,
            channel,
        });
    }
    share.handle(ShareEvent::Subscribe {
        panel: 0,
        stream: 1,
    });
}

const CRAFTED: &str = "x&last_event_id=18446744073709551615";

#[test]
fn a_panel_with_an_invalid_channel_joins_nothing_shared() {
    for bad in ["bad name", CRAFTED, "", &"x".repeat(65), "a,b", "é"] {
        let mut share = Share::new(3);
        let out = share.handle(ShareEvent::PanelMounted {
            panel: 1,
            channel: bad.to_string(),
        });
        assert!(posts(&out).is_empty(), "{bad:?} was announced: {out:?}");
        assert!(
            !out.contains(&ShareCommand::RequestLock { steal: false }),
            "{bad:?} made the tab run for the lock: {out:?}"
        );
        assert!(share.is_empty(), "{bad:?} was kept");
    }
    // Beside a valid one, the holder's stream carries the valid one only.
    let mut share = holder_of("general");
    let out = share.handle(ShareEvent::PanelMounted {
        panel: 2,
        channel: CRAFTED.into(),
    });
    assert!(
        opened(&out).is_empty(),
        "reopened for an invalid name: {out:?}"
    );
}

#[test]
fn another_tabs_invalid_names_never_reach_the_stream() {
    let mut share = holder_of("general");
    let out = share.handle(ShareEvent::Relayed(
        Relay::Wants {
            tab: 9,
            channels: vec!["bad name".into(), CRAFTED.into(), "design".into()],
            waiting: true,
        },
        0,
    ));
    assert_eq!(
        opened(&out),
        vec![vec!["design".to_string(), "general".to_string()]],
        "{out:?}"
    );
    // A tab that names nothing valid changes nothing.
    let out = share.handle(ShareEvent::Relayed(
        Relay::Wants {
            tab: 10,
            channels: vec!["bad name".into()],
            waiting: true,
        },
        0,
    ));
    assert!(opened(&out).is_empty(), "{out:?}");
}

/// `c000` … `c{n-1}`, which sort in that order.
fn channels(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("c{i:03}")).collect()
}

#[test]
fn a_stream_carries_at_most_the_cap_and_the_panels_past_it_move_on() {
    let mut share = Share::new(1);
    mount_all(&mut share, channels(MAX_STREAM_CHANNELS + 2));
    let out = share.handle(ShareEvent::LockGranted { now: 0 });
    let carried = opened(&out);
    assert_eq!(carried.len(), 1, "{out:?}");
    assert_eq!(
        carried[0],
        channels(MAX_STREAM_CHANNELS),
        "the first 64, sorted"
    );
    // The holder hears its own stream's state: the two panels past the cap
    // leave for the next group, and nothing is reopened for them.
    let moved: Vec<(u64, String)> = out
        .iter()
        .filter_map(|c| match c {
            ShareCommand::Overflow { panel, channel, .. } => Some((*panel, channel.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        moved,
        vec![(64, "c064".to_string()), (65, "c065".to_string())],
        "{out:?}"
    );
    assert!(!share.is_empty(), "the panels within the cap stay");
}

#[test]
fn a_follower_panel_left_out_of_a_full_stream_moves_on_with_its_virtual_stream() {
    let mut share = Share::new(3);
    share.handle(ShareEvent::PanelMounted {
        panel: 1,
        channel: "zzz".into(),
    });
    share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 4,
    });
    let full = ShareEvent::Relayed(
        Relay::State {
            source: Source {
                epoch: 5,
                stream: 1,
            },
            state: Shared::Open,
            seamless: false,
            channels: channels(MAX_STREAM_CHANNELS),
            status: None,
            transport: Transport::EventSource,
        },
        0,
    );
    let out = share.handle(full);
    assert!(
        out.contains(&ShareCommand::Overflow {
            panel: 1,
            channel: "zzz".into(),
            stream: Some(4),
        }),
        "{out:?}"
    );
    assert!(share.is_empty(), "the panel left this group");
    assert!(
        posts(&out)
            .iter()
            .any(|r| matches!(r, Relay::Bye { tab: 3 })),
        "its tab, now without panels here, says goodbye: {out:?}"
    );
}

#[test]
fn a_panel_open_on_a_stream_that_fills_up_without_it_reconnects_elsewhere() {
    let mut share = Share::new(3);
    share.handle(ShareEvent::PanelMounted {
        panel: 1,
        channel: "zzz".into(),
    });
    share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 2,
    });
    let state = |stream, channels: Vec<String>| {
        ShareEvent::Relayed(
            Relay::State {
                source: Source { epoch: 5, stream },
                state: Shared::Open,
                seamless: false,
                channels,
                status: None,
                transport: Transport::EventSource,
            },
            0,
        )
    };
    let out = share.handle(state(1, vec!["zzz".into()]));
    assert!(out.contains(&ShareCommand::Deliver {
        panel: 1,
        event: Event::StreamOpened(2)
    }));
    // Other tabs fill the stream with 64 channels that sort first.
    let out = share.handle(state(2, channels(MAX_STREAM_CHANNELS)));
    let at = |wanted: &ShareCommand| out.iter().position(|c| c == wanted);
    let error = at(&ShareCommand::Deliver {
        panel: 1,
        event: Event::StreamError(2, ReadyState::Connecting),
    });
    let moved = at(&ShareCommand::Overflow {
        panel: 1,
        channel: "zzz".into(),
        stream: Some(2),
    });
    assert!(
        error.is_some() && moved.is_some() && error < moved,
        "a reconnect, then the move: {out:?}"
    );
}

/// The holder's own panel mounted into its full stream: no State follows
/// (the union does not change), so the move happens at the mount.
#[test]
fn a_panel_mounted_into_a_full_stream_moves_on_at_once() {
    let mut share = Share::new(1);
    mount_all(&mut share, channels(MAX_STREAM_CHANNELS));
    share.handle(ShareEvent::LockGranted { now: 0 });
    let out = share.handle(ShareEvent::PanelMounted {
        panel: 100,
        channel: "zzz".into(),
    });
    assert!(
        out.contains(&ShareCommand::Overflow {
            panel: 100,
            channel: "zzz".into(),
            stream: None,
        }),
        "{out:?}"
    );
    assert!(
        opened(&out).is_empty(),
        "the full stream stays as it is: {out:?}"
    );
}

#[test]
fn a_stream_below_the_cap_moves_no_one() {
    let mut share = Share::new(3);
    share.handle(ShareEvent::PanelMounted {
        panel: 1,
        channel: "zzz".into(),
    });
    let out = share.handle(ShareEvent::Relayed(
        Relay::State {
            source: Source {
                epoch: 5,
                stream: 1,
            },
            state: Shared::Open,
            seamless: false,
            channels: channels(MAX_STREAM_CHANNELS - 1),
            status: None,
            transport: Transport::EventSource,
        },
        0,
    ));
    assert!(
        !out.iter()
            .any(|c| matches!(c, ShareCommand::Overflow { .. })),
        "{out:?}"
    );
    assert!(!share.is_empty());
}

/// A holder whose lock was stolen can hear the new holder's stream before
/// its own `LockLost`: it follows it at once, instead of ignoring it until
/// its watchdog fires and stealing the lock back.
#[test]
fn an_ex_holder_that_hears_the_new_holder_first_follows_it() {
    let mut share = holder_of("general");
    share.handle(ShareEvent::Subscribe {
        panel: 1,
        stream: 1,
    });
    share.handle(ShareEvent::StreamOpened(1));
    assert!(share.is_holder());
    let newer = ShareEvent::Relayed(
        Relay::State {
            source: Source {
                epoch: 1_000,
                stream: 1,
            },
            state: Shared::Open,
            seamless: false,
            channels: vec!["general".into()],
            status: None,
            transport: Transport::EventSource,
        },
        0,
    );
    let out = share.handle(newer);
    assert!(!share.is_holder(), "{out:?}");
    assert!(out.contains(&ShareCommand::CloseStream(1)), "{out:?}");
    assert!(out.contains(&ShareCommand::ReleaseLock), "{out:?}");
    assert!(
        out.contains(&ShareCommand::RequestLock { steal: false }),
        "{out:?}"
    );
    assert!(
        out.contains(&ShareCommand::Deliver {
            panel: 1,
            event: Event::StreamMoved(1)
        }),
        "the panel moves to the new holder's stream: {out:?}"
    );
    assert!(
        out.contains(&ShareCommand::Deliver {
            panel: 1,
            event: Event::StreamOpened(1)
        }),
        "{out:?}"
    );
    // Its `LockLost` comes later and changes nothing.
    let late = share.handle(ShareEvent::LockLost);
    assert!(late.is_empty(), "{late:?}");
    // An older holder's relays are still ignored by a holder.
    let mut share = holder_of("general");
    let older = ShareEvent::Relayed(
        Relay::State {
            source: Source {
                epoch: 0,
                stream: 9,
            },
            state: Shared::Open,
            seamless: false,
            channels: vec!["general".into()],
            status: None,
            transport: Transport::EventSource,
        },
        0,
    );
    share.handle(older);
    assert!(share.is_holder());
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Step {
        /// A panel of channel `c{n % 150}` mounts (or `bad name`, 1 in 20).
        Mount(u8),
        /// The panel picked unmounts.
        Unmount(u8),
        /// Another tab announces channels `c{start}` … (some invalid).
        Peer(u8, u8),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => any::<u8>().prop_map(Step::Mount),
            2 => any::<u8>().prop_map(Step::Unmount),
            1 => (any::<u8>(), 0u8..40).prop_map(|(start, n)| Step::Peer(start, n)),
        ]
    }

    fn name(n: u8) -> String {
        if n % 20 == 19 {
            "bad name".into()
        } else {
            format!("c{:03}", n % 150)
        }
    }

    proptest! {
        /// However panels of a holder's tab come and go, and whatever other
        /// tabs announce, the stream carries only valid names, at most 64 of
        /// them, and every valid panel of this tab either is carried or was
        /// moved to the next group: none is left without a stream.
        #[test]
        fn no_valid_panel_is_left_without_a_stream(steps in prop::collection::vec(step(), 1..120)) {
            let mut share = Share::new(1);
            let mut next: u64 = 1;
            // Panels this group should serve, by id.
            let mut here: BTreeMap<u64, String> = BTreeMap::new();
            let mut carried: Vec<String> = Vec::new();
            for step in steps {
                let mut out = match step {
                    Step::Mount(n) => {
                        let (panel, channel) = (next, name(n));
                        next += 1;
                        if channel != "bad name" {
                            here.insert(panel, channel.clone());
                        }
                        // Mounted, and soon waiting on a virtual stream.
                        let mut out = share.handle(ShareEvent::PanelMounted { panel, channel });
                        out.extend(share.handle(ShareEvent::Subscribe { panel, stream: 1 }));
                        out
                    }
                    Step::Unmount(pick) => {
                        let Some(&panel) = here.keys().nth(pick as usize % here.len().max(1)) else {
                            continue;
                        };
                        here.remove(&panel);
                        share.handle(ShareEvent::PanelUnmounted { panel })
                    }
                    Step::Peer(start, n) => {
                        let channels = (0..n).map(|k| name(start.wrapping_add(k))).collect();
                        share.handle(ShareEvent::Relayed(Relay::Wants { tab: 9, channels, waiting: true }, 0))
                    }
                };
                // The lock manager grants this tab's request at once.
                if out.contains(&ShareCommand::RequestLock { steal: false }) {
                    out.extend(share.handle(ShareEvent::LockGranted { now: 0 }));
                }
                for command in &out {
                    match command {
                        ShareCommand::OpenStream { channels, .. } => carried = channels.clone(),
                        ShareCommand::Overflow { panel, .. } => {
                            prop_assert!(here.remove(panel).is_some(), "moved an unknown panel {}", panel);
                        }
                        _ => {}
                    }
                }
                prop_assert!(carried.len() <= MAX_STREAM_CHANNELS, "{} channels", carried.len());
                prop_assert!(carried.iter().all(|c| panel_core::is_valid_channel(c)), "{:?}", carried);
                if !here.is_empty() {
                    for (panel, channel) in &here {
                        prop_assert!(carried.contains(channel), "panel {} of {} has no stream; carried {:?}", panel, channel, carried);
                    }
                }
            }
        }
    }
}
