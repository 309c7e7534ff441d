//! The discussion panel: a live view of one chat channel for a document editor.
//!
//! - [`panel`]: the `DiscussionPanel` Leptos component.
//! - [`message_list`]: the message rows, updated in place (one walk, few DOM changes).
//! - [`content`]: a message's formatting as elements and text, and the dates rows show.
//! - [`connection`]: the browser glue around `panel_core`'s pure engine.
//! - [`browser`]: owned handles on browser resources (listeners, EventSource).
//! - [`embed`]: `<discussion-panel>` and `mountDiscussionPanel(element, options)`
//!   for pages that are not Leptos apps, with events for the host.
//! - [`auth`]: signing in to the bridge (a token, refreshed on reconnects; cookies).
//! - [`share`]: one stream for every tab of a browser profile and person (Web
//!   Locks and `BroadcastChannel` around `panel_core::share`).
//! - [`identity`]: who the reader is (`/api/me`), for the sharing and the
//!   saved replies.
//!
//! The decisions (reconnection, watchdog, history merging) live in the
//! `panel-core` crate and are re-exported as [`core`].

pub mod auth;
pub mod browser;
pub mod composer;
pub mod connection;
pub mod content;
pub mod embed;
pub mod header;
pub mod identity;
pub mod message_list;
pub mod panel;
pub mod share;

pub use auth::{Auth, Token};
pub use panel::{DiscussionPanel, Hook, Replies, StatusChange, Text, Unread};
pub use panel_core as core;
pub use panel_core::people::Presence;
pub use panel_core::{Options, Theme};

/// What the panel-only build runs when its module is initialised: readable
/// panics in the console (unless the build traps on a panic at once, see
/// `scripts/setup.sh`), and `<discussion-panel>` defined.
pub fn start() {
    #[cfg(not(panic = "immediate-abort"))]
    console_error_panic_hook::set_once();
    embed::define_custom_element();
}
