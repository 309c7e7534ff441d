//! The demo page's entry point. It mounts the demo editor into `#demo-root`
//! when the page has one; other pages load the same module only for its
//! `mountDiscussionPanel` API.

use discussion_panel::demo::{read_query, DemoEditor};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

fn main() {
    console_error_panic_hook::set_once();
    let root = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("demo-root"))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(root) = root {
        let query = read_query();
        leptos::mount::mount_to(root, move || view! { <DemoEditor query/> }).forget();
    }
}
