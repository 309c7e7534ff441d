//! `GET /api/channels/{channel}/events`: one Server-Sent Events stream.
//!
//! Each stream has a small task, its pump, that moves frames from the channel's
//! broadcast and the global feed into a bounded queue that the response body
//! drains. A client that stops reading fills the queue; if it then reads
//! nothing for `--client-stall` seconds, or falls off the end of the shared
//! broadcast ring, it is dropped as `lagged` (after a best-effort `resync`). So
//! a stuck client can neither grow the bridge's memory nor hold back anyone
//! else: every other stream has its own pump and queue.

use crate::clock::rfc3339_ms;
use crate::connections::{CloseReason, Record};
use crate::error::ApiError;
use crate::hub::{resync_frame, Fault, Frame, Hub, Subscription};
use crate::message::{parse_id, validate_channel};
use crate::snowflake::now_ms;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

/// The `Last-Event-ID` to resume after: the header (what a browser sends when it
/// reconnects by itself) wins over the query (what a fresh EventSource can set).
fn last_event_id(
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Option<u64>, ApiError> {
    let from_header = headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("\u{0}").trim().to_owned());
    let text = match from_header.filter(|v| !v.is_empty()) {
        Some(text) => text,
        None => match query.get("last_event_id").filter(|v| !v.is_empty()) {
            Some(text) => text.clone(),
            None => return Ok(None),
        },
    };
    parse_id(&text).map(Some).ok_or_else(|| {
        ApiError::bad_request(format!(
            "last event id {text:?} is not a decimal message id"
        ))
    })
}

/// The `{channel}` path segment.
#[derive(Deserialize)]
pub struct ChannelPath {
    channel: String,
}

/// Extracts and validates the channel of a path, as a JSON error when bad.
pub fn channel_from(path: Result<Path<ChannelPath>, PathRejection>) -> Result<String, ApiError> {
    let Path(ChannelPath { channel }) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    validate_channel(&channel)?;
    Ok(channel)
}

/// The client's address, when the server recorded it (not in in-process tests).
pub struct Peer(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let info = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(Peer(info.map(|info| info.0.ip())))
    }
}

pub async fn events(
    State(hub): State<Arc<Hub>>,
    Peer(peer): Peer,
    path: Result<Path<ChannelPath>, PathRejection>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let channel = channel_from(path)?;
    let last_event_id = last_event_id(&headers, &query)?;
    match hub.fault() {
        Fault::None => {}
        Fault::Reject(status) => {
            return Err(ApiError::new(
                status,
                "event streams are refused on purpose (injected fault)",
            ));
        }
        Fault::Stall => {
            // Accept the connection and say nothing, until shutdown (or the client leaves,
            // which drops this future).
            hub.shutdown.cancelled().await;
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the bridge is shutting down",
            ));
        }
    }
    let limit = hub.config.max_streams_per_client;
    let record = (hub
        .connections
        .open(&channel, rfc3339_ms(now_ms()), peer, limit))
    .map_err(|refused| ApiError::new(StatusCode::TOO_MANY_REQUESTS, refused.to_string()))?;
    let subscription = hub.subscribe(&channel, last_event_id);
    record
        .last_event_id
        .store(subscription.caught_up_to, Ordering::Relaxed);
    tracing::info!(connection = record.id, %channel, ?last_event_id, "stream opened");
    let prefix = subscription.prefix.clone();
    let (sender, receiver) = mpsc::channel(hub.config.client_backlog as usize);
    tokio::spawn(run_pump(hub.clone(), record, subscription, sender));

    let body = futures_util::stream::once(async move { prefix })
        .chain(ReceiverStream::new(receiver))
        .map(Ok::<Bytes, Infallible>);
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

async fn run_pump(
    hub: Arc<Hub>,
    record: Arc<Record>,
    subscription: Subscription,
    sender: mpsc::Sender<Bytes>,
) {
    let reason = pump(&hub, &record, subscription, &sender).await;
    drop(sender); // ends the response body
    hub.connections.close(record.id, reason);
    tracing::info!(
        connection = record.id,
        channel = %record.channel,
        reason = reason.as_str(),
        duration_ms = record.opened.elapsed().as_millis() as u64,
        "stream closed"
    );
}

async fn pump(
    hub: &Hub,
    record: &Record,
    subscription: Subscription,
    sender: &mpsc::Sender<Bytes>,
) -> CloseReason {
    let Subscription {
        mut live,
        mut global,
        caught_up_to,
        ..
    } = subscription;
    let mut sent_up_to = caught_up_to;
    loop {
        let frame = tokio::select! {
            biased;
            _ = hub.shutdown.cancelled() => return CloseReason::Shutdown,
            _ = record.cancel.cancelled() => return CloseReason::ServerClosed,
            _ = sender.closed() => return CloseReason::ClientClosed,
            received = global.recv() => match received {
                Ok(frame) => frame,
                Err(broadcast::error::RecvError::Lagged(_)) => return lagged(sender),
                Err(broadcast::error::RecvError::Closed) => return CloseReason::Shutdown,
            },
            received = live.recv() => match received {
                // Already sent in the replay: never twice.
                Ok(Frame { id: Some(id), .. }) if id <= sent_up_to => continue,
                Ok(frame) => frame,
                Err(broadcast::error::RecvError::Lagged(_)) => return lagged(sender),
                Err(broadcast::error::RecvError::Closed) => return CloseReason::Error,
            },
        };
        if let Some(id) = frame.id {
            sent_up_to = id;
            record.last_event_id.store(id, Ordering::Relaxed);
        }
        let delivered = tokio::select! {
            biased;
            _ = hub.shutdown.cancelled() => return CloseReason::Shutdown,
            _ = record.cancel.cancelled() => return CloseReason::ServerClosed,
            sent = tokio::time::timeout(hub.config.client_stall, sender.send(frame.bytes)) => sent,
        };
        match delivered {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return CloseReason::ClientClosed,
            Err(_) => return lagged(sender),
        }
    }
}

/// Tells the client it missed messages (if there is room) and ends its stream.
fn lagged(sender: &mpsc::Sender<Bytes>) -> CloseReason {
    let _ = sender.try_send(resync_frame("lagged"));
    CloseReason::Lagged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_wins_over_the_query_and_bad_ids_are_refused() {
        let mut headers = HeaderMap::new();
        let mut query = HashMap::new();
        assert_eq!(last_event_id(&headers, &query), Ok(None));
        query.insert("last_event_id".to_owned(), "5".to_owned());
        assert_eq!(last_event_id(&headers, &query), Ok(Some(5)));
        headers.insert("last-event-id", HeaderValue::from_static("9"));
        assert_eq!(last_event_id(&headers, &query), Ok(Some(9)));
        headers.insert("last-event-id", HeaderValue::from_static("nine"));
        assert_eq!(
            last_event_id(&headers, &query).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
