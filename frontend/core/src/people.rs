//! Who is here: the `presence` event read.
//!
//! Presence is the bridge's to count (per person, with a grace before
//! anyone leaves, so nothing here smooths it): the panel shows the whole
//! set each event carries. (The typing line waits on the branch
//! `typing-panel` for the bytes it costs: see docs/BENCHMARKS.md.)

use crate::json::{self, Error};
use crate::payload::{count, strings};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
