//! Where each person left off: one read marker per person and channel.
//!
//! `PUT /api/channels/{channel}/read` `{"last_read":"<id>"}` (the reader;
//! without `--users` the body's `author`) moves the marker forward only; with
//! `"unread":true` it sets it exactly (mark unread). The answer is the
//! marker as it then is: `{"last_read":"<id>"}`. `GET` on the same path (the
//! reader; without `--users`, `?as=<name>`) answers `{"last_read":"<id>"|null}`.
//!
//! A marker is a position in the channel's id order, so it may name a
//! message since deleted. It may not lie beyond what the channel has had:
//! an id above the channel's newest message or change, or any id of a
//! channel that holds nothing, is a 404 (nobody can have read it).
//!
//! Each change is appended to the history file (under the writer lock, like
//! messages) before it is acknowledged, and a restart's compaction keeps
//! one line per marker. A change reaches that person's own streams and
//! polls of that channel as a `read` event `{"channel_id","last_read"}`
//! (through their [`crate::inbox`]), never anyone else's.
//!
//! At most [`MAX_MARKERS`] are held; past that the ones changed longest ago
//! are forgotten (a reader without `--users` can name anyone).

use crate::error::ApiError;
use crate::extract::{channel_from, reader_name, ChannelPath};
use crate::hub::Hub;
use crate::message::parse_id;
use crate::users::Identity;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most markers held at once.
pub const MAX_MARKERS: usize = 100_000;

/// A marker as the history file keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadMarker {
    pub channel_id: String,
    pub user: String,
    #[serde(with = "crate::message::id_as_string")]
    pub last_read: u64,
}

/// Every marker, with the order they last changed in (to forget the oldest).
#[derive(Default)]
pub struct ReadState {
    markers: Mutex<Markers>,
}

#[derive(Default)]
struct Markers {
    by_key: HashMap<(String, String), (u64, u64)>,
    changes: u64,
}

impl ReadState {
    /// The markers a history file held, oldest first (a later one of the
    /// same person and channel wins).
    pub fn restored(markers: Vec<ReadMarker>) -> ReadState {
        let state = ReadState::default();
        for marker in markers {
            state.apply(&marker);
        }
        state
    }

    pub fn get(&self, channel: &str, user: &str) -> Option<u64> {
        let markers = self.markers.lock().unwrap();
        let key = (channel.to_owned(), user.to_owned());
        markers.by_key.get(&key).map(|(last_read, _)| *last_read)
    }

    /// What a `PUT` makes of the marker: the new value when it changes it.
    fn next(&self, channel: &str, user: &str, last_read: u64, unread: bool) -> Option<u64> {
        match self.get(channel, user) {
            Some(now) if now == last_read || (!unread && now > last_read) => None,
            _ => Some(last_read),
        }
    }

    fn apply(&self, marker: &ReadMarker) {
        let mut markers = self.markers.lock().unwrap();
        markers.changes += 1;
        let order = markers.changes;
        let key = (marker.channel_id.clone(), marker.user.clone());
        markers.by_key.insert(key, (marker.last_read, order));
        if markers.by_key.len() > MAX_MARKERS {
            // Forget the tenth changed longest ago: one sort per many changes.
            let mut orders: Vec<u64> = markers.by_key.values().map(|(_, o)| *o).collect();
            let cut = MAX_MARKERS / 10;
            let (_, oldest_kept, _) = orders.select_nth_unstable(cut);
            let oldest_kept = *oldest_kept;
            markers.by_key.retain(|_, (_, order)| *order >= oldest_kept);
        }
    }

    /// Every marker, for compaction.
    pub fn all(&self) -> Vec<ReadMarker> {
        let markers = self.markers.lock().unwrap();
        let mut all: Vec<(u64, ReadMarker)> = (markers.by_key.iter())
            .map(|((channel_id, user), (last_read, order))| {
                let marker = ReadMarker {
                    channel_id: channel_id.clone(),
                    user: user.clone(),
                    last_read: *last_read,
                };
                (*order, marker)
            })
            .collect();
        all.sort_by_key(|(order, _)| *order);
        all.into_iter().map(|(_, marker)| marker).collect()
    }
}

/// Sets a marker as a `PUT` asks (see the module's doc): stored in the
/// history file first, then held, then sent to the person's own streams.
/// Answers the marker as it then is.
fn put(
    hub: &Hub,
    channel: &str,
    user: &str,
    last_read: u64,
    unread: bool,
) -> Result<u64, ApiError> {
    let newest = hub.newest_known(channel).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("channel {channel:?} holds no messages: there is nothing to have read"),
        )
    })?;
    if last_read > newest {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "channel {channel:?} has had nothing as new as {last_read}: its newest is {newest}"
            ),
        ));
    }
    hub.with_history_file(|file| -> Result<Option<u64>, ApiError> {
        let Some(now) = hub.reads.next(channel, user, last_read, unread) else {
            return Ok(None);
        };
        let marker = ReadMarker {
            channel_id: channel.to_owned(),
            user: user.to_owned(),
            last_read: now,
        };
        if let Some(file) = file {
            file.append_read(&marker).map_err(|error| {
                tracing::error!(%error, "a read marker was not stored");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("could not append to the history file: {error}"),
                )
            })?;
        }
        hub.reads.apply(&marker);
        // Sent under the writer's lock too: two PUTs at once reach the
        // person's streams in the order they were applied, so the last
        // `read` a stream hears is the marker held (an inbox keeps only
        // the newest frame per channel).
        let frame = crate::sse::read(channel, now);
        let reached = hub.inboxes.send(user, channel, &frame);
        tracing::debug!(%channel, last_read = now, reached, "read marker moved");
        Ok(Some(now))
    })?;
    Ok(hub.reads.get(channel, user).unwrap_or(last_read))
}

/// A `PUT`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutRead {
    last_read: String,
    #[serde(default)]
    unread: bool,
    #[serde(default)]
    author: Option<String>,
}

/// The reader a read route is for: the token's person, or the name given.
fn reader(
    identity: Option<&Identity>,
    named: Option<&str>,
    field: &str,
) -> Result<String, ApiError> {
    match reader_name(identity, named)? {
        Some(name) => Ok(name.to_owned()),
        None => Err(ApiError::bad_request(format!(
            "this bridge runs without --users: say whose marker it is with {field}"
        ))),
    }
}

/// `PUT /api/channels/{channel}/read`.
pub async fn put_read(
    State(hub): State<Arc<Hub>>,
    identity: Option<Extension<Arc<Identity>>>,
    path: Result<Path<ChannelPath>, PathRejection>,
    body: Result<Json<PutRead>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let channel = channel_from(path)?;
    let Json(body) = body?;
    let identity = identity.map(|Extension(identity)| identity);
    let user = reader(identity.as_deref(), body.author.as_deref(), "\"author\"")?;
    let last_read = parse_id(&body.last_read).ok_or_else(|| {
        ApiError::bad_request(format!(
            "last_read {:?} is not a message id (a decimal string)",
            body.last_read
        ))
    })?;
    let unread = body.unread;
    let answer = tokio::task::spawn_blocking(move || put(&hub, &channel, &user, last_read, unread))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the bridge is shutting down",
            )
        })??;
    Ok(Json(json!({ "last_read": answer.to_string() })))
}

/// `GET /api/channels/{channel}/read`.
pub async fn get_read(
    State(hub): State<Arc<Hub>>,
    identity: Option<Extension<Arc<Identity>>>,
    path: Result<Path<ChannelPath>, PathRejection>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let channel = channel_from(path)?;
    let identity = identity.map(|Extension(identity)| identity);
    let user = reader(
        identity.as_deref(),
        query.get("as").map(String::as_str),
        "?as=<name>",
    )?;
    let last_read = hub.reads.get(&channel, &user).map(|id| id.to_string());
    Ok(Json(json!({ "last_read": last_read })))
}

/// The `read` frames of `person`'s markers of `channels` (a stream's or
/// poll's opening: what may have changed while it was away).
pub fn opening(hub: &Hub, person: &str, channels: &[String]) -> Vec<bytes::Bytes> {
    (channels.iter())
        .filter_map(|channel| Some(crate::sse::read(channel, hub.reads.get(channel, person)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(channel: &str, user: &str, last_read: u64) -> ReadMarker {
        ReadMarker {
            channel_id: channel.into(),
            user: user.into(),
            last_read,
        }
    }

    #[test]
    fn forward_only_unless_unread_and_the_latest_line_wins() {
        let state = ReadState::restored(vec![marker("c", "Ann", 5), marker("c", "Ann", 9)]);
        assert_eq!(state.get("c", "Ann"), Some(9));
        assert_eq!(state.next("c", "Ann", 7, false), None);
        assert_eq!(state.next("c", "Ann", 9, true), None);
        assert_eq!(state.next("c", "Ann", 7, true), Some(7));
        assert_eq!(state.next("c", "Ann", 12, false), Some(12));
        assert_eq!(state.next("c", "Bob", 1, false), Some(1));
        assert_eq!(state.all(), [marker("c", "Ann", 9)]);
    }

    #[test]
    fn past_the_bound_the_oldest_are_forgotten() {
        let state = ReadState::default();
        for i in 0..(MAX_MARKERS + 1) as u64 {
            state.apply(&marker("c", &format!("p{i}"), i));
        }
        let held = state.markers.lock().unwrap().by_key.len();
        assert!(
            (MAX_MARKERS * 8 / 10..=MAX_MARKERS).contains(&held),
            "{held}"
        );
        assert_eq!(state.get("c", "p0"), None);
        assert_eq!(
            state.get("c", &format!("p{MAX_MARKERS}")),
            Some(MAX_MARKERS as u64)
        );
    }
}
