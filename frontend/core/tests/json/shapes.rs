//! The panel's real payloads as generated JSON: each field mostly right,
//! sometimes of the wrong type, null, absent, given twice or under an
//! escaped name, among unknown fields, in any order.
//!
//! Never generated, since the two readers differ there on purpose (see
//! `panel_core::json`): an array where an object belongs, a count past
//! `f64`'s range, nesting past 127 levels.

use crate::generate::{count, number, space, text, value, Piece, Text, J};
use proptest::prelude::*;
use proptest::sample::select;

/// A field's name, sometimes with a letter written as `\u` escape.
fn name(name: &'static str) -> impl Strategy<Value = Text> {
    (0..10usize).prop_map(move |escaped| {
        let mut key = Text::plain(name);
        if let Some(piece) = key.0.get_mut(escaped) {
            if let Piece::Raw(c) = *piece {
                *piece = Piece::Unicode(c);
            }
        }
        key
    })
}

/// A value of another type than the field wants (never an array: see above).
fn wrong() -> impl Strategy<Value = J> {
    prop_oneof![
        Just(J::Bool(true)),
        Just(J::num("1")),
        Just(J::str("x")),
        Just(J::Obj(vec![])),
    ]
}

/// A field: mostly `good`, sometimes wrong, null or absent.
fn field(key: &'static str, good: BoxedStrategy<J>) -> BoxedStrategy<Option<(Text, J)>> {
    let value = prop_oneof![
        80 => good,
        1 => wrong(),
        1 => Just(J::Null),
    ];
    prop_oneof![
        60 => (name(key), value).prop_map(Some),
        1 => Just(None),
    ]
    .boxed()
}

/// An object of `fields`, with unknown members, perhaps a field twice,
/// shuffled.
fn object(fields: Vec<BoxedStrategy<Option<(Text, J)>>>) -> BoxedStrategy<J> {
    let unknown = select(vec!["extra", "ts", "kind", "nonce", "known", "Id"]);
    let extras = prop::collection::vec((unknown.prop_map(Text::plain), value()), 0..2);
    (fields, extras, 0..200usize)
        .prop_flat_map(|(fields, extras, twice)| {
            let mut members: Vec<(Text, J)> = fields.into_iter().flatten().collect();
            members.extend(extras);
            if let Some(again) = members.get(twice).cloned() {
                members.push(again);
            }
            Just(members).prop_shuffle()
        })
        .prop_map(J::Obj)
        .boxed()
}

fn string() -> BoxedStrategy<J> {
    prop_oneof![60 => text(0), 1 => text(1)]
        .prop_map(J::Str)
        .boxed()
}

/// A message id: decimal digits in a string, sometimes escaped, or not an id.
fn id() -> BoxedStrategy<J> {
    prop_oneof![
        40 => (0u64..100_000).prop_map(|n| J::str(&n.to_string())),
        4 => (0u64..1000).prop_map(|n| {
            J::Str(Text(n.to_string().chars().map(Piece::Unicode).collect()))
        }),
        1 => select(vec![
            "", "-1", "+1", " 1", "1.0", "0x10", "007", "18446744073709551615",
            "18446744073709551616", "x",
        ])
        .prop_map(J::str),
        1 => Just(J::num("7")),
    ]
    .boxed()
}

fn list(item: BoxedStrategy<J>, most: usize) -> BoxedStrategy<J> {
    prop::collection::vec(item, 0..most)
        .prop_map(J::Arr)
        .boxed()
}

fn whole_number() -> BoxedStrategy<J> {
    prop_oneof![
        20 => (0u64..10_000).prop_map(|n| J::Num(n.to_string())),
        1 => number().prop_map(J::Num),
    ]
    .boxed()
}

pub fn reaction() -> BoxedStrategy<J> {
    object(vec![
        field("emoji", string()),
        field("count", count().boxed()),
        field("users", list(string(), 3)),
        field("me", any::<bool>().prop_map(J::Bool).boxed()),
    ])
}

fn mentions() -> BoxedStrategy<J> {
    let key = prop_oneof![30 => text(0), 1 => text(1)];
    let entry = (
        key,
        prop_oneof![60 => string(), 1 => wrong(), 1 => Just(J::Null)],
    );
    prop::collection::vec(entry, 0..3).prop_map(J::Obj).boxed()
}

pub fn message() -> BoxedStrategy<J> {
    let referenced = object(vec![
        field("id", id()),
        field("author", string()),
        field("content", string()),
    ]);
    let attachment = object(vec![
        field("filename", string()),
        field("size", whole_number()),
        field("url", string()),
    ]);
    // Optional fields are absent more often than required ones.
    let rare = |key, good| prop_oneof![1 => field(key, good), 1 => Just(None)].boxed();
    object(vec![
        field("id", id()),
        field("channel_id", string()),
        field("author", string()),
        field("content", string()),
        field("timestamp", string()),
        rare("client_id", string()),
        rare("edited_at", string()),
        rare("version", id()),
        rare("reactions", list(reaction(), 3)),
        rare("reactions_version", id()),
        rare("mentions", mentions()),
        rare("referenced_message", referenced),
        rare("attachments", list(attachment, 3)),
    ])
}

/// An event's name and a payload of its shape (a heartbeat's is anything).
pub fn event() -> BoxedStrategy<(&'static str, J)> {
    let gateway = select(vec![
        "connected",
        "reconnecting",
        "disconnected",
        "sideways",
        "",
    ]);
    prop_oneof![
        3 => message().prop_map(|m| ("message", m)),
        1 => message().prop_map(|m| ("message_update", m)),
        1 => object(vec![field("id", id()), field("channel_id", string())])
            .prop_map(|p| ("message_delete", p)),
        2 => object(vec![
            field("message_id", id()),
            field("channel_id", string()),
            field("emoji", string()),
            field("count", count().boxed()),
            field("users", list(string(), 3)),
            field("reactions", list(reaction(), 3)),
            field("version", id()),
            field("user", string()),
            field("added", any::<bool>().prop_map(J::Bool).boxed()),
        ])
        .prop_map(|p| ("reaction", p)),
        1 => object(vec![
            field("gateway", gateway.prop_map(J::str).boxed()),
            field("heartbeat_interval_ms", whole_number()),
        ])
        .prop_map(|p| ("status", p)),
        1 => object(vec![field("reason", string()), field("channels", list(string(), 3))])
            .prop_map(|p| ("resync", p)),
        1 => value().prop_map(|v| ("heartbeat", v)),
    ]
    .boxed()
}

/// A history answer: an array of messages (or, rarely, not an array).
pub fn history() -> BoxedStrategy<J> {
    prop_oneof![12 => list(message(), 4), 1 => wrong()].boxed()
}

/// A page of changes.
pub fn changes() -> BoxedStrategy<J> {
    object(vec![
        field("messages", list(message(), 3)),
        field("deleted", list(id(), 3)),
        field("last", id()),
        field("more", any::<bool>().prop_map(J::Bool).boxed()),
        field("resync", string()),
    ])
}

/// An error answer.
pub fn error() -> BoxedStrategy<J> {
    object(vec![field("error", string()), field("code", string())])
}

/// A payload written out, sometimes broken afterwards.
pub fn written(payload: BoxedStrategy<J>) -> BoxedStrategy<String> {
    (payload, space(), 0..5u8)
        .prop_flat_map(|(payload, space, broken)| {
            let text = payload.write(space);
            if broken == 0 {
                crate::generate::mutate(text).boxed()
            } else {
                Just(text).boxed()
            }
        })
        .boxed()
}
