//! The accept loop. Each connection's first request head is read here: an
//! event-stream request is served directly on the socket (see [`crate::stream`]);
//! anything else, including every request the direct path would refuse, goes
//! to hyper and the router with the bytes already read put back in front.
//!
//! Every connection is bounded in time and number: at most
//! `--max-connections-per-client` per client address (503 past it); a request
//! must arrive within `--head-timeout` of its first byte, and a new connection
//! must send its first one within it too (408, or a silent close when nothing
//! came at all); a keep-alive connection idle for `--idle-timeout` is closed.

use crate::app::{StreamHead, MAX_QUERY_BYTES};
use crate::extract::last_event_id;
use crate::hub::Hub;
use crate::message::validate_channel;
use crate::stream::parse_channels;
use crate::stream::{self, person_of, Admission, Sink, StreamRequest};
use crate::streams::{Listen, Served};
use crate::users::{token_of, Identity, Users};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request};
use axum::Router;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// A request head longer than this is left to hyper (which refuses it).
const MAX_HEAD_BYTES: usize = 8 * 1024;
/// The most headers the direct path looks at; a request with more goes to hyper.
const MAX_HEADERS: usize = 64;
/// How long a refused connection is read from after its answer, so that its
/// unread request does not turn the close into a reset that loses the answer.
const DRAIN_AFTER_REFUSAL: Duration = Duration::from_secs(1);

/// Open connections per client address, against `--max-connections-per-client`.
#[derive(Default)]
struct ClientSlots {
    held: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`ClientSlots`], given back when it ends.
struct Slot {
    slots: Arc<ClientSlots>,
    peer: IpAddr,
}

impl ClientSlots {
    /// A slot for `peer`, unless it holds `limit` already (0: no limit).
    fn take(self: &Arc<Self>, peer: IpAddr, limit: usize) -> Option<Slot> {
        let mut held = self.held.lock().unwrap();
        let count = held.entry(peer).or_default();
        if limit > 0 && *count >= limit {
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: self.clone(),
            peer,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap();
        if let Some(count) = held.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.peer);
            }
        }
    }
}

/// Accepts connections until `shutdown`, then waits for every connection to end:
/// streams end at once, hyper connections finish their requests.
pub async fn serve(
    listener: TcpListener,
    hub: Arc<Hub>,
    router: Router,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let connections = TaskTracker::new();
    let slots = Arc::new(ClientSlots::default());
    let stream_head = Arc::new(StreamHead::new(&hub.config));
    let limit = hub.config.max_connections_per_client;
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((socket, peer)) => match slots.take(peer.ip(), limit) {
                Some(slot) => {
                    let (hub, router, head) = (hub.clone(), router.clone(), stream_head.clone());
                    connections.spawn(connection(hub, router, head, socket, peer, slot));
                }
                None => {
                    let sentence = format!(
                        "{} already holds {limit} open connections, the most one client may hold",
                        peer.ip()
                    );
                    connections.spawn(refuse(socket, "503 Service Unavailable", sentence));
                }
            },
            Err(error) if is_connection_error(&error) => {}
            Err(error) => {
                // Out of file descriptors, most likely: wait for some to close.
                tracing::error!(%error, "accept failed");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
            }
        }
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

async fn connection(
    hub: Arc<Hub>,
    router: Router,
    stream_head: Arc<StreamHead>,
    mut socket: TcpStream,
    peer: SocketAddr,
    slot: Slot,
) {
    // Frames are small and must go out at once.
    let _ = socket.set_nodelay(true);
    dead_client_limits(&socket, &hub.config);
    let accepted = tokio::time::Instant::now();
    let head = match read_head(&mut socket, accepted + hub.config.head_timeout).await {
        Ok(Head::Complete(head)) => head,
        // Whatever hyper makes of it: a too-long head or a bad one is refused there.
        Ok(Head::Cut(head)) => head,
        Ok(Head::Late(head)) if head.is_empty() => return,
        Ok(Head::Late(_)) => {
            let sentence = "the request head did not arrive in time";
            // Boxed: its drain buffer must not weigh on every connection's state.
            return Box::pin(refuse(socket, "408 Request Timeout", sentence.into())).await;
        }
        Err(_) => return,
    };
    if let Some(request) = direct_request(&head, hub.users.as_deref()) {
        let origin = request.origin;
        let request = StreamRequest {
            listen: request.listen,
            last_event_id: request.last_event_id,
            remote: Some(peer),
            identity: request.identity,
            person: request.person,
        };
        // Boxed: a connect callback's wait must not weigh on every stream.
        match Box::pin(stream::admit(&hub, request, Served::Direct)).await {
            Admission::Open(open) => {
                drop(head);
                let response = response_head(&stream_head.headers(origin).await);
                stream::serve(hub, open, response, Sink::Direct(socket)).await;
                return drop(slot);
            }
            Admission::Denied(error) => return Box::pin(deny(socket, error)).await,
            // The router gives the same answer, with the usual error body.
            Admission::Refused(_) | Admission::Stall => {}
        }
    }
    let io = Rewound::new(head, socket, accepted, hub.config.head_timeout);
    // Boxed: the long-lived direct streams should not carry hyper's state size.
    Box::pin(serve_http(&hub, router, io, peer)).await;
    drop(slot);
}

/// Answers a stream the application's connect callback refused, with the
/// status it chose (`403 Forbidden`, `503 Service Unavailable`).
async fn deny(socket: TcpStream, error: crate::error::ApiError) {
    let reason = error.status.canonical_reason().unwrap_or("Refused");
    let status = format!("{} {reason}", error.status.as_u16());
    refuse(socket, &status, error.message).await;
}

/// A client that vanished without a FIN (a laptop put to sleep, a network
/// gone) is found by the kernel: data the bridge sent (every stream gets a
/// heartbeat at least) that stays unacknowledged for `--dead-client` aborts
/// the connection (`TCP_USER_TIMEOUT`), and keepalive probes give it
/// something to send when nothing else goes out (heartbeats paused). The
/// stream's next look at its socket then ends it as `error`. Never under
/// `--client-stall` plus a second: a client that only stopped reading is
/// `lagged`, found first by the bridge.
fn dead_client_limits(socket: &TcpStream, config: &crate::config::Config) {
    use std::os::fd::AsRawFd;
    let limit = config
        .dead_client
        .max(config.client_stall + Duration::from_secs(1));
    let ms = libc::c_uint::try_from(limit.as_millis()).unwrap_or(libc::c_uint::MAX);
    let idle = (limit.as_secs() / 3).clamp(1, 7_200) as libc::c_int;
    let fd = socket.as_raw_fd();
    set_option(fd, libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, &ms);
    set_option(
        fd,
        libc::SOL_SOCKET,
        libc::SO_KEEPALIVE,
        &(1 as libc::c_int),
    );
    set_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, &idle);
    set_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, &idle);
}

/// One socket option; a failure only loses the limit, so it is ignored.
fn set_option<T>(fd: std::os::fd::RawFd, level: libc::c_int, name: libc::c_int, value: &T) {
    let length = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: setsockopt reads `length` bytes at `value`, a live reference.
    unsafe { libc::setsockopt(fd, level, name, (value as *const T).cast(), length) };
}

/// A whole answer that refuses a connection: `status`, a JSON error, close.
fn refusal(status: &str, sentence: &str) -> String {
    let body = serde_json::json!({ "error": sentence }).to_string();
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// How reading a connection's first request head ended.
enum Head {
    /// Up to the blank line that ends it (and possibly more).
    Complete(Vec<u8>),
    /// End of file, or the size limit, before the end of the head.
    Cut(Vec<u8>),
    /// The deadline passed first.
    Late(Vec<u8>),
}

/// Reads until the end of the first request head, the size limit, end of file
/// or `deadline`, whichever comes first. Only the bytes that arrived last are
/// searched for the end (a blank line, `\r\n\r\n` or a bare `\n\n`).
async fn read_head(socket: &mut TcpStream, deadline: tokio::time::Instant) -> io::Result<Head> {
    let mut head = Vec::with_capacity(1024);
    loop {
        let searched = head.len().saturating_sub(2);
        match tokio::time::timeout_at(deadline, socket.read_buf(&mut head)).await {
            Ok(Ok(0)) => return Ok(Head::Cut(head)),
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(error),
            Err(_) => return Ok(Head::Late(head)),
        }
        let fresh = &head[searched..];
        if fresh.windows(2).any(|w| w == b"\n\n") || fresh.windows(3).any(|w| w == b"\n\r\n") {
            return Ok(Head::Complete(head));
        }
        if head.len() >= MAX_HEAD_BYTES {
            return Ok(Head::Cut(head));
        }
    }
}

/// Answers with `status` and a JSON error, then closes. The client's unread
/// bytes are read and dropped for a moment first, so that the close does not
/// reset the connection before it has read the answer.
async fn refuse(mut socket: TcpStream, status: &str, sentence: String) {
    let answer = refusal(status, &sentence);
    use tokio::io::AsyncWriteExt;
    if socket.write_all(answer.as_bytes()).await.is_err() {
        return;
    }
    let _ = socket.shutdown().await;
    let mut scratch = [0u8; 4096];
    let drain = async {
        let mut left: usize = 64 * 1024;
        while left > 0 {
            match socket.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_AFTER_REFUSAL, drain).await;
}

/// An event-stream request the direct path can serve.
#[derive(Debug, PartialEq)]
struct DirectRequest {
    listen: Listen,
    last_event_id: Option<u64>,
    /// The `Origin` the client sent, if any.
    origin: Option<HeaderValue>,
    /// Who it is, with `--users`.
    identity: Option<Arc<Identity>>,
    /// Who it counts as in presence (the token's user, or `as=`).
    person: Option<Arc<str>>,
}

/// Recognises a well-formed `GET /api/channels/{channel}/events` or
/// `GET /api/events?channels=…` that is the whole of what the client sent. Anything unusual (another route, a body, a
/// percent-encoded name, a bad id, pipelined bytes) answers `None` and is left
/// to the router, which serves it or explains the refusal.
/// With `users`, a stream without a known token is also the router's (to refuse).
fn direct_request(head: &[u8], users: Option<&Users>) -> Option<DirectRequest> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Complete(length)) if length == head.len() => {}
        _ => return None,
    }
    if request.method != Some("GET") {
        return None;
    }
    let target = request.path?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if query.len() > MAX_QUERY_BYTES {
        return None;
    }
    let query: HashMap<String, String> = serde_urlencoded::from_str(query).ok()?;
    let listen = if path == "/api/events" {
        parse_channels(query.get("channels").map(String::as_str)).ok()?
    } else {
        let channel = path
            .strip_prefix("/api/channels/")?
            .strip_suffix("/events")?;
        validate_channel(channel).ok()?;
        Listen::One(channel.to_owned())
    };
    let mut map = HeaderMap::new();
    for header in request.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        map.append(name, HeaderValue::from_bytes(header.value).ok()?);
    }
    // Anything but no body or one plain `content-length: 0` (a second length,
    // even an equal one, is ambiguous framing) is for hyper to judge.
    let lengths: Vec<&HeaderValue> = map.get_all("content-length").iter().collect();
    let has_body = map.contains_key("transfer-encoding")
        || !(lengths.is_empty() || lengths == [&HeaderValue::from_static("0")])
        || map.contains_key("expect")
        || map.contains_key("upgrade");
    if has_body {
        return None;
    }
    let last_event_id = last_event_id(&map, &query).ok()?;
    let origin = map.get("origin").cloned();
    let identity = match users {
        None => None,
        Some(users) => Some(users.identify(token_of(&map, &query).as_deref())?),
    };
    let person = person_of(identity.as_deref(), &query).ok()?;
    Some(DirectRequest {
        listen,
        last_event_id,
        origin,
        identity,
        person,
    })
}

/// The response head of a direct stream: the headers a stream's answer gets
/// through the router ([`StreamHead`]), and `connection: close`, because the
/// body runs until the connection ends.
fn response_head(headers: &HeaderMap) -> Bytes {
    let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
    for (name, value) in headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"connection: close\r\ndate: ");
    head.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
    head.extend_from_slice(b"\r\n\r\n");
    Bytes::from(head)
}

/// Serves a connection with hyper (HTTP/1.1 with keep-alive, or HTTP/2) until
/// the client leaves; on shutdown, finishes the request in flight and closes.
/// hyper's header timer runs whenever it waits for a request, so it is the
/// idle limit between requests; the head limit is [`Rewound`]'s.
async fn serve_http(hub: &Hub, router: Router, io: Rewound, peer: SocketAddr) {
    let shutdown: CancellationToken = hub.shutdown.clone();
    let complete = io.complete.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        // A request without a body is all in once its head is: its answer
        // may take its time (a long poll), with no clock on reading.
        if hyper::body::Body::is_end_stream(request.body()) {
            complete.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request.map(Body::new))
    });
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(hub.config.idle_timeout);
    let mut connection = pin!(builder.serve_connection_with_upgrades(TokioIo::new(io), service));
    let mut signalled = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, %peer, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.cancelled(), if !signalled => {
                signalled = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// A socket with the bytes already read from it put back in front, and a
/// clock on each request: once a request's first byte has arrived, the rest of
/// it (head and body) must follow within `limit`, or reading fails, after a
/// best-effort 408 (nothing else is being written while a request is read).
/// The clock stops when the response starts.
struct Rewound {
    head: Vec<u8>,
    read: usize,
    socket: TcpStream,
    limit: Duration,
    /// When the request being read must be complete; `None` between requests.
    due: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Set by the service when the request being read is all in (no body
    /// to follow): the clock then stops before its answer starts.
    complete: Arc<std::sync::atomic::AtomicBool>,
}

impl Rewound {
    /// `head` arrived on a connection accepted at `accepted`: its request's
    /// clock started then.
    fn new(
        head: Vec<u8>,
        socket: TcpStream,
        accepted: tokio::time::Instant,
        limit: Duration,
    ) -> Self {
        Rewound {
            head,
            read: 0,
            socket,
            limit,
            due: Some(Box::pin(tokio::time::sleep_until(accepted + limit))),
            complete: Default::default(),
        }
    }
}

impl AsyncRead for Rewound {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.read < this.head.len() {
            let rest = &this.head[this.read..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.read += n;
            if this.read == this.head.len() {
                this.head = Vec::new();
                this.read = 0;
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.socket).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before && this.due.is_none() {
                    let due = tokio::time::Instant::now() + this.limit;
                    this.due = Some(Box::pin(tokio::time::sleep_until(due)));
                    this.complete
                        .store(false, std::sync::atomic::Ordering::Relaxed);
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                if this.complete.load(std::sync::atomic::Ordering::Relaxed) {
                    this.due = None;
                }
                if let Some(due) = this.due.as_mut() {
                    ready!(due.as_mut().poll(cx));
                    let answer =
                        refusal("408 Request Timeout", "the request did not arrive in time");
                    let _ = this.socket.try_write(answer.as_bytes());
                    return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
                }
                Poll::Pending
            }
        }
    }
}

impl Rewound {
    /// A response is under way: the request is in.
    fn response_started(&mut self) {
        self.due = None;
    }
}

impl AsyncWrite for Rewound {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.response_started();
        Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.response_started();
        Pin::new(&mut self.socket).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every open stream is one connection task, and the task holds this
    /// future for the stream's whole life: its size is most of what an idle
    /// stream costs. A rare path awaited inline (a refusal with a 4 KiB drain
    /// buffer) once made it 5 KiB; rare paths are boxed.
    #[tokio::test]
    async fn a_connection_future_stays_small() {
        let hub = Arc::new(
            Hub::new(crate::config::Config::for_tests(), CancellationToken::new()).unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (socket, peer) = listener.accept().await.unwrap();
        let slot = Arc::new(ClientSlots::default()).take(peer.ip(), 0).unwrap();
        let router = crate::app::app(hub.clone());
        let head = Arc::new(StreamHead::new(&hub.config));
        let future = connection(hub.clone(), router, head, socket, peer, slot);
        let size = std::mem::size_of_val(&future);
        assert!(size <= 2_048, "a connection's future is {size} bytes");
    }
}
