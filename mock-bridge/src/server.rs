//! The accept loop. Each connection's first request head is read here: an
//! event-stream request is served directly on the socket (see [`crate::stream`]);
//! anything else, including every request the direct path would refuse, goes
//! to hyper and the router with the bytes already read put back in front.

use crate::app::{CONTENT_SECURITY_POLICY, MAX_QUERY_BYTES};
use crate::connections::Served;
use crate::hub::Hub;
use crate::message::validate_channel;
use crate::stream::{self, Admission, Sink};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request};
use axum::Router;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// A request head longer than this is left to hyper.
const MAX_HEAD_BYTES: usize = 8 * 1024;
/// How long the accept loop waits for a first request head before leaving the
/// connection to hyper (a browser may open a connection early and use it later).
const HEAD_WAIT: Duration = Duration::from_secs(10);
/// The most headers the direct path looks at; a request with more goes to hyper.
const MAX_HEADERS: usize = 64;

/// Accepts connections until `shutdown`, then waits for every connection to end:
/// streams end at once, hyper connections finish their requests.
pub async fn serve(
    listener: TcpListener,
    hub: Arc<Hub>,
    router: Router,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((socket, peer)) => {
                connections.spawn(connection(hub.clone(), router.clone(), socket, peer));
            }
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

async fn connection(hub: Arc<Hub>, router: Router, mut socket: TcpStream, peer: SocketAddr) {
    // Frames are small and must go out at once.
    let _ = socket.set_nodelay(true);
    let head = match read_head(&mut socket).await {
        Ok(head) => head,
        Err(_) => return,
    };
    if let Some(request) = direct_request(&hub, &head) {
        let (channel, last_event_id) = (&request.channel, request.last_event_id);
        match stream::admit(
            &hub,
            channel,
            last_event_id,
            Some(peer.ip()),
            Served::Direct,
        ) {
            Admission::Open(open) => {
                drop(head);
                let response = response_head(&hub, request.origin.as_ref());
                return stream::serve(hub, open, response, Sink::Socket(socket)).await;
            }
            // The router gives the same answer, with the usual error body.
            Admission::Refused(_) | Admission::Stall => {}
        }
    }
    // Boxed: the long-lived direct streams should not carry hyper's state size.
    let io = Rewound {
        head,
        read: 0,
        socket,
    };
    Box::pin(serve_http(hub.shutdown.clone(), router, io, peer)).await;
}

/// Reads until the end of the first request head, the size limit, end of file
/// or `HEAD_WAIT`, whichever comes first; whatever arrived is returned.
async fn read_head(socket: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let deadline = tokio::time::Instant::now() + HEAD_WAIT;
    while head.len() < MAX_HEAD_BYTES && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout_at(deadline, socket.read_buf(&mut head)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(error),
        }
    }
    Ok(head)
}

/// An event-stream request the direct path can serve.
#[derive(Debug, PartialEq)]
struct DirectRequest {
    channel: String,
    last_event_id: Option<u64>,
    /// The `Origin`, when it is one of the allowed origins.
    origin: Option<HeaderValue>,
}

/// Recognises a well-formed `GET /api/channels/{channel}/events` that is the
/// whole of what the client sent. Anything unusual (another route, a body, a
/// percent-encoded name, a bad id, pipelined bytes) answers `None` and is left
/// to the router, which serves it or explains the refusal.
fn direct_request(hub: &Hub, head: &[u8]) -> Option<DirectRequest> {
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
    let channel = path
        .strip_prefix("/api/channels/")?
        .strip_suffix("/events")?;
    if validate_channel(channel).is_err() || query.len() > MAX_QUERY_BYTES {
        return None;
    }
    let query: HashMap<String, String> = serde_urlencoded::from_str(query).ok()?;
    let mut map = HeaderMap::new();
    for header in request.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        map.append(name, HeaderValue::from_bytes(header.value).ok()?);
    }
    let has_body = map.contains_key("transfer-encoding")
        || map
            .get("content-length")
            .is_some_and(|length| length != "0")
        || map.contains_key("expect")
        || map.contains_key("upgrade");
    if has_body {
        return None;
    }
    let last_event_id = stream::last_event_id(&map, &query).ok()?;
    let origin = map
        .get("origin")
        .filter(|origin| {
            (hub.config.allowed_origins.iter())
                .any(|allowed| allowed.as_bytes() == origin.as_bytes())
        })
        .cloned();
    Some(DirectRequest {
        channel: channel.to_owned(),
        last_event_id,
        origin,
    })
}

/// The response head of a direct stream: the headers the router would send
/// (content type, caching, CORS, the page's CSP), and `connection: close`,
/// because the body runs until the connection ends.
fn response_head(hub: &Hub, origin: Option<&HeaderValue>) -> Bytes {
    let mut head = String::with_capacity(512);
    head.push_str("HTTP/1.1 200 OK\r\n");
    for (name, value) in stream::STREAM_HEADERS {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    // What the router's CORS layer says on every answer.
    head.push_str(
        "vary: origin, access-control-request-method, access-control-request-headers\r\n",
    );
    if let Some(origin) = origin.and_then(|origin| origin.to_str().ok()) {
        head.push_str("access-control-allow-origin: ");
        head.push_str(origin);
        head.push_str("\r\n");
    }
    if hub.config.static_dir.is_some() {
        head.push_str("content-security-policy: ");
        head.push_str(CONTENT_SECURITY_POLICY);
        head.push_str("\r\n");
    }
    head.push_str("connection: close\r\ndate: ");
    head.push_str(&httpdate::fmt_http_date(std::time::SystemTime::now()));
    head.push_str("\r\n\r\n");
    Bytes::from(head)
}

/// Serves a connection with hyper (HTTP/1.1 with keep-alive, or HTTP/2) until
/// the client leaves; on shutdown, finishes the request in flight and closes.
async fn serve_http(shutdown: CancellationToken, router: Router, io: Rewound, peer: SocketAddr) {
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request.map(Body::new))
    });
    let builder = Builder::new(TokioExecutor::new());
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

/// A socket with the bytes already read from it put back in front.
struct Rewound {
    head: Vec<u8>,
    read: usize,
    socket: TcpStream,
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
        Pin::new(&mut this.socket).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewound {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
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
