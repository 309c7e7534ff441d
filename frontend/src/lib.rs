//! The discussion panel: a live view of one chat channel for a document editor.
//!
//! - [`panel`]: the `DiscussionPanel` Leptos component.
//! - [`message_list`]: the message rows, updated in place (one walk, few DOM changes).
//! - [`connection`]: the browser glue around `panel_core`'s pure engine.
//! - [`browser`]: owned handles on browser resources (listeners, EventSource).
//! - [`embed`]: `mountDiscussionPanel(element, options)` for non-Leptos pages.
//! - [`share`]: one stream for every tab of a browser profile (Web Locks and
//!   `BroadcastChannel` around `panel_core::share`).
//! - [`demo`]: the demo editor page trunk serves.
//!
//! The decisions (reconnection, watchdog, history merging) live in the
//! `panel-core` crate and are re-exported as [`core`].

pub mod browser;
pub mod connection;
pub mod demo;
pub mod embed;
pub mod message_list;
pub mod panel;
pub mod share;

pub use panel::DiscussionPanel;
pub use panel_core as core;
pub use panel_core::Options;
