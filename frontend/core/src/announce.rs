//! What the panel says to a screen reader about new messages, and when.
//!
//! The list itself is not a live region: a live list re-reads rows that
//! are re-made in place (an edit, a new reaction count) and reads a burst
//! line by line. Instead one polite region says how many messages came,
//! once per burst ("12 new messages"): messages that come within
//! [`QUIET_MS`] of each other are one burst, and a stream that never goes
//! quiet is still summed up every [`LONGEST_MS`]. Only messages new to the
//! reader count ([`crate::reading::arrived`]: not the first history load,
//! not an older page), and never the reader's own: they just sent it.
//!
//! [`reaction_name`] is what a reaction chip is called.
//!
//! Time comes in as an argument (milliseconds, any epoch), so the host tests
//! drive every burst; the glue sets one timer at [`Announcer::due`] and
//! writes what [`Announcer::poll`] answers into the region.

use crate::message::Message;
use std::sync::Arc;

/// How long without a new message ends a burst.
pub const QUIET_MS: f64 = 1_000.0;

/// The longest a burst waits to be announced, however long it goes on.
pub const LONGEST_MS: f64 = 5_000.0;

/// Counts the messages not yet announced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Announcer {
    /// Messages arrived since the last announcement.
    pending: usize,
    /// When the burst began (its first message), while one is pending.
    began: f64,
    /// When the burst's last message came.
    last: f64,
}

impl Announcer {
    /// `new` messages arrived at `now` (see [`crate::reading::arrived`]);
    /// those by `reader` are not counted. Answers when to poll next, if
    /// anything is pending.
    pub fn arrived(&mut self, new: &[Arc<Message>], reader: Option<&str>, now: f64) -> Option<f64> {
        let mut others = 0;
        for m in new {
            others += usize::from(reader != Some(m.author.as_str()));
        }
        if others > 0 {
            if self.pending == 0 {
                self.began = now;
            }
            self.pending += others;
            self.last = now;
        }
        self.due()
    }

    /// When the pending burst is to be announced, if there is one.
    pub fn due(&self) -> Option<f64> {
        (self.pending > 0).then(|| (self.last + QUIET_MS).min(self.began + LONGEST_MS))
    }

    /// The sentence to announce at `now`, if the burst is over (or has
    /// waited long enough); the count starts again from zero.
    pub fn poll(&mut self, now: f64) -> Option<String> {
        if self.due().is_none_or(|due| now < due) {
            return None;
        }
        Some(new_messages(std::mem::take(&mut self.pending)))
    }
}

/// "1 new message", "12 new messages".
pub fn new_messages(count: usize) -> String {
    let mut text = crate::number::digits(count as u64);
    text.push_str(if count == 1 {
        " new message"
    } else {
        " new messages"
    });
    text
}

/// A reaction chip's name: what it is, whether the reader is among those
/// who reacted, and what pressing it does ("👍 3 reactions, including you;
/// press to remove yours").
pub fn reaction_name(emoji: &str, count: &str, mine: bool, can_press: bool) -> String {
    let mut name = emoji.to_owned();
    name.push(' ');
    name.push_str(count);
    name.push_str(if count == "1" {
        " reaction"
    } else {
        " reactions"
    });
    if mine {
        name.push_str(", including you");
    }
    if can_press {
        name.push_str(if mine {
            "; press to remove yours"
        } else {
            "; press to add yours"
        });
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageId;

    fn from(author: &str, n: u64) -> Vec<Arc<Message>> {
        (0..n)
            .map(|id| {
                Arc::new(Message {
                    id: MessageId(id + 1),
                    author: author.into(),
                    ..Message::default()
                })
            })
            .collect()
    }

    #[test]
    fn a_reaction_chip_says_what_it_is_and_what_pressing_does() {
        assert_eq!(
            reaction_name("👍", "3", true, true),
            "👍 3 reactions, including you; press to remove yours"
        );
        assert_eq!(
            reaction_name("🎉", "1", false, true),
            "🎉 1 reaction; press to add yours"
        );
        assert_eq!(reaction_name("🎉", "2", false, false), "🎉 2 reactions");
    }

    #[test]
    fn a_burst_is_announced_once_with_its_count_after_it_goes_quiet() {
        let mut a = Announcer::default();
        // Fifty messages over 490 ms, one every 10 ms.
        for i in 0..50 {
            let due = a.arrived(&from("ann", 1), Some("me"), f64::from(i) * 10.0);
            assert_eq!(due, Some(f64::from(i) * 10.0 + QUIET_MS));
            assert_eq!(
                a.poll(f64::from(i) * 10.0 + 5.0),
                None,
                "not while it goes on"
            );
        }
        assert_eq!(a.poll(1_489.0), None);
        assert_eq!(a.poll(1_490.0).as_deref(), Some("50 new messages"));
        assert_eq!(a.poll(9_999.0), None, "said once");
        assert_eq!(a.due(), None);
        a.arrived(&from("ann", 1), None, 10_000.0);
        assert_eq!(a.poll(11_000.0).as_deref(), Some("1 new message"));
    }

    #[test]
    fn the_readers_own_messages_are_not_announced() {
        let mut a = Announcer::default();
        assert_eq!(a.arrived(&from("me", 3), Some("me"), 0.0), None);
        assert_eq!(a.poll(1e9), None);
        let mut mixed = from("me", 2);
        mixed.extend(from("bob", 3));
        a.arrived(&mixed, Some("me"), 0.0);
        assert_eq!(a.poll(QUIET_MS).as_deref(), Some("3 new messages"));
        // Nothing arrived (an older page, the first load): nothing to say.
        assert_eq!(a.arrived(&[], Some("me"), 5.0), None);
    }

    #[test]
    fn a_stream_that_never_goes_quiet_is_summed_up_every_longest_ms() {
        let mut a = Announcer::default();
        let mut said = Vec::new();
        let mut now = 0.0;
        while now < 12_000.0 {
            a.arrived(&from("bob", 1), None, now);
            said.extend(a.poll(now));
            now += 500.0;
        }
        // 0 ms to 5,000 ms: eleven; 5,500 ms to 10,500 ms: eleven more.
        assert_eq!(said, ["11 new messages", "11 new messages"]);
    }
}
