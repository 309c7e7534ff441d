// The types of discussion-panel.js, the panel-only build's module: written by
// hand for the public surface only (wasm-bindgen's own .d.ts also declares
// the build's internals and needs `lib: esnext.disposable`). Shipped as
// dist/discussion-panel.d.ts; scripts/typecheck.sh checks it, the README's
// snippets and the example pages with `tsc --strict` (lib es2022 and dom, no
// skipLibCheck), and tests/tests/hosting.rs checks that the module exports
// what it declares.

/** Options of `mountDiscussionPanel`; as attributes of `<discussion-panel>`, in kebab-case. */
export interface DiscussionPanelOptions {
  channel: string;
  bridgeUrl?: string;
  /** A token, or a function returning one (or a promise of one), called before every request. */
  token?: string | (() => string | null | undefined | Promise<string | null | undefined>);
  withCredentials?: boolean | string;
  /** Whom replies are from, for a bridge without sign-in. */
  author?: string;
  shareAcrossTabs?: boolean | string;
  watchdogFactor?: number | string;
  initialWatchdogMs?: number | string;
  backoffBaseMs?: number | string;
  backoffCapMs?: number | string;
  maxAttempts?: number | string;
  stabilityWindowMs?: number | string;
  historyLimit?: number | string;
  pageLimit?: number | string;
  maxMessages?: number | string;
  /** An EventSource that delivers nothing this long is suspect; twice in a row, the panel polls. */
  firstByteMs?: number | string;
  /** While polling, how often the panel tries the EventSource again. */
  probeMs?: number | string;
  /** Start on long polling (for a proxy known to buffer streams). */
  polling?: boolean | string;
  /** Light or dark colours; `auto` (the default) follows the host's `color-scheme`, or the system's. */
  theme?: "light" | "dark" | "auto";
}

/** A message as the bridge sends it. */
export interface DiscussionMessage {
  id: string;
  channel_id: string;
  author: string;
  content: string;
  timestamp: string;
  /** When it was last edited (RFC 3339), or null if never. */
  edited_at: string | null;
  /** The change id of its newest edit, or null if never edited. */
  version: string | null;
  reactions: DiscussionReaction[];
}

/** One emoji's reactions to a message. */
export interface DiscussionReaction {
  emoji: string;
  count: number;
  users: string[];
}

/** The panel's events, dispatched (bubbling, composed) on the element it renders into. */
export interface DiscussionPanelEventMap {
  /** `transport`: how the panel reaches the bridge (`polling` behind a proxy that buffers streams). */
  statuschange: CustomEvent<{ status: "live" | "reconnecting" | "disconnected"; reason: string | null; transport: "eventsource" | "polling" }>;
  message: CustomEvent<{ message: DiscussionMessage }>;
  /** A shown message was edited: here it is as it now is. */
  messageupdate: CustomEvent<{ message: DiscussionMessage }>;
  /** A shown message was deleted (it is gone from the panel). */
  messagedelete: CustomEvent<{ id: string; channel_id: string }>;
  /** A shown message's reactions changed: all of them, as they now are. */
  reaction: CustomEvent<{ message_id: string; channel_id: string; reactions: DiscussionReaction[] }>;
  /** The panel reloaded what it shows instead of catching up change by change (the bridge could not replay them): what the host keeps about its messages may be stale. */
  discontinuity: CustomEvent<{ channel_id: string }>;
  unreadchange: CustomEvent<{ count: number; first_unread_id: string | null }>;
  authexpired: CustomEvent<null>;
  /** Who is in the channel changed: the named people (at most 100, the reader among them) and everyone, named or not; `{users: [], count: 0}` once the panel stopped or switched channels. */
  presencechange: CustomEvent<{ users: string[]; count: number }>;
  /** Who else is typing changed, in the order they started (never the reader). */
  typingchange: CustomEvent<{ users: string[] }>;
}

/** A panel mounted by `mountDiscussionPanel`. */
export interface PanelHandle {
  /** Removes the panel and closes its stream, timers and listeners. */
  unmount(): void;
  /** Switches the panel to another channel. */
  setChannel(channel: string): void;
  /** Tries again now, as the Retry button does. */
  retry(): void;
  /**
   * Sends a reply to the channel shown now, as if the reader had typed it:
   * not sent (a console warning) when empty, or when the panel cannot reply.
   */
  send(text: string): void;
  /** Replaces the token (see `DiscussionPanelOptions.token`). */
  setToken(token: DiscussionPanelOptions["token"]): void;
  /** Frees the handle itself (after `unmount()`; garbage collection does it otherwise). */
  free(): void;
  /** Listens on the panel's element (no options: for `once` or `signal`, listen on the element itself). */
  addEventListener<K extends keyof DiscussionPanelEventMap>(type: K, listener: (event: DiscussionPanelEventMap[K]) => void): void;
  removeEventListener<K extends keyof DiscussionPanelEventMap>(type: K, listener: (event: DiscussionPanelEventMap[K]) => void): void;
}

/**
 * Mounts a panel into `element` (replacing what it held). Throws, with a
 * sentence, on a missing channel or an unknown or out-of-range option.
 */
export function mountDiscussionPanel(element: HTMLElement, options: DiscussionPanelOptions): PanelHandle;

/** `<discussion-panel>`, defined once the module is initialised. */
export interface DiscussionPanelElement extends HTMLElement {
  token: DiscussionPanelOptions["token"];
  retry(): void;
  /**
   * Sends a reply to the channel shown now, as if the reader had typed it;
   * before the element is in the page it waits until the panel starts.
   */
  send(text: string): void;
  setChannel(name: string): void;
  addEventListener<K extends keyof DiscussionPanelEventMap>(type: K, listener: (this: DiscussionPanelElement, event: DiscussionPanelEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener<K extends keyof HTMLElementEventMap>(type: K, listener: (this: HTMLElement, event: HTMLElementEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof DiscussionPanelEventMap>(type: K, listener: (this: DiscussionPanelElement, event: DiscussionPanelEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener<K extends keyof HTMLElementEventMap>(type: K, listener: (this: HTMLElement, event: HTMLElementEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    "discussion-panel": DiscussionPanelElement;
  }
  // The events bubble and cross shadow roots (composed): a listener on the
  // document hears them, typed. (Not every element's map: a host's own
  // declaration of a `reaction` or `message` event there would conflict.)
  interface DocumentEventMap extends DiscussionPanelEventMap {}
}

/** Where the wasm is: a URL (by default `discussion-panel_bg.wasm` beside the module), a response, bytes or a compiled module. */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

/**
 * Loads and starts the panel's wasm, once; defines `<discussion-panel>`.
 * Resolves when `mountDiscussionPanel` can be called.
 */
export default function init(options?: { module_or_path: InitInput | Promise<InitInput> }): Promise<unknown>;

/** As `init`, from bytes or a compiled module the host already has. */
export function initSync(options: { module: BufferSource | WebAssembly.Module }): unknown;
