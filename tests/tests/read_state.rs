//! Read state (issue 35): where the reader stopped, kept per person by the
//! bridge (`GET`/`PUT /api/channels/{channel}/read`, `read` events on the
//! person's own streams) and shown by the panel: the "New" divider before
//! the first unread message, the jump bar, mark unread, one unread count
//! across tabs and devices, and marks only on sight (a visible page, a
//! focused window, the row on screen). Real Chromium, real bridge.
//!
//! What headless Chromium does with focus (the first test pins it down):
//! a browser's first tab, in front, is visible and `document.hasFocus()`;
//! a tab behind another is hidden and not focused; a tab WebDriver opens is
//! visible but not focused until DevTools' `Page.bringToFront` (then
//! switching to it suffices), which [`Scenario::to_front`] does. Two
//! browsers (two devices) each have their front tab focused at once.
//! `Emulation.setFocusEmulationEnabled` is not used: a tab with it reports
//! itself visible and focused even behind another, so no tab would ever be
//! hidden.

use e2e::bridge::{BridgeOptions, Reader};
use e2e::browser::Browser;
use e2e::panel::{ensure, Scenario, UnreadView, FAST};
use e2e::{epoch_ms, wait_until, Error};
use fantoccini::key::Key;
use serde_json::Value;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(10);

/// How long a tab may take to clear its count once the reader read in
/// another: "within a second", with room for a loaded machine.
const ACROSS_TABS: Duration = Duration::from_secs(3);

/// How long a marker must stay put for "nothing marked it": past the
/// panel's one mark a second, twice over.
const QUIET: Duration = Duration::from_millis(2_500);

fn bridge() -> BridgeOptions {
    BridgeOptions::new(e2e::bridge::binary())
}

/// The host page on `general` for `who` (`author=ann` or `token=…`).
fn host(who: &str, extra: &str) -> String {
    format!("/host.html?channel=general&{who}&{extra}{FAST}")
}

const SCROLL_UP: &str = "const l = document.querySelector('.dp-messages'); l.scrollTop = 0; l.dispatchEvent(new Event('scroll'));";
const SCROLL_DOWN: &str = "const l = document.querySelector('.dp-messages'); l.scrollTop = l.scrollHeight; l.dispatchEvent(new Event('scroll'));";

/// Posts `n` messages by `author` to `general`; their ids.
async fn post(s: &Scenario, author: &str, n: usize, what: &str) -> Result<Vec<String>, Error> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            s.bridge
                .inject("general", author, &format!("{what} {i}"))
                .await?,
        );
    }
    Ok(ids)
}

/// The details of every `unreadchange` the host page heard, in order.
async fn unread_events(s: &Scenario) -> Result<Vec<Value>, Error> {
    let all = s
        .run_js("return (window.panelEvents || []).filter(e => e.type === 'unreadchange').map(e => e.detail);")
        .await?;
    Ok(all.as_array().cloned().unwrap_or_default())
}

/// Whether an `unreadchange` detail says `count`, with `first` as its
/// `first_unread_id` (present, and `null` for `None`).
fn says(detail: &Value, count: u64, first: Option<&str>) -> bool {
    let first_ok = match (detail.get("first_unread_id"), first) {
        (Some(Value::Null), None) => true,
        (Some(Value::String(id)), Some(first)) => id == first,
        _ => false,
    };
    detail["count"].as_u64() == Some(count) && first_ok
}

/// Waits until the latest `unreadchange` says `count` and `first`.
async fn wait_unread(
    s: &Scenario,
    what: &str,
    count: u64,
    first: Option<&str>,
) -> Result<Vec<Value>, Error> {
    let what = format!("{what}: unreadchange {{count: {count}, first_unread_id: {first:?}}}");
    let found = wait_until(SOON, &what, || async {
        let all = unread_events(s).await.ok()?;
        all.last().filter(|d| says(d, count, first))?;
        Some(all)
    })
    .await;
    match found {
        Ok(all) => Ok(all),
        Err(timeout) => Err(format!(
            "{}\n  unreadchange details heard: {}",
            s.report(&timeout).await,
            unread_events(s)
                .await
                .map_or_else(|e| e, |all| Value::from(all).to_string())
        )),
    }
}

/// Waits until the bridge holds `expected` as the reader's marker.
async fn wait_marker(
    s: &Scenario,
    reader: Reader<'_>,
    expected: &str,
    what: &str,
    within: Duration,
) -> Result<(), Error> {
    let last = std::cell::RefCell::new(None);
    let found = wait_until(within, what, || async {
        let now = s.bridge.read_marker("general", reader).await.ok()?;
        *last.borrow_mut() = Some(now.clone());
        (now.as_deref() == Some(expected)).then_some(())
    })
    .await;
    match found {
        Ok(()) => Ok(()),
        Err(timeout) => {
            let now = match &*last.borrow() {
                None => "unknown (no answer)".to_owned(),
                Some(None) => "none (never set)".to_owned(),
                Some(Some(id)) => id.clone(),
            };
            Err(s
                .report(&format!(
                    "{timeout}: the bridge's marker of {reader:?} is {now}, not {expected}"
                ))
                .await)
        }
    }
}

/// Fails if the reader's marker leaves `expected` within [`QUIET`].
async fn marker_stays(
    s: &Scenario,
    reader: Reader<'_>,
    expected: &str,
    what: &str,
) -> Result<(), Error> {
    let moved = wait_until(QUIET, "the marker to move", || async {
        let now = s.bridge.read_marker("general", reader).await.ok()?;
        (now.as_deref() != Some(expected)).then_some(now)
    })
    .await;
    match moved {
        Err(_) => Ok(()),
        Ok(now) => Err(s
            .report(&format!(
                "{what}: the marker of {reader:?} moved from {expected} to {now:?}"
            ))
            .await),
    }
}

/// Waits until the page's unread view satisfies `check`.
async fn wait_view(
    s: &Scenario,
    what: &str,
    check: impl Fn(&UnreadView) -> bool,
) -> Result<UnreadView, Error> {
    let check = &check;
    let found = wait_until(SOON, what, || async move {
        s.unread_view().await.ok().filter(|v| check(v))
    })
    .await;
    match found {
        Ok(view) => Ok(view),
        Err(timeout) => Err(format!(
            "{}\n  unread view: {:?}",
            s.report(&timeout).await,
            s.unread_view().await
        )),
    }
}

/// The id before `id` (what a mark unread from `id` sets the marker to).
fn before(id: &str) -> String {
    (id.parse::<u64>().expect("a numeric id") - 1).to_string()
}

/// Keeps each `unreadchange` in `window.__unread` with when it came (ms
/// since the epoch) and whether the page was visible then.
const RECORD_UNREAD: &str = r#"
window.__unread = [];
document.addEventListener('unreadchange', (e) => window.__unread.push({
  at: performance.timeOrigin + performance.now(),
  count: e.detail.count,
  first: e.detail.first_unread_id,
  has_first: 'first_unread_id' in e.detail,
  visibility: document.visibilityState,
}));
return true;
"#;

async fn recorded_unread(s: &Scenario) -> Result<Vec<Value>, Error> {
    let all = s.run_js("return window.__unread || [];").await?;
    Ok(all.as_array().cloned().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_chromium_focuses_the_front_tab_and_hides_the_others() -> Result<(), Error> {
    let name = "read_state_focus";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let first = s.this_tab().await?;
    let state = s.focus_state().await?;
    ensure(state == ("visible".into(), true), || {
        format!("the first tab: {state:?}")
    })?;
    s.run_js("window.__changes = []; document.addEventListener('visibilitychange', () => window.__changes.push([document.visibilityState, document.hasFocus()]));")
        .await?;
    // A tab WebDriver opens is shown, but has no focus until brought to
    // the front as a click on it would.
    let second = s.open_tab("/healthz").await?;
    let opened = s.focus_state().await?;
    s.to_front(&second).await?;
    let state = s.focus_state().await?;
    ensure(state == ("visible".into(), true), || {
        format!("the second tab brought to the front: {state:?} (as opened: {opened:?})")
    })?;
    s.to_tab(&first).await?;
    let state = s.focus_state().await?;
    let changes = s.run_js("return window.__changes;").await?;
    ensure(state == ("visible".into(), true), || {
        format!("the first tab back in front: {state:?}")
    })?;
    ensure(changes[0] == serde_json::json!(["hidden", false]), || {
        format!(
            "the first tab behind the second saw {changes} (hidden and not focused expected first)"
        )
    })?;
    // Once brought to the front, switching to a tab suffices.
    s.to_tab(&second).await?;
    let state = s.focus_state().await?;
    ensure(state == ("visible".into(), true), || {
        format!("the second tab, switched to: {state:?}")
    })?;
    // Another browser (another device): its front tab is focused too, at
    // the same time as this one's.
    let other = Browser::start().await?;
    (other.client.goto(&s.bridge.url("/healthz")).await).map_err(|e| e.to_string())?;
    let theirs = (other.client)
        .execute(
            "return [document.visibilityState, document.hasFocus()];",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    let ours = s.focus_state().await?;
    ensure(
        theirs == serde_json::json!(["visible", true]) && ours == ("visible".into(), true),
        || format!("two browsers at once: the other {theirs}, this one {ours:?}"),
    )?;
    println!("opened by WebDriver, before Page.bringToFront: {opened:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_device_sees_the_divider_before_what_came_while_the_person_was_away(
) -> Result<(), Error> {
    let name = "read_state_second_device";
    let users = "tok-ann-phone Ann\ntok-ann-laptop Ann\n";
    let mut s = Scenario::start(name, bridge().with_users(users), "/healthz").await?;
    let (phone, laptop) = (
        Reader::Token("tok-ann-phone"),
        Reader::Token("tok-ann-laptop"),
    );
    let held = post(&s, "Bob", 6, "before").await?;
    ensure(
        s.bridge.read_marker("general", phone).await?.is_none(),
        || "a marker before Ann ever opened the panel".into(),
    )?;
    // The phone, a first visit: everything held counts as read, no divider.
    s.open(&host("token=tok-ann-phone", "")).await?;
    s.wait_for(SOON, "the phone live with the history", |st| {
        st.label() == "live" && st.ids.len() == 6
    })
    .await?;
    let view = s.unread_view().await?;
    ensure(view.dividers == 0, || {
        format!("a divider on a first visit: {view:?}")
    })?;
    wait_marker(
        &s,
        phone,
        &held[5],
        "the phone's first visit read what it held",
        SOON,
    )
    .await?;
    let marker = s.bridge.read_marker("general", laptop).await?;
    ensure(marker.as_deref() == Some(held[5].as_str()), || {
        format!("the laptop (same person) reads another marker: {marker:?}")
    })?;
    // Ann puts the phone away; three messages come meanwhile.
    s.open("/healthz").await?;
    s.streams_become(&[], SOON).await?;
    let missed = post(&s, "Bob", 3, "while away").await?;
    let marker = s.bridge.read_marker("general", phone).await?;
    ensure(marker.as_deref() == Some(held[5].as_str()), || {
        format!("the marker moved while nobody read: {marker:?}")
    })?;
    // The laptop: another profile (another device) of the same person.
    let phone_browser = std::mem::replace(&mut s.browser, Browser::start().await?);
    s.open(&host("token=tok-ann-laptop", "")).await?;
    s.wait_for(SOON, "the laptop live with all 9", |st| {
        st.label() == "live" && st.ids.len() == 9
    })
    .await?;
    let view = wait_view(&s, "the divider before the first message missed", |v| {
        v.divider_before(&missed[0])
    })
    .await?;
    ensure(view.divider_text.as_deref() == Some("New"), || {
        format!("the divider's text: {view:?}")
    })?;
    let heard = unread_events(&s).await?;
    ensure(heard.iter().any(|d| says(d, 3, Some(&missed[0]))), || {
        format!(
            "the laptop never said 3 unread from {}: {heard:?}",
            missed[0]
        )
    })?;
    // In front and focused, the three on screen: read, and the bridge knows.
    wait_marker(&s, laptop, &missed[2], "the laptop read the three", SOON).await?;
    wait_unread(&s, "the laptop's count cleared", 0, None).await?;
    let view = s.unread_view().await?;
    ensure(view.divider_before(&missed[0]), || {
        format!("the divider moved while the reader read: {view:?}")
    })?;
    // The phone, opened again: everything is read, no divider.
    let laptop_browser = std::mem::replace(&mut s.browser, phone_browser);
    drop(laptop_browser);
    s.open(&host("token=tok-ann-phone", "")).await?;
    s.wait_for(SOON, "the phone live again with all 9", |st| {
        st.label() == "live" && st.ids.len() == 9
    })
    .await?;
    let view = s.unread_view().await?;
    ensure(view.dividers == 0, || {
        format!("a divider on the phone after the laptop read everything: {view:?}")
    })?;
    let marker = s.bridge.read_marker("general", phone).await?;
    ensure(marker.as_deref() == Some(missed[2].as_str()), || {
        format!("the phone's marker: {marker:?}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_in_one_tab_clears_the_count_in_another_within_a_second() -> Result<(), Error> {
    let name = "read_state_across_tabs";
    let ann = Reader::Named("ann");
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let held = post(&s, "bob", 40, "filler").await?;
    s.bridge
        .put_read_marker("general", ann, &held[39], false)
        .await?;
    let page = host("author=ann", "history_limit=40&");
    // Tab A, scrolled up: what comes below is not on screen there.
    s.open(&page).await?;
    let a = s.this_tab().await?;
    s.wait_for(SOON, "tab A live with the history", |st| {
        st.label() == "live" && st.ids.len() == 40
    })
    .await?;
    s.run_js(RECORD_UNREAD).await?;
    // Tab B, at the bottom.
    let b = s.open_tab(&page).await?;
    s.to_front(&b).await?;
    s.wait_for(SOON, "tab B live with the history", |st| {
        st.label() == "live" && st.ids.len() == 40
    })
    .await?;
    s.streams_become(&["general"], SOON).await?;
    s.to_tab(&a).await?;
    s.run_js(SCROLL_UP).await?;
    let new = post(&s, "bob", 2, "new").await?;
    s.wait_for(SOON, "the two new messages in tab A", |st| {
        st.ids.contains(&new[1])
    })
    .await?;
    wait_unread(&s, "tab A, scrolled up", 2, Some(&new[0])).await?;
    marker_stays(&s, ann, &held[39], "tab A, scrolled up, saw nothing new").await?;
    // The reader reads them in tab B.
    s.to_tab(&b).await?;
    wait_marker(&s, ann, &new[1], "tab B read the two", SOON).await?;
    let marked_at = epoch_ms();
    wait_unread(&s, "tab B's own count", 0, None).await?;
    // Tab A (still scrolled up: it cannot have read them itself) hears it
    // through the shared stream.
    s.to_tab(&a).await?;
    let cleared = wait_until(ACROSS_TABS, "tab A's count cleared", || async {
        let all = recorded_unread(&s).await.ok()?;
        // After the count of 2 (an earlier 0 is from before the two came).
        let two = all.iter().position(|e| e["count"] == 2)?;
        (all[two..].iter())
            .find(|e| e["count"] == 0 && e["has_first"] == true && e["first"].is_null())
            .cloned()
    })
    .await;
    let cleared = match cleared {
        Ok(event) => event,
        Err(timeout) => {
            return Err(format!(
                "{}\n  tab A heard: {:?}",
                s.report(&timeout).await,
                recorded_unread(&s).await
            ))
        }
    };
    let late = cleared["at"].as_f64().unwrap_or(f64::MAX) - marked_at;
    ensure(late < 1_500.0, || {
        format!("tab A cleared its count {late:.0} ms after the bridge's marker moved: {cleared}")
    })?;
    let view = s.unread_view().await?;
    ensure(!view.at_bottom, || {
        "tab A went to the bottom: it could have read them itself".into()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_tab_marks_nothing() -> Result<(), Error> {
    let name = "read_state_hidden_tab";
    let ann = Reader::Named("ann");
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let held = post(&s, "bob", 5, "before").await?;
    s.bridge
        .put_read_marker("general", ann, &held[4], false)
        .await?;
    s.open(&host("author=ann", "")).await?;
    let panel = s.this_tab().await?;
    s.wait_for(SOON, "live with the history", |st| {
        st.label() == "live" && st.ids.len() == 5
    })
    .await?;
    s.run_js(RECORD_UNREAD).await?;
    // Another tab in front: the panel's is hidden.
    let other = s.open_tab("/healthz").await?;
    s.to_front(&other).await?;
    let came = post(&s, "bob", 3, "while hidden").await?;
    wait_until(SOON, "the stream to carry the three", || async {
        let report = s.bridge.api.connections().await.ok()?;
        let at = report.active.first()?.last_event_id.clone();
        (at == came[2]).then_some(())
    })
    .await?;
    marker_stays(&s, ann, &held[4], "the panel's tab was hidden").await?;
    // Back in front: now the reader sees them.
    s.to_tab(&panel).await?;
    s.wait_for(SOON, "the three in the panel", |st| {
        st.ids.contains(&came[2])
    })
    .await?;
    wait_marker(
        &s,
        ann,
        &came[2],
        "the tab back in front read the three",
        SOON,
    )
    .await?;
    // Whatever it counted meanwhile, it ends with nothing unread.
    let heard = wait_until(SOON, "no unread once back in front", || async {
        let all = recorded_unread(&s).await.ok()?;
        let last = all.last();
        last.is_none_or(|e| e["count"] == 0 && e["has_first"] == true && e["first"].is_null())
            .then_some(())
    })
    .await;
    match heard {
        Ok(()) => Ok(()),
        Err(timeout) => Err(format!("{timeout}: heard {:?}", recorded_unread(&s).await)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_the_host_hides_marks_nothing() -> Result<(), Error> {
    let name = "read_state_hidden_panel";
    let ann = Reader::Named("ann");
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let held = post(&s, "bob", 5, "before").await?;
    s.bridge
        .put_read_marker("general", ann, &held[4], false)
        .await?;
    s.open(&host("author=ann", "")).await?;
    s.wait_for(SOON, "live with the history", |st| {
        st.label() == "live" && st.ids.len() == 5
    })
    .await?;
    let focus = s.focus_state().await?;
    ensure(focus == ("visible".into(), true), || {
        format!("the page is not in front: {focus:?}")
    })?;
    // The page visible and focused, the panel hidden by its host (a
    // collapsed sidebar): what comes is not seen.
    s.run_js("document.querySelector('discussion-panel').style.display = 'none';")
        .await?;
    let came = post(&s, "bob", 3, "while the panel is hidden").await?;
    wait_until(SOON, "the stream to carry the three", || async {
        let report = s.bridge.api.connections().await.ok()?;
        let at = report.active.first()?.last_event_id.clone();
        (at == came[2]).then_some(())
    })
    .await?;
    marker_stays(&s, ann, &held[4], "the panel was hidden by its host").await?;
    // Shown again, the next message finds the reader looking.
    s.run_js("document.querySelector('discussion-panel').style.display = '';")
        .await?;
    let next = post(&s, "bob", 1, "once shown").await?;
    wait_marker(&s, ann, &next[0], "the panel shown again", SOON)
        .await
        .map(drop)
}

/// What has the focus: its row's id, whether it is the row, and its action.
const FOCUSED: &str = r#"
const a = document.activeElement;
const row = a && a.closest('li[data-message-id]');
return {
  row: row ? row.getAttribute('data-message-id') : null,
  is_row: !!row && a === row,
  action: a ? a.getAttribute('data-action') : null,
  tag: a ? a.tagName.toLowerCase() : null,
};
"#;

/// Presses `keys` where the focus is; answers what has it then.
async fn press(s: &Scenario, keys: &str) -> Result<Value, Error> {
    let active = (s.browser.client.active_element().await)
        .map_err(|e| format!("no focused element: {e}"))?;
    (active.send_keys(keys).await).map_err(|e| format!("pressing keys: {e}"))?;
    s.run_js(FOCUSED).await
}

fn key(k: Key) -> String {
    char::from(k).to_string()
}

/// Presses `keys` until the focus is where `there` says, at most `tries`
/// times; answers where it is.
async fn press_until(
    s: &Scenario,
    keys: &str,
    tries: usize,
    what: &str,
    there: impl Fn(&Value) -> bool,
) -> Result<Value, Error> {
    let mut seen = Vec::new();
    for _ in 0..tries {
        let at = press(s, keys).await?;
        if there(&at) {
            return Ok(at);
        }
        seen.push(at);
    }
    Err(s
        .report(&format!(
            "{what}: not reached in {tries} presses; the focus went {seen:?}"
        ))
        .await)
}

/// From where the focus is in the list (a row or one of its controls) to
/// the row `index` of the list by keys, then Tab to its mark-unread button.
async fn to_mark_unread(s: &Scenario, index: usize, id: &str) -> Result<(), Error> {
    let shift_tab = format!("{}{}", key(Key::Shift), key(Key::Tab));
    let at = s.run_js(FOCUSED).await?;
    if at["row"].is_null() {
        // Not in the list: from the composer, as a reader comes back to it.
        s.run_js("document.querySelector('textarea[data-action=\"compose\"]').focus();")
            .await?;
    }
    press_until(s, &shift_tab, 6, "back to a row", |at| at["is_row"] == true).await?;
    press(s, &key(Key::Home)).await?;
    let mut at = s.run_js(FOCUSED).await?;
    for _ in 0..index {
        at = press(s, &key(Key::Down)).await?;
    }
    ensure(at["row"] == id && at["is_row"] == true, || {
        format!("the keys went to {at}, not row {id}")
    })?;
    let what = format!("the mark-unread button of row {id}, by Tab");
    let at = press_until(s, &key(Key::Tab), 8, &what, |at| {
        at["action"] == "mark-unread" || at["row"] != id
    })
    .await?;
    ensure(at["row"] == id && at["tag"] == "button", || {
        format!("{what}: Tab left the row for {at}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_unread_from_the_keyboard() -> Result<(), Error> {
    let name = "read_state_mark_unread";
    let ann = Reader::Named("ann");
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let ids = post(&s, "bob", 6, "message").await?;
    s.bridge
        .put_read_marker("general", ann, &ids[5], false)
        .await?;
    s.open(&host("author=ann", "")).await?;
    s.wait_for(SOON, "live with the six", |st| {
        st.label() == "live" && st.ids.len() == 6
    })
    .await?;
    let view = s.unread_view().await?;
    ensure(view.dividers == 0, || {
        format!("a divider with everything read: {view:?}")
    })?;
    ensure(view.mark_unread_buttons == view.rows, || {
        format!(
            "rows offering mark-unread: {} of {}",
            view.mark_unread_buttons, view.rows
        )
    })?;
    // Into the list from the composer, to the fourth row, onto its button, Enter.
    s.run_js("document.querySelector('textarea[data-action=\"compose\"]').focus();")
        .await?;
    to_mark_unread(&s, 3, &ids[3]).await?;
    press(&s, &key(Key::Enter)).await?;
    wait_marker(
        &s,
        ann,
        &before(&ids[3]),
        "Enter on row 4's mark unread",
        SOON,
    )
    .await?;
    wait_view(&s, "the divider before row 4", |v| {
        v.divider_before(&ids[3])
    })
    .await?;
    wait_unread(&s, "after mark unread", 3, Some(&ids[3])).await?;
    // On screen, focused, visible: still not marked read again.
    marker_stays(&s, ann, &before(&ids[3]), "marked unread, rows on screen").await?;
    // Space on the second row's button does the same from there.
    to_mark_unread(&s, 1, &ids[1]).await?;
    press(&s, " ").await?;
    wait_marker(
        &s,
        ann,
        &before(&ids[1]),
        "Space on row 2's mark unread",
        SOON,
    )
    .await?;
    wait_view(&s, "the divider before row 2", |v| {
        v.divider_before(&ids[1])
    })
    .await?;
    wait_unread(&s, "after the second mark unread", 5, Some(&ids[1]))
        .await
        .map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_reactions_and_deletions_never_raise_the_count_and_deleting_an_unread_one_lowers_it(
) -> Result<(), Error> {
    let name = "read_state_changes";
    let ann = Reader::Named("ann");
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let held = post(&s, "bob", 40, "filler").await?;
    s.bridge
        .put_read_marker("general", ann, &held[39], false)
        .await?;
    s.open(&host("author=ann", "history_limit=40&")).await?;
    s.wait_for(SOON, "live with the history", |st| {
        st.label() == "live" && st.ids.len() == 40
    })
    .await?;
    // Scrolled up: what comes stays unread.
    s.run_js(SCROLL_UP).await?;
    let new = post(&s, "bob", 3, "new").await?;
    s.wait_for(SOON, "the three new", |st| st.ids.contains(&new[2]))
        .await?;
    wait_unread(&s, "three new, scrolled up", 3, Some(&new[0])).await?;
    // Edits and reactions, on read and unread messages alike.
    s.bridge.edit("general", &new[1], "new 1, edited").await?;
    s.bridge
        .edit("general", &held[39], "filler 39, edited")
        .await?;
    s.bridge
        .react("general", &new[2], "👍", "bob", true)
        .await?;
    s.bridge
        .react("general", &held[0], "🎉", "bob", true)
        .await?;
    s.bridge
        .react("general", &new[2], "👍", "bob", false)
        .await?;
    s.bridge.delete("general", &held[5]).await?;
    s.rows_match_bridge("general", SOON, "every change shown")
        .await?;
    let heard = wait_unread(
        &s,
        "after edits, reactions, a read one deleted",
        3,
        Some(&new[0]),
    )
    .await?;
    ensure(
        heard.iter().all(|d| d["count"].as_u64().unwrap_or(0) <= 3),
        || format!("a change raised the count: {heard:?}"),
    )?;
    // Deleting unread ones lowers it.
    s.bridge.delete("general", &new[0]).await?;
    wait_unread(&s, "the first unread deleted", 2, Some(&new[1])).await?;
    s.bridge.delete("general", &new[2]).await?;
    wait_unread(&s, "the last unread deleted", 1, Some(&new[1])).await?;
    // Scrolled up all along: nothing new was seen.
    marker_stays(&s, ann, &held[39], "scrolled up through the changes").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_unread_run_opens_at_the_divider_with_a_bar_to_jump_back() -> Result<(), Error> {
    let name = "read_state_long_run";
    let ann = Reader::Named("ann");
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let read = post(&s, "bob", 5, "read").await?;
    let unread = post(&s, "bob", 40, "unread").await?;
    s.bridge
        .put_read_marker("general", ann, &read[4], false)
        .await?;
    s.open(&host("author=ann", "history_limit=60&")).await?;
    s.wait_for(SOON, "live with all 45", |st| {
        st.label() == "live" && st.ids.len() == 45
    })
    .await?;
    let view = wait_view(&s, "the divider before the first unread", |v| {
        v.divider_before(&unread[0])
    })
    .await?;
    let top = view.divider_top.unwrap_or(f64::NAN);
    ensure(
        (-2.0..=view.view_height / 3.0).contains(&top) && !view.at_bottom,
        || format!("the list did not open with the divider at the top: {view:?}"),
    )?;
    ensure(view.jump.is_none(), || {
        format!("the jump bar with the divider in view: {view:?}")
    })?;
    let heard = unread_events(&s).await?;
    ensure(heard.iter().any(|d| says(d, 40, Some(&unread[0]))), || {
        format!("never 40 unread from {}: {heard:?}", unread[0])
    })?;
    // Reading the first screen marks those, not the rest below.
    let seen = wait_until(SOON, "the first screen marked read", || async {
        let now = s.bridge.read_marker("general", ann).await.ok()??;
        (now != read[4]).then_some(now)
    })
    .await;
    let seen = match seen {
        Ok(seen) => seen,
        Err(timeout) => return Err(s.report(&timeout).await),
    };
    ensure(unread.contains(&seen) && seen != unread[39], || {
        format!(
            "the first screen marked read up to {seen} (the run is {} to {})",
            unread[0], unread[39]
        )
    })?;
    // Down to the end: the divider is above the view, the bar says so.
    s.run_js(SCROLL_DOWN).await?;
    let view = wait_view(&s, "the jump bar, the divider above the view", |v| {
        v.jump.is_some()
    })
    .await?;
    let bar = view.jump.clone().unwrap_or_default();
    ensure(
        bar.contains("new message") && bar.contains("since") && bar.ends_with("jump"),
        || format!("the jump bar says {bar:?}"),
    )?;
    wait_marker(&s, ann, &unread[39], "scrolled to the end", SOON).await?;
    // The bar by keyboard: back to the divider, and the bar goes.
    s.run_js("document.querySelector('button[data-action=\"jump-unread\"]').focus();")
        .await?;
    press(&s, &key(Key::Enter)).await?;
    wait_view(&s, "the divider in view, the bar gone", |v| {
        let top = v.divider_top.unwrap_or(f64::NAN);
        (-2.0..v.view_height).contains(&top) && v.jump.is_none() && v.divider_before(&unread[0])
    })
    .await
    .map(drop)
}
