//! Long polling: the same events as a stream, for clients behind a proxy that
//! buffers responses (a stream "opens" there, but no byte of it arrives).
//!
//! `GET /api/poll?channels=a,b&after=<change id>` answers JSON,
//! `{"events":[{"event":"status","data":"{…}"},{"event":"message","id":"…","data":"{…}"},…],"cursor":"<id>"}`,
//! each `data` exactly what the stream's event carries, and `cursor` the
//! next poll's `after`. Without `after` a poll starts live, as a new stream
//! does: its cursor is the newest change id of its channels now.
//!
//! An answer's events are signs of life only when the bridge had one, as a
//! stream's are, so that a client's watchdog finds a zombie upstream on
//! either transport:
//! - at once, opening with the gateway's `status`, when anything follows
//!   `after` (a replay, or `resync` when that cannot be replayed), and for
//!   `wait=0` (a client's first poll, to show the reader Live at once);
//! - otherwise, the `status` and what happened as soon as something does on
//!   those channels, or the `status` alone at the stream's next heartbeat;
//! - and with no events at all when `--poll-wait` (25 s, or `wait=<ms>`)
//!   passes without any of that: heartbeats stopped (paused, or past
//!   `--ping-stop-after`) make a poll say nothing, as a stream would.
//!
//! A poll counts its person (the token's user, or `as=<name>`) present in
//! its channels while it waits and for the grace plus a second after it is
//! answered ([`crate::presence`]). An answer with events carries, after the
//! `status`, each channel's `presence` as of the answer, and for a named
//! person their read markers of those channels (`read`); a presence change,
//! a typing signal, or a change of the person's own read marker while a
//! poll waits ends its wait like any other news.

use crate::error::ApiError;
use crate::extract::last_event_id;
use crate::hub::{Feed, FeedError, Frame, Hub};
use crate::inbox::Inbox;
use crate::presence::Holder;
use crate::stream::{parse_channels, person_of};
use crate::streams::Listen;
use crate::users::Identity;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Takes down what a poll subscribed, however it ends (answered, or its
/// client gone, which drops the handler's future): its feed, its inbox,
/// and (after the grace) its person's presence.
struct Subscribed<'a> {
    hub: &'a Hub,
    listen: &'a Listen,
    mailbox: Option<u64>,
    person: Option<Arc<str>>,
    inbox: Option<Arc<Inbox>>,
}

impl Drop for Subscribed<'_> {
    fn drop(&mut self) {
        self.hub.release(self.listen, self.mailbox);
        if let Some(inbox) = &self.inbox {
            self.hub.inboxes.unregister(inbox);
        }
        let names = self.listen.names();
        (self.hub.presence).leave(names, self.person.as_ref(), Holder::Poll);
    }
}

pub async fn poll(
    State(hub): State<Arc<Hub>>,
    identity: Option<Extension<Arc<Identity>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let listen = parse_channels(query.get("channels").map(String::as_str))?;
    let identity = identity.map(|Extension(identity)| identity);
    let person = person_of(identity.as_deref(), &query)?;
    let mut query = query;
    if let Some(after) = query.remove("after") {
        query.insert("last_event_id".into(), after);
    }
    let wait = match query.remove("wait") {
        None => hub.config.poll_wait,
        Some(ms) => match ms.parse::<u64>() {
            Ok(ms) => hub
                .config
                .poll_wait
                .min(std::time::Duration::from_millis(ms)),
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "wait={ms:?} is not a number of milliseconds"
                )))
            }
        },
    };
    let after = last_event_id(&headers, &query)?;
    let subscription = hub.subscribe(&listen, after)?;
    let mut live = subscription.live;
    hub.presence.join(listen.names(), person.as_ref());
    let inbox = (person.as_ref()).map(|p| hub.inboxes.register(p, listen.names()));
    let _subscribed = Subscribed {
        hub: &hub,
        listen: &listen,
        mailbox: live.mailbox(),
        person: person.clone(),
        inbox: inbox.clone(),
    };
    let mut events = events_of(&subscription.prefix);
    let mut cursor = match after {
        Some(after) => after.max(subscription.caught_up_to),
        None => subscription.newest,
    };
    for record in &subscription.replay {
        events.extend(events_of(&record.frame()));
    }
    // Only the opening `status`: nothing yet, so wait for news.
    if events.len() <= 1 && !wait.is_zero() {
        let inbox = inbox.as_deref();
        let news = News {
            listen: &listen,
            inbox,
            // The presence it would answer with now (its own arrival in it)
            // is no news: only a change after it is.
            presence: hub.presence.opening(listen.names()),
        };
        let alive = wait_for_news(&hub, &mut live, wait, news, &mut cursor, &mut events).await;
        if !alive {
            // The cached status is no sign of life: say nothing.
            events.clear();
        }
    }
    cursor = cursor.max(events.iter().filter_map(event_id).max().unwrap_or(0));
    if !events.is_empty() {
        with_state_of_now(&hub, &listen, person.as_deref(), &mut events);
    }
    Ok(Json(
        json!({ "events": events, "cursor": cursor.to_string() }),
    ))
}

/// Waits at most `wait` for a sign of life on `live`: a frame of those
/// channels (added to `events` with what else is already there, a new
/// status replacing the opening one), or a heartbeat. Answers whether one came.
async fn wait_for_news(
    hub: &Hub,
    live: &mut Feed,
    wait: std::time::Duration,
    news: News<'_>,
    cursor: &mut u64,
    events: &mut Vec<Value>,
) -> bool {
    let News {
        listen,
        inbox,
        presence,
    } = news;
    let deadline = tokio::time::Instant::now() + wait;
    let mut alive = false;
    loop {
        let personal = async {
            match inbox {
                Some(inbox) => inbox.ready().await,
                None => std::future::pending().await,
            }
        };
        let next = tokio::select! {
            _ = hub.shutdown.cancelled() => break,
            _ = tokio::time::sleep_until(deadline) => break,
            // The read marker as it then is goes in the answer.
            _ = personal => {
                alive = true;
                break;
            }
            next = live.recv() => next,
        };
        match next {
            // The stream's heartbeat ends a waiting poll: its return, with
            // the status, is the sign of life, as often as a stream's would be.
            Ok(frame) if is_heartbeat(&frame.bytes) => return true,
            Ok(frame) if frame.id.is_some_and(|id| id <= *cursor) => continue,
            Ok(frame) if presence.contains(&frame.bytes) => continue,
            Ok(frame) => {
                take(frame, cursor, events);
                alive = true;
                break;
            }
            Err(FeedError::Lagged) => {
                events.extend(events_of(&crate::sse::resync(
                    crate::sse::Resync::Lagged,
                    Some(listen.names()),
                )));
                return true;
            }
            Err(_) => break,
        }
    }
    // Whatever else is already there goes in the same answer.
    while let Ok(frame) = live.try_recv() {
        let known = presence.contains(&frame.bytes);
        if !is_heartbeat(&frame.bytes) && !known && frame.id.is_none_or(|id| id > *cursor) {
            take(frame, cursor, events);
            alive = true;
        }
    }
    alive
}

/// Where a waiting poll hears news from.
struct News<'a> {
    listen: &'a Listen,
    /// The person's own frames (their read markers), when named.
    inbox: Option<&'a Inbox>,
    /// Each channel's presence frame as the poll began.
    presence: Vec<Bytes>,
}

/// Puts the state as of the answer after the `status`: each channel's
/// presence (replacing any presence frame that came while waiting) and the
/// person's read markers.
fn with_state_of_now(hub: &Hub, listen: &Listen, person: Option<&str>, events: &mut Vec<Value>) {
    events.retain(|event| event["event"] != "presence" && event["event"] != "read");
    let mut now: Vec<Value> = Vec::new();
    for frame in hub.presence.opening(listen.names()) {
        now.extend(events_of(&frame));
    }
    for frame in person.map_or_else(Vec::new, |p| {
        crate::readstate::opening(hub, p, listen.names())
    }) {
        now.extend(events_of(&frame));
    }
    let at = events
        .iter()
        .position(|e| e["event"] == "status")
        .map_or(0, |i| i + 1);
    events.splice(at..at, now);
}

/// Adds a live frame's events; a status change replaces the opening status.
fn take(frame: Frame, cursor: &mut u64, events: &mut Vec<Value>) {
    *cursor = (*cursor).max(frame.id.unwrap_or(0));
    let taken = events_of(&frame.bytes);
    if frame.id.is_none() && taken.iter().any(|e| e["event"] == "status") {
        events.retain(|e| e["event"] != "status");
    }
    events.extend(taken);
}

fn is_heartbeat(bytes: &Bytes) -> bool {
    bytes.starts_with(b"event: heartbeat\n")
}

fn event_id(event: &Value) -> Option<u64> {
    event["id"].as_str()?.parse().ok()
}

/// The events of SSE text the bridge wrote (its own frames: `id:`, `event:`
/// and one `data:` line each; `retry:` lines are dropped).
fn events_of(bytes: &Bytes) -> Vec<Value> {
    let text = String::from_utf8_lossy(bytes);
    let mut events = Vec::new();
    for frame in text.split("\n\n") {
        let (mut id, mut name, mut data) = (None, None, None);
        for line in frame.lines() {
            match line.split_once(": ") {
                Some(("id", value)) => id = Some(value),
                Some(("event", value)) => name = Some(value),
                Some(("data", value)) => data = Some(value),
                _ => {}
            }
        }
        if let (Some(name), Some(data)) = (name, data) {
            let mut event = json!({ "event": name, "data": data });
            if let Some(id) = id {
                event["id"] = json!(id);
            }
            events.push(event);
        }
    }
    events
}
