//! `GET /api/channels/{channel}/events` and `GET /api/events?channels=a,b,c`:
//! Server-Sent Events streams of one channel or of several (up to
//! [`MAX_STREAM_CHANNELS`]). A multi-channel stream carries its channels'
//! messages in id order, with one cursor for all of them; everything else
//! (admission, limits, delivery, records) is the same for both kinds.
//!
//! A stream is served one of two ways, with the same admission and the same
//! delivery loop ([`deliver`]):
//! - **Direct** (the common case): the connection's first request is the stream.
//!   The accept loop in [`crate::server`] recognises it from the request head
//!   and hands the socket here; the connection's own task writes the response
//!   head and then each frame straight to the socket. No HTTP machinery stays
//!   behind for the stream's lifetime, which is what keeps an idle stream at a
//!   few KiB and a fan-out at one wake-up and one write per subscriber.
//! - **Through the router**: a stream requested on a connection already used for
//!   other requests (keep-alive) goes through the router. A small pump task
//!   moves frames into a bounded queue that the response body drains.
//!
//! Either way, a client that stops reading is found by a write that makes no
//! progress for `--client-stall` seconds (the socket's buffer, or the queue, is
//! full), or by falling off the end of the shared broadcast ring. It is dropped
//! as `lagged`, after a best-effort `resync` (only between frames: never glued
//! into one cut short). A slow client that keeps reading is not stalled, however
//! long a large replay takes it. So a stuck client can neither grow the bridge's
//! memory nor hold back anyone else.
//!
//! A replay is written a batch at a time from references to the retained
//! messages, outside every lock, and each message is let go once written. A
//! stream's client has nothing to send after its request: bytes that arrive
//! anyway end the stream as an `error`.

use crate::error::ApiError;
use crate::extract::{channel_from, last_event_id, ChannelPath, Peer};
use crate::hub::{Fault, FeedError, Frame, Hub, Subscription};
use crate::message::validate_channel;
use crate::sse::{self, Resync};
use crate::streams::{CloseReason, Listen, NewStream, Served, StreamRecord};
use crate::users::Identity;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::WaitForCancellationFuture;

/// A stream's own headers (see [`response`]).
const STREAM_HEADERS: [(&str, &str); 3] = [
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
];

/// Most channels one stream may carry.
pub const MAX_STREAM_CHANNELS: usize = 64;

/// The channels of `?channels=a,b,c` (already percent-decoded): valid names,
/// at most [`MAX_STREAM_CHANNELS`] distinct ones; repeats are ignored.
pub fn parse_channels(list: Option<&str>) -> Result<Listen, ApiError> {
    let list = list.unwrap_or("");
    if list.is_empty() {
        return Err(ApiError::bad_request(
            "name the channels to stream: ?channels=a,b,c",
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for name in list.split(',') {
        validate_channel(name)?;
        if !names.iter().any(|seen| seen == name) {
            if names.len() == MAX_STREAM_CHANNELS {
                return Err(ApiError::bad_request(format!(
                    "a stream carries at most {MAX_STREAM_CHANNELS} channels"
                )));
            }
            names.push(name.to_owned());
        }
    }
    Ok(Listen::Many(names))
}

/// What admitting a stream request led to.
pub enum Admission {
    /// Registered and subscribed: serve it.
    Open(OpenStream),
    /// Refused by the bridge with this error (the router gives the same
    /// answer, so the direct path leaves it to the router).
    Refused(ApiError),
    /// Refused by the application's connect callback: answered as is,
    /// never asked again.
    Denied(ApiError),
    /// The stall fault is on: accept and say nothing.
    Stall,
}

/// A registered, subscribed stream, ready to be served.
pub struct OpenStream {
    record: Arc<StreamRecord>,
    subscription: Subscription,
}

/// A stream request, as either serving path read it.
pub struct StreamRequest {
    pub listen: Listen,
    pub last_event_id: Option<u64>,
    /// The client's address and port.
    pub remote: Option<std::net::SocketAddr>,
    /// Who it is, with `--users`.
    pub identity: Option<Arc<Identity>>,
    /// Who it counts as: the token's user, or the URL's `as=`.
    pub person: Option<Arc<str>>,
}

/// The person a stream or poll counts as: the signed-in user, or without
/// `--users` the URL's `as=<name>` (checked as names are everywhere).
pub fn person_of(
    identity: Option<&Identity>,
    query: &HashMap<String, String>,
) -> Result<Option<Arc<str>>, ApiError> {
    let named = crate::extract::reader_name(identity, query.get("as").map(String::as_str))?;
    Ok(named.map(Arc::from))
}

/// Checks the fault, the channel limit and the per-client limit, subscribes
/// and registers a stream, then asks the application (its connect callback,
/// when configured). Nothing is left behind unless it answers `Open`. An
/// open stream's person is present in its channels from then on, and its
/// opening carries each channel's presence and the person's read markers.
pub async fn admit(hub: &Hub, request: StreamRequest, served: Served) -> Admission {
    let StreamRequest {
        listen,
        last_event_id,
        remote,
        identity,
        person,
    } = request;
    match hub.fault() {
        None => {}
        Some(Fault::Reject(status)) => {
            return Admission::Refused(ApiError::new(
                status,
                "event streams are refused on purpose (injected fault)",
            ));
        }
        Some(Fault::Stall) => return Admission::Stall,
    }
    let mut subscription = match hub.subscribe(&listen, last_event_id) {
        Ok(subscription) => subscription,
        Err(full) => return Admission::Refused(full.into()),
    };
    let limit = hub.config.max_streams_per_client;
    let new = NewStream {
        channels: listen.clone(),
        remote,
        served,
        identity,
        person: person.clone(),
        inbox: (person.as_ref()).map(|p| hub.inboxes.register(p, listen.names())),
    };
    let inbox = new.inbox.clone();
    let forget_inbox = || {
        if let Some(inbox) = &inbox {
            hub.inboxes.unregister(inbox);
        }
    };
    let record = match hub.streams.open(new, limit, &hub.shutdown) {
        Ok(record) => record,
        Err(refused) => {
            forget_inbox();
            let mailbox = subscription.live.mailbox();
            drop(subscription);
            hub.release(&listen, mailbox);
            return Admission::Refused(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                refused.to_string(),
            ));
        }
    };
    if let Some(callbacks) = &hub.callbacks {
        // Held by a guard while the callback is pending: a client that
        // leaves meanwhile makes hyper drop this future mid-wait, and the
        // guard then undoes what was set up, as a refusal does.
        let mut unopened = Unopened {
            hub,
            listen: &listen,
            inbox: inbox.as_ref(),
            id: record.id,
            subscription: Some(subscription),
        };
        let asked = Box::pin(callbacks.connect(&record));
        let answer = tokio::select! {
            answer = asked => answer,
            _ = record.cancel.cancelled() => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the stream was ended before it opened",
            )),
        };
        match (answer, unopened.subscription.take()) {
            (Ok(()), Some(taken)) => subscription = taken,
            (answer, taken) => {
                unopened.subscription = taken;
                drop(unopened);
                let error = answer.err().unwrap_or_else(|| {
                    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the stream was lost")
                });
                tracing::info!(connection = record.id, status = %error.status, "stream refused by the connect callback");
                return Admission::Denied(error);
            }
        }
    }
    hub.presence.join(listen.names(), person.as_ref());
    let mut opening = subscription.prefix.to_vec();
    for frame in hub.presence.opening(listen.names()) {
        opening.extend_from_slice(&frame);
    }
    if let Some(person) = &person {
        for frame in crate::readstate::opening(hub, person, listen.names()) {
            opening.extend_from_slice(&frame);
        }
    }
    subscription.prefix = opening.into();
    record
        .last_event_id
        .store(subscription.caught_up_to, Ordering::Relaxed);
    let served = served.as_str();
    tracing::info!(connection = record.id, channel = %listen, ?last_event_id, served, user = person.as_deref(), "stream opened");
    Admission::Open(OpenStream {
        record,
        subscription,
    })
}

/// What a stream set up before its connect callback answered, undone when
/// it does not open (refused, or its client gone while it waited).
struct Unopened<'a> {
    hub: &'a Hub,
    listen: &'a Listen,
    inbox: Option<&'a Arc<crate::inbox::Inbox>>,
    id: u64,
    /// Taken back when the stream opens: nothing to undo then.
    subscription: Option<Subscription>,
}

impl Drop for Unopened<'_> {
    fn drop(&mut self) {
        let Some(subscription) = self.subscription.take() else {
            return;
        };
        if let Some(inbox) = self.inbox {
            self.hub.inboxes.unregister(inbox);
        }
        let mailbox = subscription.live.mailbox();
        drop(subscription);
        self.hub.release(self.listen, mailbox);
        self.hub.streams.discard(self.id);
    }
}

/// The router's handler for single-channel streams: every stream request the
/// direct path did not take, that is, one on a connection that served other
/// requests before, or one to refuse (so refusals have the usual error body
/// and headers).
pub async fn events(
    State(hub): State<Arc<Hub>>,
    Peer(remote): Peer,
    identity: Option<Extension<Arc<Identity>>>,
    path: Result<Path<ChannelPath>, PathRejection>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let listen = Listen::One(channel_from(path)?);
    open_through_router(hub, listen, remote, identity, &headers, &query).await
}

/// The router's handler for multi-channel streams (as [`events`]).
pub async fn events_of_many(
    State(hub): State<Arc<Hub>>,
    Peer(remote): Peer,
    identity: Option<Extension<Arc<Identity>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let listen = parse_channels(query.get("channels").map(String::as_str))?;
    open_through_router(hub, listen, remote, identity, &headers, &query).await
}

async fn open_through_router(
    hub: Arc<Hub>,
    listen: Listen,
    remote: Option<std::net::SocketAddr>,
    identity: Option<Extension<Arc<Identity>>>,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let last_event_id = last_event_id(headers, query)?;
    let identity = identity.map(|Extension(identity)| identity);
    let person = person_of(identity.as_deref(), query)?;
    let request = StreamRequest {
        listen,
        last_event_id,
        remote,
        identity,
        person,
    };
    let open = match admit(&hub, request, Served::Router).await {
        Admission::Open(open) => open,
        Admission::Refused(error) | Admission::Denied(error) => return Err(error),
        Admission::Stall => {
            // Accept the connection and say nothing, until shutdown (or the client
            // leaves, which drops this future).
            hub.shutdown.cancelled().await;
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the bridge is shutting down",
            ));
        }
    };
    let (sender, receiver) = mpsc::channel(hub.config.client_backlog as usize);
    tokio::spawn(serve(hub.clone(), open, Bytes::new(), Sink::Router(sender)));
    let body = ReceiverStream::new(receiver).map(Ok::<Bytes, Infallible>);
    Ok(response(Body::from_stream(body)))
}

/// A stream's answer with its own headers; the router's layers (or, on the
/// direct path, [`crate::app::StreamHead`]) add CORS and CSP.
pub fn response(body: Body) -> Response {
    let mut response = Response::new(body);
    for (name, value) in STREAM_HEADERS {
        (response.headers_mut()).insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Where a stream's bytes go: how it is [`Served`].
pub enum Sink {
    /// The client's socket itself.
    Direct(TcpStream),
    /// A bounded queue that the router's response body drains.
    Router(mpsc::Sender<Bytes>),
}

/// Bytes written to `socket` that its client has not taken yet (Linux's
/// `TIOCOUTQ`); `usize::MAX` where that cannot be read, so that no progress
/// is assumed.
fn unsent_bytes(socket: &TcpStream) -> usize {
    use std::os::fd::AsRawFd;
    let mut unsent: libc::c_int = 0;
    // SAFETY: TIOCOUTQ writes one int through the pointer, which is valid.
    let read = unsafe { libc::ioctl(socket.as_raw_fd(), libc::TIOCOUTQ, &mut unsent) };
    if read == 0 {
        usize::try_from(unsent).unwrap_or(usize::MAX)
    } else {
        usize::MAX
    }
}

/// How handing bytes to a sink went.
enum Sent {
    Done,
    /// The client is gone: it closed (`ClientClosed`), or the write failed
    /// (`Error`).
    Gone(CloseReason),
    /// No progress for the stall time. `whole_frames`: none of the bytes went
    /// out, so the client's stream still ends between two frames.
    Stalled {
        whole_frames: bool,
    },
}

impl Sink {
    /// Hands over `bytes`, giving up only when a wait makes no progress for
    /// `stall`: a slow reader that keeps reading is never cut off.
    async fn send(&mut self, bytes: Bytes, stall: Duration) -> Sent {
        match self {
            Sink::Router(sender) => match tokio::time::timeout(stall, sender.send(bytes)).await {
                Ok(Ok(())) => Sent::Done,
                Ok(Err(_)) => Sent::Gone(CloseReason::ClientClosed),
                Err(_) => Sent::Stalled { whole_frames: true },
            },
            Sink::Direct(socket) => {
                // Most writes fit the socket's buffer at once: one system call.
                let mut written = match socket.try_write(&bytes) {
                    Ok(n) => n,
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => 0,
                    Err(_) => return Sent::Gone(CloseReason::Error),
                };
                if written == bytes.len() {
                    return Sent::Done;
                }
                let mut unsent = unsent_bytes(socket);
                while written < bytes.len() {
                    match tokio::time::timeout(stall, socket.write(&bytes[written..])).await {
                        Ok(Ok(0)) => return Sent::Gone(CloseReason::ClientClosed),
                        Ok(Err(_)) => return Sent::Gone(CloseReason::Error),
                        Ok(Ok(n)) => written += n,
                        Err(_) => {
                            // A full send buffer only wakes a writer once a
                            // good part of it has drained, which can take a
                            // slow reader longer than the stall time. What it
                            // has taken meanwhile is progress too.
                            let now = unsent_bytes(socket);
                            if now < unsent {
                                unsent = now;
                                continue;
                            }
                            return Sent::Stalled {
                                whole_frames: written == 0,
                            };
                        }
                    }
                }
                Sent::Done
            }
        }
    }

    /// Hands over `bytes` if that needs no waiting (the parting `resync`).
    fn try_send(&mut self, bytes: Bytes) {
        match self {
            Sink::Router(sender) => {
                let _ = sender.try_send(bytes);
            }
            Sink::Direct(socket) => {
                let _ = socket.try_write(&bytes);
            }
        }
    }

    /// Resolves when the client has closed its end (`ClientClosed`), or the
    /// connection failed (a reset, or the kernel giving up on data the
    /// client never acknowledged: `--dead-client`), or the client sent
    /// something after its request, which a stream's client never does
    /// (each `Error`).
    async fn closed(&mut self) -> CloseReason {
        match self {
            Sink::Router(sender) => {
                sender.closed().await;
                CloseReason::ClientClosed
            }
            Sink::Direct(socket) => {
                let mut scratch = [0u8; 1];
                loop {
                    if socket.readable().await.is_err() {
                        return CloseReason::Error;
                    }
                    match socket.try_read(&mut scratch) {
                        Ok(0) => return CloseReason::ClientClosed,
                        Ok(_) => return CloseReason::Error,
                        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(_) => return CloseReason::Error,
                    }
                }
            }
        }
    }
}

/// Serves an admitted stream into `sink` until it ends, then forgets it:
/// its subscription, its record, its person's presence (after the grace),
/// and its disconnect callback goes out.
pub async fn serve(hub: Arc<Hub>, open: OpenStream, head: Bytes, mut sink: Sink) {
    let OpenStream {
        record,
        subscription,
    } = open;
    let mailbox = subscription.live.mailbox();
    let reason = deliver(&hub, &record, subscription, head, &mut sink).await;
    drop(sink); // ends the response
    if let Some(inbox) = &record.inbox {
        hub.inboxes.unregister(inbox);
    }
    hub.release(&record.channels, mailbox);
    let names = record.channels.names();
    (hub.presence).leave(
        names,
        record.person.as_ref(),
        crate::presence::Holder::Stream,
    );
    hub.streams.close(record.id, reason);
    if let Some(callbacks) = &hub.callbacks {
        callbacks.disconnected(&record, reason);
    }
    tracing::info!(
        connection = record.id,
        channel = %record.channels,
        reason = reason.as_str(),
        duration_ms = record.opened.elapsed().as_millis() as u64,
        "stream closed"
    );
}

/// A write gathers frames that are already waiting up to about this size.
const BATCH_BYTES: usize = 16 * 1024;

/// The delivery loop: the head and the subscription's prefix, then every live
/// frame once, until the client leaves, stalls or lags, or the bridge ends it.
/// Frames that pile up while a write is under way go out together in the
/// next one: fewer system calls and packets when a burst arrives.
async fn deliver(
    hub: &Hub,
    record: &StreamRecord,
    subscription: Subscription,
    head: Bytes,
    sink: &mut Sink,
) -> CloseReason {
    let Subscription {
        prefix,
        replay,
        mut live,
        caught_up_to,
        ..
    } = subscription;
    let mut sent_up_to = caught_up_to;
    let first = if head.is_empty() {
        prefix
    } else {
        let mut first = Vec::with_capacity(head.len() + prefix.len());
        first.extend_from_slice(&head);
        first.extend_from_slice(&prefix);
        Bytes::from(first)
    };
    // Made once and polled across iterations. The record's token is the
    // stream's own (a child of the shutdown token): waiting on it touches no
    // lock that other streams share, which matters during a fan-out.
    let mut ended = pin!(record.cancel.cancelled());
    let stall = hub.config.client_stall;
    if let Err(reason) = send(hub, record, ended.as_mut(), stall, sink, first).await {
        return reason;
    }
    let mut replay = replay.into_iter();
    loop {
        let mut batch = Vec::new();
        let mut last = None;
        for record in replay.by_ref() {
            batch.extend_from_slice(&record.frame());
            last = Some(record.id());
            if batch.len() >= BATCH_BYTES {
                break;
            }
        }
        let Some(last) = last else { break };
        if let Err(reason) = send(hub, record, ended.as_mut(), stall, sink, batch.into()).await {
            return reason;
        }
        record.last_event_id.store(last, Ordering::Relaxed);
    }
    drop(replay);
    loop {
        let personal = std::future::poll_fn(|cx| match &record.inbox {
            Some(inbox) => inbox.poll_ready(cx),
            None => std::task::Poll::Pending,
        });
        let frame = tokio::select! {
            biased;
            _ = ended.as_mut() => return why_ended(hub, record),
            reason = sink.closed() => return reason,
            // The person's own frames go out like any other.
            _ = personal => Frame {
                id: None,
                bytes: (record.inbox.as_deref()).map(crate::inbox::Inbox::take_joined).unwrap_or_default(),
            },
            received = live.recv() => match received {
                Ok(frame) => frame,
                Err(FeedError::Lagged) => return end_lagged(record, sink, true),
                Err(FeedError::Closed | FeedError::Empty) => return CloseReason::Error,
            },
        };
        let mut batch = Batch::default();
        batch.push(frame, &mut sent_up_to);
        while batch.len() < BATCH_BYTES {
            let next = match live.try_recv() {
                Ok(frame) => frame,
                Err(FeedError::Lagged) => return end_lagged(record, sink, true),
                // Empty: nothing waits. Closed: the next `recv` says so.
                Err(_) => break,
            };
            batch.push(next, &mut sent_up_to);
        }
        if batch.is_empty() {
            continue;
        }
        record.last_event_id.store(sent_up_to, Ordering::Relaxed);
        let bytes = batch.into_bytes();
        if let Err(reason) = send(hub, record, ended.as_mut(), stall, sink, bytes).await {
            return reason;
        }
    }
}

/// Why the bridge ended a stream: as it said when it ended it (kicked, or
/// its sign-in expired), else its own shutdown.
fn why_ended(hub: &Hub, record: &StreamRecord) -> CloseReason {
    match record.ended_by() {
        Some(reason) => reason,
        None if hub.shutdown.is_cancelled() => CloseReason::Shutdown,
        None => CloseReason::Kicked,
    }
}

/// Frames bound for one write, without copying when there is only one.
#[derive(Default)]
struct Batch {
    first: Option<Bytes>,
    joined: Vec<u8>,
}

impl Batch {
    /// Adds a frame, unless it is a message already sent (in the replay).
    fn push(&mut self, frame: Frame, sent_up_to: &mut u64) {
        if let Some(id) = frame.id {
            if id <= *sent_up_to {
                return;
            }
            *sent_up_to = id;
        }
        match &self.first {
            None => self.first = Some(frame.bytes),
            Some(first) => {
                if self.joined.is_empty() {
                    self.joined.extend_from_slice(first);
                }
                self.joined.extend_from_slice(&frame.bytes);
            }
        }
    }

    fn len(&self) -> usize {
        match &self.first {
            None => 0,
            Some(first) if self.joined.is_empty() => first.len(),
            Some(_) => self.joined.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn into_bytes(self) -> Bytes {
        match self.first {
            Some(first) if self.joined.is_empty() => first,
            _ => Bytes::from(self.joined),
        }
    }
}

/// One hand-over, given up after `--client-stall` without progress, and cut
/// short when the bridge ends the stream.
async fn send(
    hub: &Hub,
    record: &StreamRecord,
    ended: Pin<&mut WaitForCancellationFuture<'_>>,
    stall: Duration,
    sink: &mut Sink,
    bytes: Bytes,
) -> Result<(), CloseReason> {
    let sent = tokio::select! {
        biased;
        _ = ended => return Err(why_ended(hub, record)),
        sent = sink.send(bytes, stall) => sent,
    };
    match sent {
        Sent::Done => Ok(()),
        Sent::Gone(reason) => Err(reason),
        Sent::Stalled { whole_frames } => Err(end_lagged(record, sink, whole_frames)),
    }
}

/// Ends a stream whose client fell behind, telling it (if there is room, and
/// only between frames) that it missed messages.
fn end_lagged(record: &StreamRecord, sink: &mut Sink, whole_frames: bool) -> CloseReason {
    if whole_frames {
        let named = match &record.channels {
            Listen::One(_) => None,
            Listen::Many(names) => Some(&names[..]),
        };
        sink.try_send(sse::resync(Resync::Lagged, named));
    }
    CloseReason::Lagged
}
