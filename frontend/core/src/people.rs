//! Who is here and who is typing: the `presence` and `typing` events read,
//! and the typing line's rules (who is shown, for how long, in what words).
//!
//! Presence is the bridge's to count (per person, with a grace before
//! anyone leaves, so nothing here smooths it): the panel shows the whole
//! set each event carries. Typing is short-lived and the panel's to expire:
//! a person types until 8 s after their last signal, by the panel's own
//! clock (the event's `until` is the bridge's clock, which may differ from
//! the reader's), or until their message arrives.

use crate::json::{self, Error};
use crate::payload::{count, strings};

/// How long a typing signal shows its person as typing (the bridge's
/// `until` is 8 s after it, too).
pub const TYPING_MS: u64 = 8_000;

/// The least time between two typing signals of the reader, in ms: one
/// per 3 s while they type, whichever of their tabs types.
pub const TYPING_EVERY_MS: u64 = 3_000;

/// The most names a presence keeps (the bridge sends at most 100).
const MAX_NAMES: usize = 100;

/// Who is in a channel now (a `presence` event or `GET …/presence`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Presence {
    /// The channel.
    pub channel_id: String,
    /// The named people, at most 100.
    pub users: Vec<String>,
    /// Everyone, named or not (saturated).
    pub count: u32,
}

impl Presence {
    /// Reads a presence's JSON; `count` is never below the names given.
    pub fn read(data: &str) -> Result<Presence, Error> {
        let f = json::parse(data)?.fields("", &["channel_id", "users", "count"])?;
        let mut users = f.take(strings(f.optional_list("users")));
        // A blank or repeated name would be an avatar for no one.
        let mut kept: Vec<String> = Vec::new();
        users.retain(|name| {
            // (Blank by bytes: `trim` would be one more pattern searcher.)
            let blank = name.bytes().all(|b| b.is_ascii_whitespace());
            let keep = !blank && !kept.contains(name);
            if keep {
                kept.push(name.clone());
            }
            keep
        });
        users.truncate(MAX_NAMES);
        let count = count(&f).max(users.len() as u32);
        let presence = Presence {
            channel_id: f.string("channel_id"),
            users,
            count,
        };
        f.done(presence)
    }
}

/// A `typing` event: who (the `until` is not read; see the module). The
/// name loses its direction marks and control characters (one that closed
/// its isolate could turn the rest of the line around) and its spaces at
/// either end; a name with nothing left, or past 64 characters (the bridge
/// allows 32), names no one (empty).
pub fn read_typing(data: &str) -> Result<(String, String), Error> {
    let f = json::parse(data)?.fields("", &["channel_id", "user", "until"])?;
    let mut user = String::new();
    let mut count = 0;
    for c in f.string("user").trim().chars() {
        let marks = matches!(c, '\u{200e}' | '\u{200f}' | '\u{61c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if !marks && !c.is_control() {
            user.push(c);
            count += 1;
        }
    }
    if count > 64 || user.trim().is_empty() {
        user.clear();
    }
    let typing = (f.string("channel_id"), user);
    f.done(typing)
}

/// Who is typing, in the order they started, and until when (ms, the
/// engine's clock).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Typing {
    until: Vec<(String, u64)>,
}

impl Typing {
    /// `user` signalled at `now`. Whether who is typing changed (a known
    /// typist's new signal changes nothing anyone sees).
    pub fn heard(&mut self, user: String, now: u64) -> bool {
        let until = now.saturating_add(TYPING_MS);
        let full = self.until.len() >= MAX_NAMES;
        match self.until.iter_mut().find(|(name, _)| *name == user) {
            Some(known) => {
                known.1 = until;
                false
            }
            // Past a hundred, the line says "Several people" anyway.
            None if full => false,
            None => {
                self.until.push((user, until));
                true
            }
        }
    }

    /// `user` stopped typing (their message came, say). Whether they were.
    pub fn ended(&mut self, user: &str) -> bool {
        self.keep(&|(name, _)| name != user)
    }

    /// Drops who stopped signalling by `now` (or seem to signal from the
    /// future: the clock was set back). Whether anyone did.
    pub fn expire(&mut self, now: u64) -> bool {
        let latest = now.saturating_add(TYPING_MS);
        self.keep(&|&(_, until)| until > now && until <= latest)
    }

    /// Keeps the typists `keep` says; whether any went. One `retain` for
    /// both callers (each closure type was its own copy of it).
    fn keep(&mut self, keep: &dyn Fn(&(String, u64)) -> bool) -> bool {
        let before = self.until.len();
        self.until.retain(keep);
        self.until.len() != before
    }

    /// When the next typist expires, if anyone types.
    pub fn next_due(&self) -> Option<u64> {
        self.until.iter().map(|&(_, until)| until).min()
    }

    /// Forgets everyone. Whether anyone was typing.
    pub fn clear(&mut self) -> bool {
        let any = !self.until.is_empty();
        self.until.clear();
        any
    }

    /// Who is typing, in the order they started.
    pub fn users(&self) -> Vec<String> {
        let mut users = Vec::new();
        for (name, _) in &self.until {
            users.push(name.clone());
        }
        users
    }
}

/// The typing line for these people: empty for nobody. Each name is
/// isolated (U+2068 … U+2069), so a right-to-left mark in one cannot turn
/// the rest of the line around.
pub fn typing_line(users: &[String]) -> String {
    const OPEN: &str = "\u{2068}";
    const CLOSE: &str = "\u{2069}";
    match users {
        [] => String::new(),
        [one] => [OPEN, one, CLOSE, " is typing…"].concat(),
        [one, two] => [OPEN, one, CLOSE, " and ", OPEN, two, CLOSE, " are typing…"].concat(),
        _ => "Several people are typing…".into(),
    }
}

/// Whether the reader's typing is worth a signal at `now` (ms since the
/// epoch), the last one having gone at `last` (an unreadable record is none): one per
/// [`TYPING_EVERY_MS`]; a last one in the future (a clock set back) is
/// no reason to stay silent.
pub fn typing_due(last: Option<u64>, now: u64) -> bool {
    last.is_none_or(|last| now < last || now - last >= TYPING_EVERY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_line_names_one_or_two_and_counts_no_further() {
        assert_eq!(typing_line(&[]), "");
        assert_eq!(
            typing_line(&names(&["Ann"])),
            "\u{2068}Ann\u{2069} is typing…"
        );
        assert_eq!(
            typing_line(&names(&["Ann", "Bob"])),
            "\u{2068}Ann\u{2069} and \u{2068}Bob\u{2069} are typing…"
        );
        assert_eq!(
            typing_line(&names(&["Ann", "Bob", "Cy"])),
            "Several people are typing…"
        );
    }

    #[test]
    fn a_typist_shows_for_eight_seconds_after_the_last_signal() {
        let mut typing = Typing::default();
        assert!(typing.heard("Ann".into(), 1_000));
        assert!(!typing.heard("Ann".into(), 5_000), "the same line");
        assert_eq!(typing.next_due(), Some(13_000));
        assert!(!typing.expire(12_999));
        assert_eq!(typing.users(), names(&["Ann"]));
        assert!(typing.expire(13_000));
        assert!(typing.users().is_empty());
        assert_eq!(typing.next_due(), None);
    }

    #[test]
    fn a_message_ends_its_authors_typing_only() {
        let mut typing = Typing::default();
        typing.heard("Ann".into(), 0);
        typing.heard("Bob".into(), 10);
        assert!(typing.ended("Ann"));
        assert!(!typing.ended("Ann"));
        assert_eq!(typing.users(), names(&["Bob"]));
        assert!(typing.clear());
        assert!(!typing.clear());
    }

    #[test]
    fn signals_go_once_per_three_seconds() {
        assert!(typing_due(None, 10_000));
        assert!(!typing_due(Some(10_000), 12_999));
        assert!(typing_due(Some(10_000), 13_000));
        assert!(typing_due(Some(20_000), 10_000), "clock set back");
    }

    #[test]
    fn presence_reads_the_set_and_never_counts_fewer_than_it_names() {
        let p =
            Presence::read(r#"{"channel_id":"general","users":["Ann","Bob"],"count":3}"#).unwrap();
        assert_eq!((p.users.len(), p.count), (2, 3));
        let p = Presence::read(r#"{"channel_id":"g","users":["Ann","Bob"],"count":1}"#).unwrap();
        assert_eq!(p.count, 2);
        let p = Presence::read(r#"{"channel_id":"g","users":[],"count":1e30}"#).unwrap();
        assert_eq!(p.count, u32::MAX, "saturated");
        let p = Presence::read(r#"{"channel_id":"g","users":["Ann"],"count":-1}"#).unwrap();
        assert_eq!(p.count, 1, "saturated, then no fewer than named");
        let many: Vec<String> = (0..150).map(|i| format!("\"u{i}\"")).collect();
        let data = format!(
            r#"{{"channel_id":"g","users":[{}],"count":150}}"#,
            many.join(",")
        );
        let p = Presence::read(&data).unwrap();
        assert_eq!((p.users.len(), p.count), (100, 150));
        for bad in [
            r#"{"channel_id":"g","users":"Ann","count":1}"#,
            r#"{"channel_id":"g","users":[1],"count":1}"#,
            r#"{"channel_id":"g","users":[]}"#,
            r#"{"users":[],"count":0}"#,
            "[]",
        ] {
            assert!(Presence::read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn presence_drops_blank_and_repeated_names() {
        let p =
            Presence::read(r#"{"channel_id":"g","users":["","Ann"," ","Ann","Bob"],"count":4}"#)
                .unwrap();
        assert_eq!(p.users, ["Ann", "Bob"]);
        assert_eq!(p.count, 4);
    }

    #[test]
    fn names_on_the_line_are_isolated_from_each_other() {
        let line = typing_line(&names(&["Eve\u{202E}", "Bob"]));
        assert_eq!(
            line,
            "\u{2068}Eve\u{202E}\u{2069} and \u{2068}Bob\u{2069} are typing…"
        );
    }

    #[test]
    fn typing_reads_who_and_refuses_what_names_no_one() {
        let t = read_typing(r#"{"channel_id":"g","user":"Ann","until":"2026-01-01T00:00:08Z"}"#);
        assert_eq!(t.unwrap(), ("g".into(), "Ann".into()));
        for bad in [
            r#"{"channel_id":"g"}"#,
            r#"{"channel_id":"g","user":7}"#,
            "7",
        ] {
            assert!(read_typing(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod hostile_names {
    use super::*;

    fn user(name: &str) -> String {
        let data = [
            "{\"channel_id\":\"general\",\"user\":",
            name,
            ",\"until\":\"x\"}",
        ]
        .concat();
        read_typing(&data).unwrap().1
    }

    #[test]
    fn a_name_cannot_close_its_isolate_or_turn_the_line_around() {
        let eve = user(r#""Eve\u2069\u202e""#);
        let line = typing_line(&[eve, "Bob".into()]);
        assert_eq!(
            line,
            "\u{2068}Eve\u{2069} and \u{2068}Bob\u{2069} are typing…"
        );
        assert_eq!(user(r#""\u2067Ann\u200f""#), "Ann");
    }

    #[test]
    fn a_name_with_nothing_to_show_or_past_64_characters_names_no_one() {
        assert_eq!(user(r#""  \u0007 ""#), "");
        assert_eq!(user(&["\"", &"a".repeat(65), "\""].concat()), "");
        assert_eq!(
            user(&["\"", &"é".repeat(64), "\""].concat()),
            "é".repeat(64)
        );
        assert_eq!(user(r#"" Ann ""#), "Ann");
    }
}
