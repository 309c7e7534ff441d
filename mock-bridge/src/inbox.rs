//! Frames for one person's own streams and polls, never anyone else's: their
//! `read` events. A stream or poll of a named person registers an inbox for
//! its channels; a frame for that person and one of those channels is put in
//! each of their inboxes (the newest per channel: a `read` event carries the
//! whole state, so an older one waiting is replaced), and the stream or poll
//! is woken to send it. Anonymous connections have none.

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// One stream's or poll's personal frames.
#[derive(Debug)]
pub struct Inbox {
    person: Arc<str>,
    channels: Vec<String>,
    /// Waiting frames, at most one per channel.
    frames: Mutex<Vec<(String, Bytes)>>,
    /// Set when frames came since the last wake-up, so none is lost.
    ready: AtomicBool,
    /// The one task that serves this stream or poll. (Not a `Notify`: its
    /// waiting future would make every stream's task bigger; this one is a
    /// reference.)
    waker: AtomicWaker,
}

impl Inbox {
    /// Ready when frames wait (at once if some came since the last time).
    pub fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.ready.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        if self.ready.swap(false, Ordering::AcqRel) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Resolves when frames wait.
    pub async fn ready(&self) {
        std::future::poll_fn(|cx| self.poll_ready(cx)).await;
    }

    /// The waiting frames, in the order they came.
    pub fn take(&self) -> Vec<Bytes> {
        let frames = std::mem::take(&mut *self.frames.lock().unwrap());
        frames.into_iter().map(|(_, frame)| frame).collect()
    }

    /// The waiting frames as one piece, for one write.
    pub fn take_joined(&self) -> Bytes {
        let mut frames = self.take();
        match frames.len() {
            1 => frames.pop().unwrap_or_default(),
            _ => Bytes::from(frames.concat()),
        }
    }
}

/// Every named person's inboxes.
#[derive(Default)]
pub struct Inboxes {
    by_person: Mutex<HashMap<Arc<str>, Vec<Arc<Inbox>>>>,
}

impl Inboxes {
    /// An inbox for a stream or poll of `person` over `channels`; give it
    /// back with [`Inboxes::unregister`] when it ends.
    pub fn register(&self, person: &Arc<str>, channels: &[String]) -> Arc<Inbox> {
        let inbox = Arc::new(Inbox {
            person: person.clone(),
            channels: channels.to_vec(),
            frames: Mutex::default(),
            ready: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        let mut by_person = self.by_person.lock().unwrap();
        by_person
            .entry(person.clone())
            .or_default()
            .push(inbox.clone());
        inbox
    }

    pub fn unregister(&self, inbox: &Arc<Inbox>) {
        let mut by_person = self.by_person.lock().unwrap();
        if let Some(held) = by_person.get_mut(&inbox.person) {
            held.retain(|other| !Arc::ptr_eq(other, inbox));
            if held.is_empty() {
                by_person.remove(&inbox.person);
            }
        }
    }

    /// Puts `frame` in each inbox of `person` whose channels include
    /// `channel`; answers how many.
    pub fn send(&self, person: &str, channel: &str, frame: &Bytes) -> usize {
        let by_person = self.by_person.lock().unwrap();
        let Some(inboxes) = by_person.get(person) else {
            return 0;
        };
        let mut reached = 0;
        for inbox in inboxes
            .iter()
            .filter(|i| i.channels.iter().any(|c| c == channel))
        {
            let mut frames = inbox.frames.lock().unwrap();
            frames.retain(|(waiting, _)| waiting != channel);
            frames.push((channel.to_owned(), frame.clone()));
            drop(frames);
            inbox.ready.store(true, Ordering::Release);
            inbox.waker.wake();
            reached += 1;
        }
        reached
    }

    /// People with an inbox now (for tests).
    pub fn people(&self) -> usize {
        self.by_person.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_frame_reaches_only_that_persons_inboxes_of_that_channel() {
        let inboxes = Inboxes::default();
        let ann: Arc<str> = Arc::from("Ann");
        let bob: Arc<str> = Arc::from("Bob");
        let general = ["general".to_owned()];
        let both = ["general".to_owned(), "random".to_owned()];
        let ann_one = inboxes.register(&ann, &general);
        let ann_two = inboxes.register(&ann, &both);
        let bob_one = inboxes.register(&bob, &both);
        assert_eq!(inboxes.send("Ann", "random", &Bytes::from_static(b"r1")), 1);
        assert_eq!(
            inboxes.send("Ann", "general", &Bytes::from_static(b"g1")),
            2
        );
        assert_eq!(
            inboxes.send("Ann", "general", &Bytes::from_static(b"g2")),
            2
        );
        ann_two.ready().await;
        assert_eq!(ann_two.take(), [&b"r1"[..], &b"g2"[..]]);
        assert_eq!(ann_one.take(), [&b"g2"[..]]);
        assert!(bob_one.take().is_empty());
        for inbox in [&ann_one, &ann_two, &bob_one] {
            inboxes.unregister(inbox);
        }
        assert_eq!(inboxes.people(), 0);
    }
}
