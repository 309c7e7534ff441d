//! Who is typing: `POST /api/channels/{channel}/typing` (the reader; without
//! `--users` the body's `author`), and the control API's
//! `POST /internal/channels/{channel}/typing` `{"user"}`. Each answers 204
//! and sends the channel's streams and polls a `typing` event
//! `{"channel_id","user","until"}`, `until` being [`SHOWN_FOR`] from now.
//!
//! At most one signal per person and channel per [`THROTTLE`] goes out; one
//! sooner is answered 204 all the same and dropped, so a composer that
//! signals on every keystroke costs the streams nothing more. A message from
//! that person ends their typing: the panel clears their line when the
//! message arrives, and the bridge drops that person's signals for
//! [`AFTER_MESSAGE`] (a signal sent just before the message may arrive just
//! after it, and would show them typing for 8 s more), then lets the next
//! one through (a new message begun) without waiting out the throttle.
//!
//! Nothing is stored beyond the last signals of the last [`THROTTLE`]: the
//! record of who signalled when is swept as it grows.

use crate::error::ApiError;
use crate::extract::{channel_from, ChannelPath};
use crate::hub::Hub;
use crate::message::{is_person_name, MAX_NAME_BYTES, MAX_NAME_CHARS};
use crate::users::Identity;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use bytes::Bytes;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// At most one signal per person and channel per this long.
pub const THROTTLE: Duration = Duration::from_secs(2);
/// After a person's message, their signals are dropped for this long: one
/// sent just before the message may arrive just after it.
pub const AFTER_MESSAGE: Duration = Duration::from_secs(1);
/// A signal shows its person typing for this long (`until`).
pub const SHOWN_FOR: Duration = Duration::from_secs(8);

/// The last signal of each person in each channel, within [`THROTTLE`].
#[derive(Default)]
pub struct Typing {
    last: Mutex<Signals>,
}

#[derive(Default)]
struct Signals {
    at: HashMap<(String, Arc<str>), Instant>,
    /// Swept when it grows past this (then set to twice what is left).
    sweep_above: usize,
}

impl Typing {
    /// Whether a signal of `user` in `channel` at `now` goes out (and is
    /// then remembered), or comes too soon after the last one.
    pub fn signal(&self, channel: &str, user: &str, now: Instant) -> bool {
        let mut last = self.last.lock().unwrap();
        let key = (channel.to_owned(), Arc::from(user));
        if last.at.get(&key).is_some_and(|at| now < *at + THROTTLE) {
            return false;
        }
        last.at.insert(key, now);
        if last.at.len() > last.sweep_above.max(1_024) {
            last.at.retain(|_, at| now < *at + THROTTLE);
            last.sweep_above = last.at.len() * 2;
        }
        true
    }

    /// `user` sent a message to `channel` at `now`: their typing there is
    /// over, and their next signal goes out [`AFTER_MESSAGE`] later at the
    /// latest (not a full [`THROTTLE`]).
    pub fn message_from(&self, channel: &str, user: &str, now: Instant) {
        let mut last = self.last.lock().unwrap();
        let key = (channel.to_owned(), Arc::from(user));
        match now.checked_sub(THROTTLE - AFTER_MESSAGE) {
            Some(as_if) => drop(last.at.insert(key, as_if)),
            None => drop(last.at.remove(&key)),
        }
    }

    /// People and channels remembered now (for tests).
    pub fn remembered(&self) -> usize {
        self.last.lock().unwrap().at.len()
    }
}

/// Sends `user`'s typing in `channel` unless it is throttled.
fn signal(hub: &Hub, channel: &str, user: &str) {
    if !hub.typing.signal(channel, user, Instant::now()) {
        return;
    }
    let until = crate::snowflake::now_ms() + SHOWN_FOR.as_millis() as u64;
    let frame: Bytes = crate::sse::typing(channel, user, &crate::clock::rfc3339_ms(until));
    hub.broadcast_raw(channel, frame);
}

/// A reader's body: without `--users`, who they are.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReaderTyping {
    #[serde(default)]
    author: Option<String>,
}

/// A name as the bridge takes it anywhere ([`is_person_name`]).
fn checked_name(name: Option<String>, field: &str) -> Result<String, ApiError> {
    name.filter(|n| is_person_name(n)).ok_or_else(|| {
        ApiError::bad_request(format!(
            "name who is typing with \"{field}\": 1 to {MAX_NAME_CHARS} characters \
             ({MAX_NAME_BYTES} bytes), no control characters, not blank"
        ))
    })
}

/// `POST /api/channels/{channel}/typing` → 204.
pub async fn reader_typing(
    State(hub): State<Arc<Hub>>,
    identity: Option<Extension<Arc<Identity>>>,
    path: Result<Path<ChannelPath>, PathRejection>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let channel = channel_from(path)?;
    let body: ReaderTyping = crate::extract::optional_json(&body)?;
    let user = match identity {
        Some(Extension(identity)) => identity.name.clone(),
        None => checked_name(body.author, "author")?,
    };
    signal(&hub, &channel, &user);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ControlTyping {
    #[serde(default)]
    user: Option<String>,
}

/// `POST /internal/channels/{channel}/typing` `{"user"}` → 204.
pub async fn control_typing(
    State(hub): State<Arc<Hub>>,
    path: Result<Path<ChannelPath>, PathRejection>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let channel = channel_from(path)?;
    let body: ControlTyping = crate::extract::optional_json(&body)?;
    let user = checked_name(body.user, "user")?;
    signal(&hub, &channel, &user);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_signal_per_person_and_channel_per_throttle_and_a_message_resets_it() {
        let typing = Typing::default();
        let t0 = Instant::now();
        assert!(typing.signal("c", "Ann", t0));
        assert!(!typing.signal("c", "Ann", t0 + Duration::from_millis(1_999)));
        assert!(typing.signal("c", "Bob", t0), "per person");
        assert!(typing.signal("d", "Ann", t0), "per channel");
        assert!(typing.signal("c", "Ann", t0 + THROTTLE));
        let sent = t0 + THROTTLE * 2;
        typing.message_from("c", "Ann", sent);
        // A signal racing the message it came before (sent just before
        // it, arriving just after) would show Ann typing for 8 s after her
        // message: dropped; the next message's typing shows after a second.
        assert!(!typing.signal("c", "Ann", sent + Duration::from_millis(500)));
        assert!(typing.signal("c", "Ann", sent + AFTER_MESSAGE));
    }

    #[test]
    fn old_signals_are_swept() {
        let typing = Typing::default();
        let t0 = Instant::now();
        for i in 0..5_000 {
            let at = t0 + THROTTLE * (i / 1_000);
            typing.signal("c", &format!("p{i}"), at);
        }
        assert!(typing.remembered() < 3_000, "{}", typing.remembered());
    }
}
