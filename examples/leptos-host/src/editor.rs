use discussion_panel::core::Message;
use discussion_panel::{DiscussionPanel, Options, Replies, StatusChange, Unread};
use leptos::logging::log;
use leptos::prelude::*;
use std::sync::Arc;

/// The editor: a document, and the discussion beside it.
#[component]
pub fn Editor(bridge: String) -> impl IntoView {
    let channel = RwSignal::new("general".to_string());
    let bridge_url = Signal::stored(bridge); // "" = the page's own origin
    let status = RwSignal::new(String::new());
    let unread = RwSignal::new(0);
    // Replies sent for the reader (each once, in order).
    let replies = Replies::new();
    let ask = {
        let replies = replies.clone();
        move |_| replies.send("Ready for review.".into())
    };
    // The callbacks, typed: Leptos's prop conversion cannot infer them.
    let on_status = move |change: StatusChange| status.set(change.label.as_attr().into());
    let on_message = move |message: Arc<Message>| log!("new: {}", message.content);
    let on_unread = move |u: Unread| unread.set(u.count);
    let on_update = move |message: Arc<Message>| log!("edited: {}", message.id);
    let on_discontinuity = move |()| log!("content may have changed");
    let on_auth_expired = move |()| log!("sign in again");
    view! {
        <main class="document">
            <h1>"Onboarding guide"</h1>
            <p data-status=move || status.get()>"Discussion: " {move || status.get()}</p>
            <p>{move || unread.get()} " unread"</p>
            <button on:click=ask>"Ask for a review"</button>
        </main>
        <aside class="sidebar">
            // Changing `channel` or `bridge_url` switches streams cleanly.
            <DiscussionPanel
                bridge_url
                channel
                options=Options { max_attempts: 8, author: "leptos".into(), ..Options::default() }
                outgoing=replies
                on_status
                on_message
                on_unread
                on_update
                on_discontinuity
                on_auth_expired
            />
        </aside>
    }
}
