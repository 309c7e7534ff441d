//! The panel-only build's entry point: readable panics in the console, and
//! `<discussion-panel>` defined. Hosts import the module for the element and
//! for `mountDiscussionPanel` (see `discussion_panel::embed`).

/// talc rather than std's dlmalloc: the same job (memory freed is reused and
/// neighbouring free blocks merge, so a long-lived page does not grow), in
/// less of the download. The panel runs on the page's one thread (no
/// `atomics`), which is what talc's unsynchronised cell is for; the heap grows
/// with `memory.grow` as dlmalloc's does.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn main() {
    discussion_panel::start();
}
