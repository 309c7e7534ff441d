// Loads the panel's WebAssembly module. A file of its own rather than an inline
// script, so pages can forbid inline script in their Content-Security-Policy.
import init from "./discussion-panel-demo.js";

init().catch((error) => console.error("[discussion-panel] failed to start", error));
