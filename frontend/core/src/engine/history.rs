//! History loading and catch-up: what to fetch, paging, retrying, and when the
//! stream may open.

use super::{Engine, Out, Phase};
use crate::message::{Message, MessageId};
use crate::protocol::{Command, RequestId, Timer};

/// Which page of history a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The newest `history_limit` messages (nothing held yet).
    Newest,
    /// The page after the newest message held (catching up).
    After,
    /// The newest `max_messages`: the gap is larger than what the panel holds, so
    /// paging through it would only fetch messages to evict them.
    Jump,
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
    /// Messages fetched by the current catch-up, to know when to jump.
    fetched: usize,
    /// The point after which messages may be missing and are not fetched yet:
    /// set when a stream is lost or the bridge asks for a resync, cleared when a
    /// catch-up completes while a stream is open (from then on the stream is
    /// gap-free). Catch-ups start here, not at the newest id held, because live
    /// messages can arrive above a hole.
    gap_since: Option<MessageId>,
    /// Whether a first load succeeded: from then on every fetch continues after
    /// what was seen (id 0 if the channel was empty), never again "the newest".
    baseline: bool,
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
                kind: Kind::After | Kind::Jump,
                ..
            } | State::RetryWaiting {
                kind: Kind::After | Kind::Jump
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
}

impl Engine {
    /// Loads history: the newest page the first time, and from then on everything
    /// after the newest message seen.
    pub(super) fn request_history(&mut self, out: &mut Out) {
        let from = self.resume_point();
        self.history.pending = None;
        self.history.fetched = 0;
        self.history.cursor = from;
        let kind = if self.history.baseline {
            Kind::After
        } else {
            Kind::Newest
        };
        self.fetch(kind, out);
    }

    /// Fetches what the stream may have missed, unless a fetch is under way, in
    /// which case one more runs after it (from the then newest id).
    pub(super) fn request_catch_up(&mut self, out: &mut Out) {
        if self.history.state == State::Idle {
            self.request_history(out);
        } else {
            let from = self.resume_point();
            self.history.pending = Some(
                self.history
                    .pending
                    .map_or(from, |pending| pending.min(from)),
            );
        }
    }

    /// Where a catch-up starts: the oldest unfilled gap, else the newest id held.
    fn resume_point(&self) -> MessageId {
        (self.history.gap_since).unwrap_or_else(|| self.store.newest_id().unwrap_or(MessageId(0)))
    }

    /// Notes that messages after the newest held may be missing.
    pub(super) fn mark_gap(&mut self) {
        let newest = self.store.newest_id().unwrap_or(MessageId(0));
        self.history.remember_gap(newest);
    }

    pub(super) fn retry_history(&mut self, out: &mut Out) {
        if let State::RetryWaiting { kind } = self.history.state {
            self.fetch(kind, out);
        }
    }

    fn fetch(&mut self, kind: Kind, out: &mut Out) {
        let request = self.history.next_request;
        self.history.next_request += 1;
        self.history.state = State::InFlight { request, kind };
        let (after, limit) = match kind {
            Kind::Newest => (None, self.options.history_limit),
            Kind::After => (Some(self.history.cursor), self.options.page_limit),
            Kind::Jump => (None, self.options.max_messages.min(500) as u32),
        };
        out.push(Command::FetchHistory {
            request,
            after,
            limit,
        });
    }

    pub(super) fn history_loaded(
        &mut self,
        request: RequestId,
        messages: Vec<Message>,
        now: u64,
        out: &mut Out,
    ) {
        let Some(kind) = self.history.answering(request) else {
            return;
        };
        self.history.failures = 0;
        self.history.baseline = true;
        let count = messages.len();
        if let Some(last) = messages.iter().map(|message| message.id).max() {
            self.history.cursor = self.history.cursor.max(last);
        }
        let channel = &self.channel;
        let ours = messages
            .into_iter()
            .filter(|message| &message.channel_id == channel);
        if self.store.merge(ours).changed() {
            out.push(Command::ShowMessages);
        }
        self.history.fetched += count;
        if kind == Kind::After && count >= self.options.page_limit as usize {
            let next = if self.history.fetched >= self.options.max_messages {
                Kind::Jump
            } else {
                Kind::After
            };
            return self.fetch(next, out);
        }
        self.history.state = State::Idle;
        if let Some(from) = self.history.pending.take() {
            self.history.fetched = 0;
            self.history.cursor = from;
            return self.fetch(Kind::After, out);
        }
        match self.phase {
            Phase::Loading => self.open_stream(now, out),
            Phase::Open { .. } => self.history.gap_since = None,
            _ => {}
        }
    }

    pub(super) fn history_failed(
        &mut self,
        request: RequestId,
        reason: String,
        now: u64,
        random: f64,
        out: &mut Out,
    ) {
        let Some(kind) = self.history.answering(request) else {
            return;
        };
        self.history.failures += 1;
        if self.history.failures >= self.options.max_attempts {
            return self.stop(format!("Couldn't load messages: {reason}"), out);
        }
        let delay = self
            .options
            .backoff()
            .delay_ms(self.history.failures, random);
        out.push(Command::Log(format!(
            "history request failed ({reason}); retrying in {delay} ms"
        )));
        self.history.state = State::RetryWaiting { kind };
        self.arm(Timer::HistoryRetry, delay, now, out);
    }
}
