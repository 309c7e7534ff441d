//! The discussion panel's connection engine, free of any browser API.
//!
//! Everything that *decides* lives here, so plain `cargo test` on the host covers
//! every edge; the browser glue in the `discussion-panel` crate only turns browser
//! events into [`Event`]s and carries out the [`Command`]s that come back.
//!
//! - [`message`]: the chat message and its numeric id, as the bridge sends them.
//! - [`number`]: whole numbers written as text, without `core::fmt`.
//! - [`json`]: the one JSON reader: a checked text, read field by field.
//! - [`payload`]: a message and its parts, read from the bridge's JSON.
//! - [`wire`]: decoding of event-stream payloads, defensive against bad input.
//! - [`rows`]: the few row changes that turn the rendered list into the held one.
//! - [`format`]: Discord's markdown, parsed over bytes into events that borrow the text.
//! - [`people`]: who is here and who is typing (presence, the typing line).
//! - [`store`]: the bounded, id-ordered list of held messages (merge, never duplicate).
//! - [`backoff`]: the randomised exponential delay between the panel's own attempts.
//! - [`options`]: every timing knob, with documented defaults.
//! - [`protocol`]: the events the engine reacts to and the commands it issues.
//! - [`engine`]: the state machine itself.
//! - [`compose`]: what a reply's draft may be, and its counter.
//! - [`read`]: where the reader stopped: the read marker, the divider, the marks sent.
//! - [`reading`]: which messages are new to the reader, and how many are unread.
//! - [`announce`]: what a screen reader hears of new messages: one count a burst.
//! - [`roving`]: where the keyboard goes in the list (one tab stop).
//! - [`share`]: one stream for every tab of a browser profile: who holds it,
//!   what it carries, and relaying it to every panel.
//! - [`carrier`]: how the tab holding that stream finds a buffering proxy,
//!   and when it tries the EventSource again.

pub mod announce;
pub mod backoff;
pub mod carrier;
pub mod compose;
pub mod engine;
pub mod format;
pub mod json;
pub mod message;
pub mod number;
pub mod options;
pub mod payload;
pub mod people;
pub mod protocol;
pub mod read;
pub mod reading;
pub mod roving;
pub mod rows;
pub mod share;
pub mod store;
pub mod vecmap;
pub mod wire;

pub use engine::{Engine, SIGN_IN_EXPIRED};
pub use message::{is_valid_channel, Message, MessageId, Reaction};
pub use options::{Options, Theme};
pub use protocol::{
    Command, Event, Gateway, Label, Outgoing, PostOutcome, ReadyState, StreamId, Target, Timer,
    Transport, ViewState,
};
pub use wire::{
    check_history_size, decode, decode_at, decode_history, error_sentence, post_answer,
    DecodeError, Incoming, PostAnswer,
};
