// The README's uses of the JS API, type-checked against the panel's
// `discussion-panel.d.ts` by scripts/typecheck.sh (`tsc --strict`): the
// handle's and the element's listeners are typed by the event map.
import init, { mountDiscussionPanel } from "./discussion-panel.js";

await init();
const panel = mountDiscussionPanel(document.body, { channel: "general", theme: "dark" });
panel.addEventListener("statuschange", (e) => console.log(e.detail.status));
panel.addEventListener("unreadchange", (e) => console.log(e.detail.count + 1));
panel.setChannel("design");
panel.send("hello");
const element = document.querySelector("discussion-panel");
element?.addEventListener("message", (e) => console.log(e.detail.message.content));
// Removing a typed listener, `this` in a function listener, options, and
// the events heard on the document (they bubble, composed).
const onUnread = (e: CustomEvent<{ count: number }>) => console.log(e.detail.count);
element?.addEventListener("unreadchange", onUnread, { once: true });
element?.removeEventListener("unreadchange", onUnread);
element?.addEventListener("statuschange", function (e) {
  console.log(this.getAttribute("channel"), e.detail.transport);
});
document.addEventListener("unreadchange", (e) => console.log(e.detail.count));
document.addEventListener("messagedelete", (e) => console.log(e.detail.id));
// Who is here and who types.
panel.addEventListener("presencechange", (e) => console.log(e.detail.users.join(", "), e.detail.count + 1));
element?.addEventListener("typingchange", (e) => console.log(e.detail.users.length));
export {};
