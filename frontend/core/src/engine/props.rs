//! Property tests: random event sequences against a simulated bridge and glue.
//!
//! The simulation keeps the bridge's message log and what the glue holds open
//! (the stream, armed timers, history requests in flight). After random faults
//! it heals (no more faults; time passes; Retry is pressed if needed) and checks
//! the promise: every published message is held exactly once, in order, as
//! the bridge has it now (its newest edit, its reactions; no deleted one), and
//! every reply sent is stored once and held once, whatever happened to its posts.

use super::*;
use crate::message::{Deletion, Reaction, ReactionChange};
use crate::protocol::{RequestId, Target, Transport};
use crate::store::message as plain_message;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug)]
enum Action {
    Publish,
    OpenPending,
    DropRetrying,
    Refuse,
    GoZombie,
    FireTimer(u8),
    AnswerHistory {
        ok: bool,
    },
    Heartbeat,
    Gateway(u8),
    Resync,
    Retry,
    Online,
    PageVisible,
    /// The bridge answers 401 (a token expired).
    Unauthorized,
    /// The reader sends a reply.
    Send,
    /// The bridge answers the oldest post: 0 stored and answered, 1 stored
    /// but the answer lost, 2 failed before storing (5xx, network).
    AnswerPost(u8),
    Wait(u16),
    /// Someone edits the message picked among those the bridge has.
    Edit(u8),
    /// Someone deletes it.
    Delete(u8),
    /// One of three people toggles one of two emoji on it.
    React(u8, u8),
    /// The reader edits one of their own messages.
    EditOwn(u8),
    /// The reader deletes one of their own messages.
    DeleteOwn(u8),
    /// A trial EventSource, if one is out, delivers (or not).
    AnswerProbe(bool),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => Just(Action::Publish),
        3 => Just(Action::OpenPending),
        1 => Just(Action::DropRetrying),
        1 => Just(Action::Refuse),
        1 => Just(Action::GoZombie),
        3 => any::<u8>().prop_map(Action::FireTimer),
        3 => any::<bool>().prop_map(|ok| Action::AnswerHistory { ok }),
        1 => Just(Action::Heartbeat),
        1 => any::<u8>().prop_map(Action::Gateway),
        1 => Just(Action::Resync),
        1 => Just(Action::Retry),
        1 => Just(Action::Unauthorized),
        2 => Just(Action::Send),
        3 => any::<u8>().prop_map(Action::AnswerPost),
        1 => Just(Action::Online),
        1 => Just(Action::PageVisible),
        2 => any::<u16>().prop_map(Action::Wait),
        2 => any::<u8>().prop_map(Action::Edit),
        1 => any::<u8>().prop_map(Action::Delete),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(m, r)| Action::React(m, r)),
        2 => any::<u8>().prop_map(Action::EditOwn),
        1 => any::<u8>().prop_map(Action::DeleteOwn),
        1 => any::<bool>().prop_map(Action::AnswerProbe),
    ]
}

/// The stream the glue holds open.
struct Stream {
    id: StreamId,
    /// Whether it is open (not connecting or reconnecting).
    open: bool,
    /// Messages published while it is a zombie never arrive.
    zombie: bool,
    /// Where the bridge resumes on (re)connect: the last id this stream carried.
    resume_after: u64,
}

struct World {
    engine: Engine,
    now: u64,
    random: f64,
    /// The bridge's log: published ids, 1, 2, 3, …
    published: u64,
    stream: Option<Stream>,
    timers: BTreeMap<Timer, u64>,
    requests: Vec<(RequestId, Option<MessageId>, u32)>,
    /// Whether the bridge replays after `last_event_id` at all (some bridges do
    /// not); when it does, only the newest `RETAINED` messages, else `resync`.
    replays: bool,
    /// The oldest id the first history answer showed: the panel promises
    /// everything from there on (older messages are scrolled-back history).
    floor: Option<u64>,
    /// Replies sent, by client id.
    sent: Vec<String>,
    /// Posts in flight: request, client id, content.
    posts: Vec<(RequestId, String, String, Option<Target>)>,
    /// The reader's edits and deletions sent, by client id…
    changes_sent: Vec<String>,
    /// …and those the bridge applied (once each), or found their message gone.
    applied: BTreeSet<String>,
    gone: BTreeSet<String>,
    /// The bridge's messages posted by clients: id → client id.
    client_of: BTreeMap<u64, String>,
    /// Whether edits, deletions and reactions happen (else they are no-ops).
    changes: bool,
    /// Every change as its stream event, by change id (creations too).
    log: BTreeMap<u64, Incoming>,
    /// Every message as the bridge has it now; deleted ones are gone.
    state: BTreeMap<u64, Message>,
    deleted: BTreeSet<u64>,
    /// How many reloads the engine announced.
    discontinuities: usize,
    /// The transports the engine chose, in order.
    transports: Vec<Transport>,
    /// A trial EventSource is out.
    probing: bool,
}

impl World {
    fn new(max_messages: usize) -> Self {
        let options = Options {
            initial_watchdog_ms: 3_000,
            backoff_base_ms: 100,
            backoff_cap_ms: 2_000,
            max_attempts: 4,
            stability_window_ms: 1_000,
            history_limit: 5,
            page_limit: 4,
            max_messages,
            ..Options::default()
        };
        World {
            engine: Engine::new("general", options),
            now: 0,
            random: 0.5,
            published: 0,
            stream: None,
            timers: BTreeMap::new(),
            requests: vec![],
            floor: None,
            replays: true,
            sent: Vec::new(),
            posts: Vec::new(),
            changes_sent: Vec::new(),
            applied: BTreeSet::new(),
            gone: BTreeSet::new(),
            client_of: BTreeMap::new(),
            changes: false,
            log: BTreeMap::new(),
            state: BTreeMap::new(),
            deleted: BTreeSet::new(),
            discontinuities: 0,
            transports: Vec::new(),
            probing: false,
        }
    }

    /// Message `id` as the bridge has it now.
    fn message(&self, id: u64) -> Message {
        self.state[&id].clone()
    }

    /// Creates a message (posted by `client_id`, if a reply) and delivers it.
    fn create(&mut self, client_id: Option<String>) -> Result<u64, TestCaseError> {
        self.published += 1;
        let id = self.published;
        let message = Message {
            client_id: client_id.clone(),
            ..plain_message(id)
        };
        if let Some(client_id) = client_id {
            self.client_of.insert(id, client_id);
        }
        self.state.insert(id, message.clone());
        self.log.insert(id, Incoming::Message(message));
        self.deliver(id)?;
        Ok(id)
    }

    /// The message `pick` chooses among those the bridge has.
    fn pick(&self, pick: u8) -> Option<u64> {
        let ids: Vec<u64> = self.state.keys().copied().collect();
        (!ids.is_empty()).then(|| ids[pick as usize % ids.len()])
    }

    /// A change to a message, given its new id: applied to the bridge's
    /// state, logged as its event, and delivered.
    fn change(&mut self, action: Action) -> Result<(), TestCaseError> {
        let (Action::Edit(pick) | Action::Delete(pick) | Action::React(pick, _)) = action else {
            return Ok(());
        };
        let Some(target) = self.pick(pick).filter(|_| self.changes) else {
            return Ok(());
        };
        self.apply_change(target, action, None)
    }

    /// The reader edits or deletes one of their own messages, if they have one.
    fn change_own(&mut self, pick: u8, delete: bool) -> Result<(), TestCaseError> {
        let own: Vec<u64> = (self.client_of.keys())
            .copied()
            .filter(|id| self.state.contains_key(id))
            .collect();
        if own.is_empty() || !self.changes {
            return Ok(());
        }
        let id = MessageId(own[pick as usize % own.len()]);
        let client_id = format!("change-{}", self.changes_sent.len());
        self.changes_sent.push(client_id.clone());
        let (target, content) = if delete {
            (Target::Delete(id), String::new())
        } else {
            (
                Target::Edit(id),
                format!("{client_id}: the reader's own words"),
            )
        };
        self.feed(Event::Change {
            client_id,
            target,
            content,
        })
    }

    /// Applies a change to message `target` as the bridge does (`content`:
    /// an edit's text, else one of its own), and delivers its event.
    fn apply_change(
        &mut self,
        target: u64,
        action: Action,
        content: Option<String>,
    ) -> Result<(), TestCaseError> {
        self.published += 1;
        let id = self.published;
        let event = match action {
            Action::Edit(_) => {
                let message = self.state.get_mut(&target).unwrap();
                message.content =
                    content.unwrap_or_else(|| format!("message {target}, edited as change {id}"));
                message.edited_at = Some(format!("2026-12-05T00:00:{:02}Z", id % 60));
                message.version = Some(MessageId(id));
                Incoming::Update(message.clone())
            }
            Action::Delete(_) => {
                self.state.remove(&target);
                self.deleted.insert(target);
                Incoming::Delete {
                    deletion: Deletion {
                        id: MessageId(target),
                        channel_id: "general".into(),
                    },
                    change: Some(MessageId(id)),
                }
            }
            Action::React(_, who) => {
                let (emoji, user) = (
                    ["👍", "🎉"][who as usize % 2],
                    ["ann", "bob", "cy"][who as usize / 2 % 3],
                );
                let message = self.state.get_mut(&target).unwrap();
                let reactions = &mut message.reactions;
                let at = match reactions.iter().position(|r| r.emoji == emoji) {
                    Some(at) => at,
                    None => {
                        reactions.push(Reaction {
                            emoji: emoji.into(),
                            ..Reaction::default()
                        });
                        reactions.len() - 1
                    }
                };
                let users = &mut reactions[at].users;
                match users.iter().position(|u| u == user) {
                    Some(i) => drop(users.remove(i)),
                    None => users.push(user.into()),
                }
                let (count, users) = (users.len() as u32, users.clone());
                if count == 0 {
                    reactions.remove(at);
                } else {
                    reactions[at].count = count;
                }
                message.reactions_version = Some(MessageId(id));
                Incoming::Reaction(ReactionChange {
                    message_id: MessageId(target),
                    channel_id: "general".into(),
                    emoji: emoji.into(),
                    count,
                    users,
                    reactions: Some(message.reactions.clone()),
                    version: Some(MessageId(id)),
                    ..ReactionChange::default()
                })
            }
            _ => unreachable!(),
        };
        self.log.insert(id, event);
        self.deliver(id)
    }

    /// The bridge answers the oldest post in flight.
    fn answer_post(&mut self, outcome: u8) -> Result<(), TestCaseError> {
        if self.posts.is_empty() {
            return Ok(());
        }
        let (request, client_id, content, target) = self.posts.remove(0);
        if outcome % 3 == 2 {
            return self.feed(Event::PostAnswered(
                request,
                PostOutcome::Failed("HTTP 503".into()),
            ));
        }
        if let Some(target) = target {
            // Applied once per client id; the answer says how it is now.
            let id = target.id();
            let exists = self.state.contains_key(&id.0);
            if !exists && !self.applied.contains(&client_id) {
                self.gone.insert(client_id.clone());
            }
            if exists && !self.gone.contains(&client_id) && self.applied.insert(client_id.clone()) {
                let action = match target {
                    Target::Edit(_) => Action::Edit(0),
                    Target::Delete(_) => Action::Delete(0),
                    Target::React(..) => unreachable!("the reader reacts in engine::model"),
                };
                self.apply_change(id.0, action, Some(content))?;
            }
            let answer = match (target, self.state.get(&id.0)) {
                _ if !outcome.is_multiple_of(3) => {
                    PostOutcome::Failed("the answer was lost".into())
                }
                // Done (a retry of it too), or gone already: a 404 that
                // the engine takes as done once it knows the message gone.
                (Target::Delete(_), _) if self.applied.contains(&client_id) => PostOutcome::Deleted,
                (_, None) => PostOutcome::Refused(format!("no message {id}")),
                (_, Some(message)) => PostOutcome::Stored(message.clone()),
            };
            return self.feed(Event::PostAnswered(request, answer));
        }
        // Stored once: a client id seen before gets the original back.
        let known = (self.client_of.iter())
            .find(|(_, c)| **c == client_id)
            .map(|(id, _)| *id);
        let id = match known {
            Some(id) => id,
            None => self.create(Some(client_id))?,
        };
        let outcome = if self.deleted.contains(&id) {
            PostOutcome::Deleted // 410: stored, and deleted since
        } else if outcome.is_multiple_of(3) {
            PostOutcome::Stored(self.message(id))
        } else {
            PostOutcome::Failed("the answer was lost".into())
        };
        self.feed(Event::PostAnswered(request, outcome))
    }

    /// Feeds one event and carries out the commands, checking the invariants.
    fn feed(&mut self, event: Event) -> Result<(), TestCaseError> {
        let was_stopped = self.engine.view().stopped;
        // Retry, and coming back to the page, restart a stopped panel.
        let restarting = matches!(
            event,
            Event::RetryPressed | Event::Online | Event::PageVisible | Event::Unmount
        );
        let commands = self.engine.handle(event.clone(), self.now, self.random);
        if was_stopped && !restarting {
            // Only the outbox may change (a reply written while stopped waits).
            prop_assert!(
                (commands.iter()).all(|c| matches!(
                    c,
                    Command::ShowOutbox
                        | Command::ShowMessages
                        | Command::ShowUnread
                        | Command::PutRead { .. }
                        | Command::ArmTimer(Timer::ReadMark, _)
                        | Command::Deleted(_)
                        | Command::CancelTimer(_)
                        | Command::Log(_)
                )),
                "stopped, yet {event:?} gave {commands:?}"
            );
        }
        for command in commands {
            match command {
                Command::OpenStream {
                    stream,
                    last_event_id,
                } => {
                    prop_assert!(self.stream.is_none(), "a second EventSource was opened");
                    let resume_after = last_event_id.map_or(0, |id| id.0);
                    self.stream = Some(Stream {
                        id: stream,
                        open: false,
                        zombie: false,
                        resume_after,
                    });
                }
                Command::CloseStream(stream) => {
                    prop_assert_eq!(self.stream.as_ref().map(|s| s.id), Some(stream));
                    self.stream = None;
                }
                Command::ArmTimer(timer, after) => {
                    self.timers.insert(timer, self.now + after);
                }
                Command::CancelTimer(timer) => {
                    self.timers.remove(&timer);
                }
                Command::FetchHistory {
                    request,
                    after,
                    limit,
                } => self.requests.push((request, after, limit)),
                Command::StreamSilent(stream) => {
                    prop_assert_eq!(self.stream.as_ref().map(|s| s.id), Some(stream));
                }
                Command::PostMessage {
                    request,
                    client_id,
                    content,
                } => self.sent_request(request, client_id, content, None)?,
                Command::ChangeMessage {
                    request,
                    client_id,
                    target,
                    content,
                } => self.sent_request(request, client_id, content, Some(target))?,
                Command::ShowOutbox | Command::EditDraft(_) | Command::FetchOlder { .. } => {}
                Command::AuthExpired => {
                    prop_assert!(self.engine.view().stopped, "auth expired without stopping");
                }
                Command::Discontinuity => self.discontinuities += 1,
                Command::UseTransport(transport) => self.transports.push(transport),
                // A new trial replaces one still out (the glue holds one).
                Command::Probe { .. } => self.probing = true,
                Command::Deleted(ids) => {
                    for id in ids {
                        prop_assert!(self.deleted.contains(&id.0), "{} is not deleted", id);
                    }
                }
                Command::ShowMessages
                | Command::ShowStatus(_)
                | Command::ShowPresence
                | Command::ShowTyping
                | Command::ShowUnread
                | Command::FetchRead
                | Command::PutRead { .. }
                | Command::Log(_) => {}
            }
        }
        let view = self.engine.view();
        if view.label == Label::Live {
            prop_assert!(
                self.stream.as_ref().is_some_and(|s| s.open),
                "Live without an open stream"
            );
        }
        prop_assert_eq!(
            self.engine.current_stream(),
            self.stream.as_ref().map(|s| s.id)
        );
        Ok(())
    }

    fn sent_request(
        &mut self,
        request: RequestId,
        client_id: String,
        content: String,
        target: Option<Target>,
    ) -> Result<(), TestCaseError> {
        let view = self.engine.view();
        prop_assert_eq!(view.label, Label::Live, "a reply sent while not Live");
        // One at a time, but a post let go of when the panel
        // stopped may still be on its way: the network keeps it.
        prop_assert!(
            (self.posts.iter()).all(|(r, _, _, _)| *r < request),
            "a post request reused"
        );
        self.posts.push((request, client_id, content, target));
        Ok(())
    }

    fn deliver(&mut self, id: u64) -> Result<(), TestCaseError> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(());
        };
        if !stream.open || stream.zombie {
            return Ok(());
        }
        stream.resume_after = id;
        let stream = stream.id;
        // A creation replays as the message is now (the bridge keeps
        // messages, not their first states); a deleted one not at all.
        let event = match &self.log[&id] {
            Incoming::Message(_) if self.deleted.contains(&id) => return Ok(()),
            Incoming::Message(_) => Incoming::Message(self.message(id)),
            other => other.clone(),
        };
        self.feed(Event::Received(stream, event))
    }

    fn act(&mut self, action: Action) -> Result<(), TestCaseError> {
        self.now += 7;
        let current = self.stream.as_ref().map(|s| (s.id, s.open));
        match action {
            Action::Publish => drop(self.create(None)?),
            Action::Edit(_) | Action::Delete(_) | Action::React(..) => self.change(action)?,
            Action::EditOwn(pick) => self.change_own(pick, false)?,
            Action::DeleteOwn(pick) => self.change_own(pick, true)?,
            Action::AnswerProbe(delivered) => {
                if std::mem::take(&mut self.probing) {
                    self.feed(Event::ProbeDone(delivered))?;
                }
            }
            Action::OpenPending => {
                if let Some((id, false)) = current {
                    let stream = self.stream.as_mut().unwrap();
                    stream.open = true;
                    let from = stream.resume_after;
                    self.feed(Event::StreamOpened(id))?;
                    if self.replays && from + RETAINED >= self.published {
                        for change in from + 1..=self.published {
                            self.deliver(change)?;
                        }
                    } else if self.replays && self.stream.as_ref().is_some_and(|s| s.id == id) {
                        self.feed(Event::Received(
                            id,
                            Incoming::Resync {
                                reason: "history_gap".into(),
                            },
                        ))?;
                    }
                    if self.stream.as_ref().is_some_and(|s| s.id == id && s.open) {
                        self.feed(status_event(id, Gateway::Connected))?;
                    }
                }
            }
            Action::DropRetrying | Action::Refuse => {
                if let Some((id, _)) = current {
                    self.stream.as_mut().unwrap().open = false;
                    let state = if matches!(action, Action::Refuse) {
                        ReadyState::Closed
                    } else {
                        ReadyState::Connecting
                    };
                    self.feed(Event::StreamError(id, state))?;
                }
            }
            Action::GoZombie => {
                if let Some(stream) = self.stream.as_mut() {
                    stream.zombie = true;
                }
            }
            Action::FireTimer(pick) => self.fire_timer(pick as usize)?,
            Action::AnswerHistory { ok } => self.answer_history(ok)?,
            Action::Heartbeat => {
                if let Some((id, true)) = current {
                    if !self.stream.as_ref().unwrap().zombie {
                        self.feed(Event::Received(id, Incoming::Heartbeat))?;
                    }
                }
            }
            Action::Gateway(pick) => {
                if let Some((id, true)) = current {
                    let gateway = [
                        Gateway::Connected,
                        Gateway::Reconnecting,
                        Gateway::Disconnected,
                    ][pick as usize % 3];
                    self.feed(status_event(id, gateway))?;
                }
            }
            Action::Resync => {
                if let Some((id, true)) = current {
                    self.feed(Event::Received(
                        id,
                        Incoming::Resync {
                            reason: "lagged".into(),
                        },
                    ))?;
                }
            }
            Action::Retry => self.feed(Event::RetryPressed)?,
            Action::Unauthorized => {
                let was_stopped = self.engine.view().stopped;
                self.feed(Event::Unauthorized)?;
                let view = self.engine.view();
                prop_assert!(view.stopped, "a 401 must stop the panel at once");
                if !was_stopped {
                    prop_assert_eq!(view.error.as_deref(), Some(crate::engine::SIGN_IN_EXPIRED));
                }
            }
            Action::Online => self.feed(Event::Online)?,
            Action::Send => {
                let client_id = format!("reply-{}", self.sent.len());
                self.sent.push(client_id.clone());
                self.feed(Event::Send {
                    client_id,
                    content: "a reply".into(),
                })?;
            }
            Action::AnswerPost(outcome) => self.answer_post(outcome)?,
            Action::PageVisible => self.feed(Event::PageVisible)?,
            Action::Wait(ms) => self.now += ms as u64,
        }
        Ok(())
    }

    fn fire_timer(&mut self, pick: usize) -> Result<(), TestCaseError> {
        if self.timers.is_empty() {
            return Ok(());
        }
        let (&timer, &due) = self.timers.iter().nth(pick % self.timers.len()).unwrap();
        self.timers.remove(&timer);
        self.now = self.now.max(due);
        self.feed(Event::TimerFired(timer))
    }

    fn answer_history(&mut self, ok: bool) -> Result<(), TestCaseError> {
        if self.requests.is_empty() {
            return Ok(());
        }
        let (request, after, limit) = self.requests.remove(0);
        if !ok {
            return self.feed(Event::HistoryFailed(request, "HTTP 503".into()));
        }
        // The first load the engine takes (not a late answer it ignores, say
        // of a load abandoned by a 401) sets the oldest message it must hold.
        let had_baseline = self.engine.history.baseline;
        let Some(after) = after else {
            let page: Vec<u64> = self
                .state
                .keys()
                .rev()
                .take(limit as usize)
                .rev()
                .copied()
                .collect();
            let messages = page.iter().map(|id| self.message(*id)).collect();
            let reloads = self.discontinuities;
            self.feed(Event::HistoryLoaded(request, messages))?;
            let oldest = page.first().copied().unwrap_or(self.published + 1);
            if (!had_baseline && self.engine.history.baseline) || self.discontinuities > reloads {
                self.floor = Some(oldest);
            }
            return Ok(());
        };
        // The changes route: coalesced, paged, and a gap past what it keeps.
        if after.0 + KNOWN < self.published {
            let page = crate::wire::ChangePage {
                resync: Some("history_gap".into()),
                ..Default::default()
            };
            return self.feed(Event::ChangesLoaded(request, page));
        }
        let records: Vec<u64> = self.log.range(after.0 + 1..).map(|(id, _)| *id).collect();
        let taken = &records[..records.len().min(limit as usize)];
        let mut touched = BTreeSet::new();
        for id in taken {
            touched.insert(match &self.log[id] {
                Incoming::Message(m) | Incoming::Update(m) => m.id.0,
                Incoming::Delete { deletion, .. } => deletion.id.0,
                Incoming::Reaction(r) => r.message_id.0,
                _ => unreachable!(),
            });
        }
        let page = crate::wire::ChangePage {
            messages: (touched.iter())
                .filter_map(|id| self.state.get(id).cloned())
                .collect(),
            deleted: (touched.iter())
                .filter(|id| self.deleted.contains(id))
                .map(|id| MessageId(*id))
                .collect(),
            last: taken.last().map(|id| MessageId(*id)),
            more: taken.len() < records.len(),
            resync: None,
        };
        self.feed(Event::ChangesLoaded(request, page))
    }

    /// No more faults: answer, open and wait until Live with nothing in flight.
    fn heal(&mut self) -> Result<(), TestCaseError> {
        if let Some(stream) = self.stream.as_mut() {
            stream.zombie = stream.zombie && stream.open; // a zombie stays one until replaced
        }
        for _ in 0..500 {
            let view = self.engine.view();
            let settled = view.label == Label::Live
                && self.requests.is_empty()
                && self.posts.is_empty()
                && self.engine.outbox().is_empty()
                && !self.timers.contains_key(&Timer::HistoryRetry)
                && self.stream.as_ref().is_some_and(|s| !s.zombie);
            if settled {
                return Ok(());
            }
            let failed = (self.engine.outbox().iter())
                .find(|o| o.failed.is_some())
                .map(|o| o.client_id.clone());
            if let Some(client_id) = failed {
                self.feed(Event::Discard(client_id))?; // the reader reads why, and discards
            } else if view.stopped {
                self.feed(Event::RetryPressed)?;
            } else if !self.requests.is_empty() {
                self.answer_history(true)?;
            } else if !self.posts.is_empty() {
                self.answer_post(0)?;
            } else if self.stream.as_ref().is_some_and(|s| !s.open) {
                self.act(Action::OpenPending)?;
            } else if view.label != Label::Live
                && self.stream.as_ref().is_some_and(|s| s.open && !s.zombie)
            {
                self.act(Action::Gateway(0))?;
            } else {
                let earliest = self
                    .timers
                    .iter()
                    .min_by_key(|(_, &due)| due)
                    .map(|(&t, _)| t);
                let pick = self
                    .timers
                    .keys()
                    .position(|&t| Some(t) == earliest)
                    .unwrap_or(0);
                self.fire_timer(pick)?;
            }
        }
        Err(TestCaseError::fail(format!(
            "did not settle: {:?}",
            self.engine.view()
        )))
    }
}

/// How many changes the simulated bridge can replay on a stream.
const RETAINED: u64 = 3;
/// How many changes its catch-up route knows.
const KNOWN: u64 = 12;

/// A world holding at most `max_messages`, mounted, through `actions`, then
/// healed.
fn run(
    max_messages: usize,
    random: f64,
    replays: bool,
    changes: bool,
    actions: Vec<Action>,
) -> Result<World, TestCaseError> {
    let mut world = World::new(max_messages);
    world.random = random;
    world.replays = replays;
    world.changes = changes;
    world.feed(Event::Mount)?;
    for action in actions {
        world.act(action)?;
    }
    world.heal()?;
    Ok(world)
}

fn status_event(stream: StreamId, gateway: Gateway) -> Event {
    Event::Received(
        stream,
        Incoming::Status {
            gateway,
            heartbeat_interval_ms: Some(1_000),
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn nothing_is_lost_or_duplicated_and_invariants_hold(
        actions in proptest::collection::vec(action(), 0..120),
        random in 0.0f64..1.0,
        replays in any::<bool>(),
    ) {
        let world = run(1_000, random, replays, false, actions)?;
        let held: Vec<u64> = world.engine.messages().map(|m| m.id.0).collect();
        let expected: Vec<u64> = (world.floor.unwrap_or(1)..=world.published).collect();
        prop_assert_eq!(held, expected);
    }

    /// Edits, deletions and reactions among every fault: once healed, the
    /// panel holds every message from its floor up as the bridge has it now,
    /// version by version, and no deleted one.
    #[test]
    fn every_change_ends_as_the_bridge_has_it(
        actions in proptest::collection::vec(action(), 0..150),
        random in 0.0f64..1.0,
        replays in any::<bool>(),
    ) {
        let world = run(1_000, random, replays, true, actions)?;
        let held: Vec<Message> = world.engine.messages().map(|m| (**m).clone()).collect();
        let floor = world.floor.unwrap_or(1);
        let expected: Vec<Message> = world.state.range(floor..).map(|(_, m)| m.clone()).collect();
        prop_assert_eq!(held, expected);
        // Every edit and deletion the reader made went out: applied once,
        // or found its message gone (the bridge applies each client id once).
        for client_id in &world.changes_sent {
            let applied = world.applied.contains(client_id);
            let gone = world.gone.contains(client_id);
            prop_assert!(applied != gone, "{}: applied {}, gone {}", client_id, applied, gone);
        }
    }

    #[test]
    fn the_replies_are_held_once(
        actions in proptest::collection::vec(action(), 0..120),
        random in 0.0f64..1.0,
        replays in any::<bool>(),
    ) {
        let world = run(1_000, random, replays, false, actions)?;
        // Every reply: stored once by the bridge, held once by the panel.
        for client_id in &world.sent {
            let stored = world.client_of.values().filter(|c| *c == client_id).count();
            prop_assert_eq!(stored, 1, "{} stored {} times", client_id, stored);
            let held = (world.engine.messages())
                .filter(|m| m.client_id.as_deref() == Some(client_id.as_str()))
                .count();
            prop_assert_eq!(held, 1, "{} held {} times", client_id, held);
        }
    }

    #[test]
    fn a_small_panel_holds_exactly_the_newest(actions in proptest::collection::vec(action(), 0..120)) {
        let world = run(6, 0.5, true, false, actions)?;
        let held: Vec<u64> = world.engine.messages().map(|m| m.id.0).collect();
        let oldest = (world.published.saturating_sub(6) + 1).max(world.floor.unwrap_or(1));
        let expected: Vec<u64> = (oldest..=world.published).collect();
        prop_assert_eq!(held, expected);
    }

    #[test]
    fn unmount_releases_everything(actions in proptest::collection::vec(action(), 0..60)) {
        let mut world = World::new(50);
        world.feed(Event::Mount)?;
        for action in actions {
            world.act(action)?;
        }
        world.feed(Event::Unmount)?;
        prop_assert!(world.stream.is_none(), "a stream outlived the panel");
        prop_assert!(world.timers.is_empty(), "timers outlived the panel: {:?}", world.timers);
        for event in [Event::Mount, Event::RetryPressed, Event::Online, Event::PageVisible] {
            prop_assert!(world.engine.handle(event, world.now, 0.5).is_empty());
        }
    }
}
