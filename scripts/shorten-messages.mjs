// Shortens the console warnings wasm-bindgen's glue carries for a page that
// loads the module in a way the panel's pages do not (a server that sends the
// wasm without `application/wasm`, the deprecated forms of `init` and
// `initSync`): each still warns, in fewer words (84 bytes gzipped).
// A message not found (another wasm-bindgen's wording) is left as it is.
//
// Usage: node scripts/shorten-messages.mjs JS (rewritten in place). Run by
// scripts/minify-dist.sh on a release build, before terser.
import { readFileSync, writeFileSync } from "node:fs";

const [jsPath] = process.argv.slice(2);
const messages = [
  [
    "`WebAssembly.instantiateStreaming` failed because your server does not serve Wasm with `application/wasm` MIME type. Falling back to `WebAssembly.instantiate` which is slower. Original error:",
    "wasm not served as application/wasm: instantiated without streaming, after:",
  ],
  ["using deprecated parameters for `initSync()`; pass a single object instead", "initSync: deprecated arguments, pass one object"],
  ["using deprecated parameters for the initialization function; pass a single object instead", "init: deprecated arguments, pass one object"],
];
let js = readFileSync(jsPath, "utf8");
let count = 0;
for (const [long, short] of messages) {
  if (js.includes(long)) {
    js = js.split(long).join(short);
    count++;
  }
}
writeFileSync(jsPath, js);
console.log(`shorten-messages: ${count} of ${messages.length} glue warnings shortened`);
