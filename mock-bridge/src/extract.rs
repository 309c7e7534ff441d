//! What handlers take from a request: the channel of the path, the client's
//! address, the id a stream resumes after, and whom an answer is for.

use crate::error::ApiError;
use crate::message::{parse_id, validate_channel};
use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::HeaderMap;
use serde::Deserialize;
use std::collections::HashMap;

/// The `Last-Event-ID` to resume after: the header (what a browser sends when it
/// reconnects by itself) wins over the query (what a fresh EventSource can set).
pub fn last_event_id(
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

/// The reader an answer is computed for (their own reactions marked): the
/// signed-in user with `--users`; without, the request's `as=<name>` (a
/// name a client could send anyway, so it is trusted no further than that);
/// `None` with neither (or a blank `as`).
pub fn answer_for(
    identity: Option<axum::Extension<std::sync::Arc<crate::users::Identity>>>,
    named: Option<String>,
) -> Result<Option<String>, ApiError> {
    if let Some(axum::Extension(identity)) = identity {
        return Ok(Some(identity.name.clone()));
    }
    match named.filter(|name| !name.trim().is_empty()) {
        Some(name) => {
            crate::message::check_name(&name, "as (the reader the answer is for)")?;
            Ok(Some(name))
        }
        None => Ok(None),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, StatusCode};

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
