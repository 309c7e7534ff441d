//! A typed client of a bridge: its history endpoint and the mock bridge's
//! `/internal` control API, one method a call. The end-to-end harness, the
//! bridge's own tests and the load generator all use it, so each call is
//! written once. (Event streams are not here: each user reads them its own
//! way, a browser, a frame parser, or a raw socket counting bytes.)

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

/// A stored message as the bridge sends it (ids stay decimal strings).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Message {
    pub id: String,
    pub channel_id: String,
    pub author: String,
    pub content: String,
    pub timestamp: String,
    /// When it was last edited, if it was.
    #[serde(default)]
    pub edited_at: Option<String>,
    /// The change id of its newest edit, if edited.
    #[serde(default)]
    pub version: Option<String>,
    /// Its reactions, in the order first added.
    #[serde(default)]
    pub reactions: Vec<Reaction>,
}

/// One emoji's reactions to a message: the exact `count`, and the newest
/// (at most 20) of the people who reacted.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    pub count: u64,
    pub users: Vec<String>,
    /// The reader the answer was computed for reacted so (history and
    /// changes answers, asked `as` a reader or signed in).
    #[serde(default)]
    pub me: bool,
}

/// The upstream gateway's state, as `PUT /internal/gateway` sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Gateway {
    Connected,
    Reconnecting,
    Disconnected,
}

/// A fault for new event-stream requests (`PUT /internal/sse-fault`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (4xx or 5xx): an EventSource gives up.
    Reject(u16),
    /// Accept and send nothing at all.
    Stall,
}

/// `GET /internal/connections`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ConnectionsReport {
    /// The streams open now.
    pub active: Vec<ActiveStream>,
    /// Streams opened since the bridge started.
    pub opened_total: u64,
    /// Why streams ended, by reason.
    pub closed: ClosedCounts,
}

/// One open stream in the report.
#[derive(Clone, Debug, Deserialize)]
pub struct ActiveStream {
    pub id: u64,
    /// A single-channel stream's channel.
    #[serde(default)]
    pub channel: Option<String>,
    /// A multi-channel stream's channels.
    #[serde(default)]
    pub channels: Vec<String>,
    pub opened_at: String,
    pub last_event_id: String,
    /// `direct` or `router`.
    pub served: String,
    /// The signed-in user's name, with `--users`.
    #[serde(default)]
    pub user: Option<String>,
}

impl ActiveStream {
    /// The channels it carries, whichever kind of stream it is.
    pub fn carries(&self) -> Vec<&str> {
        match &self.channel {
            Some(channel) => vec![channel.as_str()],
            None => self.channels.iter().map(String::as_str).collect(),
        }
    }
}

/// Counts of why streams ended.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct ClosedCounts {
    pub client_closed: u64,
    pub server_closed: u64,
    pub error: u64,
    pub lagged: u64,
    pub shutdown: u64,
}

/// What went wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer (refused, reset, timed out).
    #[error("{call}: {source}")]
    Transport {
        call: String,
        source: reqwest::Error,
    },
    /// An answer other than the one expected, with the bridge's sentence.
    #[error("{call} answered {status}: {sentence}")]
    Status {
        call: String,
        status: u16,
        sentence: String,
    },
    /// An answer that is not what the API promises.
    #[error("{call}: unexpected answer: {detail}")]
    Unexpected { call: String, detail: String },
}

/// The end-to-end harness reports problems as sentences.
impl From<ClientError> for String {
    fn from(error: ClientError) -> String {
        error.to_string()
    }
}

/// A bridge at one base URL.
#[derive(Clone, Debug)]
pub struct BridgeClient {
    base: String,
    http: reqwest::Client,
}

impl BridgeClient {
    /// A client of the bridge at `base` (e.g. `http://127.0.0.1:8787`). Calls
    /// time out after 10 s.
    pub fn new(base: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a plain HTTP client builds");
        BridgeClient {
            base: base.into().trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// Stores a message through the control API and broadcasts it.
    pub async fn post_message(
        &self,
        channel: &str,
        author: &str,
        content: &str,
    ) -> Result<Message, ClientError> {
        let path = format!("/internal/channels/{channel}/messages");
        let body = json!({ "author": author, "content": content });
        let answer = self.call(reqwest::Method::POST, &path, Some(body)).await?;
        decode(&path, answer)
    }

    /// Posts a reader's message (`POST /api/channels/{channel}/messages`)
    /// as `author` (a bridge without `--users`), with its `client_id`.
    pub async fn reply(
        &self,
        channel: &str,
        author: &str,
        content: &str,
        client_id: &str,
    ) -> Result<Message, ClientError> {
        let path = format!("/api/channels/{channel}/messages");
        let body = json!({ "author": author, "content": content, "client_id": client_id });
        let answer = self.call(reqwest::Method::POST, &path, Some(body)).await?;
        decode(&path, answer)
    }

    /// Stores a message given whole, as JSON (`author`, `content`, and
    /// any of `mentions`, `referenced_message`, `attachments`): its id.
    pub async fn post_json(&self, channel: &str, body: Value) -> Result<String, ClientError> {
        let path = format!("/internal/channels/{channel}/messages");
        let answer = self.call(reqwest::Method::POST, &path, Some(body)).await?;
        Ok(decode::<Message>(&path, answer)?.id)
    }

    /// As [`BridgeClient::post_message`], answering the new message's id.
    pub async fn inject(
        &self,
        channel: &str,
        author: &str,
        content: &str,
    ) -> Result<String, ClientError> {
        Ok(self.post_message(channel, author, content).await?.id)
    }

    /// Edits a message as Discord would (anyone's): answers it as it now is.
    pub async fn edit(
        &self,
        channel: &str,
        id: &str,
        content: &str,
    ) -> Result<Message, ClientError> {
        let path = format!("/internal/channels/{channel}/messages/{id}");
        let body = json!({ "content": content });
        let answer = self.call(reqwest::Method::PATCH, &path, Some(body)).await?;
        decode(&path, answer)
    }

    /// Deletes a message (anyone's).
    pub async fn delete(&self, channel: &str, id: &str) -> Result<(), ClientError> {
        let path = format!("/internal/channels/{channel}/messages/{id}");
        self.call(reqwest::Method::DELETE, &path, None).await?;
        Ok(())
    }

    /// Adds (`add`) or removes `user`'s reaction `emoji` to a message;
    /// answers how many people react so with it now.
    pub async fn react(
        &self,
        channel: &str,
        id: &str,
        emoji: &str,
        user: &str,
        add: bool,
    ) -> Result<u64, ClientError> {
        let emoji: String = emoji.bytes().map(|b| format!("%{b:02X}")).collect();
        let path = format!("/internal/channels/{channel}/messages/{id}/reactions/{emoji}");
        let method = if add {
            reqwest::Method::PUT
        } else {
            reqwest::Method::DELETE
        };
        let answer = self
            .call(method, &path, Some(json!({ "user": user })))
            .await?;
        Ok(answer["count"].as_u64().unwrap_or(0))
    }

    /// Deletes messages of a channel all at once, or none (404 when one is
    /// unknown); answers the ids deleted.
    pub async fn bulk_delete(
        &self,
        channel: &str,
        ids: &[&str],
    ) -> Result<Vec<String>, ClientError> {
        let path = format!("/internal/channels/{channel}/messages/bulk-delete");
        let body = json!({ "ids": ids });
        let answer = self.call(reqwest::Method::POST, &path, Some(body)).await?;
        decode(&path, answer["deleted"].clone())
    }

    /// Sends a raw, possibly malformed, frame to a channel's open streams;
    /// answers to how many.
    pub async fn inject_raw(&self, channel: &str, frame: &str) -> Result<u64, ClientError> {
        let path = format!("/internal/channels/{channel}/raw");
        let answer = self
            .call(
                reqwest::Method::POST,
                &path,
                Some(json!({ "frame": frame })),
            )
            .await?;
        Ok(answer["delivered"].as_u64().unwrap_or(0))
    }

    pub async fn set_gateway(&self, gateway: Gateway) -> Result<(), ClientError> {
        let body = json!({ "status": gateway });
        self.call(reqwest::Method::PUT, "/internal/gateway", Some(body))
            .await
            .map(drop)
    }

    /// Pauses heartbeats on every stream (they stay open: zombies), or resumes them.
    pub async fn pause_heartbeats(&self, paused: bool) -> Result<(), ClientError> {
        let body = json!({ "paused": paused });
        self.call(reqwest::Method::PUT, "/internal/heartbeats", Some(body))
            .await
            .map(drop)
    }

    /// Ends the streams of `channel` (all when `None`); answers how many.
    pub async fn disconnect(&self, channel: Option<&str>) -> Result<u64, ClientError> {
        let body = channel.map_or(json!({}), |channel| json!({ "channel": channel }));
        let answer = self
            .call(reqwest::Method::POST, "/internal/disconnect", Some(body))
            .await?;
        Ok(answer["closed"].as_u64().unwrap_or(0))
    }

    /// Sets the fault for new event-stream requests; `None` clears it.
    pub async fn set_fault(&self, fault: Option<Fault>) -> Result<(), ClientError> {
        let body = match fault {
            None => json!({ "mode": "none" }),
            Some(Fault::Stall) => json!({ "mode": "stall" }),
            Some(Fault::Reject(status)) => json!({ "mode": "reject", "status": status }),
        };
        self.call(reqwest::Method::PUT, "/internal/sse-fault", Some(body))
            .await
            .map(drop)
    }

    /// The open streams and the close counts.
    pub async fn connections(&self) -> Result<ConnectionsReport, ClientError> {
        let path = "/internal/connections";
        let answer = self.call(reqwest::Method::GET, path, None).await?;
        decode(path, answer)
    }

    /// One page of a channel's history: the oldest `limit` after `after`, or
    /// the newest `limit` without it.
    pub async fn history(
        &self,
        channel: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Message>, ClientError> {
        let mut path = format!("/api/channels/{channel}/messages?limit={limit}");
        if let Some(after) = after {
            path.push_str(&format!("&after={after}"));
        }
        let answer = self.call(reqwest::Method::GET, &path, None).await?;
        decode(&path, answer)
    }

    /// Every retained message id of a channel, oldest first, paging through history.
    pub async fn history_ids(&self, channel: &str) -> Result<Vec<String>, ClientError> {
        let mut ids: Vec<String> = Vec::new();
        loop {
            let after = ids.last().map_or("0", String::as_str);
            let page = self.history(channel, Some(after), 500).await?;
            if page.is_empty() {
                return Ok(ids);
            }
            ids.extend(page.into_iter().map(|message| message.id));
        }
    }

    /// One JSON call; a status other than 2xx is an error with the bridge's sentence.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ClientError> {
        let call = format!("{method} {path}");
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|source| ClientError::Transport {
                call: call.clone(),
                source,
            })?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let sentence = value["error"]
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        Err(ClientError::Status {
            call,
            status: status.as_u16(),
            sentence,
        })
    }
}

fn decode<T: serde::de::DeserializeOwned>(path: &str, answer: Value) -> Result<T, ClientError> {
    serde_json::from_value(answer).map_err(|error| ClientError::Unexpected {
        call: path.to_owned(),
        detail: error.to_string(),
    })
}
