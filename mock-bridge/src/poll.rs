//! Long polling: the same events as a stream, for clients behind a proxy that
//! buffers responses (a stream "opens" there, but no byte of it arrives).
//!
//! `GET /api/poll?channels=a,b&after=<change id>` answers at once when
//! anything follows `after` (a replay, or `resync` when that cannot be
//! replayed), and otherwise as soon as something happens on those channels,
//! or at the stream's next heartbeat, or after `--poll-wait` (25 s), with
//! nothing: a poll's return is its heartbeat. The answer is JSON:
//! `{"events":[{"event":"status","data":"{…}"},{"event":"message","id":"…","data":"{…}"},…],"cursor":"<id>"}`
//! where each `data` is exactly what the stream's event carries, and `cursor`
//! is the next poll's `after` (the newest id given, or `after` itself).
//! The first event is always the gateway's current `status`. `wait=<ms>`
//! waits at most that long instead (`wait=0`: answer at once, as a client's
//! first poll does, to show the reader Live without waiting for news).

use crate::error::ApiError;
use crate::extract::last_event_id;
use crate::hub::{FeedError, Hub};
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
    let mut cursor = after.unwrap_or(0).max(subscription.caught_up_to);
    for record in &subscription.replay {
        events.extend(events_of(&record.frame()));
    }
    // Only the opening `retry:` and `status`: nothing yet, so wait for news.
    let waited = events.len() <= 1;
    if waited {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::select! {
                _ = hub.shutdown.cancelled() => break,
                _ = tokio::time::sleep_until(deadline) => break,
                next = live.recv() => next,
            };
            match next {
                // The stream's heartbeat ends a waiting poll: its return is
                // the sign of life, as often as a stream's would be.
                Ok(frame) if is_heartbeat(&frame.bytes) => break,
                Ok(frame) if frame.id.is_some_and(|id| id <= cursor) => continue,
                Ok(frame) => {
                    cursor = cursor.max(frame.id.unwrap_or(0));
                    events.extend(events_of(&frame.bytes));
                    break;
                }
                Err(FeedError::Lagged) => {
                    events.extend(events_of(&crate::sse::resync(
                        crate::sse::Resync::Lagged,
                        Some(listen.names()),
                    )));
                    break;
                }
                Err(_) => break,
            }
        }
        // Whatever else is already there goes in the same answer.
        while let Ok(frame) = live.try_recv() {
            if is_heartbeat(&frame.bytes) || frame.id.is_some_and(|id| id <= cursor) {
                continue;
            }
            cursor = cursor.max(frame.id.unwrap_or(0));
            events.extend(events_of(&frame.bytes));
        }
    }
    cursor = cursor.max(events.iter().filter_map(event_id).max().unwrap_or(0));
    Ok(Json(
        json!({ "events": events, "cursor": cursor.to_string() }),
    ))
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
