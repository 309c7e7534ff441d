//! What the host hears about the messages: which are new, and which changed.
//!
//! A message is *new* when it is shown for the first time after the panel's
//! first history load, and is newer than the oldest message held before it:
//! live messages and catch-ups after a reconnect are new (the reader has not
//! seen them), the first load and older pages are not. (Which messages the
//! reader has read is `crate::read`'s.)

use crate::message::Message;
use std::sync::Arc;

/// The messages of `next` that `previous` did not hold, oldest first, leaving
/// out any older than `previous`'s oldest (a page of older history). Both
/// lists are ordered by id, as the store keeps them.
pub fn arrived(previous: &[Arc<Message>], next: &[Arc<Message>]) -> Vec<Arc<Message>> {
    let floor = previous.first().map(|m| m.id);
    let mut old = previous.iter().map(|m| m.id).peekable();
    let mut new = Vec::new();
    for message in next {
        if floor.is_some_and(|floor| message.id < floor) {
            continue;
        }
        while old.next_if(|id| *id < message.id).is_some() {}
        if old.next_if_eq(&message.id).is_none() {
            new.push(message.clone());
        }
    }
    new
}

/// A held message that changed: edited, or its reactions did.
#[derive(Clone, Debug, PartialEq)]
pub struct Changed {
    pub message: Arc<Message>,
    /// Its content is a newer version.
    pub edited: bool,
    /// Its reactions changed.
    pub reacted: bool,
}

/// The messages held in both lists whose state changed, oldest first.
pub fn changed(previous: &[Arc<Message>], next: &[Arc<Message>]) -> Vec<Changed> {
    let mut old = previous.iter().peekable();
    let mut changed = Vec::new();
    for message in next {
        while old.next_if(|held| held.id < message.id).is_some() {}
        let Some(held) = old.next_if(|held| held.id == message.id) else {
            continue;
        };
        if Arc::ptr_eq(held, message) {
            continue;
        }
        let edited = message.content_version() != held.content_version();
        let reacted = message.reactions != held.reactions;
        if edited || reacted {
            changed.push(Changed {
                message: message.clone(),
                edited,
                reacted,
            });
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageId;

    fn list(ids: &[u64]) -> Vec<Arc<Message>> {
        (ids.iter())
            .map(|&id| {
                Arc::new(Message {
                    id: MessageId(id),
                    channel_id: "general".into(),
                    author: "a".into(),
                    content: format!("m{id}"),
                    timestamp: "2026-11-24T00:00:00.000Z".into(),
                    ..Message::default()
                })
            })
            .collect()
    }

    fn ids(messages: &[Arc<Message>]) -> Vec<u64> {
        messages.iter().map(|m| m.id.0).collect()
    }

    #[test]
    fn new_messages_are_those_not_held_before_and_not_older_than_it() {
        // Live messages, a filled gap, evictions at the front, an older page.
        assert_eq!(ids(&arrived(&list(&[]), &list(&[1, 2]))), [1, 2]);
        assert_eq!(ids(&arrived(&list(&[1, 2]), &list(&[1, 2, 3]))), [3]);
        assert_eq!(
            ids(&arrived(&list(&[1, 2, 5]), &list(&[1, 2, 3, 4, 5, 6]))),
            [3, 4, 6]
        );
        assert_eq!(ids(&arrived(&list(&[1, 2, 3]), &list(&[3, 4]))), [4]);
        assert_eq!(ids(&arrived(&list(&[5, 6]), &list(&[2, 3, 5, 6, 7]))), [7]);
        assert!(arrived(&list(&[1, 2]), &list(&[1, 2])).is_empty());
    }

    #[test]
    fn a_changed_message_is_one_held_before_and_after_in_another_state() {
        let before = list(&[1, 2, 3]);
        let mut next = list(&[2, 3, 4]);
        next[0] = before[1].clone(); // 2 untouched: the same state
        let mut edited = (*before[2]).clone();
        edited.content = "fixed".into();
        edited.version = Some(MessageId(9));
        edited.reactions = vec![crate::message::Reaction {
            emoji: "👍".into(),
            count: 1,
            users: vec!["bob".into()],
            ..Default::default()
        }];
        next[1] = Arc::new(edited);
        let changed = changed(&before, &next);
        assert_eq!(changed.len(), 1, "4 arrived, 1 went: neither changed");
        assert_eq!(changed[0].message.id, MessageId(3));
        assert!(changed[0].edited && changed[0].reacted);
        // A new state equal to the old (a repeated event) is no change.
        let same: Vec<Arc<Message>> = before.iter().map(|m| Arc::new((**m).clone())).collect();
        assert!(super::changed(&before, &same).is_empty());
    }
}
