// An example host page: mounts the panel with the JS API. `?channel=` picks the
// channel; other query parameters are passed as options.
import init, { mountDiscussionPanel } from "./discussion-panel.js";

await init();
const query = new URLSearchParams(location.search);
const options = { bridgeUrl: query.get("bridge") ?? "", channel: query.get("channel") ?? "general" };
for (const [key, value] of query) {
  if (key !== "channel" && key !== "bridge") options[key] = value;
}
window.discussionPanel = mountDiscussionPanel(document.getElementById("panel-host"), options);
