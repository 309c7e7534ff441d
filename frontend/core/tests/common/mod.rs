//! Helpers the share machine's test files have in common.

use panel_core::share::{Relay, ShareCommand};

/// The relays a step posts to the other tabs.
pub fn posts(commands: &[ShareCommand]) -> Vec<&Relay> {
    commands
        .iter()
        .filter_map(|c| match c {
            ShareCommand::Post(relay) => Some(relay),
            _ => None,
        })
        .collect()
}
