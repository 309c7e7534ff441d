// The demo editor's host script: loads the panel-only build and adds a
// <discussion-panel> to the sidebar. `?channel=` picks the channel, `?bridge=`
// the bridge (see checkBridgeUrl), and any option of the panel can be set by
// its snake_case name (`?backoff_base_ms=200`), as the tests do.
import init from "./discussion-panel.js";

/**
 * A link is not a configuration: anyone can send one, so a bridge named in
 * the address must be on this page's origin, or, when this page is served
 * from this machine (trunk on one port, the bridge on another), on this
 * machine too. Returns the bridge URL to use ("" for this origin).
 * @param {string} pageOrigin
 * @param {string} requested
 */
export function checkBridgeUrl(pageOrigin, requested) {
  requested = requested.trim().replace(/\/+$/, "");
  if (!requested) return "";
  let url;
  try {
    url = new URL(requested);
  } catch {
    url = null;
  }
  const local = (/** @type {string} */ host) =>
    host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!url || !/^https?:$/.test(url.protocol) || url.username || url.password) {
    console.warn(`[demo] ?bridge=${requested} is ignored: it is not an http(s) address`);
    return "";
  }
  if (url.origin === pageOrigin) return requested;
  if (local(new URL(pageOrigin).hostname) && local(url.hostname)) return requested;
  console.warn(`[demo] ?bridge=${requested} is ignored: a page may only use a bridge on its own origin (or, served locally, a local one)`);
  return "";
}

await init();
const query = new URLSearchParams(location.search);
const panel = document.createElement("discussion-panel");
/** @type {string[]} */
const known = /** @type {any} */ (customElements.get("discussion-panel")).observedAttributes;
query.forEach((value, key) => {
  const name = key.replace(/_/g, "-");
  if (value && known.includes(name) && !["channel", "bridge-url", "token"].includes(name)) {
    panel.setAttribute(name, value);
  }
});
// The demo bridge has no sign-in, so replies say who wrote them: a name the
// visitor can change in the toolbar, remembered for their next visit, and
// "visitor" until then, so a first reply needs no setup.
const AUTHOR_KEY = "discussion-panel-demo-author";
const savedAuthor = () => {
  try {
    return localStorage.getItem(AUTHOR_KEY);
  } catch {
    return null; // storage may be disabled; the name then lasts for this page
  }
};
const author = (query.get("author") || savedAuthor() || "visitor").trim();
panel.setAttribute("author", author);
const nameField = /** @type {HTMLInputElement} */ (document.querySelector('[data-action="demo-author"]'));
nameField.value = author;
nameField.addEventListener("change", () => {
  const name = nameField.value.trim();
  if (!name) return void (nameField.value = panel.getAttribute("author") ?? "");
  try {
    localStorage.setItem(AUTHOR_KEY, name);
  } catch {}
  panel.setAttribute("author", name);
});
panel.setAttribute("bridge-url", checkBridgeUrl(location.origin, query.get("bridge") ?? ""));
const channel = query.get("channel") || "general";
panel.setAttribute("channel", channel);
/** @type {HTMLElement} */ (document.querySelector(".demo-sidebar")).append(panel);

const picker = /** @type {HTMLSelectElement} */ (document.querySelector('[data-action="switch-channel"]'));
picker.value = channel;
picker.addEventListener("change", () => panel.setChannel(picker.value));
