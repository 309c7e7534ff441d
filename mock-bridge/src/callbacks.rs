//! Connect and disconnect callbacks (`--callback-url`): the application hears
//! of every stream that opens, and may refuse it, and of every stream that
//! opened and ended, with why.
//!
//! - **Connect**, before the stream's first byte: `POST` of
//!   `{"type":"connect","connection_id","user","channels","remote","at"}`.
//!   A 2xx opens the stream; any other answer refuses it with 403, and no
//!   answer within `--callback-timeout-ms` (or no receiver at all) with 503.
//!   At most [`CONNECTS_AT_ONCE`] are in flight; a stream waits for its
//!   turn within the same timeout.
//! - **Disconnect**, when a stream that opened ends: `POST` of
//!   `{"type":"disconnect","connection_id","user","channels","reason","duration_ms","at"}`.
//!   It is queued and sent by at most [`DISCONNECT_SENDERS`] requests at
//!   once, off the stream's path: a stream never waits for it. The queue
//!   holds [`DISCONNECT_QUEUE`]; past that a disconnect callback is dropped,
//!   logged and counted (`callbacks.disconnects_dropped` in
//!   `/internal/connections`). One that fails is logged and never retried.
//!   At shutdown the bridge gives those in flight or queued at most the
//!   callback timeout, then exits whatever is left.
//! - With `--callback-secret`, each carries `X-Bridge-Signature:
//!   t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, so a receiver
//!   can check it came from the bridge, and refuse an old `t` (a replay).
//!
//! Every callback's outcome is logged: its status and milliseconds, or the
//! error. The client speaks plain `http://` (no TLS in this build).

use crate::error::ApiError;
use crate::streams::{CloseReason, StreamRecord};
use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify, Semaphore};

/// Connect callbacks in flight at once; more streams wait their turn.
pub const CONNECTS_AT_ONCE: usize = 256;
/// Disconnect callbacks sent at once.
pub const DISCONNECT_SENDERS: usize = 32;
/// Disconnect callbacks waiting to be sent; past it they are dropped.
pub const DISCONNECT_QUEUE: usize = 10_000;

/// The callbacks of one bridge.
pub struct Callbacks {
    url: String,
    secret: Option<Vec<u8>>,
    timeout: Duration,
    http: reqwest::Client,
    connects: Semaphore,
    queue: mpsc::Sender<String>,
    /// Taken by [`Callbacks::start`].
    waiting: Mutex<Option<mpsc::Receiver<String>>>,
    /// Disconnect callbacks queued or in flight.
    unsent: AtomicUsize,
    settled: Notify,
    dropped: AtomicU64,
    failed: AtomicU64,
}

/// Why a connect callback did not let its stream open.
fn refused(status: StatusCode, sentence: String) -> ApiError {
    ApiError::new(status, sentence)
}

impl Callbacks {
    pub fn new(url: String, secret: Option<String>, timeout: Duration) -> Callbacks {
        // A redirect is an answer other than 2xx (the stream is refused),
        // and the signed body goes to the receiver named, nowhere else.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .expect("a plain HTTP client builds");
        let (queue, waiting) = mpsc::channel(DISCONNECT_QUEUE);
        Callbacks {
            url,
            secret: secret.map(String::into_bytes),
            timeout,
            http,
            connects: Semaphore::new(CONNECTS_AT_ONCE),
            queue,
            waiting: Mutex::new(Some(waiting)),
            unsent: AtomicUsize::new(0),
            settled: Notify::new(),
            dropped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    /// Starts sending disconnect callbacks (once; in a runtime).
    pub fn start(self: &Arc<Self>) {
        let Some(mut waiting) = self.waiting.lock().unwrap().take() else {
            return;
        };
        let callbacks = self.clone();
        tokio::spawn(async move {
            let senders = Arc::new(Semaphore::new(DISCONNECT_SENDERS));
            while let Some(body) = waiting.recv().await {
                let Ok(turn) = senders.clone().acquire_owned().await else {
                    return;
                };
                let callbacks = callbacks.clone();
                tokio::spawn(async move {
                    if callbacks.post("disconnect", body).await.is_err() {
                        callbacks.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    drop(turn);
                    if callbacks.unsent.fetch_sub(1, Ordering::AcqRel) == 1 {
                        callbacks.settled.notify_waiters();
                    }
                });
            }
        });
    }

    /// Asks the application whether `record`'s stream may open.
    pub async fn connect(&self, record: &StreamRecord) -> Result<(), ApiError> {
        let body = json!({
            "type": "connect",
            "connection_id": record.id.to_string(),
            "user": record.person.as_deref(),
            "channels": record.channels.names(),
            "remote": record.remote.map(|remote| remote.to_string()),
            "at": crate::clock::rfc3339_ms(crate::snowflake::now_ms()),
        });
        let deadline = tokio::time::Instant::now() + self.timeout;
        let Ok(Ok(_turn)) = tokio::time::timeout_at(deadline, self.connects.acquire()).await else {
            tracing::warn!(
                connection = record.id,
                "connect callback: no turn within the timeout"
            );
            return Err(refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "the application's connect callback is too busy to answer; try again".into(),
            ));
        };
        let answer =
            tokio::time::timeout_at(deadline, self.post("connect", body.to_string())).await;
        match answer {
            Ok(Ok(status)) if status.is_success() => Ok(()),
            Ok(Ok(status)) => Err(refused(
                StatusCode::FORBIDDEN,
                format!(
                    "the application refused this stream (its connect callback answered {status})"
                ),
            )),
            Ok(Err(error)) if !error.is_timeout() => Err(refused(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the application's connect callback could not be reached: {}",
                    causes(&error)
                ),
            )),
            _ => {
                tracing::warn!(
                    connection = record.id,
                    timeout_ms = self.timeout.as_millis() as u64,
                    "connect callback timed out"
                );
                Err(refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the application's connect callback did not answer in time".into(),
                ))
            }
        }
    }

    /// Queues `record`'s disconnect callback; never waits. Past the queue's
    /// bound it is dropped and counted.
    pub fn disconnected(&self, record: &StreamRecord, reason: CloseReason) {
        let body = json!({
            "type": "disconnect",
            "connection_id": record.id.to_string(),
            "user": record.person.as_deref(),
            "channels": record.channels.names(),
            "reason": reason.as_str(),
            "duration_ms": record.opened.elapsed().as_millis() as u64,
            "at": crate::clock::rfc3339_ms(crate::snowflake::now_ms()),
        });
        self.unsent.fetch_add(1, Ordering::AcqRel);
        if self.queue.try_send(body.to_string()).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if self.unsent.fetch_sub(1, Ordering::AcqRel) == 1 {
                self.settled.notify_waiters();
            }
            if dropped.is_power_of_two() {
                tracing::warn!(
                    connection = record.id,
                    dropped,
                    "disconnect callback dropped: its queue is full"
                );
            }
        }
    }

    /// Resolves once no disconnect callback is queued or in flight.
    pub async fn settled(&self) {
        loop {
            let mut notified = std::pin::pin!(self.settled.notified());
            notified.as_mut().enable();
            if self.unsent.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Disconnect callbacks queued or in flight now.
    pub fn unsent(&self) -> usize {
        self.unsent.load(Ordering::Acquire)
    }

    /// For `/internal/connections`.
    pub fn report(&self) -> Value {
        json!({
            "disconnects_unsent": self.unsent(),
            "disconnects_dropped": self.dropped.load(Ordering::Relaxed),
            "disconnects_failed": self.failed.load(Ordering::Relaxed),
        })
    }

    /// One callback: its status, or why there is none. Logged either way.
    async fn post(&self, kind: &'static str, body: String) -> Result<StatusCode, reqwest::Error> {
        let started = Instant::now();
        let mut request = (self.http.post(&self.url))
            .header("content-type", "application/json")
            .timeout(self.timeout);
        if let Some(secret) = &self.secret {
            request = request.header(
                "x-bridge-signature",
                signature(secret, unix_seconds(), &body),
            );
        }
        let sent = request.body(body).send().await;
        let ms = started.elapsed().as_millis() as u64;
        match sent {
            Ok(response) => {
                let status = response.status();
                tracing::info!(
                    callback = kind,
                    status = status.as_u16(),
                    ms,
                    "callback answered"
                );
                Ok(status)
            }
            Err(error) => {
                let error_text = causes(&error);
                tracing::warn!(callback = kind, error = %error_text, ms, "callback failed");
                Err(error)
            }
        }
    }
}

/// An error and its causes, as one sentence ("error sending request for
/// url (…): client error (Connect): tcp connect error: Connection refused").
fn causes(error: &dyn std::error::Error) -> String {
    let mut sentence = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        sentence.push_str(": ");
        sentence.push_str(&next.to_string());
        cause = next.source();
    }
    sentence
}

fn unix_seconds() -> u64 {
    crate::snowflake::now_ms() / 1_000
}

/// `t=<t>,v1=<hex HMAC-SHA256 over "<t>.<body>" with the secret>`.
pub fn signature(secret: &[u8], t: u64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    let t = t.to_string();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut header = String::with_capacity(t.len() + 6 + 64);
    header.push_str("t=");
    header.push_str(&t);
    header.push_str(",v1=");
    for byte in digest {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        header.push(HEX[usize::from(byte >> 4)] as char);
        header.push(HEX[usize::from(byte & 15)] as char);
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10,050 streams end while no disconnect callback can be sent (its
    /// senders not started, as with a receiver that stopped answering): the
    /// queue holds its bound, the rest are dropped and counted, and nothing
    /// waits on them.
    #[test]
    fn past_the_queue_disconnect_callbacks_are_dropped_and_counted() {
        let callbacks = Callbacks::new(
            "http://127.0.0.1:9/hook".into(),
            None,
            Duration::from_millis(100),
        );
        let streams = crate::streams::Streams::default();
        let new = crate::streams::NewStream {
            channels: crate::streams::Listen::One("c".into()),
            remote: None,
            served: crate::streams::Served::Direct,
            identity: None,
            person: None,
            inbox: None,
        };
        let shutdown = tokio_util::sync::CancellationToken::new();
        let record = streams.open(new, 0, &shutdown).unwrap();
        for _ in 0..DISCONNECT_QUEUE + 50 {
            callbacks.disconnected(&record, CloseReason::ClientClosed);
        }
        assert_eq!(callbacks.unsent(), DISCONNECT_QUEUE);
        assert_eq!(callbacks.report()["disconnects_dropped"], 50);
    }

    /// RFC 4231's test case 2 ("Jefe"), with the body standing for the data
    /// after "<t>.".
    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body_in_hex() {
        let header = signature(b"Jefe", 1, "what do ya want for nothing?");
        assert!(header.starts_with("t=1,v1="), "{header}");
        assert_eq!(header.len(), "t=1,v1=".len() + 64);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1.what do ya want for nothing?");
        let expected: String = (mac.finalize().into_bytes().iter())
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(&header["t=1,v1=".len()..], expected);
        // The known answer for the data alone, to pin the hex and the MAC.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let known: String = (mac.finalize().into_bytes().iter())
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            known,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
