//! What the panel shows, read from the DOM, and waits on it with deadlines.

use crate::bridge::{Bridge, BridgeOptions};
use crate::browser::Browser;
use crate::{wait_until, Error};
use fantoccini::wd::WindowHandle;
use serde::Deserialize;
use std::time::Duration;

/// Reads everything the tests look at in one round trip.
const READ_STATE: &str = r#"
const status = document.querySelectorAll('[data-connection-status]');
const panel = document.querySelector('.discussion-panel');
return {
  statuses: status.length,
  label: status[0] ? status[0].getAttribute('data-connection-status') : null,
  text: status[0] ? status[0].textContent : null,
  role: status[0] ? status[0].getAttribute('role') : null,
  ids: [...document.querySelectorAll('li[data-message-id]')].map(li => li.getAttribute('data-message-id')),
  retry: document.querySelectorAll('button[data-action="retry"]').length,
  channel: panel ? panel.getAttribute('data-channel') : null,
};
"#;

/// Reads every row as the reader sees it: content, the edited mark, chips.
pub const READ_ROWS: &str = r#"
return [...document.querySelectorAll('li[data-message-id]')].map(li => ({
  id: li.getAttribute('data-message-id'),
  content: (li.querySelector('.dp-content') || {}).textContent || '',
  edited: li.getAttribute('data-edited'),
  tokens: !!li.querySelector('.dp-content [data-mention], .dp-content time'),
  reactions: [...li.querySelectorAll('[data-reaction]')].map(chip => ({
    emoji: chip.getAttribute('data-reaction'),
    count: Number(chip.getAttribute('data-count')),
    mine: chip.getAttribute('aria-pressed') === 'true',
  })),
}));
"#;

/// A message's row as the page shows it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Row {
    pub id: String,
    pub content: String,
    /// When it was edited (`data-edited`), if it was.
    pub edited: Option<String>,
    /// Whether its text shows mentions or timestamps.
    pub tokens: bool,
    pub reactions: Vec<Chip>,
}

/// A reaction chip.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Chip {
    pub emoji: String,
    pub count: u64,
    pub mine: bool,
}

/// A row as it should read for `message` (the bridge's state of it).
pub fn row_of(message: &bridge_client::Message) -> RowShape {
    let chips = (message.reactions.iter())
        .map(|r| (r.emoji.clone(), r.count))
        .collect();
    (
        message.id.clone(),
        shown_text(&message.content),
        message.edited_at.clone(),
        chips,
    )
}

/// The text a message's row shows: its content without Discord's markup
/// (the panel's own parser says which). One with mentions or timestamps
/// shows names and dates the content does not hold: compared no further
/// than [`FORMATTED`].
pub fn shown_text(content: &str) -> String {
    use panel_core::format::{parse, Event};
    let mut out = String::new();
    for event in parse(content) {
        match event {
            Event::Text(text) | Event::Code(text) | Event::Emoji(text) => out.push_str(text),
            Event::Block { code, .. } => out.push_str(code),
            Event::Mention(..) | Event::Time(..) => return FORMATTED.to_owned(),
            Event::Open(_) | Event::Close => {}
        }
    }
    out
}

/// What [`shown_text`] and [`Row::shape`] say of a row with tokens.
pub const FORMATTED: &str = "(names and dates)";

/// A row's id, text, edit time and reactions (emoji, count).
pub type RowShape = (String, String, Option<String>, Vec<(String, u64)>);

/// Every row of the page `client` shows.
pub async fn rows_in(client: &fantoccini::Client) -> Result<Vec<Row>, Error> {
    let value =
        (client.execute(READ_ROWS, vec![]).await).map_err(|e| format!("reading rows: {e}"))?;
    serde_json::from_value(value).map_err(|e| format!("unexpected rows: {e}"))
}

/// Every message of `channel` the bridge retains, as it is now, oldest first.
pub async fn all_messages(
    bridge: &bridge_client::BridgeClient,
    channel: &str,
) -> Result<Vec<bridge_client::Message>, Error> {
    let mut all: Vec<bridge_client::Message> = Vec::new();
    loop {
        let after = all.last().map_or("0", |m| m.id.as_str()).to_owned();
        let page = bridge.history(channel, Some(&after), 500).await?;
        if page.is_empty() {
            return Ok(all);
        }
        all.extend(page);
    }
}

impl Row {
    /// The same shape as [`row_of`], the reader's own marks left out.
    pub fn shape(&self) -> RowShape {
        let chips = (self.reactions.iter())
            .map(|c| (c.emoji.clone(), c.count))
            .collect();
        let content = match self.tokens {
            true => FORMATTED.to_owned(),
            false => self.content.clone(),
        };
        (self.id.clone(), content, self.edited.clone(), chips)
    }
}

/// A snapshot of the panel.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct PanelState {
    pub statuses: usize,
    pub label: Option<String>,
    pub text: Option<String>,
    pub role: Option<String>,
    pub ids: Vec<String>,
    pub retry: usize,
    pub channel: Option<String>,
}

impl PanelState {
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or("(none)")
    }
}

/// One test's world: a bridge, a browser, and the page open on the panel.
pub struct Scenario {
    pub name: String,
    pub bridge: Bridge,
    pub browser: Browser,
}

/// Engine knobs the tests pass in the page's query: short, so that every
/// reconnection cycle takes well under a second.
pub const FAST: &str =
    "backoff_base_ms=150&backoff_cap_ms=600&stability_window_ms=1500&initial_watchdog_ms=3000";

impl Scenario {
    /// Starts a bridge and a browser and opens `path_and_query` (e.g. `/?channel=general`).
    pub async fn start(
        name: &str,
        bridge: BridgeOptions,
        path_and_query: &str,
    ) -> Result<Scenario, Error> {
        let bridge = Bridge::start(bridge).await?;
        let browser = Browser::start().await?;
        let scenario = Scenario {
            name: name.to_owned(),
            bridge,
            browser,
        };
        scenario.open(path_and_query).await?;
        Ok(scenario)
    }

    /// A bridge holding the messages `before` posts to `general` (author,
    /// content), and a browser that watches every page it opens
    /// ([`crate::browser::WATCH_PAGE`]), opened at `page` after them.
    /// Answers the messages' ids.
    pub async fn watched(
        name: &str,
        page: &str,
        before: &[(&str, &str)],
    ) -> Result<(Scenario, Vec<String>), Error> {
        let bridge = Bridge::start(BridgeOptions::new(crate::bridge::binary())).await?;
        let mut ids = Vec::new();
        for (author, content) in before {
            ids.push(bridge.inject("general", author, content).await?);
        }
        let browser = Browser::start().await?;
        browser.watch_page().await?;
        let scenario = Scenario {
            name: name.to_owned(),
            bridge,
            browser,
        };
        scenario.open(page).await?;
        Ok((scenario, ids))
    }

    /// A scenario on a bridge with the usual fast options (see
    /// [`BridgeOptions::new`]), its page at `page` open and Live.
    pub async fn live(name: &str, page: &str) -> Result<Scenario, Error> {
        Scenario::live_on(name, BridgeOptions::new(crate::bridge::binary()), page).await
    }

    /// As [`Scenario::live`], on a bridge started with `bridge`.
    pub async fn live_on(name: &str, bridge: BridgeOptions, page: &str) -> Result<Scenario, Error> {
        let scenario = Scenario::start(name, bridge, page).await?;
        scenario.wait_label("live", Duration::from_secs(10)).await?;
        Ok(scenario)
    }

    /// Navigates to a page of the bridge.
    pub async fn open(&self, path_and_query: &str) -> Result<(), Error> {
        let url = self.bridge.url(path_and_query);
        self.browser
            .client
            .goto(&url)
            .await
            .map_err(|e| format!("cannot open {url}: {e}"))
    }

    /// Opens `path_and_query` in a new tab of the same browser (one profile),
    /// and leaves that tab current; returns its handle.
    pub async fn open_tab(&self, path_and_query: &str) -> Result<WindowHandle, Error> {
        let client = &self.browser.client;
        let tab = client
            .new_window(true)
            .await
            .map_err(|e| format!("cannot open a tab: {e}"))?
            .handle;
        self.to_tab(&tab).await?;
        self.open(path_and_query).await?;
        Ok(tab)
    }

    /// Makes `tab` the one scripts and reads go to.
    pub async fn to_tab(&self, tab: &WindowHandle) -> Result<(), Error> {
        (self.browser.client.switch_to_window(tab.clone()).await)
            .map_err(|e| format!("cannot switch tabs: {e}"))
    }

    /// Makes `tab` current and brings it to the front the way a reader's
    /// click on it does (DevTools' `Page.bringToFront`): it is visible and
    /// has the focus (`document.hasFocus()`), the one before is hidden. A
    /// tab WebDriver opened ([`Scenario::open_tab`]) is visible but does not
    /// have the focus until this is done once; switching alone suffices
    /// after that, and for the browser's first tab.
    pub async fn to_front(&self, tab: &WindowHandle) -> Result<(), Error> {
        self.to_tab(tab).await?;
        self.browser
            .cdp("Page.bringToFront", serde_json::json!({}))
            .await
    }

    /// Whether the current tab is visible and has the focus, as its page
    /// sees it: `[document.visibilityState, document.hasFocus()]`.
    pub async fn focus_state(&self) -> Result<(String, bool), Error> {
        let value =
            (self.run_js("return [document.visibilityState, document.hasFocus()];")).await?;
        let visibility = value[0].as_str().unwrap_or_default().to_owned();
        Ok((visibility, value[1] == true))
    }

    /// What the page shows of where the reader stopped (see [`UnreadView`]).
    pub async fn unread_view(&self) -> Result<UnreadView, Error> {
        let value = self.run_js(READ_UNREAD).await?;
        serde_json::from_value(value).map_err(|e| format!("unexpected unread view: {e}"))
    }

    /// The current tab.
    pub async fn this_tab(&self) -> Result<WindowHandle, Error> {
        (self.browser.client.window().await).map_err(|e| format!("no current tab: {e}"))
    }

    /// Whether the current tab holds the shared stream (`<html data-discussion-stream>`).
    pub async fn holds_stream(&self) -> Result<bool, Error> {
        let role = self
            .run_js("return document.documentElement.getAttribute('data-discussion-stream');")
            .await?;
        Ok(role.as_str() == Some("holder"))
    }

    /// Reads the panel's state.
    pub async fn state(&self) -> Result<PanelState, Error> {
        let value = self
            .browser
            .client
            .execute(READ_STATE, vec![])
            .await
            .map_err(|e| format!("reading the page: {e}"))?;
        serde_json::from_value(value).map_err(|e| format!("unexpected page state: {e}"))
    }

    /// Every row, as the reader sees it.
    pub async fn rows(&self) -> Result<Vec<Row>, Error> {
        rows_in(&self.browser.client).await
    }

    /// Waits until the rows read exactly as the bridge has `channel`'s
    /// newest messages now (content, edited or not, reactions; none
    /// deleted), from the oldest row shown. Answers the rows.
    pub async fn rows_match_bridge(
        &self,
        channel: &str,
        within: Duration,
        what: &str,
    ) -> Result<Vec<Row>, Error> {
        let last = std::cell::RefCell::new(String::new());
        let last = &last;
        let result = wait_until(within, what, || async move {
            let rows = self.rows().await.ok()?;
            let bridge = self.bridge.history(channel, None, 500).await.ok()?;
            let first: u64 = rows.first().map_or(0, |r| r.id.parse().unwrap_or(0));
            let expected: Vec<_> = (bridge.iter())
                .filter(|m| m.id.parse::<u64>().unwrap_or(0) >= first)
                .map(row_of)
                .collect();
            let shown: Vec<_> = rows.iter().map(Row::shape).collect();
            *last.borrow_mut() = format!("shown {shown:?}\n  bridge {expected:?}");
            (shown == expected && !shown.is_empty()).then_some(rows)
        })
        .await;
        match result {
            Ok(rows) => Ok(rows),
            Err(timeout) => Err(self
                .report(&format!("{timeout}\n  {}", last.borrow()))
                .await),
        }
    }

    /// Runs a script in the page.
    pub async fn run_js(&self, script: &str) -> Result<serde_json::Value, Error> {
        self.browser
            .client
            .execute(script, vec![])
            .await
            .map_err(|e| format!("script failed: {e}"))
    }

    /// Starts recording every label the panel shows (see [`Browser::record_labels`]).
    pub async fn record_labels(&self) -> Result<(), Error> {
        self.browser.record_labels().await
    }

    /// The labels shown since [`Scenario::record_labels`], in order.
    pub async fn labels_seen(&self) -> Result<Vec<String>, Error> {
        let timeline = self.browser.label_timeline().await?;
        Ok(timeline.into_iter().map(|(_, label)| label).collect())
    }

    /// Clicks the Retry button.
    pub async fn click_retry(&self) -> Result<(), Error> {
        use fantoccini::Locator;
        let button = (self
            .browser
            .client
            .find(Locator::Css(r#"button[data-action="retry"]"#))
            .await)
            .map_err(|e| format!("no Retry button: {e}"))?;
        button
            .click()
            .await
            .map_err(|e| format!("clicking Retry: {e}"))
    }

    /// Waits until `check` holds for the panel's state; on timeout, the error
    /// says what the page showed, where the screenshot is, and the bridge's log.
    pub async fn wait_for(
        &self,
        within: Duration,
        what: &str,
        check: impl Fn(&PanelState) -> bool,
    ) -> Result<PanelState, Error> {
        let check = &check;
        let result = wait_until(within, what, || async move {
            self.state().await.ok().filter(|state| check(state))
        })
        .await;
        match result {
            Ok(state) => Ok(state),
            Err(timeout) => Err(self.report(&timeout).await),
        }
    }

    /// Waits for a label.
    pub async fn wait_label(&self, label: &str, within: Duration) -> Result<PanelState, Error> {
        self.wait_for(within, &format!("the label {label:?}"), |s| {
            s.label.as_deref() == Some(label)
        })
        .await
    }

    /// Waits until the bridge serves exactly these streams, each as the
    /// channels it carries (`"general"`, `"design,general"`).
    pub async fn streams_become(&self, expected: &[&str], within: Duration) -> Result<(), Error> {
        let expected: Vec<String> = expected.iter().map(|e| e.to_string()).collect();
        let result = wait_until(within, &format!("the streams {expected:?}"), || async {
            (self.bridge.active_streams().await.ok()).filter(|a| a == &expected)
        })
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(problem) => {
                let now = self.bridge.active_streams().await.unwrap_or_default();
                Err(self
                    .report(&format!("{problem}; the bridge has {now:?}"))
                    .await)
            }
        }
    }

    /// A failure report with everything that helps.
    pub async fn report(&self, problem: &str) -> String {
        let state = self
            .state()
            .await
            .map(|s| format!("{s:?}"))
            .unwrap_or_else(|e| e);
        let shot = self.browser.screenshot(&self.name).await;
        format!(
            "{problem}\n  page: {state}\n  screenshot: {}\n  bridge log (tail):\n{}",
            shot.map_or("(none)".into(), |p| p.display().to_string()),
            self.bridge.log_tail()
        )
    }
}

/// Fails with `message` unless `condition`.
pub fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), Error> {
    if condition {
        Ok(())
    } else {
        Err(message())
    }
}

/// The given ids, as the page shows them, must be exactly once each and in order.
pub fn exactly_once_in_order(shown: &[String], expected: &[String]) -> Result<(), Error> {
    let mut sorted = shown.to_vec();
    sorted.sort_by_key(|id| id.parse::<u64>().unwrap_or(0));
    sorted.dedup();
    ensure(sorted.len() == shown.len(), || {
        format!("duplicates shown: {shown:?}")
    })?;
    ensure(sorted == shown, || format!("not in id order: {shown:?}"))?;
    let missing: Vec<&String> = expected.iter().filter(|id| !shown.contains(id)).collect();
    ensure(missing.is_empty(), || {
        format!("missing {missing:?} from {shown:?}")
    })
}

/// Reads the read state the page shows, in one round trip (see [`UnreadView`]).
const READ_UNREAD: &str = r#"
const list = document.querySelector('ol.dp-messages');
const dividers = list ? [...list.querySelectorAll('[data-unread-divider]')] : [];
const divider = dividers[0];
const next = divider && divider.nextElementSibling;
const jump = document.querySelector('button[data-action="jump-unread"]');
const box = (el) => el.getBoundingClientRect();
const view = list ? box(list) : null;
const at = divider && view ? box(divider).top - view.top : null;
return {
  dividers: dividers.length,
  divider_tag: divider ? divider.tagName.toLowerCase() : null,
  divider_text: divider ? divider.textContent.trim() : null,
  divider_before: next ? next.getAttribute('data-message-id') : null,
  divider_top: at,
  view_height: list ? list.clientHeight : 0,
  at_bottom: list ? list.scrollHeight - list.scrollTop - list.clientHeight < 24 : false,
  jump: jump && !jump.hidden && jump.offsetParent !== null ? jump.textContent.trim() : null,
  mark_unread_buttons: list ? list.querySelectorAll('li[data-message-id] button[data-action="mark-unread"]').length : 0,
  rows: list ? list.querySelectorAll('li[data-message-id]').length : 0,
};
"#;

/// Where the reader stopped, as the page shows it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct UnreadView {
    /// How many `[data-unread-divider]` the list holds (one at most).
    pub dividers: usize,
    /// The first divider's tag (`li`) and text ("New").
    pub divider_tag: Option<String>,
    pub divider_text: Option<String>,
    /// The id of the row right after the divider.
    pub divider_before: Option<String>,
    /// Where the divider's top is, in px from the top of the list's view
    /// (negative: above the view).
    pub divider_top: Option<f64>,
    /// The list's view, in px.
    pub view_height: f64,
    /// Whether the list is scrolled to its end.
    pub at_bottom: bool,
    /// The jump bar's text while it is shown (`button[data-action="jump-unread"]`,
    /// not hidden).
    pub jump: Option<String>,
    /// How many rows offer `button[data-action="mark-unread"]`, of how many.
    pub mark_unread_buttons: usize,
    pub rows: usize,
}

impl UnreadView {
    /// Whether the divider stands right before the row `id`, and only there.
    pub fn divider_before(&self, id: &str) -> bool {
        self.dividers == 1
            && self.divider_tag.as_deref() == Some("li")
            && self.divider_before.as_deref() == Some(id)
    }
}
