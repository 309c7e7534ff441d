//! Who is here: per channel, the people whose streams or polls list it.
//!
//! A person is present in a channel while at least one of their streams or
//! polls lists it, however many (ten tabs and two devices are one presence).
//! Without a name (no `--users`, no `as=`) a connection is counted, not named.
//! Leaving waits for `--presence-grace`: a stream that ends starts its
//! person's grace, and a stream of theirs that opens within it (a reload, a
//! tab handing the shared stream to another) cancels it, so nobody ever sees
//! them leave and come back. An anonymous connection that ends leaves a slot
//! for the grace, taken by the next anonymous one (its reload) instead of
//! counting it twice.
//!
//! A poll holds its person while it waits and for the grace plus
//! [`POLL_REASK`] after it is answered: a polling client asks again as soon
//! as an answer arrives, and that second is the way back and forth.
//!
//! Every change is announced to the channel's streams and polls as one
//! `presence` frame, built once and shared by all of them (never per
//! stream), at most once per [`DEBOUNCE`] per channel: a reconnect storm of
//! thousands of streams costs each stream a few frames, not one per newcomer.
//! A stream opens with the channel's current frame, built again only after a
//! change. A frame that was built before a newer opening frame can still
//! reach a stream after it; the change that made it older is then still to
//! be announced, so the stream holds the right set again within [`DEBOUNCE`].

use crate::hub::Hub;
use bytes::Bytes;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Most names a presence frame carries (`count` stays exact).
pub const MAX_SHOWN: usize = 100;
/// At most one presence frame per channel per this long.
pub const DEBOUNCE: Duration = Duration::from_millis(250);
/// What a poll holds its person beyond the grace: the time its client takes
/// to ask again after an answer.
pub const POLL_REASK: Duration = Duration::from_secs(1);

/// What holds a person in a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    Stream,
    Poll,
}

/// Presence in every channel someone holds; nothing for the others.
pub struct Presence {
    grace: Duration,
    state: Mutex<State>,
    /// Wakes the task that announces changes ([`run`]) for a new deadline.
    wake: Notify,
}

#[derive(Default)]
struct State {
    channels: HashMap<String, Here>,
    /// When to look at a channel again (a grace ending, a frame due).
    timers: BinaryHeap<Reverse<(Instant, String)>>,
}

/// One channel's people.
#[derive(Default)]
struct Here {
    /// Named people, in name order (the first [`MAX_SHOWN`] are shown).
    named: BTreeMap<Arc<str>, Holds>,
    /// Anonymous connections open now.
    anonymous: u32,
    /// When each anonymous connection that ended stops counting.
    anonymous_leaving: Vec<Instant>,
    /// `{"channel_id","users","count"}` and its frame as of now; `None`
    /// after a change, until asked for.
    data: Option<(Bytes, Bytes)>,
    /// Changed since the last frame went out.
    pending: bool,
    /// The next frame goes no earlier than this.
    quiet_until: Option<Instant>,
    /// A look at the channel is already scheduled for then.
    flush_at: Option<Instant>,
}

/// A presence event's data, in the contract's order.
#[derive(serde::Serialize)]
struct Data<'a> {
    channel_id: &'a str,
    users: Vec<&'a str>,
    count: usize,
}

struct Holds {
    open: u32,
    /// Set when the last one ended: gone from then on.
    leaves_at: Option<Instant>,
}

impl Here {
    fn count(&self) -> usize {
        self.named.len() + self.anonymous as usize + self.anonymous_leaving.len()
    }

    fn is_empty(&self) -> bool {
        self.named.is_empty()
            && self.anonymous == 0
            && self.anonymous_leaving.is_empty()
            && !self.pending
    }

    /// The data and frame as of now, built once per change.
    fn data(&mut self, channel: &str) -> &(Bytes, Bytes) {
        self.data.get_or_insert_with(|| {
            let users: Vec<&str> = self.named.keys().take(MAX_SHOWN).map(|k| &**k).collect();
            let count = self.named.len() + self.anonymous as usize + self.anonymous_leaving.len();
            let data = Data {
                channel_id: channel,
                users,
                count,
            };
            let data = serde_json::to_string(&data).unwrap_or_default();
            (Bytes::from(data.clone()), crate::sse::presence(&data))
        })
    }

    fn changed(&mut self) {
        self.data = None;
        self.pending = true;
    }

    /// Ends the graces that are over; whether anyone left.
    fn expire(&mut self, now: Instant) -> bool {
        let before = self.count();
        (self.named).retain(|_, holds| holds.open > 0 || holds.leaves_at.is_none_or(|t| t > now));
        self.anonymous_leaving.retain(|until| *until > now);
        self.count() != before
    }
}

impl Presence {
    pub fn new(grace: Duration) -> Presence {
        Presence {
            grace,
            state: Mutex::default(),
            wake: Notify::new(),
        }
    }

    /// `person` (anonymous: `None`) opened a stream or poll of `channels`.
    pub fn join(&self, channels: &[String], person: Option<&Arc<str>>) {
        self.join_at(channels, person, Instant::now());
    }

    fn join_at(&self, channels: &[String], person: Option<&Arc<str>>, now: Instant) {
        let mut state = self.state.lock().unwrap();
        for name in channels {
            let here = state.channels.entry(name.clone()).or_default();
            let changed = match person {
                Some(person) => {
                    let holds = here.named.entry(person.clone()).or_insert(Holds {
                        open: 0,
                        leaves_at: None,
                    });
                    holds.open += 1;
                    let new = holds.open == 1 && holds.leaves_at.is_none();
                    holds.leaves_at = None;
                    new
                }
                None => {
                    here.anonymous += 1;
                    // A connection within an ended one's grace is taken as its
                    // return (a reload): the count does not move.
                    here.anonymous_leaving.pop().is_none()
                }
            };
            if changed {
                here.changed();
                self.schedule(&mut state, name, now);
            }
        }
    }

    /// A stream or poll of `person` of `channels` ended: they leave once
    /// the grace (and for a poll, the re-ask time) has passed without another.
    pub fn leave(&self, channels: &[String], person: Option<&Arc<str>>, holder: Holder) {
        self.leave_at(channels, person, holder, Instant::now());
    }

    fn leave_at(
        &self,
        channels: &[String],
        person: Option<&Arc<str>>,
        holder: Holder,
        now: Instant,
    ) {
        let linger = match holder {
            Holder::Stream => self.grace,
            Holder::Poll => self.grace + POLL_REASK,
        };
        let until = now + linger;
        let mut state = self.state.lock().unwrap();
        for name in channels {
            let Some(here) = state.channels.get_mut(name) else {
                continue;
            };
            match person {
                Some(person) => match here.named.get_mut(person) {
                    Some(holds) if holds.open > 0 => {
                        holds.open -= 1;
                        if holds.open == 0 {
                            holds.leaves_at = Some(until);
                        }
                    }
                    _ => continue,
                },
                None if here.anonymous > 0 => {
                    here.anonymous -= 1;
                    here.anonymous_leaving.push(until);
                }
                None => continue,
            }
            state.timers.push(Reverse((until, name.clone())));
        }
        drop(state);
        self.wake.notify_one();
    }

    /// Makes sure the channel's pending change goes out: at once, or when
    /// its quiet time is over. Under the state lock.
    fn schedule(&self, state: &mut State, channel: &str, now: Instant) {
        let Some(here) = state.channels.get_mut(channel) else {
            return;
        };
        if here.flush_at.is_some() {
            return;
        }
        let at = here.quiet_until.map_or(now, |quiet| quiet.max(now));
        here.flush_at = Some(at);
        state.timers.push(Reverse((at, channel.to_owned())));
        self.wake.notify_one();
    }

    /// The channels' frames as of now, one per channel, for a stream or
    /// poll that opens (after its `status`).
    pub fn opening(&self, channels: &[String]) -> Vec<Bytes> {
        let mut state = self.state.lock().unwrap();
        let frames = channels
            .iter()
            .map(|name| match state.channels.get_mut(name) {
                Some(here) => here.data(name).1.clone(),
                None => Here::default().data(name).1.clone(),
            });
        frames.collect()
    }

    /// `{"channel_id","users","count"}` of a channel now (the presence route).
    pub fn data(&self, channel: &str) -> Bytes {
        let mut state = self.state.lock().unwrap();
        match state.channels.get_mut(channel) {
            Some(here) => here.data(channel).0.clone(),
            None => Here::default().data(channel).0.clone(),
        }
    }

    /// When the next look at a channel is due, if any is.
    fn next_due(&self) -> Option<Instant> {
        let state = self.state.lock().unwrap();
        state.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// Everything due by `now`: graces that ended, and the frames to send
    /// (channel and frame), each channel's at most once per [`DEBOUNCE`].
    fn due(&self, now: Instant) -> Vec<(String, Bytes)> {
        let mut state = self.state.lock().unwrap();
        let mut looked: Vec<String> = Vec::new();
        while let Some(Reverse((at, _))) = state.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, channel))) = state.timers.pop() else {
                break;
            };
            if !looked.contains(&channel) {
                looked.push(channel);
            }
        }
        let mut frames = Vec::new();
        for channel in looked {
            let Some(here) = state.channels.get_mut(&channel) else {
                continue;
            };
            if here.flush_at.is_some_and(|at| at <= now) {
                here.flush_at = None;
            }
            if here.expire(now) {
                here.changed();
            }
            if here.pending && here.quiet_until.is_none_or(|quiet| quiet <= now) {
                here.pending = false;
                here.quiet_until = Some(now + DEBOUNCE);
                frames.push((channel.clone(), here.data(&channel).1.clone()));
            }
            if here.pending {
                self.schedule(&mut state, &channel, now);
            } else if here.is_empty() {
                // Nobody left, and they have been told: nothing stays behind.
                state.channels.remove(&channel);
            }
        }
        frames
    }

    /// Channels with presence state now (for tests).
    pub fn channel_count(&self) -> usize {
        self.state.lock().unwrap().channels.len()
    }

    /// Graces and frames still to come (for tests: once none is, every
    /// change so far has been announced).
    pub fn timers_pending(&self) -> usize {
        self.state.lock().unwrap().timers.len()
    }
}

/// `GET /api/channels/{channel}/presence`: what a `presence` event of the
/// channel carries now, `{"channel_id","users","count"}`.
pub async fn here(
    axum::extract::State(hub): axum::extract::State<Arc<Hub>>,
    path: Result<
        axum::extract::Path<crate::extract::ChannelPath>,
        axum::extract::rejection::PathRejection,
    >,
) -> Result<axum::response::Response, crate::error::ApiError> {
    let channel = crate::extract::channel_from(path)?;
    let mut response =
        axum::response::Response::new(axum::body::Body::from(hub.presence.data(&channel)));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// Announces presence changes until the bridge shuts down: wakes for each
/// grace that ends and each frame that is due, and hands each frame to its
/// channel's streams and polls.
pub async fn run(hub: Arc<Hub>) {
    loop {
        let next = hub.presence.next_due();
        let sleep = tokio::time::sleep_until(next.unwrap_or_else(Instant::now));
        tokio::select! {
            _ = hub.shutdown.cancelled() => return,
            _ = hub.presence.wake.notified() => {}
            _ = sleep, if next.is_some() => {}
        }
        for (channel, frame) in hub.presence.due(Instant::now()) {
            hub.broadcast_raw(&channel, frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    fn person(name: &str) -> Arc<str> {
        Arc::from(name)
    }

    fn data(presence: &Presence, channel: &str) -> serde_json::Value {
        serde_json::from_slice(&presence.data(channel)).unwrap()
    }

    #[test]
    fn a_person_in_many_tabs_is_one_and_leaves_only_after_the_grace() {
        let presence = Presence::new(Duration::from_secs(5));
        let t0 = Instant::now();
        let ann = person("Ann");
        let general = names(&["general"]);
        for _ in 0..3 {
            presence.join_at(&general, Some(&ann), t0);
        }
        presence.join_at(&general, None, t0);
        assert_eq!(data(&presence, "general")["count"], 2);
        assert_eq!(
            data(&presence, "general")["users"],
            serde_json::json!(["Ann"])
        );
        let sent = presence.due(t0);
        assert_eq!(sent.len(), 1, "one frame for the change");
        for _ in 0..3 {
            presence.leave_at(&general, Some(&ann), Holder::Stream, t0);
        }
        // A reload within the grace: no change at all.
        presence.join_at(&general, Some(&ann), t0 + Duration::from_secs(4));
        assert!(presence.due(t0 + Duration::from_secs(6)).is_empty());
        presence.leave_at(
            &general,
            Some(&ann),
            Holder::Stream,
            t0 + Duration::from_secs(6),
        );
        assert!(presence.due(t0 + Duration::from_secs(10)).is_empty());
        assert_eq!(data(&presence, "general")["count"], 2, "still in the grace");
        let gone = presence.due(t0 + Duration::from_secs(11));
        assert_eq!(gone.len(), 1);
        assert_eq!(data(&presence, "general")["count"], 1);
    }

    #[test]
    fn frames_are_debounced_per_channel_and_nothing_stays_behind() {
        let presence = Presence::new(Duration::from_millis(100));
        let t0 = Instant::now();
        let general = names(&["general"]);
        let people: Vec<Arc<str>> = (0..1000).map(|i| person(&format!("p{i:04}"))).collect();
        presence.join_at(&general, Some(&people[0]), t0);
        assert_eq!(presence.due(t0).len(), 1);
        for p in &people[1..] {
            presence.join_at(&general, Some(p), t0 + Duration::from_millis(10));
        }
        // 999 joins inside the quiet time: nothing until it ends, then one frame.
        assert!(presence.due(t0 + Duration::from_millis(200)).is_empty());
        let sent = presence.due(t0 + DEBOUNCE);
        assert_eq!(sent.len(), 1);
        let text = std::str::from_utf8(&sent[0].1).unwrap();
        let value: serde_json::Value =
            serde_json::from_str(text.split("data: ").nth(1).unwrap().trim()).unwrap();
        assert_eq!(value["count"], 1000);
        assert_eq!(value["users"].as_array().unwrap().len(), MAX_SHOWN);
        assert_eq!(value["users"][0], "p0000");
        for p in &people {
            presence.leave_at(&general, Some(p), Holder::Poll, t0 + DEBOUNCE);
        }
        presence.leave_at(&general, None, Holder::Stream, t0);
        let later = t0 + DEBOUNCE + Duration::from_millis(100) + POLL_REASK;
        assert_eq!(presence.due(later).len(), 1);
        assert_eq!(
            presence.channel_count(),
            0,
            "nothing kept for an empty channel"
        );
    }

    #[test]
    fn an_anonymous_reload_within_the_grace_does_not_count_twice() {
        let presence = Presence::new(Duration::from_secs(5));
        let t0 = Instant::now();
        let general = names(&["general"]);
        presence.join_at(&general, None, t0);
        presence.due(t0);
        presence.leave_at(&general, None, Holder::Stream, t0);
        presence.join_at(&general, None, t0 + Duration::from_secs(1));
        assert_eq!(data(&presence, "general")["count"], 1);
        assert!(presence.due(t0 + Duration::from_secs(6)).is_empty());
        assert_eq!(data(&presence, "general")["users"], serde_json::json!([]));
    }
}
