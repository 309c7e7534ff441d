//! What clients get, held against the truth: live streams read as they
//! go, polls that wait while changes happen, and, from every cursor taken,
//! the stream's replay, the changes route paged and the polls. Each must
//! show the truth now, or say `resync`, and say it exactly when the model
//! says the bridge no longer knows every change after the cursor: below a
//! channel's cut, or (a replay) past `--max-replay`.

use super::bridge::{answer_of, count, index_of, listen_of, request, Bridge, Listener, STATS};
use super::client::{events_of, id_of, poll_events, Client};
use super::reference::{of_channel, View, CHANNELS, READER};
use mock_bridge::hub::FeedError;
use std::collections::BTreeSet;

impl Bridge {
    /// The channels a catch-up of `names` from `cursor` must resync (see
    /// the module's doc); `replay`: with the `--max-replay` of a stream's
    /// or a poll's replay (not the changes route's pages).
    pub fn expected_resync(&self, names: &[&str], cursor: u64, replay: bool) -> BTreeSet<String> {
        let max = if replay {
            self.setup.max_replay
        } else {
            usize::MAX
        };
        let (mut behind, mut replayed, mut total) = (BTreeSet::new(), Vec::new(), 0);
        for name in names {
            let retention = &self.model.channels[index_of(name)];
            let records = retention.records_after(cursor);
            if retention.cut_above(cursor) || records > max {
                behind.insert(name.to_string());
            } else if records > 0 {
                replayed.push(name.to_string());
                total += records;
            }
        }
        if total > max {
            behind.extend(replayed);
        }
        behind
    }

    /// A stream opens (`back`: resuming from a cursor that far back).
    pub fn listen(&mut self, kind: usize, back: Option<usize>) -> Result<(), String> {
        let listen = listen_of(kind);
        let names: Vec<&str> = listen.names().iter().map(String::as_str).collect();
        let (cursor, view) = match back {
            Some(back) => self.model.cursor(back),
            None => (self.model.newest, self.model.view()),
        };
        let expected = match back {
            Some(_) => self.expected_resync(&names, cursor, true),
            None => BTreeSet::new(),
        };
        let subscription =
            (self.hub.subscribe(&listen, back.map(|_| cursor))).map_err(|e| e.to_string())?;
        let mut client = Client::from(&view);
        let mut bytes = subscription.prefix.to_vec();
        for record in &subscription.replay {
            bytes.extend_from_slice(&record.frame());
        }
        for event in events_of(&bytes) {
            client.event(&event, &names)?;
        }
        let caught_up = subscription.caught_up_to;
        self.listeners.push(Listener {
            listen,
            subscription,
            client,
            caught_up,
            expected,
        });
        Ok(())
    }

    /// Every open stream's client reads what came, and shows the truth.
    pub fn follow_listeners(&mut self) -> Result<(), String> {
        let truth = self.model.view();
        for listener in &mut self.listeners {
            let names: Vec<&str> = listener.listen.names().iter().map(String::as_str).collect();
            loop {
                let frame = match listener.subscription.live.try_recv() {
                    Ok(frame) => frame,
                    Err(FeedError::Empty) => break,
                    Err(error) => return Err(format!("a live stream of {names:?}: {error:?}")),
                };
                if frame.id.is_some_and(|id| id <= listener.caught_up) {
                    continue; // sent in its replay already
                }
                for event in events_of(&frame.bytes) {
                    listener.client.event(&event, &names)?;
                }
            }
            let what = format!("the live stream of {}", listener.listen);
            compare(&listener.client, &names, &listener.expected, &truth, &what)?;
        }
        Ok(())
    }

    /// Ends one stream, counted as a live comparison.
    pub fn end_listener(&self, listener: Listener) -> Result<(), String> {
        count(&STATS.live);
        let mailbox = listener.subscription.live.mailbox();
        drop(listener.subscription);
        self.hub.release(&listener.listen, mailbox);
        Ok(())
    }

    /// Ends every stream (a restart, or the case's end).
    pub fn end_listeners(&mut self) -> Result<(), String> {
        self.follow_listeners()?;
        for listener in std::mem::take(&mut self.listeners) {
            self.end_listener(listener)?;
        }
        Ok(())
    }

    /// A poll without a cursor: it starts live, at the newest change of its
    /// channels.
    pub fn poll_now(&mut self, kind: usize) -> Result<(), String> {
        let listen = listen_of(kind);
        let channels = listen.names().join(",");
        let answer = self.get(&format!("/api/poll?channels={channels}&wait=0"))?;
        let newest = (listen.names().iter())
            .map(|name| self.model.channels[index_of(name)].newest())
            .max()
            .unwrap_or(0);
        if id_of(&answer["cursor"])? != newest {
            return Err(format!(
                "a poll of {channels} starts at {answer}, not {newest}"
            ));
        }
        Ok(())
    }

    /// A poll from the newest change, waiting, while `during` happens: what
    /// it answers, and the polls after it, bring the truth.
    pub fn waiting_poll(&mut self, kind: usize, during: &super::bridge::Op) -> Result<(), String> {
        let listen = listen_of(kind);
        let names: Vec<&str> = listen.names().iter().map(String::as_str).collect();
        let (cursor, view) = (self.model.newest, self.model.view());
        let path = format!(
            "/api/poll?channels={}&after={cursor}&wait=20000",
            names.join(",")
        );
        let before = self.hub.listeners(names[0]);
        let task = self.runtime.spawn(answer_of(
            self.router.clone(),
            request("GET", &path, None)?,
            path.clone(),
        ));
        let hub = self.hub.clone();
        let subscribed = self.runtime.block_on(async {
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
            while hub.listeners(names[0]) == before && tokio::time::Instant::now() < deadline {
                tokio::task::yield_now().await;
            }
            hub.listeners(names[0]) > before
        });
        if !subscribed {
            return Err("the waiting poll never subscribed".into());
        }
        self.step(during)?;
        let news = (names.iter()).any(|name| self.model.channels[index_of(name)].newest() > cursor);
        if !news {
            // Nothing happened on its channels: nothing to wait for.
            task.abort();
            let _ = self.runtime.block_on(task);
            return Ok(());
        }
        count(&STATS.waited);
        let waited = self.runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(10), task).await
        });
        let (status, answer) = (waited.map_err(|_| "the waiting poll never answered")?)
            .map_err(|e| e.to_string())??;
        if status != 200 || poll_events(&answer)?.iter().all(|e| e.name == "status") {
            return Err(format!(
                "a poll that waited while changes came answered {status} {answer}"
            ));
        }
        let mut client = Client::from(&view);
        self.polls_from(&mut client, &names, cursor, Some(answer))?;
        compare(
            &client,
            &names,
            &client.resynced.clone(),
            &self.model.view(),
            "a waiting poll",
        )
    }

    /// Polls (`wait=0`) from `cursor` until nothing new comes, the first
    /// answer `first` when given; each resyncs exactly what it must.
    fn polls_from(
        &self,
        client: &mut Client,
        names: &[&str],
        cursor: u64,
        mut first: Option<serde_json::Value>,
    ) -> Result<(), String> {
        let mut after = cursor;
        for round in 0.. {
            if round == 1_000 {
                return Err(format!("polls from {cursor} never settle"));
            }
            // A poll that waited had nothing to replay: it resyncs nothing.
            let (answer, expected) = match first.take() {
                Some(answer) => (answer, BTreeSet::new()),
                None => (
                    self.get(&format!(
                        "/api/poll?channels={}&after={after}&wait=0",
                        names.join(",")
                    ))?,
                    self.expected_resync(names, after, true),
                ),
            };
            let events = poll_events(&answer)?;
            let mut said = Client::from(&View::new());
            for event in &events {
                client.event(event, names)?;
                said.event(event, names)?;
            }
            if said.resynced != expected {
                return Err(format!(
                    "a poll from {after} resynced {:?}; the bridge knows every change after it \
                     but for {expected:?}",
                    said.resynced
                ));
            }
            after = id_of(&answer["cursor"])?;
            if events.iter().all(|e| e.name == "status") {
                return Ok(());
            }
        }
        Ok(())
    }

    /// From `cursor`, with `snapshot` as the client's view then: the
    /// stream's replay (many channels, and each alone), the changes paged,
    /// and the polls must each show the truth now, or resync exactly what
    /// they must.
    pub fn check(&self, cursor: u64, snapshot: &View) -> Result<(), String> {
        let truth = self.model.view();
        for listen in [listen_of(2), listen_of(0), listen_of(1)] {
            let names: Vec<&str> = listen.names().iter().map(String::as_str).collect();
            let subscription =
                (self.hub.subscribe(&listen, Some(cursor))).map_err(|e| e.to_string())?;
            let mut bytes = subscription.prefix.to_vec();
            for record in &subscription.replay {
                bytes.extend_from_slice(&record.frame());
            }
            let mailbox = subscription.live.mailbox();
            drop(subscription);
            self.hub.release(&listen, mailbox);
            let mut client = Client::from(snapshot);
            for event in events_of(&bytes) {
                client.event(&event, &names)?;
            }
            let expected = self.expected_resync(&names, cursor, true);
            let what = format!("the replay of {listen} from {cursor}");
            compare(&client, &names, &expected, &truth, &what)?;
        }
        for channel in CHANNELS {
            let mut client = Client::from(snapshot);
            let mut after = cursor;
            loop {
                let page = self.get(&format!(
                    "/api/channels/{channel}/changes?after={after}&limit={}&as={READER}",
                    self.setup.page
                ))?;
                client.page(&page, channel)?;
                if page["more"] != true {
                    break;
                }
                after = id_of(&page["last"])?;
            }
            let expected = self.expected_resync(&[channel], cursor, false);
            let what = format!("the changes of {channel} after {cursor}");
            compare(&client, &[channel], &expected, &truth, &what)?;
        }
        let mut client = Client::from(snapshot);
        self.polls_from(&mut client, &CHANNELS, cursor, None)?;
        let resynced = client.resynced.clone();
        compare(
            &client,
            &CHANNELS,
            &resynced,
            &truth,
            &format!("the polls from {cursor}"),
        )
    }

    /// The history answered now: what the model retains, as it is, with
    /// the reader's own reactions marked.
    pub fn check_history(&self) -> Result<(), String> {
        for (index, channel) in CHANNELS.iter().enumerate() {
            let answer = self.get(&format!(
                "/api/channels/{channel}/messages?limit=500&as={READER}"
            ))?;
            let mut client = Client::from(&View::new());
            let page = serde_json::json!({ "messages": answer, "deleted": [] });
            client.page(&page, channel)?;
            let held: Vec<u64> = self.model.channels[index].held.iter().copied().collect();
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
    pub fn check_live_start(&self) -> Result<(), String> {
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

/// The client's view of each of `channels` against the truth, but for the
/// channels it was told to reload, which must be exactly `expected`.
fn compare(
    client: &Client,
    channels: &[&str],
    expected: &BTreeSet<String>,
    truth: &View,
    what: &str,
) -> Result<(), String> {
    if client.resynced != *expected {
        return Err(format!(
            "{what}: resynced {:?}, where the bridge no longer knows every change after the \
             cursor of {expected:?} only",
            client.resynced
        ));
    }
    for channel in channels {
        if client.resynced.contains(*channel) {
            count(&STATS.resynced);
            continue;
        }
        count(&STATS.compared);
        let (shown, true_now) = (
            of_channel(&client.view, channel),
            of_channel(truth, channel),
        );
        if shown != true_now {
            let ids: BTreeSet<&u64> = shown.keys().chain(true_now.keys()).collect();
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
