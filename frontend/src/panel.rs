//! The `DiscussionPanel` component: header with the connection status, the
//! message list, and the error line with Retry when the panel has stopped.

use crate::connection::{Connection, Endpoint, Outputs};
use crate::message_list::MessageList;
use leptos::html::Ol;
use leptos::prelude::*;
use panel_core::{Label, Options, ViewState};

/// How close to the bottom (in CSS pixels) still counts as "at the bottom".
const STICKY_BOTTOM_PX: i32 = 24;

/// A live discussion panel for one channel.
///
/// - `bridge_url`: the bridge's base URL, `""` for the page's own origin.
/// - `channel`: the channel to show; changing it switches streams cleanly.
/// - `options`: timing and size knobs (see [`Options`] for the defaults).
#[component]
pub fn DiscussionPanel(
    #[prop(into)] bridge_url: String,
    #[prop(into)] channel: Signal<String>,
    #[prop(optional)] options: Option<Options>,
) -> impl IntoView {
    let options = options.unwrap_or_default();
    let initial = ViewState {
        label: Label::Reconnecting,
        stopped: false,
        error: None,
    };
    let outputs = Outputs {
        status: RwSignal::new(initial),
        messages: RwSignal::new(Vec::new()),
    };
    // Owned by this component: dropped (closing everything) when it unmounts.
    let connection = StoredValue::new_local(None::<Connection>);
    let bridge_url = bridge_url.trim_end_matches('/').to_owned();

    Effect::new(move |_| {
        let channel = channel.get();
        // Drop the old connection before opening the new: never two streams.
        connection.set_value(None);
        outputs.messages.set(Vec::new());
        let endpoint = Endpoint {
            bridge_url: bridge_url.clone(),
            channel,
        };
        connection.set_value(Some(Connection::start(endpoint, options.clone(), outputs)));
    });

    let list = NodeRef::<Ol>::new();
    let at_bottom = StoredValue::new(true);
    let on_scroll = move |_| {
        if let Some(list) = list.get_untracked() {
            let gap = list.scroll_height() - list.scroll_top() - list.client_height();
            at_bottom.set_value(gap <= STICKY_BOTTOM_PX);
        }
    };
    // The rows, updated in place from the held messages, at most once a frame:
    // a burst of events between two frames costs one walk and one layout, and
    // the reader could not have seen the steps in between anyway. Then, if the
    // reader was at the bottom, follow the new messages; if they scrolled up to
    // read, leave them there.
    let rows = StoredValue::new_local(None::<MessageList>);
    let frame_pending = StoredValue::new(false);
    Effect::new(move |_| {
        outputs.messages.track();
        if list.get().is_none() || frame_pending.get_value() {
            return;
        }
        frame_pending.set_value(true);
        request_animation_frame(move || {
            // The panel may have been unmounted since: every handle is `try_`.
            frame_pending.try_set_value(false);
            let Some(element) = list.get_untracked() else {
                return;
            };
            let follow = at_bottom.try_get_value().unwrap_or(false);
            outputs.messages.try_with_untracked(|messages| {
                rows.try_update_value(|rows| {
                    if rows.is_none() {
                        *rows = MessageList::new(element.clone().into());
                    }
                    if let Some(rows) = rows {
                        rows.show(messages);
                    }
                })
            });
            if follow {
                element.set_scroll_top(element.scroll_height());
            }
        });
    });

    let status = outputs.status;
    let retry = move |_| {
        connection.with_value(|c| {
            if let Some(connection) = c {
                connection.retry();
            }
        })
    };
    view! {
        <section class="discussion-panel" data-channel=move || channel.get() aria-label="Discussion">
            <header class="dp-bar dp-header">
                <h2 class="dp-title">
                    <span class="dp-hash" aria-hidden="true">"#"</span>
                    {move || channel.get()}
                </h2>
                <div
                    class="dp-status"
                    data-connection-status=move || status.read().label.as_attr()
                    role="status"
                    aria-live="polite"
                >
                    <span class="dp-dot" aria-hidden="true"></span>
                    <span class="dp-label">{move || status.read().label.text()}</span>
                </div>
            </header>
            // Rows are managed by `MessageList`, not by a keyed view: see there.
            <ol class="dp-messages" node_ref=list on:scroll=on_scroll aria-label="Messages"></ol>
            <Show when=move || status.read().stopped>
                <div class="dp-bar dp-error" role="alert">
                    <p class="dp-error-text">
                        {move || status.read().error.clone().unwrap_or_else(|| "Disconnected.".into())}
                    </p>
                    <button type="button" class="dp-retry" data-action="retry" on:click=retry>
                        "Retry"
                    </button>
                </div>
            </Show>
        </section>
    }
}
