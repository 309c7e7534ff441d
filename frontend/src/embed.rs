//! The JavaScript API for pages that are not Leptos apps:
//!
//! ```js
//! import init, { mountDiscussionPanel } from "/discussion-panel-demo.js";
//! await init();
//! const panel = mountDiscussionPanel(element, { bridgeUrl: "", channel: "general" });
//! panel.setChannel("design");
//! panel.unmount();
//! ```

use crate::panel::DiscussionPanel;
use leptos::prelude::*;
use panel_core::Options;
use std::any::Any;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// A mounted panel.
#[wasm_bindgen]
pub struct PanelHandle {
    /// The mount; dropping it unmounts the panel and releases its connection.
    mounted: Option<Box<dyn Any>>,
    /// The channel shown, settable from JavaScript.
    channel: Option<RwSignal<String>>,
}

#[wasm_bindgen]
impl PanelHandle {
    /// Removes the panel and closes its stream, timers and listeners.
    pub fn unmount(&mut self) {
        self.channel = None;
        self.mounted = None;
    }

    /// Switches the panel to another channel.
    #[wasm_bindgen(js_name = setChannel)]
    pub fn set_channel(&self, channel: String) {
        if let Some(signal) = self.channel {
            signal.set(channel);
        }
    }
}

/// Mounts a panel into `element`. `options`: `bridgeUrl` (default: same
/// origin), `channel` (required), and any engine knob in camelCase
/// (`backoffBaseMs`, `maxAttempts`, …). Unknown options are an error.
#[wasm_bindgen(js_name = mountDiscussionPanel)]
pub fn mount_discussion_panel(
    element: web_sys::HtmlElement,
    options: JsValue,
) -> Result<PanelHandle, JsValue> {
    let read = |key: &str| {
        js_sys::Reflect::get(&options, &JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_undefined())
    };
    let channel = read("channel").and_then(|v| v.as_string()).ok_or_else(|| {
        JsValue::from_str("mountDiscussionPanel: options.channel (a string) is required")
    })?;
    let bridge_url = read("bridgeUrl")
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    let mut engine_options = Options::default();
    if options.is_object() {
        for key in js_sys::Object::keys(options.unchecked_ref::<js_sys::Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            if key == "channel" || key == "bridgeUrl" {
                continue;
            }
            let value = read(&key).map(|v| {
                if let Some(flag) = v.as_bool() {
                    flag.to_string()
                } else {
                    // Numbers are written out by JavaScript: the panel carries
                    // no float formatting of its own.
                    match v.as_f64() {
                        Some(_) => js_sys::Number::from(v.clone())
                            .to_string_with_radix(10)
                            .map(String::from)
                            .unwrap_or_default(),
                        None => v.as_string().unwrap_or_default(),
                    }
                }
            });
            engine_options
                .set(&key, &value.unwrap_or_default())
                .map_err(|problem| {
                    JsValue::from_str(&format!("mountDiscussionPanel: {problem}"))
                })?;
        }
    }
    let slot = Rc::new(Cell::new(None));
    let give = slot.clone();
    let mounted = leptos::mount::mount_to(element, move || {
        let channel = RwSignal::new(channel);
        give.set(Some(channel));
        view! { <DiscussionPanel bridge_url channel options=engine_options/> }
    });
    Ok(PanelHandle {
        mounted: Some(Box::new(mounted)),
        channel: slot.take(),
    })
}
