//! The panel-only build's entry point: readable panics in the console, and
//! `<discussion-panel>` defined. Hosts import the module for the element and
//! for `mountDiscussionPanel` (see `discussion_panel::embed`).

fn main() {
    discussion_panel::start();
}
