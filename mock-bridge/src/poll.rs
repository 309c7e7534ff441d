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

use crate::error::ApiError;
use crate::extract::last_event_id;
use crate::hub::{Feed, FeedError, Frame, Hub};
use crate::stream::parse_channels;
use crate::streams::Listen;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Takes down what a poll subscribed, however it ends (answered, or its
/// client gone, which drops the handler's future).
struct Subscribed<'a> {
    hub: &'a Hub,
    listen: &'a Listen,
    mailbox: Option<u64>,
}

impl Drop for Subscribed<'_> {
    fn drop(&mut self) {
        self.hub.release(self.listen, self.mailbox);
    }
}

pub async fn poll(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let listen = parse_channels(query.get("channels").map(String::as_str))?;
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
    let _subscribed = Subscribed {
        hub: &hub,
        listen: &listen,
        mailbox: live.mailbox(),
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
        let alive = wait_for_news(&hub, &mut live, wait, &listen, &mut cursor, &mut events).await;
        if !alive {
            // The cached status is no sign of life: say nothing.
            events.clear();
        }
    }
    cursor = cursor.max(events.iter().filter_map(event_id).max().unwrap_or(0));
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
    listen: &Listen,
    cursor: &mut u64,
    events: &mut Vec<Value>,
) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    let mut alive = false;
    loop {
        let next = tokio::select! {
            _ = hub.shutdown.cancelled() => break,
            _ = tokio::time::sleep_until(deadline) => break,
            next = live.recv() => next,
        };
        match next {
            // The stream's heartbeat ends a waiting poll: its return, with
            // the status, is the sign of life, as often as a stream's would be.
            Ok(frame) if is_heartbeat(&frame.bytes) => return true,
            Ok(frame) if frame.id.is_some_and(|id| id <= *cursor) => continue,
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
        if !is_heartbeat(&frame.bytes) && frame.id.is_none_or(|id| id > *cursor) {
            take(frame, cursor, events);
            alive = true;
        }
    }
    alive
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
