//! A minimal SSE client over a raw socket (HTTP/1.0, so the body is the event
//! stream itself, without chunk framing), and a minimal message poster.

use bridge_client::BridgeClient;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;

/// State every client of a run shares.
pub struct Shared {
    /// Time zero for the latency stamps in message contents.
    pub epoch: Instant,
    /// Streams that received their first `status` (they are subscribed).
    pub subscribed: AtomicUsize,
    /// Message frames received, by all clients together.
    pub messages: AtomicU64,
    /// Ends every client.
    pub stop: CancellationToken,
}

impl Shared {
    pub fn new() -> Arc<Shared> {
        Arc::new(Shared {
            epoch: Instant::now(),
            subscribed: AtomicUsize::new(0),
            messages: AtomicU64::new(0),
            stop: CancellationToken::new(),
        })
    }

    /// Microseconds since `epoch`.
    pub fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }
}

/// What one client saw.
#[derive(Default)]
pub struct Seen {
    /// Latency of each stamped message, in microseconds.
    pub latencies_us: Vec<u32>,
    /// Ids of the messages received, in order.
    pub ids: Vec<u64>,
}

/// How a client behaves.
#[derive(Clone, Copy)]
pub struct Behaviour {
    /// Read the stream (false: a stuck client that never reads).
    pub reads: bool,
    /// Keep the ids of received messages.
    pub record_ids: bool,
    /// Stream as this person (`as=p<n>`): present by name, with an inbox of
    /// their own; `None`: anonymous, counted only.
    pub person: Option<usize>,
}

/// The loopback source address for the i-th client: 1,000 per address, so that
/// run after run (each leaving its closed connections in TIME_WAIT) never runs
/// one address out of ephemeral ports.
pub fn source_for(index: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 1 + (index / 1_000 % 250) as u8)
}

async fn connect(
    addr: SocketAddr,
    source: Ipv4Addr,
    small_buffer: bool,
) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    // Reuse ports whose earlier connections are still in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind((source, 0).into())?;
    if small_buffer {
        socket.set_recv_buffer_size(4_096)?;
    }
    socket.connect(addr).await
}

/// Subscribes to `channel` and reads until stopped.
pub async fn subscribe(
    addr: SocketAddr,
    source: Ipv4Addr,
    channel: String,
    last_event_id: Option<u64>,
    behaviour: Behaviour,
    shared: Arc<Shared>,
) -> std::io::Result<Seen> {
    let mut stream = connect(addr, source, !behaviour.reads).await?;
    let resume = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
    let named = behaviour
        .person
        .map_or(String::new(), |n| format!("?as=p{n}"));
    let request = format!(
        "GET /api/channels/{channel}/events{named} HTTP/1.0\r\nHost: bench\r\n{resume}\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut seen = Seen::default();
    if !behaviour.reads {
        shared.subscribed.fetch_add(1, Ordering::Relaxed);
        shared.stop.cancelled().await;
        return Ok(seen);
    }
    let mut buffer = Vec::with_capacity(2_048);
    let mut chunk = [0u8; 2_048];
    let mut in_body = false;
    let mut counted = false;
    loop {
        let read = tokio::select! {
            _ = shared.stop.cancelled() => return Ok(seen),
            read = stream.read(&mut chunk) => read?,
        };
        if read == 0 {
            return Ok(seen);
        }
        buffer.extend_from_slice(&chunk[..read]);
        if !in_body {
            let Some(end) = find(&buffer, b"\r\n\r\n") else {
                continue;
            };
            buffer.drain(..end + 4);
            in_body = true;
        }
        let mut start = 0;
        while let Some(end) = find(&buffer[start..], b"\n\n") {
            let frame = &buffer[start..start + end];
            if !counted && frame.starts_with(b"event: status") {
                counted = true;
                shared.subscribed.fetch_add(1, Ordering::Relaxed);
            } else if frame.starts_with(b"id: ") {
                shared.messages.fetch_add(1, Ordering::Relaxed);
                if behaviour.record_ids {
                    seen.ids.push(number_after(frame, b"id: ").unwrap_or(0));
                }
                if let Some(sent) = number_after(frame, b"bench:") {
                    seen.latencies_us
                        .push(shared.now_us().saturating_sub(sent).min(u32::MAX as u64) as u32);
                }
            }
            start += end + 2;
        }
        buffer.drain(..start);
    }
}

/// Where `needle` first occurs. Scans for its first byte and compares only
/// there: a compare at every position costs more than the rest of a client's
/// work per frame, and the load generator shares the cores with the bridge.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while let Some(offset) = haystack.get(from..)?.iter().position(|&b| b == first) {
        let at = from + offset;
        if haystack[at + 1..].starts_with(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn number_after(frame: &[u8], marker: &[u8]) -> Option<u64> {
    let at = find(frame, marker)? + marker.len();
    let digits = frame[at..].iter().take_while(|b| b.is_ascii_digit());
    let mut value: u64 = 0;
    let mut any = false;
    for digit in digits {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
        any = true;
    }
    any.then_some(value)
}

/// Posts a message through the control API; returns its id.
pub async fn post(api: &BridgeClient, channel: &str, content: &str) -> std::io::Result<u64> {
    let message =
        (api.post_message(channel, "bench", content).await).map_err(std::io::Error::other)?;
    message.id.parse().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_and_number_after() {
        assert_eq!(find(b"abc\n\nd", b"\n\n"), Some(3));
        assert_eq!(find(b"\n\r\n\r\n\r\n", b"\r\n\r\n"), Some(1));
        assert_eq!(find(b"aaa", b"ab"), None);
        assert_eq!(find(b"", b"a"), None);
        assert_eq!(find(b"a", b""), None);
        assert_eq!(number_after(b"id: 42\ndata", b"id: "), Some(42));
        assert_eq!(number_after(b"id: x", b"id: "), None);
        assert_eq!(
            number_after(b"bench:99999999999999999999999", b"bench:"),
            None
        );
    }
}
