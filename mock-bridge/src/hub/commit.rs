//! Storing new messages: in the request's own poll without a history file,
//! in groups with one (group commit).
//!
//! Without a history file nothing slow stands between a message and its
//! streams: it is stored and broadcast on the async worker that serves its
//! request, and answered in the same poll. Handing it to another thread
//! cost a wake-up each way, and its answer then waited behind every stream
//! task the broadcast had woken, which slowed the posters of a burst and
//! with them the batching of every stream (issue 32).
//!
//! With a history file, a message must be in the file (and synced, with
//! `--history-fsync`) before anyone sees it, and a write can take long. So
//! requests wait in a queue for one writer task, which takes every request
//! waiting (up to [`GROUP_MOST`]) and stores them together on a blocking
//! thread: their ids in order, one write and one sync for all their lines,
//! then each message added to its channel and broadcast, then every answer.
//! The posts that arrive meanwhile form the next group, so a burst costs a
//! few writes, not one per post, and the async workers never wait on the
//! disk. The writer lock is held from a group's first id to its last
//! broadcast, as it is for every change (edits, deletions, reactions) and
//! for the synchronous entry points, so ids, the file and every stream keep
//! one order.

use super::{Channel, Frame, Hub, PostError, PublishError, TooManyChannels};
use crate::clock::rfc3339_ms;
use crate::message::{Message, NewMessage};
use crate::retries::Reply;
use crate::snowflake::now_ms;
use crate::sse;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most requests one group takes: a bound on one write's size (about
/// 300 bytes a message) and on how long its first request waits.
const GROUP_MOST: usize = 1_024;

/// What storing a new message comes to: the message (as it now is, for a
/// retry), and whether this request created it.
pub type Created = Result<(Arc<Message>, bool), PostError>;

/// A new message to store: from the control API (no client id) or from a
/// reader (with the client id a retry is recognised by).
pub(super) struct Creation {
    channel_id: String,
    new: NewMessage,
    client_id: Option<String>,
}

/// A creation waiting for the writer task, and where its answer goes.
pub(super) struct Queued {
    creation: Creation,
    answer: oneshot::Sender<Created>,
}

/// What one creation of a group came to before the write.
enum Staged {
    /// Answered without a write (a retry of an earlier post, or refused).
    Done(Created),
    /// The group's new message at this index.
    New(usize),
    /// A second request with the client id of the new message at this
    /// index (a double submit): its answer is that message, not created.
    Again(usize),
}

/// The new messages of a group, in id order.
#[derive(Default)]
struct Group {
    messages: Vec<Arc<Message>>,
    by_client_id: HashMap<String, usize>,
    /// Channels the group creates (its room is checked as it grows).
    new_channels: Vec<String>,
}

impl Hub {
    /// Stores a message from the control API (see the module's comment for
    /// how, with a history file and without).
    pub async fn publish_async(
        self: &Arc<Self>,
        channel_id: String,
        new: NewMessage,
    ) -> Result<Arc<Message>, PostError> {
        let creation = Creation {
            channel_id,
            new,
            client_id: None,
        };
        Ok(self.create(creation).await?.0)
    }

    /// Stores a reader's message once (as [`Hub::post`]).
    pub async fn post_async(
        self: &Arc<Self>,
        channel_id: String,
        new: NewMessage,
        client_id: String,
    ) -> Created {
        let creation = Creation {
            channel_id,
            new,
            client_id: Some(client_id),
        };
        self.create(creation).await
    }

    async fn create(self: &Arc<Self>, creation: Creation) -> Created {
        if self.config.history_file.is_none() {
            return self.store_one(creation);
        }
        let (answer, answered) = oneshot::channel();
        let shutting_down = || Err(PostError::Publish(PublishError::ShuttingDown));
        if self.queue().send(Queued { creation, answer }).is_err() {
            return shutting_down();
        }
        answered.await.unwrap_or_else(|_| shutting_down())
    }

    /// The writer task's queue, and the task, started with the first request.
    fn queue(self: &Arc<Self>) -> &mpsc::UnboundedSender<Queued> {
        self.creations.get_or_init(|| {
            let (sender, queue) = mpsc::unbounded_channel();
            tokio::spawn(write_groups(Arc::downgrade(self), queue));
            sender
        })
    }

    /// Stores a message, appends it to the file, and broadcasts it, here and
    /// now: it blocks on the history file. From async code, use
    /// [`Hub::publish_async`].
    pub fn publish(&self, channel_id: &str, new: NewMessage) -> Result<Arc<Message>, PostError> {
        let creation = Creation {
            channel_id: channel_id.to_owned(),
            new,
            client_id: None,
        };
        Ok(self.store_one(creation)?.0)
    }

    /// Stores a client's message once, here and now: a post with a
    /// `client_id` seen before (a retry after a lost answer) gets the
    /// original back, `created` false. From async code, use [`Hub::post_async`].
    pub fn post(&self, channel_id: &str, new: NewMessage, client_id: String) -> Created {
        let creation = Creation {
            channel_id: channel_id.to_owned(),
            new,
            client_id: Some(client_id),
        };
        self.store_one(creation)
    }

    fn store_one(&self, creation: Creation) -> Created {
        let mut answers = self.store_group(vec![creation]);
        answers.pop().expect("one answer per creation")
    }

    /// Stores a group under the writer lock: each creation checked and given
    /// its id in turn, one write (and sync) for all the new messages, then
    /// each added to its channel and broadcast. One answer per creation, in
    /// order; if the write fails, no new message of the group is kept.
    fn store_group(&self, creations: Vec<Creation>) -> Vec<Created> {
        let mut writer = self.writer.lock().unwrap();
        let mut group = Group::default();
        let staged: Vec<Staged> = (creations.into_iter())
            .map(|creation| self.stage(creation, &mut group))
            .collect();
        let mut written = Ok(());
        if let Some(file) = writer.as_mut().filter(|_| !group.messages.is_empty()) {
            let delay = self.disk_delay_ms.load(Ordering::Relaxed);
            if delay > 0 {
                std::thread::sleep(Duration::from_millis(delay));
            }
            written = (file.append_messages(&group.messages))
                .map_err(|error| (file.path().display().to_string(), error));
        }
        if written.is_ok() {
            self.make_visible(&group.messages);
        }
        let answer = |message: &Arc<Message>, created: bool| match &written {
            Ok(()) => Ok((message.clone(), created)),
            Err((path, error)) => Err(PostError::Publish(PublishError::Persist {
                path: path.clone(),
                source: std::io::Error::new(error.kind(), error.to_string()),
            })),
        };
        (staged.into_iter())
            .map(|staged| match staged {
                Staged::Done(done) => done,
                Staged::New(at) => answer(&group.messages[at], true),
                Staged::Again(at) => answer(&group.messages[at], false),
            })
            .collect()
    }

    /// Checks one creation and, unless it is answered already, gives it its
    /// id and adds it to the group.
    fn stage(&self, creation: Creation, group: &mut Group) -> Staged {
        let Creation {
            channel_id,
            new,
            client_id,
        } = creation;
        if let Some(client_id) = &client_id {
            if let Some(&at) = group.by_client_id.get(client_id) {
                let first = &group.messages[at].channel_id;
                if *first != channel_id {
                    return Staged::Done(Err(PostError::ElsewhereAlready(first.clone())));
                }
                return Staged::Again(at);
            }
            if let Some(answer) = self.retried(&channel_id, client_id) {
                return Staged::Done(answer);
            }
        }
        if let Err(full) = self.room_for(&channel_id, group) {
            return Staged::Done(Err(PublishError::from(full).into()));
        }
        let Some(id) = self.ids.next() else {
            return Staged::Done(Err(PublishError::IdsExhausted.into()));
        };
        let message = Arc::new(Message {
            id,
            channel_id,
            author: new.author,
            content: new.content,
            timestamp: rfc3339_ms(now_ms()),
            client_id,
            revision: Default::default(),
            extras: crate::message::Extras {
                mentions: new.mentions,
                referenced_message: new.referenced_message,
                attachments: new.attachments,
            },
        });
        let at = group.messages.len();
        if let Some(client_id) = &message.client_id {
            group.by_client_id.insert(client_id.clone(), at);
        }
        group.messages.push(message);
        Staged::New(at)
    }

    /// The answer to a post whose client id was stored before: the original
    /// as it is now (edited or reacted to since, unless no longer held), or
    /// why not.
    fn retried(&self, channel_id: &str, client_id: &str) -> Option<Created> {
        let Reply { message, deleted } = self.posted.lock().unwrap().get(client_id).cloned()?;
        if message.channel_id != channel_id {
            return Some(Err(PostError::ElsewhereAlready(message.channel_id.clone())));
        }
        if deleted {
            return Some(Err(PostError::Deleted(message.id)));
        }
        let channels = self.channels.lock().unwrap();
        let current = (channels.get(channel_id)).and_then(|channel| channel.log.get(message.id));
        Some(Ok((current.unwrap_or(&message).clone(), false)))
    }

    /// Refuses a channel that neither exists nor is new in the group when
    /// it would pass `--max-channels`. (A stream may create it meanwhile; a
    /// race can pass the limit by one, as for streams.)
    fn room_for(&self, channel_id: &str, group: &mut Group) -> Result<(), TooManyChannels> {
        if group.new_channels.iter().any(|name| name == channel_id) {
            return Ok(());
        }
        let channels = self.channels.lock().unwrap();
        if channels.contains_key(channel_id) {
            return Ok(());
        }
        let names = (group.new_channels.iter().map(String::as_str)).chain([channel_id]);
        self.check_room_for(&channels, names)?;
        group.new_channels.push(channel_id.to_owned());
        Ok(())
    }

    /// Adds a group's messages, stored, to their channels and broadcasts
    /// each, in id order; a post is then known by its client id.
    fn make_visible(&self, messages: &[Arc<Message>]) {
        let frames: Vec<Frame> = (messages.iter())
            .map(|message| Frame {
                id: Some(message.id),
                bytes: sse::message(message),
            })
            .collect();
        let capacity = self.config.history_per_channel as usize;
        let mut channels = self.channels.lock().unwrap();
        for (message, frame) in messages.iter().zip(frames) {
            let channel = (channels.entry(message.channel_id.clone()))
                .or_insert_with(|| Channel::new(capacity));
            channel.log.push(message.clone());
            self.to_channel(channel, frame);
        }
        drop(channels);
        let mut posted = self.posted.lock().unwrap();
        for message in messages {
            if let Some(client_id) = &message.client_id {
                let reply = Reply {
                    message: message.clone(),
                    deleted: false,
                };
                posted.insert(client_id.clone(), reply);
            }
        }
    }
}

/// The writer task: takes every request waiting, stores them as one group
/// on a blocking thread, and answers each. Ends with its hub.
async fn write_groups(hub: Weak<Hub>, mut queue: mpsc::UnboundedReceiver<Queued>) {
    while let Some(first) = queue.recv().await {
        let mut waiting = vec![first];
        while waiting.len() < GROUP_MOST {
            match queue.try_recv() {
                Ok(next) => waiting.push(next),
                Err(_) => break,
            }
        }
        let Some(hub) = hub.upgrade() else { return };
        let (creations, answers): (Vec<Creation>, Vec<_>) = (waiting.into_iter())
            .map(|queued| (queued.creation, queued.answer))
            .unzip();
        // A panic there drops every answer: each request hears that the
        // bridge could not store it.
        let stored = tokio::task::spawn_blocking(move || hub.store_group(creations)).await;
        for (answer, created) in answers.into_iter().zip(stored.unwrap_or_default()) {
            let _ = answer.send(created);
        }
    }
}
