// An example host page: mounts the panel with the JS API. `?channel=` picks the
// channel; other query parameters are passed as options.
import init, { mountDiscussionPanel } from "./discussion-panel.js";

await init();
const query = new URLSearchParams(location.search);
/** @type {import("./discussion-panel.js").DiscussionPanelOptions & Record<string, string>} */
const options = { bridgeUrl: query.get("bridge") ?? "", channel: query.get("channel") ?? "general" };
query.forEach((value, key) => {
  if (key !== "channel" && key !== "bridge") options[key] = value;
});
const host = /** @type {HTMLElement} */ (document.getElementById("panel-host"));
window.discussionPanel = mountDiscussionPanel(host, options);
