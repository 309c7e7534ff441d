//! The panel-only build's entry point: readable panics in the console, and
//! `<discussion-panel>` defined. Hosts import the module for the element and
//! for `mountDiscussionPanel` (see `discussion_panel::embed`).
#![cfg_attr(target_family = "wasm", no_main)]

/// talc rather than std's dlmalloc: the same job (memory freed is reused and
/// neighbouring free blocks merge, so a long-lived page does not grow), in
/// less of the download. The panel runs on the page's one thread (no
/// `atomics`), which is what talc's unsynchronised cell is for; the heap grows
/// with `memory.grow` as dlmalloc's does.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The browser build has no `fn main`: std's runtime around it (stdout's
/// buffer flushed at exit, the main thread's name) is code and strings the
/// panel never uses. wasm-bindgen's start function runs when the module is
/// initialised, as `main` did.
#[cfg(target_family = "wasm")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
fn start() {
    discussion_panel::start();
}

#[cfg(not(target_family = "wasm"))]
fn main() {
    discussion_panel::start();
}
