//! The bridge under test: a real `Hub` with a history file, driven in
//! process (its routes through `app(hub)`), each operation's outcome held
//! against the model's prediction, and the catch-ups checked at the end.

use super::client::{events_of, id_of, Client, Event};
use super::reference::{of_channel, Model, View, CHANNELS, READER};
use axum::body::Body;
use clap::Parser;
use mock_bridge::hub::{Actor, ChangeError, Edit, Hub, PostError, Subscription};
use mock_bridge::message::NewMessage;
use mock_bridge::streams::Listen;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Figures over a whole run, for its report.
pub struct Stats {
    pub compared: AtomicU64,
    pub resynced: AtomicU64,
    pub operations: AtomicU64,
    pub restarts: AtomicU64,
    pub cursors: AtomicU64,
}

pub static STATS: Stats = Stats {
    compared: AtomicU64::new(0),
    resynced: AtomicU64::new(0),
    operations: AtomicU64::new(0),
    restarts: AtomicU64::new(0),
    cursors: AtomicU64::new(0),
};

/// How the bridge runs in one case.
#[derive(Clone, Debug)]
pub struct Setup {
    /// `--history-per-channel`: small, so that eviction happens.
    pub capacity: usize,
    /// `--max-replay`.
    pub max_replay: usize,
    /// The `limit` a client pages the changes with.
    pub page: usize,
}

/// One step. A `pick` chooses among the messages created so far (or the
/// posts, the retryable changes, the listeners), whatever became of them.
#[derive(Clone, Debug)]
pub enum Op {
    /// A message from Discord (`reply` false) or a reader's reply.
    Create {
        channel: usize,
        author: usize,
        reply: bool,
    },
    /// A reply posted again (its answer lost).
    RetryPost(usize),
    /// By a reader (an author's name; 3: the control API), with a client id or not.
    Edit {
        pick: usize,
        reader: usize,
        client_id: bool,
    },
    /// A reader's edit or deletion retried with its client id.
    RetryChange(usize),
    Delete {
        pick: usize,
        reader: usize,
        client_id: bool,
    },
    /// In the first pick's channel (a pick of another channel is unknown
    /// there); `repeat` names the first id twice.
    BulkDelete { picks: Vec<usize>, repeat: bool },
    React {
        pick: usize,
        emoji: usize,
        user: usize,
        add: bool,
    },
    /// `count` new people react with the common emoji.
    Crowd { pick: usize, count: usize },
    /// A stream opens: channel 0, 1, or both (2).
    Listen(usize),
    /// A stream ends.
    Unlisten(usize),
    /// A poll of channel 0, 1 or both comes and goes.
    Poll(usize),
    /// A client takes a cursor.
    Cursor,
    /// The bridge restarts on its history file (and compacts it).
    Restart,
}

const AUTHORS: [&str; 3] = ["ann", "bob", "cy"];
const USERS: [&str; 4] = ["ann", "bob", "cy", "dee"];

/// A reader's change made with a client id: retrying it must answer it.
struct Retry {
    client_id: String,
    channel: usize,
    message: u64,
    edit: Edit,
    reader: String,
    change: u64,
}

pub struct Bridge {
    config: mock_bridge::config::Config,
    hub: Arc<Hub>,
    router: axum::Router,
    runtime: tokio::runtime::Runtime,
    listeners: Vec<(Listen, Subscription)>,
    model: Model,
    posts: Vec<(String, u64, usize)>,
    retries: Vec<Retry>,
    cursors: Vec<(u64, View)>,
    /// Makes contents and client ids unique.
    next: usize,
    _dir: tempfile::TempDir,
}

fn listen_of(kind: usize) -> Listen {
    match kind {
        0 | 1 => Listen::One(CHANNELS[kind].to_owned()),
        _ => Listen::Many(CHANNELS.map(str::to_owned).to_vec()),
    }
}

impl Bridge {
    /// Runs one case: the operations, then every check.
    pub fn run(setup: Setup, ops: Vec<Op>) -> Result<(), String> {
        let mut bridge = Bridge::start(&setup)?;
        for (at, op) in ops.iter().enumerate() {
            (bridge.step(op)).map_err(|e| format!("operation {at} ({op:?}): {e}"))?;
            STATS.operations.fetch_add(1, Ordering::Relaxed);
        }
        let now = (bridge.model.newest, bridge.model.view());
        let cursors = std::mem::take(&mut bridge.cursors);
        for (cursor, snapshot) in cursors.iter().chain([&now]) {
            bridge.check(*cursor, snapshot, &setup)?;
        }
        bridge.check_history()?;
        bridge.check_live_start()
    }

    fn start(setup: &Setup) -> Result<Bridge, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let file = dir.path().join("history.jsonl");
        let config = mock_bridge::config::Config::try_parse_from([
            "mock-bridge",
            "--history-file",
            file.to_str().unwrap(),
            "--history-per-channel",
            &setup.capacity.to_string(),
            "--max-replay",
            &setup.max_replay.to_string(),
        ])
        .map_err(|e| e.to_string())?;
        let hub = Arc::new(
            Hub::new(config.clone(), CancellationToken::new()).map_err(|e| e.to_string())?,
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Bridge {
            router: mock_bridge::app::app(hub.clone()),
            config,
            hub,
            runtime,
            listeners: Vec::new(),
            model: Model::new(setup.capacity),
            posts: Vec::new(),
            retries: Vec::new(),
            cursors: Vec::new(),
            next: 0,
            _dir: dir,
        })
    }

    fn unique(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }

    fn step(&mut self, op: &Op) -> Result<(), String> {
        match op {
            Op::Create {
                channel,
                author,
                reply,
            } => self.create(*channel, AUTHORS[*author], *reply),
            Op::RetryPost(pick) => self.retry_post(*pick),
            Op::Edit {
                pick,
                reader,
                client_id,
            } => self.edit(*pick, *reader, *client_id, false),
            Op::Delete {
                pick,
                reader,
                client_id,
            } => self.edit(*pick, *reader, *client_id, true),
            Op::RetryChange(pick) => self.retry_change(*pick),
            Op::BulkDelete { picks, repeat } => self.bulk_delete(picks, *repeat),
            Op::React {
                pick,
                emoji,
                user,
                add,
            } => match self.model.pick(*pick) {
                Some(id) => self.react(id, &format!("e{emoji}"), USERS[*user], *add),
                None => Ok(()),
            },
            Op::Crowd { pick, count } => {
                let Some(id) = self.model.pick(*pick) else {
                    return Ok(());
                };
                for _ in 0..*count {
                    let user = self.unique("crowd");
                    self.react(id, "e0", &user, true)?;
                }
                Ok(())
            }
            Op::Listen(kind) => {
                let listen = listen_of(*kind);
                let subscription =
                    (self.hub.subscribe(&listen, None)).map_err(|e| e.to_string())?;
                self.listeners.push((listen, subscription));
                Ok(())
            }
            Op::Unlisten(pick) => {
                if !self.listeners.is_empty() {
                    let (listen, subscription) = self.listeners.remove(pick % self.listeners.len());
                    self.release(&listen, subscription);
                }
                Ok(())
            }
            Op::Poll(kind) => {
                let channels = listen_of(*kind).names().join(",");
                self.get(&format!("/api/poll?channels={channels}&wait=0"))
                    .map(drop)
            }
            Op::Cursor => {
                STATS.cursors.fetch_add(1, Ordering::Relaxed);
                self.cursors.push((self.model.newest, self.model.view()));
                Ok(())
            }
            Op::Restart => {
                STATS.restarts.fetch_add(1, Ordering::Relaxed);
                self.listeners.clear();
                let hub = Hub::new(self.config.clone(), CancellationToken::new());
                self.hub = Arc::new(hub.map_err(|e| format!("restart: {e}"))?);
                self.router = mock_bridge::app::app(self.hub.clone());
                Ok(())
            }
        }
    }

    fn release(&self, listen: &Listen, subscription: Subscription) {
        let mailbox = subscription.live.mailbox();
        drop(subscription);
        self.hub.release(listen, mailbox);
    }

    fn create(&mut self, channel: usize, author: &str, reply: bool) -> Result<(), String> {
        let content = self.unique("m");
        let new = NewMessage {
            author: author.to_owned(),
            content: content.clone(),
            ..Default::default()
        };
        let message = if reply {
            let client_id = self.unique("p");
            let posted = self.hub.post(CHANNELS[channel], new, client_id.clone());
            let (message, created) = posted.map_err(|e| e.to_string())?;
            if !created {
                return Err("a new client id was taken for a retry".into());
            }
            self.posts.push((client_id, message.id, channel));
            message
        } else {
            (self.hub.publish(CHANNELS[channel], new)).map_err(|e| e.to_string())?
        };
        self.model.create(message.id, channel, author, &content);
        Ok(())
    }

    fn retry_post(&mut self, pick: usize) -> Result<(), String> {
        if self.posts.is_empty() {
            return Ok(());
        }
        let (client_id, id, channel) = self.posts[pick % self.posts.len()].clone();
        let truth = &self.model.messages[&id];
        let new = NewMessage {
            author: truth.author.clone(),
            content: "retried".into(),
            ..Default::default()
        };
        match (
            self.hub.post(CHANNELS[channel], new, client_id),
            truth.deleted,
        ) {
            (Err(PostError::Deleted(gone)), true) if gone == id => Ok(()),
            (Ok((message, false)), false) if message.id == id => Ok(()),
            (other, deleted) => Err(format!(
                "a retry of reply {id} (deleted: {deleted}) answered {other:?}"
            )),
        }
    }

    /// An edit (or, with `delete`, a deletion) by a reader or the control API.
    fn edit(
        &mut self,
        pick: usize,
        reader: usize,
        client_id: bool,
        delete: bool,
    ) -> Result<(), String> {
        let Some(id) = self.model.pick(pick) else {
            return Ok(());
        };
        let content = self.unique("m");
        let edit = if delete {
            Edit::Delete
        } else {
            Edit::Content(content.clone())
        };
        let who = AUTHORS.get(reader).map(|who| who.to_string());
        let actor = who.clone().map_or(Actor::Control, Actor::Reader);
        let client_id = (client_id && who.is_some()).then(|| self.unique("c"));
        let truth = &self.model.messages[&id];
        let channel = truth.channel;
        let held = self.model.holds(id);
        let theirs = who.as_ref().is_none_or(|who| *who == truth.author);
        let changed = self.hub.change(
            CHANNELS[channel],
            id,
            edit.clone(),
            &actor,
            client_id.clone(),
        );
        match changed {
            Ok(change) if held && theirs => {
                if delete {
                    self.model.delete(id, change.id());
                } else {
                    self.model.edit(id, change.id(), &content);
                }
                if let (Some(client_id), Some(reader)) = (client_id, who) {
                    self.retries.push(Retry {
                        client_id,
                        channel,
                        message: id,
                        edit,
                        reader,
                        change: change.id(),
                    });
                }
                Ok(())
            }
            Err(ChangeError::NotFound { .. }) if !held => Ok(()),
            Err(ChangeError::NotYours(_)) if held && !theirs => Ok(()),
            other => Err(format!("held {held}, theirs {theirs}: {other:?}")),
        }
    }

    fn retry_change(&mut self, pick: usize) -> Result<(), String> {
        if self.retries.is_empty() {
            return Ok(());
        }
        let retry = &self.retries[pick % self.retries.len()];
        let actor = Actor::Reader(retry.reader.clone());
        let again = self.hub.change(
            CHANNELS[retry.channel],
            retry.message,
            retry.edit.clone(),
            &actor,
            Some(retry.client_id.clone()),
        );
        match again {
            Ok(change) if change.id() == retry.change => Ok(()),
            other => Err(format!(
                "a retry of change {} ({}) answered {other:?}",
                retry.change, retry.client_id
            )),
        }
    }

    fn bulk_delete(&mut self, picks: &[usize], repeat: bool) -> Result<(), String> {
        let mut ids: Vec<u64> = picks.iter().filter_map(|p| self.model.pick(*p)).collect();
        let Some(&first) = ids.first() else {
            return Ok(());
        };
        if repeat {
            ids.push(first);
        }
        let channel = self.model.messages[&first].channel;
        let all_held = (ids.iter())
            .all(|id| self.model.holds(*id) && self.model.messages[id].channel == channel);
        match self.hub.bulk_delete(CHANNELS[channel], &ids) {
            Ok(changes) if all_held => {
                let mut unique = ids.clone();
                unique.dedup_by_key(|id| *id);
                unique.sort_unstable();
                unique.dedup();
                let mut deleted: Vec<u64> = changes.iter().map(|c| c.message_id()).collect();
                deleted.sort_unstable();
                if deleted != unique {
                    return Err(format!("deleted {deleted:?} of {ids:?}"));
                }
                for change in changes {
                    self.model.delete(change.message_id(), change.id());
                }
                Ok(())
            }
            Err(ChangeError::NotFound { .. }) if !all_held => Ok(()),
            other => Err(format!("all held {all_held}: {other:?}")),
        }
    }

    fn react(&mut self, id: u64, emoji: &str, user: &str, add: bool) -> Result<(), String> {
        let channel = self.model.messages[&id].channel;
        let edit = Edit::React {
            emoji: emoji.to_owned(),
            user: user.to_owned(),
            add,
        };
        let held = self.model.holds(id);
        let refused = held && self.model.refuses(id, emoji, add);
        match self
            .hub
            .change(CHANNELS[channel], id, edit, &Actor::Control, None)
        {
            Ok(change) if held && !refused => {
                self.model.react(id, change.id(), emoji, user, add);
                Ok(())
            }
            Err(ChangeError::NotFound { .. }) if !held => Ok(()),
            Err(ChangeError::TooManyEmoji(_)) if refused => Ok(()),
            other => Err(format!("held {held}, refused {refused}: {other:?}")),
        }
    }

    /// `GET path` through the router: its JSON, or the failure.
    fn get(&self, path: &str) -> Result<Value, String> {
        let router = self.router.clone();
        let request = axum::http::Request::get(path)
            .body(Body::empty())
            .map_err(|e| e.to_string())?;
        self.runtime.block_on(async move {
            let response = router.oneshot(request).await.map_err(|e| e.to_string())?;
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .map_err(|e| e.to_string())?;
            let value: Value = serde_json::from_slice(&body).map_err(|e| format!("{path}: {e}"))?;
            if !status.is_success() {
                return Err(format!("GET {path}: {status} {value}"));
            }
            Ok(value)
        })
    }

    /// From `cursor`, with `snapshot` as the client's view then: the
    /// stream's replay (many channels, and each alone), the changes paged,
    /// and the poll must each show the truth now, or say `resync`.
    fn check(&self, cursor: u64, snapshot: &View, setup: &Setup) -> Result<(), String> {
        let truth = self.model.view();
        let mut listens = vec![listen_of(2)];
        listens.extend([listen_of(0), listen_of(1)]);
        for listen in listens {
            let subscription = self
                .hub
                .subscribe(&listen, Some(cursor))
                .map_err(|e| e.to_string())?;
            let mut bytes = subscription.prefix.to_vec();
            for record in &subscription.replay {
                bytes.extend_from_slice(&record.frame());
            }
            self.release(&listen, subscription);
            let names: Vec<&str> = listen.names().iter().map(String::as_str).collect();
            let mut client = Client::from(snapshot);
            for event in events_of(&bytes) {
                client.event(&event, &names)?;
            }
            compare(
                &client,
                &names,
                &truth,
                &format!("the replay of {listen} from {cursor}"),
            )?;
        }
        for channel in CHANNELS {
            let mut client = Client::from(snapshot);
            let mut after = cursor;
            loop {
                let page = self.get(&format!(
                    "/api/channels/{channel}/changes?after={after}&limit={}&as={READER}",
                    setup.page
                ))?;
                client.page(&page, channel)?;
                if page["more"] != true {
                    break;
                }
                after = id_of(&page["last"])?;
            }
            compare(
                &client,
                &[channel],
                &truth,
                &format!("the changes of {channel} after {cursor}"),
            )?;
        }
        let mut client = Client::from(snapshot);
        let mut after = cursor;
        for round in 0.. {
            if round == 1_000 {
                return Err(format!("polls from {cursor} never settle"));
            }
            let answer = self.get(&format!("/api/poll?channels=a,b&after={after}&wait=0"))?;
            let events = poll_events(&answer)?;
            for event in &events {
                client.event(event, &CHANNELS)?;
            }
            after = id_of(&answer["cursor"])?;
            // Settled: nothing but the state every answer carries.
            if (events.iter()).all(|e| matches!(e.name.as_str(), "status" | "presence")) {
                break;
            }
        }
        compare(
            &client,
            &CHANNELS,
            &truth,
            &format!("the polls from {cursor}"),
        )
    }

    /// The history answered now: what the model retains, as it is, with
    /// the reader's own reactions marked.
    fn check_history(&self) -> Result<(), String> {
        for (index, channel) in CHANNELS.iter().enumerate() {
            let answer = self.get(&format!(
                "/api/channels/{channel}/messages?limit=500&as={READER}"
            ))?;
            let mut client = Client::from(&View::new());
            let page = serde_json::json!({ "messages": answer, "deleted": [] });
            client.page(&page, channel)?;
            let held: Vec<u64> = self.model.held[index].iter().copied().collect();
            let answered: Vec<u64> = client.view.keys().copied().collect();
            if answered != held {
                return Err(format!(
                    "history of {channel}: {answered:?}, retained {held:?}"
                ));
            }
            let truth = self.model.view();
            for id in held {
                if client.view[&id] != truth[&id] {
                    return Err(format!(
                        "history of {channel}, message {id}: {:?}\ntruth: {:?}",
                        client.view[&id], truth[&id]
                    ));
                }
            }
        }
        Ok(())
    }

    /// A poll without a cursor starts at the newest change now.
    fn check_live_start(&self) -> Result<(), String> {
        let answer = self.get("/api/poll?channels=a,b&wait=0")?;
        let cursor = id_of(&answer["cursor"])?;
        if cursor != self.model.newest {
            return Err(format!(
                "a poll without a cursor starts at {cursor}, not {}",
                self.model.newest
            ));
        }
        Ok(())
    }
}

fn poll_events(answer: &Value) -> Result<Vec<Event>, String> {
    let events = answer["events"]
        .as_array()
        .ok_or_else(|| format!("a poll answered {answer}"))?;
    (events.iter())
        .map(|event| {
            let data = event["data"].as_str().ok_or("an event without data")?;
            Ok(Event {
                name: event["event"]
                    .as_str()
                    .ok_or("an event without a name")?
                    .to_owned(),
                data: serde_json::from_str(data).map_err(|e| e.to_string())?,
            })
        })
        .collect()
}

/// The client's view of each channel it was not told to reload, against the truth.
fn compare(client: &Client, channels: &[&str], truth: &View, what: &str) -> Result<(), String> {
    for channel in channels {
        if client.resynced.contains(*channel) {
            STATS.resynced.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        STATS.compared.fetch_add(1, Ordering::Relaxed);
        let (shown, true_now) = (
            of_channel(&client.view, channel),
            of_channel(truth, channel),
        );
        if shown != true_now {
            let ids: std::collections::BTreeSet<&u64> =
                shown.keys().chain(true_now.keys()).collect();
            let differ: Vec<String> = (ids.into_iter())
                .filter(|id| shown.get(id) != true_now.get(id))
                .map(|id| {
                    format!(
                        "{id}: shown {:?}, truth {:?}",
                        shown.get(id),
                        true_now.get(id)
                    )
                })
                .collect();
            return Err(format!(
                "{what}: channel {channel} differs, silently:\n{}",
                differ.join("\n")
            ));
        }
    }
    Ok(())
}
