//! A page's requests as Chromium's DevTools protocol saw them (the `Network.*`
//! events of a browser started with
//! [`crate::browser::Browser::start_logging_network`]): when each started,
//! was answered and finished, what started it, and its bytes on the wire.

use serde_json::Value;
use std::collections::HashMap;

/// One request of a load, times in ms from the navigation's start.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub url: String,
    /// DevTools' resource type: Document, Script, Fetch, EventSource, …
    pub kind: String,
    /// Who asked for it: see [`initiator_of`].
    pub initiator: String,
    /// When it was sent.
    pub start: f64,
    /// When its head came.
    pub response: Option<f64>,
    /// When it finished (never, for an event stream).
    pub end: Option<f64>,
    /// Bytes on the wire, headers included (when it finished).
    pub bytes: u64,
    /// Its `Content-Encoding` (empty: none).
    pub encoding: String,
}

/// Where a request's URL points, without the origin.
pub fn path_of(url: &str) -> String {
    let rest = url.split_once("//").map_or(url, |(_, rest)| rest);
    let path = rest.find('/').map_or("/", |at| &rest[at..]);
    path.chars().take(70).collect()
}

/// Who asked for a request: the page's HTML (its parser, a preload among
/// them) or a script, named by the file of its innermost frame.
pub fn initiator_of(initiator: &Value) -> String {
    let frame_url = initiator["stack"]["callFrames"]
        .as_array()
        .and_then(|frames| frames.iter().find_map(|f| f["url"].as_str()))
        .filter(|url| !url.is_empty())
        .or_else(|| initiator["url"].as_str());
    let kind = initiator["type"].as_str().unwrap_or("?");
    match frame_url {
        Some(url) => format!("{kind}: {}", path_of(url)),
        None => kind.to_owned(),
    }
}

/// The page's requests, from the DevTools protocol's `Network.*` events, in
/// the order they started. `epoch_zero` is the navigation's start (the
/// page's `performance.timeOrigin`, ms since the Unix epoch).
pub fn requests_of(events: &[Value], epoch_zero: f64) -> Vec<Request> {
    let mut by_id: HashMap<String, Request> = HashMap::new();
    // The events carry a monotonic clock (s); `requestWillBeSent` also
    // carries the wall clock, which ties the two together.
    let mut offset = None;
    for event in events {
        let params = &event["params"];
        let id = params["requestId"].as_str().unwrap_or_default().to_owned();
        let at = |offset: Option<f64>| {
            params["timestamp"]
                .as_f64()
                .zip(offset)
                .map(|(t, o)| (t + o) * 1_000.0 - epoch_zero)
        };
        match event["method"].as_str().unwrap_or_default() {
            "Network.requestWillBeSent" => {
                let (Some(time), Some(wall)) =
                    (params["timestamp"].as_f64(), params["wallTime"].as_f64())
                else {
                    continue;
                };
                offset.get_or_insert(wall - time);
                let entry = by_id.entry(id).or_default();
                entry.url = params["request"]["url"].as_str().unwrap_or_default().into();
                entry.kind = params["type"].as_str().unwrap_or_default().into();
                entry.initiator = initiator_of(&params["initiator"]);
                entry.start = at(offset).unwrap_or_default();
            }
            "Network.responseReceived" => {
                if let Some(entry) = by_id.get_mut(&id) {
                    // The head's arrival from the response's own timing (the
                    // event itself may be dispatched later).
                    let timing = &params["response"]["timing"];
                    entry.response = (timing["requestTime"].as_f64())
                        .zip(timing["receiveHeadersEnd"].as_f64())
                        .zip(offset)
                        .map(|((start, end), o)| (start + o) * 1_000.0 + end - epoch_zero)
                        .or_else(|| at(offset));
                    let headers = &params["response"]["headers"];
                    entry.encoding = (headers.as_object().into_iter().flatten())
                        .find(|(name, _)| name.eq_ignore_ascii_case("content-encoding"))
                        .and_then(|(_, value)| value.as_str())
                        .unwrap_or("")
                        .to_owned();
                }
            }
            "Network.loadingFinished" => {
                if let Some(entry) = by_id.get_mut(&id) {
                    entry.end = at(offset);
                    entry.bytes = params["encodedDataLength"].as_f64().unwrap_or(0.0) as u64;
                }
            }
            _ => {}
        }
    }
    let mut requests: Vec<Request> = (by_id.into_values())
        .filter(|r| r.url.starts_with("http"))
        .collect();
    requests.sort_by(|a, b| a.start.total_cmp(&b.start));
    requests
}
