// A plain host page for <discussion-panel>: attributes from the address
// (`?channel=design&max_attempts=3`; `?token=` signs in with a token function
// that returns `window.panelToken`, which a host would refresh), an unread
// badge, and every event the panel fires kept in `window.panelEvents`.
import init from "./discussion-panel.js";

window.panelEvents = [];
const badge = /** @type {HTMLElement} */ (document.getElementById("unread-badge"));
for (const type of ["statuschange", "message", "messageupdate", "messagedelete", "reaction", "discontinuity", "unreadchange", "authexpired", "presencechange", "typingchange"]) {
  // Listened for on the document: the events bubble out of the element.
  document.addEventListener(type, (event) => {
    const { detail } = /** @type {CustomEvent} */ (event);
    window.panelEvents.push({ type, detail, from: /** @type {Element} */ (event.target).tagName.toLowerCase() });
    if (type === "unreadchange") badge.textContent = detail.count ? `${detail.count} unread` : "";
  });
}
const panel = /** @type {import("./discussion-panel.js").DiscussionPanelElement} */ (document.querySelector("discussion-panel"));
new URLSearchParams(location.search).forEach((value, key) => {
  if (key === "token") {
    window.panelToken = value;
    panel.token = async () => window.panelToken;
  } else {
    panel.setAttribute(key.replace(/_/g, "-"), value);
  }
});
await init();
