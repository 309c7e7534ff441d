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
    let identity = identity.map(|axum::Extension(identity)| identity);
    reader_name(identity.as_deref(), named.as_deref()).map(|name| name.map(str::to_owned))
}

/// [`answer_for`] outside a handler: who a request is, by its sign-in or
/// its `as=` (1 to 32 characters; blank or absent: nobody in particular).
pub fn reader_name<'a>(
    identity: Option<&'a crate::users::Identity>,
    named: Option<&'a str>,
) -> Result<Option<&'a str>, ApiError> {
    if let Some(identity) = identity {
        return Ok(Some(&identity.name));
    }
    match named.filter(|name| !name.trim().is_empty()) {
        Some(name) => {
            crate::message::check_name(name, "as (the reader the answer is for)")?;
            Ok(Some(name))
        }
        None => Ok(None),
    }
}

/// A JSON body that may be left out: nothing (or only spaces) is the
/// default; anything else must parse, else 400.
pub fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("invalid JSON body: {error}")))
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

/// The client's address and port, when the server recorded them (not in
/// in-process tests).
pub struct Peer(pub Option<std::net::SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let info = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(Peer(info.map(|info| info.0)))
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
