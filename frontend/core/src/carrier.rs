//! How the tab holding a shared stream finds out that a proxy buffers it,
//! and when it tries the EventSource again: the engine's first-byte and
//! trial rules, for the one real stream of a sharing group.
//!
//! The engine of a shared panel cannot tell on its own: a new stream of the
//! holder opens it with the status of the connection it already had, which
//! proves nothing of the new one. The holder's glue reports what its real
//! stream does, and does what [`Carrier`] answers.
//!
//! What the browser remembers between page loads ([`remembered`],
//! [`polls_by_memory`]): that a proxy held this bridge's streams back, for a
//! day after it was last seen ([`REMEMBER_POLLING_MS`]). A page load that
//! starts on polling from it tries a stream at its first Live (see
//! `Options::remembered_polling`), so that a proxy that stopped buffering is
//! found on the next visit, however short.

use crate::protocol::Transport;

/// How long the browser remembers that a proxy held a bridge's streams
/// back: a day. Past it, a page load starts on the EventSource again (and
/// finds a proxy that still buffers within two first-byte deadlines).
pub const REMEMBER_POLLING_MS: u64 = 86_400_000;

/// What the browser keeps for a bridge when its streams go by `transport`
/// from `now` (ms since the epoch): `polling@<now>`, or `eventsource`.
pub fn remembered(transport: Transport, now: u64) -> String {
    let mut text = String::from(transport.as_str());
    if transport == Transport::Polling {
        text.push('@');
        crate::number::push_digits(&mut text, now);
    }
    text
}

/// Whether what the browser kept (`saved`) still says to poll at `now`:
/// `polling@<when>` less than [`REMEMBER_POLLING_MS`] away from `now`,
/// either way (a clock set back does not make it last longer). An undated
/// `polling`, as panels before wrote, is taken as expired.
pub fn polls_by_memory(saved: &str, now: u64) -> bool {
    let when = saved
        .strip_prefix("polling@")
        .and_then(crate::number::parse_u64);
    when.is_some_and(|at| now.abs_diff(at) < REMEMBER_POLLING_MS)
}

/// What the holding tab knows of its real stream's transport.
#[derive(Clone, Debug)]
pub struct Carrier {
    /// Streams in a row that opened and delivered nothing.
    suspect: u32,
    /// The real EventSource opened (200) and has delivered nothing since.
    silent_open: bool,
    /// A trial EventSource is under way.
    trying: bool,
    /// When the last trial began (ms).
    last_trial: Option<u64>,
    /// The shortest deadlines of the panels that joined.
    first_byte_ms: u64,
    probe_ms: u64,
}

impl Default for Carrier {
    fn default() -> Self {
        Carrier {
            suspect: 0,
            silent_open: false,
            trying: false,
            last_trial: None,
            first_byte_ms: u64::MAX,
            probe_ms: u64::MAX,
        }
    }
}

impl Carrier {
    /// A panel joined that gives a stream `first_byte_ms` to deliver and
    /// tries one again every `probe_ms` while polling: the shortest win.
    pub fn deadlines(&mut self, first_byte_ms: u64, probe_ms: u64) {
        self.first_byte_ms = self.first_byte_ms.min(first_byte_ms);
        self.probe_ms = self.probe_ms.min(probe_ms);
    }

    /// How long a new EventSource (the real one, or a trial) has to deliver;
    /// `None` before any panel said.
    pub fn first_byte_ms(&self) -> Option<u64> {
        (self.first_byte_ms != u64::MAX).then_some(self.first_byte_ms)
    }

    /// The real EventSource opened, for the first time or again after the
    /// browser reconnected it: how long it has to deliver from now (the
    /// glue arms the deadline anew), if any panel said.
    pub fn opened(&mut self) -> Option<u64> {
        self.silent_open = true;
        self.first_byte_ms()
    }

    /// The real stream delivered an event: it gets through. Whether its
    /// first-byte deadline ran (it has none now).
    pub fn delivered(&mut self) -> bool {
        self.suspect = 0;
        std::mem::take(&mut self.silent_open)
    }

    /// The real stream is replaced or closed, or its first-byte deadline
    /// passed: one that opened and delivered nothing counts as silent (a
    /// panel's watchdog may close it before the deadline). Whether the
    /// streams go by polling now (`polling`: they already do).
    pub fn silent(&mut self, polling: bool) -> bool {
        std::mem::take(&mut self.silent_open) && self.suspected(polling)
    }

    /// The real stream failed (an error or a refusal is no silence: a
    /// bridge that is down is no proxy), or this tab let it go to another.
    pub fn let_go(&mut self) {
        self.silent_open = false;
    }

    /// One more stream in a row that delivered nothing; the second makes
    /// the streams go by polling.
    fn suspected(&mut self, polling: bool) -> bool {
        self.suspect += 1;
        if self.suspect < 2 || polling {
            return false;
        }
        self.suspect = 0;
        true
    }

    /// A panel's engine would try a stream again (every panel of the tab asks
    /// on its own timer). Whether to open a trial now: only while this tab
    /// polls the real stream (`polled`), one at a time, and not within half
    /// the trial interval of the last.
    pub fn try_stream(&mut self, now: u64, polled: bool) -> bool {
        let recent = (self.last_trial).is_some_and(|at| now.saturating_sub(at) < self.probe_ms / 2);
        if !polled || recent || self.trying {
            return false;
        }
        self.trying = true;
        self.last_trial = Some(now);
        true
    }

    /// The trial ended (delivered, failed or past its deadline): whether one
    /// was under way (a late second report of the same trial is not).
    pub fn trial_done(&mut self) -> bool {
        std::mem::take(&mut self.trying)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carrier() -> Carrier {
        let mut carrier = Carrier::default();
        carrier.deadlines(4_000, 300_000);
        carrier
    }

    #[test]
    fn polling_is_remembered_for_a_day_either_way() {
        let day = REMEMBER_POLLING_MS;
        let saved = remembered(Transport::Polling, 5 * day);
        assert_eq!(saved, format!("polling@{}", 5 * day));
        assert!(polls_by_memory(&saved, 5 * day));
        assert!(polls_by_memory(&saved, 6 * day - 1));
        assert!(!polls_by_memory(&saved, 6 * day), "a day on");
        assert!(!polls_by_memory(&saved, 4 * day), "a clock a day back");
        assert!(polls_by_memory(&saved, 4 * day + 1));
        for other in [
            "polling",
            "polling@",
            "polling@x",
            "polling@-1",
            "eventsource",
            &remembered(Transport::EventSource, 5 * day),
            "",
        ] {
            assert!(!polls_by_memory(other, 5 * day), "{other:?}");
        }
    }

    #[test]
    fn a_stream_that_opens_again_has_the_first_byte_deadline_again() {
        let mut carrier = Carrier::default();
        assert_eq!(carrier.opened(), None, "no panel said");
        carrier.deadlines(4_000, 300_000);
        assert_eq!(carrier.opened(), Some(4_000));
        carrier.delivered();
        assert_eq!(carrier.opened(), Some(4_000), "reconnected by the browser");
        assert!(!carrier.silent(false), "one is only suspect");
    }

    #[test]
    fn the_shortest_deadlines_of_the_panels_win() {
        let mut carrier = Carrier::default();
        assert_eq!(carrier.first_byte_ms(), None);
        carrier.deadlines(4_000, 300_000);
        carrier.deadlines(1_500, 600_000);
        carrier.deadlines(9_000, 1_000);
        assert_eq!(carrier.first_byte_ms(), Some(1_500));
        assert!(carrier.try_stream(0, true));
        assert!(carrier.trial_done());
        assert!(!carrier.try_stream(499, true), "within half of 1,000 ms");
        assert!(carrier.try_stream(500, true));
    }

    #[test]
    fn two_silent_streams_in_a_row_make_the_streams_poll() {
        let mut carrier = carrier();
        carrier.opened();
        assert!(!carrier.silent(false), "one is only suspect");
        carrier.opened();
        assert!(carrier.silent(false));
        // Counted afresh after the switch.
        carrier.opened();
        assert!(!carrier.silent(false));
    }

    #[test]
    fn a_stream_that_delivers_clears_the_suspicion() {
        let mut carrier = carrier();
        carrier.opened();
        assert!(!carrier.silent(false));
        carrier.opened();
        carrier.delivered();
        carrier.opened();
        assert!(!carrier.silent(false));
    }

    /// Review of issue 31's transport fixes: a bridge that is down (a
    /// deploy's restart) refuses streams; none of them opened, so however
    /// late a deadline of theirs comes, none counts; nor does one that
    /// opened and then failed, nor one handed over to another tab.
    #[test]
    fn a_stream_that_never_opened_failed_or_was_handed_over_is_not_silent() {
        let mut carrier = carrier();
        for _ in 0..4 {
            assert!(!carrier.silent(false), "never opened");
        }
        carrier.opened();
        carrier.let_go();
        assert!(!carrier.silent(false), "failed after opening");
        carrier.opened();
        assert!(!carrier.silent(false), "the first silent one in a row");
        carrier.opened();
        carrier.let_go();
        carrier.opened();
        assert!(carrier.silent(false), "the second silent one in a row");
    }

    #[test]
    fn a_silent_stream_replaced_before_its_deadline_counts() {
        let mut carrier = carrier();
        carrier.opened();
        assert!(!carrier.silent(false));
        carrier.opened();
        assert!(carrier.silent(false), "the second silent one in a row");
        // A stream replaced after it delivered, or before it opened, is not suspect.
        carrier.opened();
        carrier.delivered();
        assert!(!carrier.silent(false));
        assert!(!carrier.silent(false));
        carrier.opened();
        assert!(!carrier.silent(false), "the count began again");
    }

    #[test]
    fn streams_already_polled_are_not_switched_again() {
        let mut carrier = carrier();
        for _ in 0..4 {
            carrier.opened();
            assert!(!carrier.silent(true));
        }
    }

    #[test]
    fn trials_only_while_polled_one_at_a_time_and_spaced() {
        let mut carrier = carrier();
        assert!(!carrier.try_stream(0, false), "not while streaming");
        assert!(carrier.try_stream(0, true));
        assert!(
            !carrier.try_stream(100, true),
            "one under way (another panel's timer)"
        );
        assert!(carrier.trial_done());
        assert!(!carrier.trial_done(), "a second report of the same trial");
        assert!(
            !carrier.try_stream(149_999, true),
            "within half the interval"
        );
        assert!(carrier.try_stream(150_000, true));
    }
}
