//! The demo page: an editor-like layout with the panel docked beside a document.
//! `?channel=` and `?bridge=` pick the channel and the bridge (the page's own
//! origin, or a local one on a local page: see `panel_core::bridge_url`); any engine knob
//! may be set by its snake_case name (`?backoff_base_ms=200`), which tests use.

use crate::browser::log_warn;
use crate::panel::DiscussionPanel;
use leptos::prelude::*;
use panel_core::{check_bridge_url, Options};

/// What the page's query asks for.
#[derive(Clone, Debug)]
pub struct DemoQuery {
    pub channel: String,
    pub bridge_url: String,
    pub options: Options,
}

/// Reads `?channel=`, `?bridge=` and engine knobs from the page's query.
pub fn read_query() -> DemoQuery {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok();
    let get = |key: &str| {
        params
            .as_ref()
            .and_then(|p| p.get(key))
            .filter(|v| !v.is_empty())
    };
    let mut options = Options::default();
    for name in Options::NAMES {
        if let Some(value) = get(name) {
            if let Err(problem) = options.set(name, &value) {
                log_warn(&format!("ignoring ?{name}=: {problem}"));
            }
        }
    }
    let page_origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let requested = get("bridge").unwrap_or_default();
    let bridge_url = check_bridge_url(&page_origin, &requested).unwrap_or_else(|problem| {
        log_warn(&format!("{problem}; using this page's own origin"));
        String::new()
    });
    DemoQuery {
        channel: get("channel").unwrap_or_else(|| "general".into()),
        bridge_url,
        options,
    }
}

/// The demo editor.
#[component]
pub fn DemoEditor(query: DemoQuery) -> impl IntoView {
    let channel = RwSignal::new(query.channel);
    let channels = ["general", "design", "random"];
    view! {
        <div class="demo-app">
            <header class="demo-toolbar">
                <span class="demo-brand">"Quill & Ink"</span>
                <span class="demo-doc-name">"Onboarding guide — draft 3"</span>
                <label class="demo-channel-picker">
                    "Channel "
                    <select
                        data-action="switch-channel"
                        on:change=move |event| channel.set(event_target_value(&event))
                        prop:value=move || channel.get()
                    >
                        {channels.map(|c| view! { <option value=c>{c}</option> })}
                    </select>
                </label>
            </header>
            <main class="demo-document" aria-label="Document">
                <h1>"Onboarding guide"</h1>
                <p>"Welcome to the team. This guide walks you through your first week: the tools we use, the people to ask, and the habits that keep our documents readable."</p>
                <h2>"1. Before your first day"</h2>
                <p>"You will receive an invitation to the editor and to the team's chat. The discussion panel on the right shows the channel that belongs to this document; comments you make there are visible to everyone working on it."</p>
                <h2>"2. Writing style"</h2>
                <p>"Short sentences. One idea per paragraph. Prefer examples to rules, and link to the glossary rather than explaining a term twice."</p>
                <h2>"3. Reviewing"</h2>
                <p>"When a section is ready, mention it in the channel. Reviewers reply there, so the conversation stays beside the text it is about."</p>
            </main>
            <aside class="demo-sidebar">
                <DiscussionPanel bridge_url=query.bridge_url channel options=query.options/>
            </aside>
        </div>
    }
}
