//! Table tests: one per transition the README promises.

use super::*;
use crate::protocol::RequestId;
use crate::store::message;

/// Short times so that expectations read easily.
fn options() -> Options {
    Options {
        initial_watchdog_ms: 9_000,
        backoff_base_ms: 100,
        backoff_cap_ms: 1_000,
        max_attempts: 3,
        stability_window_ms: 5_000,
        history_limit: 50,
        page_limit: 10,
        max_messages: 30,
        ..Options::default()
    }
}

pub(super) struct Harness {
    pub(super) engine: Engine,
    pub(super) now: u64,
}

impl Harness {
    pub(super) fn new() -> Self {
        Harness {
            engine: Engine::new("general", options()),
            now: 1_000,
        }
    }

    pub(super) fn step(&mut self, event: Event) -> Vec<Command> {
        self.engine.handle(event, self.now, 1.0)
    }

    pub(super) fn after(&mut self, ms: u64, event: Event) -> Vec<Command> {
        self.now += ms;
        self.step(event)
    }

    pub(super) fn label(&self) -> Label {
        self.engine.view().label
    }

    pub(super) fn ids(&self) -> Vec<u64> {
        self.engine.messages().map(|m| m.id.0).collect()
    }

    /// Mount, load `history`, open, get `connected`: returns the live stream.
    pub(super) fn live_with(&mut self, history: Vec<Message>) -> StreamId {
        let request = fetch_request(&self.step(Event::Mount)).expect("mount fetches history");
        let stream =
            opened_stream(&self.step(Event::HistoryLoaded(request, history))).expect("then opens");
        let catch_up =
            fetch_request(&self.step(Event::StreamOpened(stream))).expect("open catches up");
        self.step(Event::HistoryLoaded(catch_up, vec![]));
        self.step(status(stream, Gateway::Connected, Some(1_000)));
        assert_eq!(self.label(), Label::Live);
        stream
    }
}

pub(super) fn status(stream: StreamId, gateway: Gateway, interval: Option<u64>) -> Event {
    Event::Received(
        stream,
        Incoming::Status {
            gateway,
            heartbeat_interval_ms: interval,
        },
    )
}

pub(super) fn fetch_request(commands: &[Command]) -> Option<RequestId> {
    commands.iter().find_map(|c| match c {
        Command::FetchHistory { request, .. } => Some(*request),
        _ => None,
    })
}

pub(super) fn fetch_after(commands: &[Command]) -> Option<Option<MessageId>> {
    commands.iter().find_map(|c| match c {
        Command::FetchHistory { after, .. } => Some(*after),
        _ => None,
    })
}

pub(super) fn opened_stream(commands: &[Command]) -> Option<StreamId> {
    commands.iter().find_map(|c| match c {
        Command::OpenStream { stream, .. } => Some(*stream),
        _ => None,
    })
}

fn armed(commands: &[Command], timer: Timer) -> Option<u64> {
    commands.iter().find_map(|c| match c {
        Command::ArmTimer(t, ms) if *t == timer => Some(*ms),
        _ => None,
    })
}

#[test]
fn mount_loads_the_newest_history_then_resumes_the_stream_after_it() {
    let mut h = Harness::new();
    assert!(h.engine.loading(), "busy until the history is in");
    let commands = h.step(Event::Mount);
    assert!(commands.contains(&Command::FetchHistory {
        request: 0,
        after: None,
        limit: 50
    }));
    assert!(
        opened_stream(&commands).is_none(),
        "the stream waits for history"
    );
    assert_eq!(h.label(), Label::Reconnecting);
    let commands = h.step(Event::HistoryLoaded(0, vec![message(5), message(7)]));
    assert!(commands.contains(&Command::ShowMessages));
    assert!(commands.contains(&Command::OpenStream {
        stream: 1,
        last_event_id: Some(MessageId(7))
    }));
    assert_eq!(
        armed(&commands, Timer::Watchdog),
        Some(9_000),
        "initial deadline before any status"
    );
    assert_eq!(h.ids(), [5, 7]);
}

#[test]
fn an_empty_channel_resumes_after_id_zero_so_nothing_slips_between_the_requests() {
    let mut h = Harness::new();
    h.step(Event::Mount);
    let commands = h.step(Event::HistoryLoaded(0, vec![]));
    assert!(commands.contains(&Command::OpenStream {
        stream: 1,
        last_event_id: Some(MessageId(0))
    }));
}

#[test]
fn live_needs_an_open_stream_and_a_connected_gateway() {
    let mut h = Harness::new();
    h.step(Event::Mount);
    h.step(Event::HistoryLoaded(0, vec![]));
    let commands = h.step(Event::StreamOpened(1));
    assert_eq!(
        h.label(),
        Label::Reconnecting,
        "open, but the gateway is not known yet"
    );
    assert_eq!(
        fetch_after(&commands),
        Some(Some(MessageId(0))),
        "a cheap catch-up even on the first open"
    );
    h.step(status(1, Gateway::Connected, None));
    assert_eq!(h.label(), Label::Live);
}

#[test]
fn gateway_states_fold_into_the_label_and_recovery_catches_up() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(3)]);
    h.step(status(stream, Gateway::Reconnecting, None));
    assert_eq!(h.label(), Label::Reconnecting);
    let commands = h.step(status(stream, Gateway::Disconnected, None));
    assert_eq!(h.label(), Label::Disconnected);
    assert!(
        !h.engine.view().stopped,
        "the panel itself is still connected: no Retry"
    );
    assert!(fetch_request(&commands).is_none());
    let commands = h.step(status(stream, Gateway::Connected, None));
    assert_eq!(h.label(), Label::Live);
    assert_eq!(
        fetch_after(&commands),
        Some(Some(MessageId(3))),
        "catch up on what the gateway missed"
    );
}

#[test]
fn messages_merge_by_id_and_foreign_channels_are_ignored() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(1), message(2)]);
    let commands = h.step(Event::Received(stream, Incoming::Message(message(2))));
    assert!(
        !commands.contains(&Command::ShowMessages),
        "a duplicate changes nothing"
    );
    h.step(Event::Received(stream, Incoming::Message(message(10))));
    let mut foreign = message(11);
    foreign.channel_id = "random".into();
    let commands = h.step(Event::Received(stream, Incoming::Message(foreign)));
    assert!(matches!(commands.as_slice(), [Command::Log(_)]));
    assert_eq!(h.ids(), [1, 2, 10]);
}

#[test]
fn any_event_feeds_the_watchdog_which_rearms_for_the_remaining_time() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    // Interval 1000 ms: deadline 2500 ms.
    h.after(2_000, Event::Received(stream, Incoming::Heartbeat));
    let commands = h.after(500, Event::TimerFired(Timer::Watchdog));
    assert_eq!(armed(&commands, Timer::Watchdog), Some(2_000));
    h.after(1_000, Event::Undecodable(stream));
    let commands = h.after(2_000, Event::TimerFired(Timer::Watchdog));
    assert_eq!(armed(&commands, Timer::Watchdog), Some(500));
    assert_eq!(h.label(), Label::Live);
}

#[test]
fn a_silent_stream_is_a_zombie_replaced_after_backoff_then_caught_up() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(4)]);
    let commands = h.after(2_500, Event::TimerFired(Timer::Watchdog));
    assert!(commands.contains(&Command::CloseStream(stream)));
    assert_eq!(h.label(), Label::Reconnecting);
    let delay = armed(&commands, Timer::Backoff).expect("backoff armed");
    assert!(
        (50..=100).contains(&delay),
        "first delay within [base/2, base]: {delay}"
    );
    let commands = h.after(delay, Event::TimerFired(Timer::Backoff));
    let next = opened_stream(&commands).expect("a new stream");
    assert!(commands.contains(&Command::OpenStream {
        stream: next,
        last_event_id: Some(MessageId(4))
    }));
    let commands = h.step(Event::StreamOpened(next));
    assert_eq!(
        fetch_after(&commands),
        Some(Some(MessageId(4))),
        "a reopen catches up"
    );
    h.step(status(next, Gateway::Connected, None));
    assert_eq!(h.label(), Label::Live);
}

#[test]
fn the_watchdog_also_guards_a_stream_that_never_opens() {
    let mut h = Harness::new();
    h.step(Event::Mount);
    h.step(Event::HistoryLoaded(0, vec![]));
    let commands = h.after(9_000, Event::TimerFired(Timer::Watchdog));
    assert!(commands.contains(&Command::CloseStream(1)));
    assert!(armed(&commands, Timer::Backoff).is_some());
}

#[test]
fn a_dropped_stream_gets_one_browser_retry_then_the_panel_takes_over() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(1)]);
    let commands = h.after(6_000, Event::StreamError(stream, ReadyState::Connecting));
    assert!(
        !commands
            .iter()
            .any(|c| matches!(c, Command::CloseStream(_))),
        "the browser retries"
    );
    assert_eq!(h.label(), Label::Reconnecting);
    // The browser's retry fails too: close it and pace the next attempts.
    let commands = h.step(Event::StreamError(stream, ReadyState::Connecting));
    assert!(commands.contains(&Command::CloseStream(stream)));
    assert!(armed(&commands, Timer::Backoff).is_some());
}

#[test]
fn a_browser_retry_that_succeeds_catches_up() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(8)]);
    h.after(6_000, Event::StreamError(stream, ReadyState::Connecting));
    let commands = h.step(Event::StreamOpened(stream));
    assert_eq!(fetch_after(&commands), Some(Some(MessageId(8))));
    assert_eq!(
        h.label(),
        Label::Reconnecting,
        "until the new stream reports the gateway"
    );
}

#[test]
fn a_refusal_backs_off_exponentially_then_stops_with_retry() {
    let mut h = Harness::new();
    h.step(Event::Mount);
    h.step(Event::HistoryLoaded(0, vec![]));
    let mut stream = 1;
    let mut delays = vec![];
    for _ in 0..2 {
        let commands = h.step(Event::StreamError(stream, ReadyState::Closed));
        assert!(commands.contains(&Command::CloseStream(stream)));
        let delay = armed(&commands, Timer::Backoff).unwrap();
        delays.push(delay);
        stream = opened_stream(&h.after(delay, Event::TimerFired(Timer::Backoff))).unwrap();
    }
    assert_eq!(
        delays,
        [100, 200],
        "doubling (random = 1.0 takes the ceiling)"
    );
    let commands = h.step(Event::StreamError(stream, ReadyState::Closed));
    assert!(commands.contains(&Command::CloseStream(stream)));
    let view = h.engine.view();
    assert_eq!((view.label, view.stopped), (Label::Disconnected, true));
    assert!(view.error.unwrap().contains("3 failed attempts"));
}

#[test]
fn a_stream_that_dies_within_the_stability_window_counts_as_failed() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    h.after(5_500, Event::Received(stream, Incoming::Heartbeat)); // alive past the window
    h.after(500, Event::StreamError(stream, ReadyState::Closed)); // stable: count resets, then 0
    let mut stream = opened_stream(&h.after(100, Event::TimerFired(Timer::Backoff))).unwrap();
    for _ in 0..2 {
        h.step(Event::StreamOpened(stream));
        let commands = h.after(1_000, Event::StreamError(stream, ReadyState::Closed));
        let delay = armed(&commands, Timer::Backoff).unwrap();
        stream = opened_stream(&h.after(delay, Event::TimerFired(Timer::Backoff))).unwrap();
    }
    h.step(Event::StreamOpened(stream));
    h.after(1_000, Event::StreamError(stream, ReadyState::Closed));
    assert!(
        h.engine.view().stopped,
        "three short-lived streams in a row"
    );
}

#[test]
fn a_stream_moving_between_tabs_reconnects_but_is_no_failure() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(1)]);
    // Far more moves than `max_attempts`, each sooner than the stability window.
    for _ in 0..10 {
        h.after(100, Event::StreamMoved(stream));
        assert_eq!(h.label(), Label::Reconnecting);
        let catch_up = fetch_request(&h.after(100, Event::StreamOpened(stream)));
        h.step(Event::HistoryLoaded(
            catch_up.expect("every move catches up"),
            vec![],
        ));
        h.step(status(stream, Gateway::Connected, Some(1_000)));
        assert_eq!(h.label(), Label::Live);
    }
    assert!(!h.engine.view().stopped);
    // A real drop after them is the first failure, not the eleventh.
    h.after(100, Event::StreamError(stream, ReadyState::Connecting));
    assert!(!h.engine.view().stopped);
}

#[test]
fn a_stopped_panel_does_nothing_until_retry() {
    let mut h = Harness::new();
    h.step(Event::Mount);
    for request in 0..3 {
        h.step(Event::HistoryFailed(request, "HTTP 500".into()));
        h.step(Event::TimerFired(Timer::HistoryRetry));
    }
    let view = h.engine.view();
    assert!(view.stopped);
    assert_eq!(
        view.error.as_deref(),
        Some("Couldn't load messages: HTTP 500")
    );
    for event in [
        Event::TimerFired(Timer::Backoff),
        Event::TimerFired(Timer::Watchdog),
        Event::StreamOpened(1),
        Event::HistoryLoaded(2, vec![message(1)]),
    ] {
        assert_eq!(h.step(event.clone()), vec![], "{event:?}");
    }
    let commands = h.step(Event::RetryPressed);
    assert_eq!(fetch_after(&commands), Some(None));
    assert_eq!(h.label(), Label::Reconnecting);
    assert!(!h.engine.view().stopped);
}

/// A panel that gave up while the reader was away tries again when they come
/// back (visible, restored, resumed, online), with a fresh failure budget;
/// one stopped for its sign-in or an invalid name does not.
#[test]
fn coming_back_re_arms_a_panel_that_gave_up() {
    for back in [Event::PageVisible, Event::Online] {
        let mut h = Harness::new();
        let stream = h.live_with(vec![]);
        // The bridge refuses every new stream until the panel gives up.
        h.step(Event::StreamError(stream, ReadyState::Closed));
        for _ in 0..10 {
            if h.engine.view().stopped {
                break;
            }
            let opened = h.after(60_000, Event::TimerFired(Timer::Backoff));
            if let Some(next) = opened_stream(&opened) {
                h.step(Event::StreamError(next, ReadyState::Closed));
            }
        }
        assert!(h.engine.view().stopped, "gave up");
        let again = h.after(3_600_000, back.clone());
        assert!(
            fetch_request(&again).is_some(),
            "{back:?} restarts: {again:?}"
        );
        assert!(!h.engine.view().stopped);
        assert_eq!(h.label(), Label::Reconnecting);
    }
    // Stopped by a refused sign-in: only the host's retry mends it.
    let mut h = Harness::new();
    h.live_with(vec![]);
    h.step(Event::Unauthorized);
    assert!(h.engine.view().stopped);
    for back in [Event::PageVisible, Event::Online] {
        assert_eq!(h.step(back.clone()), vec![], "{back:?}");
    }
    // Nor an invalid channel name.
    let mut h = Harness {
        engine: Engine::new("bad name", options()),
        now: 1_000,
    };
    h.step(Event::Mount);
    assert!(h.engine.view().stopped);
    assert_eq!(h.step(Event::PageVisible), vec![]);
}

#[test]
fn retry_after_a_lost_connection_resets_and_catches_up_before_reopening() {
    let mut h = Harness::new();
    let mut stream = h.live_with(vec![message(9)]);
    for _ in 0..3 {
        let commands = h.step(Event::StreamError(stream, ReadyState::Closed));
        if let Some(delay) = armed(&commands, Timer::Backoff) {
            stream = opened_stream(&h.after(delay, Event::TimerFired(Timer::Backoff))).unwrap();
        }
    }
    assert!(h.engine.view().stopped);
    let commands = h.step(Event::Online);
    let request = fetch_request(&commands).unwrap();
    assert_eq!(fetch_after(&commands), Some(Some(MessageId(9))));
    let commands = h.step(Event::HistoryLoaded(request, vec![message(10)]));
    assert!(commands.contains(&Command::OpenStream {
        stream: stream + 1,
        last_event_id: Some(MessageId(10))
    }));
}

#[test]
fn online_or_retry_while_waiting_skips_the_rest_of_the_backoff() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    h.step(Event::StreamError(stream, ReadyState::Closed));
    let commands = h.step(Event::Online);
    assert!(commands.contains(&Command::CancelTimer(Timer::Backoff)));
    assert!(opened_stream(&commands).is_some());
}

#[test]
fn failed_history_is_retried_with_backoff() {
    let mut h = Harness::new();
    h.step(Event::Mount);
    let commands = h.step(Event::HistoryFailed(0, "offline".into()));
    assert_eq!(armed(&commands, Timer::HistoryRetry), Some(100));
    let commands = h.after(100, Event::TimerFired(Timer::HistoryRetry));
    assert_eq!(fetch_request(&commands), Some(1));
    let commands = h.step(Event::HistoryLoaded(1, vec![message(2)]));
    assert!(opened_stream(&commands).is_some());
}

#[test]
fn catch_up_pages_until_a_short_page_and_runs_once_more_if_asked_meanwhile() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(1)]);
    let commands = h.step(Event::Received(
        stream,
        Incoming::Resync {
            reason: "lagged".into(),
        },
    ));
    let first = fetch_request(&commands).unwrap();
    // A second resync while the first page is in flight.
    assert!(fetch_request(&h.step(Event::Received(
        stream,
        Incoming::Resync {
            reason: "lagged".into()
        }
    )))
    .is_none());
    let commands = h.step(Event::HistoryLoaded(first, (2..12).map(message).collect()));
    assert_eq!(
        fetch_after(&commands),
        Some(Some(MessageId(11))),
        "a full page: there may be more"
    );
    let second = fetch_request(&commands).unwrap();
    let commands = h.step(Event::HistoryLoaded(
        second,
        (12..15).map(message).collect(),
    ));
    assert_eq!(
        fetch_after(&commands),
        Some(Some(MessageId(1))),
        "the pending catch-up, from where it was asked"
    );
    let third = fetch_request(&commands).unwrap();
    let commands = h.step(Event::HistoryLoaded(third, vec![]));
    assert!(fetch_request(&commands).is_none());
    assert_eq!(h.ids(), (1..15).collect::<Vec<_>>());
}

#[test]
fn a_gap_larger_than_what_is_held_jumps_to_the_newest() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(1)]);
    let mut request = fetch_request(&h.step(Event::Received(
        stream,
        Incoming::Resync { reason: "x".into() },
    )))
    .unwrap();
    for page in 0..3u64 {
        let commands = h.step(Event::HistoryLoaded(
            request,
            (2 + page * 10..12 + page * 10).map(message).collect(),
        ));
        request = fetch_request(&commands).unwrap();
        if page == 2 {
            assert!(commands.contains(&Command::FetchHistory {
                request,
                after: None,
                limit: 30
            }));
        }
    }
}

#[test]
fn late_answers_and_events_of_closed_streams_are_ignored() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    h.after(2_500, Event::TimerFired(Timer::Watchdog));
    assert_eq!(
        h.step(Event::Received(stream, Incoming::Message(message(5)))),
        vec![]
    );
    assert_eq!(
        h.step(Event::StreamError(stream, ReadyState::Closed)),
        vec![]
    );
    assert_eq!(h.step(Event::HistoryLoaded(0, vec![message(6)])), vec![]);
    assert!(h.ids().is_empty());
}

#[test]
fn a_page_coming_back_checks_the_throttled_watchdog_at_once() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    let commands = h.after(60_000, Event::PageVisible);
    assert!(commands.contains(&Command::CloseStream(stream)));
    assert_eq!(h.label(), Label::Reconnecting);
}

#[test]
fn a_page_coming_back_runs_an_overdue_backoff() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    h.step(Event::StreamError(stream, ReadyState::Closed));
    let commands = h.after(5_000, Event::PageVisible);
    assert!(opened_stream(&commands).is_some());
}

#[test]
fn unmount_releases_everything_and_ends_the_engine() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    let commands = h.step(Event::Unmount);
    assert!(commands.contains(&Command::CloseStream(stream)));
    assert!(commands.contains(&Command::CancelTimer(Timer::Watchdog)));
    for event in [
        Event::Mount,
        Event::RetryPressed,
        Event::Online,
        Event::TimerFired(Timer::Watchdog),
    ] {
        assert_eq!(h.step(event), vec![]);
    }
}

#[test]
fn status_changes_are_announced_once() {
    let mut h = Harness::new();
    let first = h.step(Event::Mount);
    assert!(first
        .iter()
        .any(|c| matches!(c, Command::ShowStatus(v) if v.label == Label::Reconnecting)));
    let again = h.step(Event::PageVisible);
    assert!(!again.iter().any(|c| matches!(c, Command::ShowStatus(_))));
}

#[test]
fn an_invalid_channel_stops_at_once_without_requests() {
    let mut engine = Engine::new("no spaces allowed", options());
    let commands = engine.handle(Event::Mount, 0, 0.5);
    assert!(!commands
        .iter()
        .any(|c| matches!(c, Command::FetchHistory { .. } | Command::OpenStream { .. })));
    let view = engine.view();
    assert!(view.stopped && view.error.unwrap().contains("not a valid channel name"));
}

/// An upstream whose streams open, say `status`, then fall silent for good:
/// each stream ended by the watchdog is a failed attempt however long it
/// lived, so the panel stops after `max_attempts` of them and offers Retry.
/// Here each silent stream outlives the stability window (a 4 s heartbeat
/// makes a 10 s watchdog, the window is 5 s), as with the defaults.
#[test]
fn a_silent_upstream_is_given_up_on_after_max_attempts() {
    let mut h = Harness::new();
    let mut stream = h.live_with(vec![]);
    h.step(status(stream, Gateway::Connected, Some(4_000)));
    let mut lives = 0;
    while !h.engine.view().stopped {
        assert!(lives < 10, "still trying after {lives} silent streams");
        // Nothing more on this stream: the watchdog (10 s) fires.
        let commands = h.after(10_000, Event::TimerFired(Timer::Watchdog));
        lives += 1;
        if h.engine.view().stopped {
            assert!(commands.contains(&Command::CloseStream(stream)));
            break;
        }
        let delay = armed(&commands, Timer::Backoff).expect("backs off");
        stream = opened_stream(&h.after(delay, Event::TimerFired(Timer::Backoff))).unwrap();
        h.step(Event::StreamOpened(stream));
        h.step(status(stream, Gateway::Connected, Some(4_000)));
        assert_eq!(h.label(), Label::Live, "its status is a sign of life");
    }
    assert_eq!(lives, 3, "max_attempts silent streams");
    let view = h.engine.view();
    assert_eq!((view.label, view.stopped), (Label::Disconnected, true));
    assert!(view.error.unwrap().contains("went silent 3 times"));
}

/// A stream that showed signs of life through the stability window proves the
/// connection works: the failures before it are forgotten, and a drop after
/// it is not a failure; a watchdog ending after it is the first of a new run.
#[test]
fn only_signs_of_life_past_the_stability_window_reset_the_count() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    h.after(2_500, Event::TimerFired(Timer::Watchdog)); // 1 failure
    let stream2 = opened_stream(&h.after(1_000, Event::TimerFired(Timer::Backoff))).unwrap();
    assert_ne!(stream, stream2);
    h.step(Event::StreamOpened(stream2));
    h.step(status(stream2, Gateway::Connected, Some(1_000)));
    // Heartbeats every second for six seconds: past the 5 s window.
    for _ in 0..6 {
        h.after(1_000, Event::Received(stream2, Incoming::Heartbeat));
    }
    // Then it goes silent twice in a row: 2 failures, not 3.
    let commands = h.after(2_500, Event::TimerFired(Timer::Watchdog));
    let delay = armed(&commands, Timer::Backoff).unwrap();
    let stream3 = opened_stream(&h.after(delay, Event::TimerFired(Timer::Backoff))).unwrap();
    h.step(Event::StreamOpened(stream3));
    h.step(status(stream3, Gateway::Connected, Some(1_000)));
    h.after(2_500, Event::TimerFired(Timer::Watchdog));
    assert!(
        !h.engine.view().stopped,
        "the proven stream reset the count"
    );
}

fn post_request(commands: &[Command]) -> Option<(RequestId, String)> {
    commands.iter().find_map(|c| match c {
        Command::PostMessage {
            request, client_id, ..
        } => Some((*request, client_id.clone())),
        _ => None,
    })
}

#[test]
fn a_reply_waits_for_live_is_retried_with_its_id_and_a_refusal_is_final() {
    let mut h = Harness::new();
    // Written before the panel is Live: it waits.
    let waiting = h.step(Event::Send {
        client_id: "c-1".into(),
        content: "first".into(),
    });
    assert!(waiting.contains(&Command::ShowOutbox));
    assert_eq!(post_request(&waiting), None, "sent before Live");
    let request = fetch_request(&h.step(Event::Mount)).unwrap();
    let stream = opened_stream(&h.step(Event::HistoryLoaded(request, vec![]))).unwrap();
    let catch_up = fetch_request(&h.step(Event::StreamOpened(stream))).unwrap();
    h.step(Event::HistoryLoaded(catch_up, vec![]));
    let live = h.step(status(stream, Gateway::Connected, Some(1_000)));
    let (first, client_id) = post_request(&live).expect("sent once Live");
    assert_eq!(client_id, "c-1");
    // A lost answer: the same reply again, same id, after a backoff.
    let failed = h.step(Event::PostAnswered(
        first,
        PostOutcome::Failed("lost".into()),
    ));
    let delay = failed
        .iter()
        .find_map(|c| match c {
            Command::ArmTimer(Timer::PostRetry, ms) => Some(*ms),
            _ => None,
        })
        .expect("a retry is scheduled");
    let again = h.after(delay, Event::TimerFired(Timer::PostRetry));
    let (second, client_id) = post_request(&again).expect("sent again");
    assert_eq!(client_id, "c-1", "a retry keeps its client id");
    // The bridge had stored it: the answer is the original, shown once.
    let stored = Message {
        client_id: Some("c-1".into()),
        ..message(7)
    };
    h.step(Event::PostAnswered(
        second,
        PostOutcome::Stored(stored.clone()),
    ));
    assert_eq!(h.ids(), [7]);
    assert!(h.engine.outbox().is_empty());
    // Its echo on the stream changes nothing.
    h.step(Event::Received(stream, Incoming::Message(stored)));
    assert_eq!(h.ids(), [7]);
    // A refusal is final: the reply stays, failed, with the reason.
    let next = h.step(Event::Send {
        client_id: "c-2".into(),
        content: "x".repeat(10),
    });
    let (request, _) = post_request(&next).expect("sent at once while Live");
    h.step(Event::PostAnswered(
        request,
        PostOutcome::Refused("content is too long".into()),
    ));
    let failed = &h.engine.outbox()[0];
    assert_eq!(failed.failed.as_deref(), Some("content is too long"));
    assert_eq!(
        post_request(&h.after(60_000, Event::PageVisible)),
        None,
        "never sent again"
    );
    // Edit takes it back to the composer.
    let edit = h.step(Event::Edit("c-2".into()));
    assert!(edit.contains(&Command::EditDraft("x".repeat(10))));
    assert!(h.engine.outbox().is_empty());
}

/// The host switches accounts while a reply waits: it is the previous
/// person's, and never goes out under the new one's name.
#[test]
fn an_account_switch_takes_the_waiting_replies_out_of_the_outbox() {
    let mut h = Harness::new();
    h.live_with(vec![]);
    let sent = h.step(Event::Send {
        client_id: "a-1".into(),
        content: "from alice".into(),
    });
    let (request, _) = post_request(&sent).expect("sent while Live");
    // A second one waits behind it when the switch comes.
    h.step(Event::Send {
        client_id: "a-2".into(),
        content: "also from alice".into(),
    });
    let bobs = Outgoing {
        client_id: "b-1".into(),
        content: "from bob".into(),
        failed: None,
        target: None,
        left: true, // saved: it may have left
    };
    let switched = h.step(Event::OutboxSwitched(vec![bobs.clone()]));
    assert!(switched.contains(&Command::ShowOutbox));
    assert_eq!(h.engine.outbox(), [bobs]);
    // The post under way is not awaited: its failure retries nothing of
    // alice's, and bob's reply goes next.
    let after = h.step(Event::PostAnswered(
        request,
        PostOutcome::Failed("lost".into()),
    ));
    assert!(
        !after
            .iter()
            .any(|c| matches!(c, Command::ArmTimer(Timer::PostRetry, _))),
        "{after:?}"
    );
    let (_, next) = post_request(&switched)
        .or_else(|| post_request(&after))
        .expect("bob's reply is sent");
    assert_eq!(next, "b-1");
}

#[test]
fn older_pages_load_below_the_oldest_once_each_and_stop_at_the_start() {
    let mut h = Harness::new(); // page_limit 10, room for 30
    let stream = h.live_with((21..=30).map(message).collect());
    let older = |commands: &[Command]| {
        commands.iter().find_map(|c| match c {
            Command::FetchOlder {
                request,
                before,
                limit,
            } => Some((*request, before.0, *limit)),
            _ => None,
        })
    };
    assert!(!h.engine.loading(), "the history is in");
    let (request, before, limit) = older(&h.step(Event::OlderWanted)).expect("asks for older");
    assert_eq!((before, limit), (21, 10));
    assert!(h.engine.loading(), "busy while the older page comes");
    // Scrolling on while it is on its way asks for nothing more.
    assert_eq!(older(&h.step(Event::OlderWanted)), None);
    // The page overlaps the seam (id 21): still once each.
    let page: Vec<Message> = (12..=21).map(message).collect();
    assert!(h
        .step(Event::OlderLoaded(request, page))
        .contains(&Command::ShowMessages));
    assert_eq!(h.ids(), (12..=30).collect::<Vec<_>>());
    assert!(!h.engine.loading());
    // A short page is the start of the channel: no more requests.
    let (request, before, _) = older(&h.step(Event::OlderWanted)).unwrap();
    assert_eq!(before, 12);
    h.step(Event::OlderLoaded(request, (5..=11).map(message).collect()));
    assert_eq!(h.ids(), (5..=30).collect::<Vec<_>>());
    assert_eq!(older(&h.step(Event::OlderWanted)), None, "nothing older");
    // Live messages still come in above, and older ones never push them out.
    h.step(Event::Received(stream, Incoming::Message(message(31))));
    assert_eq!(h.ids().last(), Some(&31));
}

/// Mount on polling and go Live: the commands of the step that made it Live.
fn live_on_polling(h: &mut Harness) -> (StreamId, Vec<Command>) {
    let mount = h.step(Event::Mount);
    assert!(mount.contains(&Command::UseTransport(Transport::Polling)));
    assert!(mount.contains(&Command::ArmTimer(Timer::Probe, 300_000)));
    let request = fetch_request(&mount).unwrap();
    let poll = opened_stream(&h.step(Event::HistoryLoaded(request, vec![message(5)]))).unwrap();
    let catch_up = fetch_request(&h.step(Event::StreamOpened(poll))).unwrap();
    h.step(Event::HistoryLoaded(catch_up, vec![]));
    let commands = h.step(status(poll, Gateway::Connected, Some(1_000)));
    assert_eq!(h.label(), Label::Live);
    (poll, commands)
}

fn probes(commands: &[Command]) -> usize {
    (commands.iter())
        .filter(|c| matches!(c, Command::Probe { .. }))
        .count()
}

/// Issue 31, item 12: a page load that starts on polling because the
/// browser remembers a buffering proxy tries a stream at its first Live (a
/// short visit finds out too), once; a host's own `polling` waits `probe_ms`.
#[test]
fn polling_from_memory_tries_a_stream_at_the_first_live_and_only_then() {
    let remembered = Options {
        remembered_polling: true,
        ..options()
    };
    let mut h = Harness::new();
    h.engine = Engine::new("general", remembered);
    let (poll, commands) = live_on_polling(&mut h);
    assert!(
        commands.contains(&Command::Probe {
            last_event_id: Some(MessageId(5)),
            first_byte_ms: 4_000
        }),
        "no trial at the first Live: {commands:?}"
    );
    // It fails: polling goes on, and the next trial is `probe_ms` away.
    let commands = h.after(4_000, Event::ProbeDone(false));
    assert!(commands.contains(&Command::ArmTimer(Timer::Probe, 300_000)));
    // A later Live (after a drop) tries nothing more.
    h.step(Event::StreamError(poll, ReadyState::Closed));
    let next = opened_stream(&h.after(200, Event::TimerFired(Timer::Backoff))).unwrap();
    h.step(Event::StreamOpened(next));
    let commands = h.step(status(next, Gateway::Connected, Some(1_000)));
    assert_eq!(h.label(), Label::Live);
    assert_eq!(probes(&commands), 0, "{commands:?}");
    // The host's `polling`: a proxy it knows buffers; no trial at the first Live.
    let mut h = Harness::new();
    h.engine = Engine::new(
        "general",
        Options {
            polling: true,
            ..options()
        },
    );
    let (_, commands) = live_on_polling(&mut h);
    assert_eq!(probes(&commands), 0, "{commands:?}");
}

/// Issue 31, item 13: after the browser reconnects an EventSource on its
/// own, the stream has `first_byte_ms` again to show it is alive (a proxy
/// that began to buffer lets the reconnection open and holds back what
/// follows), and the label is Reconnecting until it does.
#[test]
fn a_browser_reconnect_must_deliver_within_the_first_byte_deadline_again() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(1)]);
    h.after(6_000, Event::Received(stream, Incoming::Heartbeat));
    h.step(Event::StreamError(stream, ReadyState::Connecting));
    assert_eq!(h.label(), Label::Reconnecting);
    let commands = h.after(3_000, Event::StreamOpened(stream));
    assert_eq!(h.label(), Label::Reconnecting);
    assert_eq!(
        armed(&commands, Timer::FirstByte),
        Some(4_000),
        "{commands:?}"
    );
    // Nothing comes: suspect, and replaced.
    let commands = h.after(4_000, Event::TimerFired(Timer::FirstByte));
    assert!(
        commands.contains(&Command::StreamSilent(stream)),
        "{commands:?}"
    );
    assert!(commands.contains(&Command::CloseStream(stream)));
    // A reconnection that delivers is Live, and its deadline is off.
    let next = opened_stream(&h.after(200, Event::TimerFired(Timer::Backoff))).unwrap();
    h.step(Event::StreamOpened(next));
    h.step(status(next, Gateway::Connected, Some(1_000)));
    h.after(6_000, Event::Received(next, Incoming::Heartbeat));
    h.step(Event::StreamError(next, ReadyState::Connecting));
    h.after(3_000, Event::StreamOpened(next));
    let commands = h.step(status(next, Gateway::Connected, Some(1_000)));
    assert!(commands.contains(&Command::CancelTimer(Timer::FirstByte)));
    assert_eq!(h.label(), Label::Live);
}

/// A proxy that buffers the stream: it opens (200), and nothing arrives.
/// The first such stream is replaced as a silent one; the second in a row
/// makes the panel poll, which goes Live like a stream, and a trial stream
/// later that delivers brings it back to the EventSource, continuing from
/// the same cursor.
#[test]
fn a_buffered_stream_twice_in_a_row_switches_to_polling_and_a_trial_brings_it_back() {
    let mut h = Harness::new();
    let mount = h.step(Event::Mount);
    assert!(mount.contains(&Command::UseTransport(Transport::EventSource)));
    let request = fetch_request(&mount).unwrap();
    let first = opened_stream(&h.step(Event::HistoryLoaded(request, vec![message(5)]))).unwrap();
    h.after(10, Event::StreamOpened(first));
    // Nothing within the first-byte deadline (4 s, before the 9 s watchdog).
    let commands = h.after(4_000, Event::TimerFired(Timer::FirstByte));
    assert!(commands.contains(&Command::StreamSilent(first)));
    assert!(commands.contains(&Command::CloseStream(first)));
    assert_eq!(
        h.engine.view().transport,
        Transport::EventSource,
        "once is not enough"
    );
    let second = opened_stream(&h.after(200, Event::TimerFired(Timer::Backoff))).unwrap();
    h.after(10, Event::StreamOpened(second));
    let commands = h.after(4_000, Event::TimerFired(Timer::FirstByte));
    assert!(commands.contains(&Command::UseTransport(Transport::Polling)));
    assert!(commands.contains(&Command::CloseStream(second)));
    let poll = opened_stream(&commands).expect("polling opens at once, no backoff");
    assert_eq!(
        commands.iter().find_map(|c| match c {
            Command::OpenStream { last_event_id, .. } => *last_event_id,
            _ => None,
        }),
        Some(MessageId(5)),
        "the poll continues from the cursor"
    );
    assert!(commands.contains(&Command::ArmTimer(Timer::Probe, 300_000)));
    // Polling: no first-byte deadline (a poll may wait for news); Live as a stream.
    h.after(10, Event::StreamOpened(poll));
    h.step(status(poll, Gateway::Connected, Some(1_000)));
    assert_eq!(h.label(), Label::Live);
    assert_eq!(h.engine.view().transport, Transport::Polling);
    // Five minutes on: a trial stream, from the cursor.
    h.step(Event::Received(poll, Incoming::Message(message(6))));
    let commands = h.after(300_000, Event::TimerFired(Timer::Probe));
    assert!(commands.contains(&Command::Probe {
        last_event_id: Some(MessageId(6)),
        first_byte_ms: 4_000
    }));
    // It fails: still polling, another trial later.
    let commands = h.step(Event::ProbeDone(false));
    assert!(commands.contains(&Command::ArmTimer(Timer::Probe, 300_000)));
    assert_eq!(h.engine.view().transport, Transport::Polling);
    // The next delivers: back to the EventSource, at once, from the cursor.
    h.after(300_000, Event::TimerFired(Timer::Probe));
    let commands = h.step(Event::ProbeDone(true));
    assert!(commands.contains(&Command::UseTransport(Transport::EventSource)));
    assert!(commands.contains(&Command::CloseStream(poll)));
    let back = opened_stream(&commands).unwrap();
    // Its first-byte deadline runs from its opening; it delivers: no longer
    // suspect, the deadline is off.
    let opened = h.after(10, Event::StreamOpened(back));
    assert!(opened.contains(&Command::ArmTimer(Timer::FirstByte, 4_000)));
    let commands = h.step(status(back, Gateway::Connected, Some(1_000)));
    assert!(commands.contains(&Command::CancelTimer(Timer::FirstByte)));
    assert_eq!(h.label(), Label::Live);
    // A late answer of a trial no longer out changes nothing.
    assert!(h.step(Event::ProbeDone(true)).is_empty());
}

/// One slow first byte between good streams is no reason to poll: only two
/// in a row are.
#[test]
fn a_stream_that_delivers_clears_the_suspicion() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(1)]);
    h.step(Event::StreamError(stream, ReadyState::Closed));
    let next = opened_stream(&h.after(200, Event::TimerFired(Timer::Backoff))).unwrap();
    h.step(Event::StreamOpened(next));
    let missed = h.after(4_000, Event::TimerFired(Timer::FirstByte));
    let third = h.after(400, Event::TimerFired(Timer::Backoff));
    let third = opened_stream(&third).unwrap_or_else(|| panic!("{missed:?} {third:?}"));
    h.step(Event::StreamOpened(third));
    h.step(status(third, Gateway::Connected, Some(1_000)));
    // It lives past the stability window (the failures before are forgotten).
    h.after(6_000, Event::Received(third, Incoming::Heartbeat));
    h.step(Event::StreamError(third, ReadyState::Closed));
    let fourth = opened_stream(&h.after(400, Event::TimerFired(Timer::Backoff))).unwrap();
    h.step(Event::StreamOpened(fourth));
    let commands = h.after(4_000, Event::TimerFired(Timer::FirstByte));
    assert!(
        !commands.contains(&Command::UseTransport(Transport::Polling)),
        "{commands:?}"
    );
    // Started on polling (the remembered choice): no deadline, a probe armed;
    // unmounting releases it.
    let mut polling = Engine::new(
        "general",
        Options {
            polling: true,
            ..options()
        },
    );
    let commands = polling.handle(Event::Mount, 0, 0.5);
    assert!(commands.contains(&Command::UseTransport(Transport::Polling)));
    assert!(commands.contains(&Command::ArmTimer(Timer::Probe, 300_000)));
    let commands = polling.handle(Event::Unmount, 1, 0.5);
    assert!(commands.contains(&Command::CancelTimer(Timer::Probe)));
}

/// Review of issue 31's transport fixes: the first-byte deadline runs from
/// the stream's opening, not from the engine's asking for it (the glue may
/// wait seconds for the host's token function before anything exists), and
/// only a stream that opened and said nothing counts as held back: one
/// that fails (before or after opening) or moves to another tab is no
/// silence, and its deadline goes with it.
#[test]
fn only_a_stream_that_opened_and_said_nothing_is_taken_for_a_buffering_proxy() {
    let mut h = Harness::new();
    let request = fetch_request(&h.step(Event::Mount)).unwrap();
    let asked = h.step(Event::HistoryLoaded(request, vec![message(5)]));
    let first = opened_stream(&asked).unwrap();
    assert_eq!(armed(&asked, Timer::FirstByte), None, "nothing exists yet");
    // A slow token: the stream opens 6 s later (past 4 s), and delivers.
    let opened = h.after(6_000, Event::StreamOpened(first));
    assert_eq!(armed(&opened, Timer::FirstByte), Some(4_000));
    let delivered = h.after(10, status(first, Gateway::Connected, Some(1_000)));
    assert!(delivered.contains(&Command::CancelTimer(Timer::FirstByte)));
    // Three times: a stream that opens, then fails before it says anything
    // (a bridge going down), and a browser retry that fails before opening.
    for _ in 0..3 {
        let stream = h.engine.current_stream().unwrap();
        h.after(6_000, Event::Received(stream, Incoming::Heartbeat));
        h.step(Event::StreamError(stream, ReadyState::Closed));
        let next = opened_stream(&h.after(2_000, Event::TimerFired(Timer::Backoff))).unwrap();
        h.after(10, Event::StreamOpened(next));
        let failed = h.after(10, Event::StreamError(next, ReadyState::Connecting));
        assert!(failed.contains(&Command::CancelTimer(Timer::FirstByte)));
        // A late firing of the cancelled deadline is no news.
        let late = h.after(4_000, Event::TimerFired(Timer::FirstByte));
        assert!(!late.contains(&Command::StreamSilent(next)), "{late:?}");
        h.after(10, Event::StreamOpened(next));
        h.step(status(next, Gateway::Connected, Some(1_000)));
    }
    assert_eq!(h.engine.view().transport, Transport::EventSource);
    // A stream moved to another tab's while it awaits its first event: the
    // deadline goes, and comes again with the next opening.
    let stream = h.engine.current_stream().unwrap();
    h.after(6_000, Event::Received(stream, Incoming::Heartbeat));
    h.step(Event::StreamError(stream, ReadyState::Connecting));
    h.after(10, Event::StreamOpened(stream));
    let moved = h.after(10, Event::StreamMoved(stream));
    assert!(moved.contains(&Command::CancelTimer(Timer::FirstByte)));
    let reopened = h.after(10, Event::StreamOpened(stream));
    assert_eq!(armed(&reopened, Timer::FirstByte), Some(4_000));
    assert_eq!(h.engine.view().transport, Transport::EventSource);
}

/// With `max_attempts` 1 the sentence says "1 failed attempt" (not
/// "attempts"), and one silent stream is no "1 times in a row".
#[test]
fn one_failed_attempt_is_said_in_the_singular() {
    for (silent, expected) in [
        (false, "Lost the connection after 1 failed attempt."),
        (true, "The connection went silent."),
    ] {
        let mut h = Harness::new();
        h.engine = Engine::new(
            "general",
            Options {
                max_attempts: 1,
                ..options()
            },
        );
        let stream = h.live_with(vec![]);
        if silent {
            h.step(status(stream, Gateway::Connected, Some(4_000)));
            h.after(10_000, Event::TimerFired(Timer::Watchdog));
        } else {
            h.step(Event::StreamError(stream, ReadyState::Closed));
        }
        let view = h.engine.view();
        assert_eq!(view.error.as_deref(), Some(expected), "silent: {silent}");
    }
}
