//! History loading and catch-up: what to fetch, paging and retrying.
//!
//! [`History`] decides and the engine acts: each step answers with the fetch
//! to make ([`Command::FetchHistory`]) or with what the answer led to
//! ([`Loaded`], [`Failed`]); opening the stream, arming the retry timer and
//! giving up stay the engine's.

use crate::message::MessageId;
use crate::options::Options;
use crate::protocol::{Command, RequestId};

/// Which page of history a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// The newest `history_limit` messages (nothing held yet).
    Newest,
    /// The page of changes after the cursor (catching up): messages created
    /// and changed, and deletions.
    After,
    /// The newest `max_messages`, shown instead of what is held: the bridge
    /// no longer knows every change since the cursor, or the gap is larger
    /// than what the panel holds (paging through it would only fetch
    /// messages to evict them).
    Reload,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Idle,
    InFlight {
        request: RequestId,
        kind: Kind,
    },
    RetryWaiting {
        kind: Kind,
    },
}

/// The history side of the engine.
#[derive(Debug, Default)]
pub(super) struct History {
    /// What is under way.
    state: State,
    /// Id of the next request.
    next_request: RequestId,
    /// Consecutive failed requests.
    failures: u32,
    /// Where the current catch-up continues from: its starting point, then the
    /// last id of each page. Not the newest id held: live messages that arrive
    /// during a catch-up must not make it skip the rest of the gap.
    cursor: MessageId,
    /// A catch-up was asked for while another was under way: run one more, from
    /// the earliest point asked for.
    pending: Option<MessageId>,
    /// Messages fetched by the current catch-up, to know when to reload.
    fetched: usize,
    /// The point after which messages may be missing and are not fetched yet:
    /// set when a stream is lost or the bridge asks for a resync, cleared when a
    /// catch-up completes while a stream is open (from then on the stream is
    /// gap-free). Catch-ups start here, not at the newest id held, because live
    /// messages can arrive above a hole.
    gap_since: Option<MessageId>,
    /// Whether a first load succeeded: from then on every fetch continues after
    /// what was seen (id 0 if the channel was empty), never again "the newest".
    pub(super) baseline: bool,
}

/// What a history answer led to.
#[derive(Debug, PartialEq)]
pub(super) enum Loaded {
    /// The next page (or a queued catch-up) is to be fetched.
    Fetch(Command),
    /// Caught up: nothing more to fetch.
    Done,
}

/// What a failed history request led to.
#[derive(Debug, PartialEq)]
pub(super) enum Failed {
    /// Try again after this many milliseconds.
    RetryIn(u64),
    /// Too many failures in a row: stop.
    GiveUp,
}

impl History {
    pub(super) fn reset_failures(&mut self) {
        self.failures = 0;
    }

    /// Gives up what is under way (late answers will not match and are
    /// ignored), but remembers where an unfinished catch-up stood: that hole
    /// must be fetched by the next one.
    pub(super) fn abandon(&mut self) {
        if matches!(
            self.state,
            State::InFlight {
                kind: Kind::After | Kind::Reload,
                ..
            } | State::RetryWaiting {
                kind: Kind::After | Kind::Reload
            }
        ) {
            self.remember_gap(self.cursor);
        }
        if let Some(pending) = self.pending.take() {
            self.remember_gap(pending);
        }
        self.state = State::Idle;
    }

    /// The kind of the request in flight, if `request` is it (else a late answer).
    fn answering(&self, request: RequestId) -> Option<Kind> {
        match self.state {
            State::InFlight {
                request: current,
                kind,
            } if current == request => Some(kind),
            _ => None,
        }
    }

    fn remember_gap(&mut self, since: MessageId) {
        self.gap_since = Some(self.gap_since.map_or(since, |gap| gap.min(since)));
    }

    /// Loads history: the newest page the first time, and from then on
    /// everything after `from` (the oldest unfilled gap, else the newest id
    /// held).
    pub(super) fn request(&mut self, from: MessageId, options: &Options) -> Command {
        self.pending = None;
        self.fetched = 0;
        self.cursor = from;
        let kind = if self.baseline {
            Kind::After
        } else {
            Kind::Newest
        };
        self.fetch(kind, options)
    }

    /// Fetches what the stream may have missed after `from`, unless a fetch is
    /// under way, in which case one more runs after it.
    pub(super) fn request_catch_up(
        &mut self,
        from: MessageId,
        options: &Options,
    ) -> Option<Command> {
        if self.state == State::Idle {
            return Some(self.request(from, options));
        }
        self.pending = Some(self.pending.map_or(from, |pending| pending.min(from)));
        None
    }

    /// Where a catch-up starts: the oldest unfilled gap, else `newest` (the
    /// newest id held).
    pub(super) fn resume_point(&self, newest: Option<MessageId>) -> MessageId {
        self.gap_since
            .unwrap_or_else(|| newest.unwrap_or(MessageId(0)))
    }

    /// Notes that messages after `newest` (the newest held) may be missing.
    pub(super) fn mark_gap(&mut self, newest: Option<MessageId>) {
        self.remember_gap(newest.unwrap_or(MessageId(0)));
    }

    /// A catch-up completed while a stream was open: from then on the stream
    /// is gap-free.
    pub(super) fn clear_gap(&mut self) {
        self.gap_since = None;
    }

    /// The retry the timer was armed for, if one waits.
    pub(super) fn retry(&mut self, options: &Options) -> Option<Command> {
        match self.state {
            State::RetryWaiting { kind } => Some(self.fetch(kind, options)),
            _ => None,
        }
    }

    fn fetch(&mut self, kind: Kind, options: &Options) -> Command {
        let request = self.next_request;
        self.next_request += 1;
        self.state = State::InFlight { request, kind };
        let (after, limit) = match kind {
            Kind::Newest => (None, options.history_limit),
            Kind::After => (Some(self.cursor), options.page_limit),
            Kind::Reload => (None, options.max_messages.min(500) as u32),
        };
        Command::FetchHistory {
            request,
            after,
            limit,
        }
    }

    /// The kind of page `request` asked for and the point it continues
    /// from, if it is the request under way.
    pub(super) fn asked(&self, request: RequestId) -> Option<(Kind, MessageId)> {
        Some((self.answering(request)?, self.cursor))
    }

    /// The bridge cannot replay what the catch-up asked for: the newest
    /// page replaces what is held.
    pub(super) fn reload(&mut self, options: &Options) -> Command {
        self.pending = None;
        self.fetched = 0;
        self.fetch(Kind::Reload, options)
    }

    /// Takes the answer to `request` (`None`: a late answer, to ignore) of
    /// `count` messages and changes, complete through `last`, with `more`
    /// to follow, and says what comes next. The caller applies the answer.
    pub(super) fn loaded(
        &mut self,
        request: RequestId,
        count: usize,
        last: Option<MessageId>,
        more: bool,
        options: &Options,
    ) -> Option<Loaded> {
        let kind = self.answering(request)?;
        self.failures = 0;
        self.baseline = true;
        // A page that says more follows must end past where it was asked
        // from: otherwise the same page would be asked for again, for ever.
        let moved = last.is_some_and(|last| last > self.cursor);
        if let Some(last) = last {
            self.cursor = self.cursor.max(last);
        }
        self.fetched += count;
        if kind == Kind::After && more {
            let next = if self.fetched >= options.max_messages || !moved {
                Kind::Reload
            } else {
                Kind::After
            };
            return Some(Loaded::Fetch(self.fetch(next, options)));
        }
        self.state = State::Idle;
        if let Some(from) = self.pending.take() {
            self.fetched = 0;
            self.cursor = from;
            return Some(Loaded::Fetch(self.fetch(Kind::After, options)));
        }
        Some(Loaded::Done)
    }

    /// Takes the failure of `request` (`None`: a late answer, to ignore), with
    /// `random` for the backoff's jitter.
    pub(super) fn failed(
        &mut self,
        request: RequestId,
        options: &Options,
        random: f64,
    ) -> Option<Failed> {
        let kind = self.answering(request)?;
        self.failures += 1;
        if self.failures >= options.max_attempts {
            return Some(Failed::GiveUp);
        }
        self.state = State::RetryWaiting { kind };
        Some(Failed::RetryIn(
            options.backoff().delay_ms(self.failures, random),
        ))
    }
}
