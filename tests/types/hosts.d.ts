// What the README's snippets and the example pages take from their host page,
// for scripts/typecheck.sh: the host's own functions the snippets call, and
// the globals the example pages (web/*.js) leave for the end-to-end tests.
import type { DiscussionPanelElement, PanelHandle } from "./discussion-panel.js";

declare global {
  /** The README's `<discussion-panel>` (its snippets on signing in). */
  const panel: DiscussionPanelElement;
  /** The host's unread badge. */
  function setBadge(count: number): void;
  /** The host's sign-in. */
  function fetchToken(): Promise<string>;
  const auth: { currentSession(): Promise<{ accessToken: string }> };
  interface Window {
    /** Every event the panel fired (web/host.js). */
    panelEvents: { type: string; detail: unknown; from: string }[];
    /** The token web/host.js's token function returns. */
    panelToken: string;
    /** The panel web/embed.js mounted. */
    discussionPanel: PanelHandle;
  }
}
