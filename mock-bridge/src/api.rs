//! `GET /api/channels/{channel}/messages`: history; `POST` to it: a reply;
//! `GET /api/me`: who the request's sign-in is.

use crate::error::ApiError;
use crate::extract::{answer_for, channel_from, ChannelPath};
use crate::history::HistoryQuery;
use crate::hub::Hub;
use crate::message::{parse_id, validate_client_id, NewMessage};
use crate::users::Identity;
use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Largest `limit` served; larger ones are clamped to it.
pub const MAX_LIMIT: usize = 500;
/// `limit` when none is given.
pub const DEFAULT_LIMIT: usize = 50;

#[derive(Deserialize)]
pub struct HistoryParams {
    limit: Option<String>,
    after: Option<String>,
    before: Option<String>,
    /// Whom the answer is for, without `--users` (see [`answer_for`]).
    #[serde(rename = "as")]
    reader: Option<String>,
}

impl HistoryParams {
    fn validate(&self) -> Result<HistoryQuery, ApiError> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(text) => {
                let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
                if !digits || text.bytes().all(|b| b == b'0') {
                    return Err(ApiError::bad_request(format!(
                        "limit {text:?} must be a whole number from 1 to {MAX_LIMIT}"
                    )));
                }
                // Digits beyond u64 are just a very large limit: clamp it too.
                text.parse::<u64>()
                    .map_or(MAX_LIMIT, |n| n.min(MAX_LIMIT as u64) as usize)
            }
        };
        let id = |name: &str, value: &Option<String>| -> Result<Option<u64>, ApiError> {
            value
                .as_deref()
                .map(|text| {
                    parse_id(text).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "{name} {text:?} is not a decimal message id"
                        ))
                    })
                })
                .transpose()
        };
        Ok(HistoryQuery {
            limit,
            after: id("after", &self.after)?,
            before: id("before", &self.before)?,
        })
    }
}

/// `GET /api/me` → `{"user":"<name>"}` for the request's token or cookie
/// (a 401 before this, without a valid one), or `{"user":null}` when the
/// bridge runs without `--users`. Panels ask it to share a stream only with
/// tabs of the same person, and to keep each person's unsent replies apart.
pub async fn me(identity: Option<Extension<Arc<Identity>>>) -> Json<serde_json::Value> {
    let user = identity.map(|Extension(identity)| identity.name.clone());
    Json(serde_json::json!({ "user": user }))
}

/// `GET /api/channels/{channel}/messages`: each message as it now is, the
/// reader's own reactions marked (`"me":true`).
pub async fn history(
    State(hub): State<Arc<Hub>>,
    identity: Option<Extension<Arc<Identity>>>,
    path: Result<Path<ChannelPath>, PathRejection>,
    query: Result<Query<HistoryParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let channel = channel_from(path)?;
    let Query(params) = query?;
    let query = params.validate()?;
    let reader = answer_for(identity, params.reader)?;
    let messages = hub.history(&channel, query, reader.as_deref());
    Ok(Json(messages).into_response())
}

/// A reply from a client: its text and its own id for it, so that a retry
/// (after an answer that never came) cannot store it twice. Without
/// `--users`, it names its author.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostBody {
    content: String,
    client_id: String,
    #[serde(default)]
    author: Option<String>,
}

/// `POST /api/channels/{channel}/messages`: 201 with the stored message, or
/// 200 with the original when its `client_id` was posted before.
pub async fn post_message(
    State(hub): State<Arc<Hub>>,
    identity: Option<Extension<Arc<Identity>>>,
    path: Result<Path<ChannelPath>, PathRejection>,
    body: Result<Json<PostBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let channel = channel_from(path)?;
    let Json(body) = body?;
    validate_client_id(&body.client_id)?;
    // Signed in, the author is who the token says, whatever the body claims.
    let author = match (identity, body.author) {
        (Some(Extension(identity)), _) => identity.name.clone(),
        (None, Some(author)) => author,
        (None, None) => {
            return Err(ApiError::bad_request(
                "this bridge runs without --users: a post names its \"author\"",
            ))
        }
    };
    let new = NewMessage {
        author,
        content: body.content,
        ..Default::default()
    };
    new.validate()?;
    let busy =
        (hub.busy_posts).fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    if busy.is_ok() {
        let status = hub.busy_status.load(Ordering::Relaxed);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
        tracing::info!(%status, "a post is turned away on purpose");
        return Err(ApiError::new(
            status,
            "the bridge is busy: try again shortly",
        ));
    }
    let (message, created) = hub.post_async(channel.clone(), new, body.client_id).await?;
    hub.typing
        .message_from(&channel, &message.author, tokio::time::Instant::now());
    tracing::info!(%channel, id = message.id, created, "message posted");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let dropped = hub
        .drop_post_answers
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok();
    if dropped {
        // Stored, but the answer breaks off: the client cannot tell.
        tracing::info!(
            id = message.id,
            "the answer to this post is dropped on purpose"
        );
        let broken = futures_util::stream::once(async {
            Err::<axum::body::Bytes, _>(std::io::Error::other("answer dropped on purpose"))
        });
        let mut response = Response::new(Body::from_stream(broken));
        *response.status_mut() = status;
        return Ok(response);
    }
    Ok((status, Json(message)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(limit: Option<&str>) -> HistoryParams {
        HistoryParams {
            limit: limit.map(str::to_owned),
            after: None,
            before: None,
            reader: None,
        }
    }

    #[test]
    fn limits_follow_the_contract() {
        assert_eq!(params(None).validate().unwrap().limit, 50);
        assert_eq!(params(Some("7")).validate().unwrap().limit, 7);
        assert_eq!(params(Some("501")).validate().unwrap().limit, 500);
        assert_eq!(
            params(Some("99999999999999999999999"))
                .validate()
                .unwrap()
                .limit,
            500
        );
        for bad in ["0", "000", "", "-1", "ten", "1.5", " 5"] {
            assert!(params(Some(bad)).validate().is_err(), "{bad:?}");
        }
    }
}
