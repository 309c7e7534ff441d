// Shortens the names by which the panel's wasm imports its JavaScript
// functions, in the wasm and in wasm-bindgen's glue together:
// `./discussion-panel_bg.js` / `__wbg_message_43d8c8f1d543a349` becomes `a` / `q`.
// wasm-bindgen names each of its ~200 imports after the function plus a
// 16-digit hash, in both files; the hashes do not compress (see
// docs/BENCHMARKS.md, size ledger). The names mean nothing at run time: the
// wasm looks each function up in the object the glue hands to
// `WebAssembly.instantiate`, and only there. Likewise the exports through
// which the glue calls Rust closures, named after the closure's whole type
// (up to 334 characters), become `__wbg_c0`, `__wbg_c1`, ...; the glue calls
// them as `wasm.NAME`, and only so. Custom sections no browser reads are
// dropped on the way (see `unread`).
//
// Usage: node scripts/shorten-imports.mjs WASM JS (both rewritten in place).
// Run by scripts/minify-dist.sh on a release build, before terser, on the glue
// as wasm-bindgen wrote it. It checks before it writes: every import of the
// wasm must be a key of the glue's one import object, found exactly once, and
// every key there an import, and each renamed export must be called from the
// glue; otherwise it changes nothing and fails. Imports whose functions in
// the glue are the same code share one (see `servedBy`).
import { readFileSync, writeFileSync } from "node:fs";

const [wasmPath, jsPath] = process.argv.slice(2);
if (!wasmPath || !jsPath) {
  console.error("shorten-imports: usage: node scripts/shorten-imports.mjs WASM JS");
  process.exit(2);
}
const fail = (why) => {
  console.error(`shorten-imports: ${why}; nothing changed`);
  process.exit(1);
};

// --- the wasm's import section -------------------------------------------
const wasm = readFileSync(wasmPath);
let at = 0;
const u32 = () => {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = wasm[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if (!(byte & 0x80)) return value;
    shift += 7;
  }
};
const name = () => {
  const length = u32();
  const text = wasm.toString("utf8", at, at + length);
  at += length;
  return text;
};
const leb = (value) => {
  const out = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return Buffer.from(out);
};
const encodeName = (text) => {
  const bytes = Buffer.from(text, "utf8");
  return Buffer.concat([leb(bytes.length), bytes]);
};

if (wasm.readUInt32LE(0) !== 0x6d736100) fail(`${wasmPath} is not a wasm module`);
at = 8;
let importSection = null;
let exportSection = null;
// Custom sections no browser reads (a page sees them only through
// WebAssembly.Module.customSections, which the glue never calls): the
// toolchain's names and versions, the features the compiler assumed, and
// wasm-bindgen's marker for a split it does not do here. Dropped.
const unread = new Set(["producers", "target_features", "__wasm_split_unstable"]);
const dropped = [];
while (at < wasm.length) {
  const start = at;
  const id = wasm[at++];
  const size = u32();
  const body = at;
  if (id === 2) importSection = { start, body, end: body + size };
  if (id === 7) exportSection = { start, body, end: body + size };
  if (id === 0 && unread.has(name())) dropped.push({ start, end: body + size });
  at = body + size;
}
if (!importSection || !exportSection) fail("the wasm has no import or no export section");

at = importSection.body;
const count = u32();
const imports = [];
for (let i = 0; i < count; i++) {
  const module = name();
  const field = name();
  const descStart = at;
  const kind = wasm[at++];
  if (kind === 0) u32(); // function: its type's index
  else if (kind === 1 || kind === 2) {
    if (kind === 1) at++; // table: its element type
    const flags = u32();
    u32();
    if (flags & 1) u32();
  } else if (kind === 3) at += 2; // global: its type and mutability
  else fail(`an import of an unknown kind (${kind})`);
  imports.push({ module, field, desc: wasm.subarray(descStart, at) });
}
if (at !== importSection.end) fail("the import section did not parse to its end");

// The exports wasm-bindgen names after a closure's whole Rust type (up to
// 334 characters each): the glue calls each as `wasm.NAME`.
at = exportSection.body;
const exportCount = u32();
const exports = [];
for (let i = 0; i < exportCount; i++) {
  const field = name();
  const descStart = at;
  at++; // its kind
  u32(); // its index
  exports.push({ field, desc: wasm.subarray(descStart, at) });
}
if (at !== exportSection.end) fail("the export section did not parse to its end");

const modules = new Set(imports.map((entry) => entry.module));
if (modules.size !== 1) fail(`imports from ${modules.size} modules, where the glue has one`);
const [moduleName] = modules;

// --- the glue's import object -----------------------------------------------
const js = readFileSync(jsPath, "utf8");
const fnStart = js.indexOf("function __wbg_get_imports() {");
const fnEnd = js.indexOf("\n}\n", fnStart);
if (fnStart < 0 || fnEnd < 0) fail("the glue has no __wbg_get_imports function");
let body = js.slice(fnStart, fnEnd);
const keyLine = /^( +)([A-Za-z_$][\w$]*): function\(/gm;
const keys = [...body.matchAll(keyLine)].map((match) => match[2]);
const fields = imports.map((entry) => entry.field);
if (new Set(fields).size !== fields.length) fail("two imports share a name");
const sorted = (list) => [...list].sort().join("\n");
if (sorted(keys) !== sorted(fields)) {
  fail(`the glue's import object (${keys.length} functions) and the wasm's imports (${fields.length}) differ`);
}
const moduleKey = `    ${JSON.stringify(moduleName)}: import0,`;
if (body.split(moduleKey).length !== 2) fail(`the glue does not hand over ${moduleName} as import0`);

// Functions of the import object that are the same code (one method of two
// web-sys types, `close` of an EventSource and of a BroadcastChannel, say;
// comment lines aside): one entry serves all their imports. A module may
// import one name more than once, and each import wraps the function for
// its own signature.
const importFunction = /^( +)([A-Za-z_$][\w$]*): (function\([\s\S]*?\n\1\}(?:, arguments\); \})?),\n/gm;
const code = new Map();
for (const match of body.matchAll(importFunction)) {
  code.set(match[2], match[3].replace(/^ *\/\/.*\n/gm, ""));
}
if (sorted(code.keys()) !== sorted(keys)) fail("the glue's import functions did not parse");
const firstWith = new Map();
const servedBy = new Map();
for (const [key, text] of code) {
  if (!firstWith.has(text)) firstWith.set(text, key);
  servedBy.set(key, firstWith.get(text));
}
const served = [...new Set(fields.map((field) => servedBy.get(field)))];

// Short names in order: a..z, A..Z, then two characters; none of them a word
// JavaScript reserves (allowed as keys, but kept out of the way).
const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const reserved = new Set(["do", "if", "in"]);
const short = [];
for (let i = 0; short.length < served.length; i++) {
  const word = i < alphabet.length
    ? alphabet[i]
    : alphabet[Math.floor(i / alphabet.length) - 1] + (alphabet + "0123456789_$")[i % alphabet.length];
  if (!reserved.has(word)) short.push(word);
}
const newModule = "a"; // module names are a namespace of their own
const shortOf = new Map(served.map((key, i) => [key, short[i]]));
const renamed = new Map(fields.map((field) => [field, shortOf.get(servedBy.get(field))]));

body = body.replace(importFunction, (whole, _, key) => (servedBy.get(key) === key ? whole : ""));
body = body.replace(keyLine, (_, indent, key) => `${indent}${renamed.get(key)}: function(`);
body = body.replace(moduleKey, `    ${JSON.stringify(newModule)}: import0,`);
let glue = js.slice(0, fnStart) + body + js.slice(fnEnd);

// Closure exports become `__wbg_c0`, `__wbg_c1`, ... (no other export starts
// so); each must be called from the glue as `wasm.NAME`, and afterwards no
// `wasm.NAME` of the old names may be left.
const closure = /^wasm_bindgen_[0-9a-f]{16}___convert__closures/;
const exportNames = new Set(exports.map((entry) => entry.field));
const renamedExports = new Map();
for (const entry of exports) {
  if (!closure.test(entry.field)) continue;
  const short = `__wbg_c${renamedExports.size}`;
  if (exportNames.has(short)) fail(`an export is already named ${short}`);
  const call = new RegExp(`\\bwasm\\.${entry.field}\\b`, "g");
  const before = glue;
  glue = glue.replace(call, `wasm.${short}`);
  if (glue === before) fail(`the glue never calls the export ${entry.field.slice(0, 60)}...`);
  renamedExports.set(entry.field, short);
}

// --- both written ------------------------------------------------------------
const section = Buffer.concat([
  leb(imports.length),
  ...imports.map((entry) =>
    Buffer.concat([encodeName(newModule), encodeName(renamed.get(entry.field)), entry.desc]),
  ),
]);
const exportBody = Buffer.concat([
  leb(exports.length),
  ...exports.map((entry) =>
    Buffer.concat([encodeName(renamedExports.get(entry.field) ?? entry.field), entry.desc]),
  ),
]);
if (importSection.end > exportSection.start) fail("the export section comes before the imports");
const rest = [];
let from = exportSection.end;
for (const section of dropped) {
  if (section.start < from) fail("a custom section comes before the exports");
  rest.push(wasm.subarray(from, section.start));
  from = section.end;
}
rest.push(wasm.subarray(from));
const out = Buffer.concat([
  wasm.subarray(0, importSection.start),
  Buffer.from([2]),
  leb(section.length),
  section,
  wasm.subarray(importSection.end, exportSection.start),
  Buffer.from([7]),
  leb(exportBody.length),
  exportBody,
  ...rest,
]);
writeFileSync(wasmPath, out);
writeFileSync(jsPath, glue);
console.log(
  `shorten-imports: ${imports.length} imports (served by ${served.length} functions) and ${renamedExports.size} closure exports renamed, ${dropped.length} unread custom sections dropped (wasm ${wasm.length} -> ${out.length} bytes)`,
);
