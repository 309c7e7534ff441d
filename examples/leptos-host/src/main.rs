//! An example host: a Leptos CSR app that puts the discussion panel in its
//! sidebar, as the README's "In a Leptos app" shows (`editor.rs` is that
//! snippet, word for word). `?bridge=http://host:port` names the bridge
//! (default: the page's own origin): the end-to-end test serves the app from
//! another origin than the bridge's.

mod editor;

use leptos::prelude::*;

fn main() {
    let query = window().location().search().unwrap_or_default();
    let bridge = (query.trim_start_matches('?').split('&'))
        .find_map(|pair| pair.strip_prefix("bridge="))
        .unwrap_or_default()
        .to_owned();
    mount_to_body(move || view! { <editor::Editor bridge=bridge.clone() /> });
}
