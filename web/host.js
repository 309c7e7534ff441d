// A plain host page for <discussion-panel>: attributes from the address
// (`?channel=design&max_attempts=3`; `?token=` signs in with a token function
// that returns `window.panelToken`, which a host would refresh), an unread
// badge, and every event the panel fires kept in `window.panelEvents`.
import init from "./discussion-panel.js";

window.panelEvents = [];
const badge = document.getElementById("unread-badge");
for (const type of ["statuschange", "message", "messageupdate", "messagedelete", "reaction", "discontinuity", "unreadchange", "authexpired"]) {
  // Listened for on the document: the events bubble out of the element.
  document.addEventListener(type, (event) => {
    window.panelEvents.push({ type, detail: event.detail, from: event.target.tagName.toLowerCase() });
    if (type === "unreadchange") badge.textContent = event.detail.count ? `${event.detail.count} unread` : "";
  });
}
const panel = document.querySelector("discussion-panel");
for (const [key, value] of new URLSearchParams(location.search)) {
  if (key === "token") {
    window.panelToken = value;
    panel.token = async () => window.panelToken;
  } else {
    panel.setAttribute(key.replace(/_/g, "-"), value);
  }
}
await init();
