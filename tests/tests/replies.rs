//! Replies from the panel: typed in the composer (or sent by the host), each is
//! stored once and shown once, whatever the connection does: while Live,
//! through a bridge kill and restart, while Disconnected then Retry, when the
//! post's answer is lost, across a reload; and a refusal says why.

use e2e::bridge::BridgeOptions;
use e2e::panel::{ensure, Scenario, FAST};
use e2e::{wait_until, Error};
use fantoccini::key::Key;
use fantoccini::Locator;
use serde_json::json;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(10);

fn bridge() -> BridgeOptions {
    BridgeOptions::new(e2e::bridge::binary())
}

/// A bridge whose history survives a restart.
fn bridge_with_file() -> BridgeOptions {
    bridge().with_history_file()
}

/// The host page, replying as `ann` (no sign-in on this bridge).
fn page() -> String {
    format!("/host.html?channel=general&author=ann&{FAST}")
}

/// Types `text` into the composer and presses Enter.
async fn type_reply(s: &Scenario, text: &str) -> Result<(), Error> {
    e2e::browser::type_reply(&s.browser.client, text).await
}

/// The messages of `general` with this content, as the bridge stored them.
async fn stored(s: &Scenario, content: &str) -> Result<Vec<String>, Error> {
    let page = s.bridge.api.history("general", Some("0"), 500).await?;
    Ok(page
        .into_iter()
        .filter(|m| m.content == content)
        .map(|m| m.id)
        .collect())
}

/// Rows the page shows with this content: (shown as messages, pending).
async fn shown(s: &Scenario, content: &str) -> Result<(usize, usize), Error> {
    let script = format!(
        r#"const text = {content:?};
        const rows = (sel) => [...document.querySelectorAll(sel)].filter((li) => li.querySelector('.dp-content')?.textContent === text).length;
        return [rows('li[data-message-id]'), rows('li[data-client-id]')];"#
    );
    let counts = s.run_js(&script).await?;
    Ok((
        counts[0].as_u64().unwrap_or(0) as usize,
        counts[1].as_u64().unwrap_or(0) as usize,
    ))
}

/// Waits until the reply is stored once and shown once, with no pending row.
async fn once_everywhere(s: &Scenario, content: &str) -> Result<(), Error> {
    let found = wait_until(
        Duration::from_secs(20),
        "the reply stored once and shown once",
        || async {
            let stored = stored(s, content).await.ok()?;
            let shown = shown(s, content).await.ok()?;
            (stored.len() == 1 && shown == (1, 0)).then_some(())
        },
    )
    .await;
    match found {
        Ok(()) => Ok(()),
        Err(timeout) => Err(format!(
            "{}\n  stored: {:?}, shown (messages, pending): {:?}",
            s.report(&timeout).await,
            stored(s, content).await,
            shown(s, content).await
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_sent_while_live_is_stored_and_shown_once() -> Result<(), Error> {
    let s = Scenario::live("a_reply_sent_while_live_is_stored_and_shown_once", &page()).await?;
    type_reply(&s, "hello from the panel").await?;
    once_everywhere(&s, "hello from the panel").await?;
    let history = s.bridge.api.history("general", Some("0"), 500).await?;
    ensure(history.iter().any(|m| m.author == "ann"), || {
        format!("authors: {history:?}")
    })?;
    // Shift+Enter is a new line, not a send.
    let input = (s
        .browser
        .client
        .find(Locator::Css(r#"textarea[data-action="compose"]"#))
        .await)
        .map_err(|e| e.to_string())?;
    let shift_enter = format!(
        "one{}{}{}two",
        char::from(Key::Shift),
        char::from(Key::Enter),
        char::from(Key::Null)
    );
    input
        .send_keys(&shift_enter)
        .await
        .map_err(|e| e.to_string())?;
    let value = s
        .run_js("return document.querySelector('.dp-input').value;")
        .await?;
    ensure(value == "one\ntwo", || {
        format!("the composer holds {value}")
    })?;
    type_reply(&s, "").await?;
    once_everywhere(&s, "one\ntwo").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_written_while_the_bridge_is_down_goes_once_it_is_back() -> Result<(), Error> {
    let name = "a_reply_written_while_the_bridge_is_down_goes_once_it_is_back";
    let mut s = Scenario::live_on(name, bridge_with_file(), &page()).await?;
    s.bridge.kill();
    s.wait_label("reconnecting", SOON).await?;
    type_reply(&s, "written during the outage").await?;
    wait_until(SOON, "a pending row", || async {
        (shown(&s, "written during the outage").await.ok()? == (0, 1)).then_some(())
    })
    .await?;
    s.bridge.restart().await?;
    once_everywhere(&s, "written during the outage").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_written_while_disconnected_goes_after_retry() -> Result<(), Error> {
    let name = "a_reply_written_while_disconnected_goes_after_retry";
    let page = format!("{}&max_attempts=2", page());
    let s = Scenario::live(name, &page).await?;
    s.bridge
        .set_fault(Some(bridge_client::Fault::Reject(503)))
        .await?;
    s.bridge.disconnect(None).await?;
    s.wait_for(SOON, "Disconnected with Retry", |st| st.retry == 1)
        .await?;
    type_reply(&s, "written while disconnected").await?;
    let pending = shown(&s, "written while disconnected").await?;
    ensure(pending == (0, 1), || format!("before Retry: {pending:?}"))?;
    s.bridge.set_fault(None).await?;
    s.click_retry().await?;
    once_everywhere(&s, "written while disconnected").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_still_leaves_exactly_one_copy() -> Result<(), Error> {
    let name = "a_lost_answer_still_leaves_exactly_one_copy";
    let s = Scenario::live(name, &page()).await?;
    let fault = reqwest::Client::new()
        .put(s.bridge.url("/internal/post-fault"))
        .json(&json!({ "drop_answers": 2 }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    ensure(fault.status().is_success(), || "the post fault".into())?;
    type_reply(&s, "did my answer arrive?").await?;
    once_everywhere(&s, "did my answer arrive?").await
}

/// 408, 425 and 429 say "not now", not "never": the reply is tried again
/// (with its client id) and stored once, never left as a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_bridge_turning_a_reply_away_gets_it_again_later() -> Result<(), Error> {
    let s = Scenario::live("a_busy_bridge_turning_a_reply_away", &page()).await?;
    for (status, text) in [(429, "rate limited at first"), (408, "timed out at first")] {
        let fault = reqwest::Client::new()
            .put(s.bridge.url("/internal/post-fault"))
            .json(&json!({ "busy": 2, "status": status }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        ensure(fault.status().is_success(), || "the post fault".into())?;
        type_reply(&s, text).await?;
        once_everywhere(&s, text).await?;
        let failed = s
            .run_js("return document.querySelectorAll('li[data-state=\"failed\"]').length;")
            .await?;
        ensure(failed == 0, || {
            format!("{failed} failed rows after a {status}")
        })?;
    }
    Ok(())
}

/// A second panel of `general` in the page, mounted after the page's own.
const SECOND_PANEL: &str = r#"const done = arguments[arguments.length - 1];
import('/discussion-panel.js').then((module) => {
  const box = document.createElement('div');
  box.id = 'second';
  box.style.height = '200px';
  document.body.append(box);
  window.second = module.mountDiscussionPanel(box, { channel: 'general', author: 'ann',
    backoffBaseMs: 150, backoffCapMs: 600, stabilityWindowMs: 1500, initialWatchdogMs: 3000 });
  done(true);
}, (error) => done(String(error)));"#;

async fn set_busy(s: &Scenario, busy: u64) -> Result<(), Error> {
    let fault = reqwest::Client::new()
        .put(s.bridge.url("/internal/post-fault"))
        .json(&json!({ "busy": busy, "status": 503 }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    ensure(fault.status().is_success(), || "the post fault".into())
}

/// Two panels of one channel in one tab keep their waiting replies apart:
/// after a reload, each is sent, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_panels_of_one_channel_keep_their_waiting_replies_apart() -> Result<(), Error> {
    let s = Scenario::live("two_panels_of_one_channel", &page()).await?;
    (s.browser.client.execute_async(SECOND_PANEL, vec![]).await)
        .map_err(|e| format!("the second panel: {e}"))?;
    set_busy(&s, 1_000_000).await?;
    s.run_js(
        "document.querySelector('discussion-panel').send('from the first panel'); window.second.send('from the second panel');",
    )
    .await?;
    wait_until(SOON, "a pending row in each panel", || async {
        let rows = s
            .run_js("return document.querySelectorAll('li[data-client-id]').length;")
            .await
            .ok()?;
        (rows == 2).then_some(())
    })
    .await?;
    s.browser
        .client
        .refresh()
        .await
        .map_err(|e| format!("reload: {e}"))?;
    s.wait_label("live", SOON).await?;
    (s.browser.client.execute_async(SECOND_PANEL, vec![]).await)
        .map_err(|e| format!("the second panel again: {e}"))?;
    set_busy(&s, 0).await?;
    for text in ["from the first panel", "from the second panel"] {
        wait_until(SOON, &format!("{text:?} stored once"), || async {
            (stored(&s, text).await.ok()?.len() == 1).then_some(())
        })
        .await?;
    }
    wait_until(SOON, "no pending row left", || async {
        let rows = s
            .run_js("return document.querySelectorAll('li[data-client-id]').length;")
            .await
            .ok()?;
        (rows == 0).then_some(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_reply_survives_a_reload_and_is_sent_once() -> Result<(), Error> {
    let name = "a_pending_reply_survives_a_reload_and_is_sent_once";
    let s = Scenario::live(name, &page()).await?;
    // Streams that are accepted and never answered: the panel cannot go Live
    // (the bridge still serves the page, so it can be reloaded).
    s.bridge
        .set_fault(Some(bridge_client::Fault::Stall))
        .await?;
    s.bridge.disconnect(None).await?;
    s.wait_label("reconnecting", SOON).await?;
    type_reply(&s, "typed just before a reload").await?;
    (s.browser.client.refresh().await).map_err(|e| e.to_string())?;
    wait_until(SOON, "the pending row back after the reload", || async {
        (shown(&s, "typed just before a reload").await.ok()? == (0, 1)).then_some(())
    })
    .await?;
    s.bridge.set_fault(None).await?;
    once_everywhere(&s, "typed just before a reload").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reply_says_why_and_can_be_edited_or_discarded() -> Result<(), Error> {
    let name = "a_refused_reply_says_why_and_can_be_edited_or_discarded";
    let s = Scenario::live(name, &page()).await?;
    // Past the limit (the composer itself would not send it; the host can).
    s.run_js("document.querySelector('discussion-panel').send('x'.repeat(4001));")
        .await?;
    let note = wait_until(SOON, "a failed row with the bridge's reason", || async {
        let note = s
            .run_js("const row = document.querySelector('li[data-state=\"failed\"] .dp-pending-note'); return row && row.textContent;")
            .await
            .ok()?;
        note.as_str().map(str::to_owned)
    })
    .await?;
    ensure(note.contains("4000"), || {
        format!("the reason shown: {note}")
    })?;
    let stored = s.bridge.api.history("general", Some("0"), 500).await?;
    ensure(stored.is_empty(), || format!("stored: {stored:?}"))?;
    // Edit puts it back in the composer; Discard would drop it.
    s.run_js("document.querySelector('[data-action=\"edit\"]').click();")
        .await?;
    let draft = s
        .run_js("return document.querySelector('.dp-input').value.length;")
        .await?;
    ensure(draft == 4001, || {
        format!("the composer holds {draft} characters")
    })?;
    let counter = s
        .run_js("return document.querySelector('.dp-counter').textContent;")
        .await?;
    ensure(counter == "1 too many", || {
        format!("the counter says {counter}")
    })?;
    let rows = s
        .run_js("return document.querySelectorAll('li[data-client-id]').length;")
        .await?;
    ensure(rows == 0, || format!("{rows} pending rows left"))
}

/// Edit on a refused reply while the reader is writing another keeps what
/// they wrote: the reply comes back after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_refused_reply_keeps_the_draft_being_written() -> Result<(), Error> {
    let s = Scenario::live("editing_a_refused_reply_keeps_the_draft", &page()).await?;
    s.run_js("document.querySelector('discussion-panel').send('y'.repeat(4001));")
        .await?;
    wait_until(SOON, "a failed row", || async {
        let rows = s
            .run_js("return document.querySelectorAll('li[data-state=\"failed\"]').length;")
            .await
            .ok()?;
        (rows == 1).then_some(())
    })
    .await?;
    let input = (s.browser.client)
        .find(Locator::Css(r#"textarea[data-action="compose"]"#))
        .await
        .map_err(|e| format!("no composer: {e}"))?;
    (input.send_keys("half a thought").await).map_err(|e| format!("typing: {e}"))?;
    s.run_js("document.querySelector('[data-action=\"edit\"]').click();")
        .await?;
    let draft = s
        .run_js("return document.querySelector('.dp-input').value;")
        .await?;
    let expected = format!("half a thought\n\n{}", "y".repeat(4001));
    ensure(draft.as_str() == Some(expected.as_str()), || {
        let text = draft.as_str().unwrap_or_default();
        format!(
            "the composer holds {:?}… ({} characters)",
            text.chars().take(40).collect::<String>(),
            text.chars().count()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_from_one_tab_appears_once_in_every_tab_sharing_the_stream() -> Result<(), Error> {
    let name = "a_reply_from_one_tab_appears_once_in_every_tab_sharing_the_stream";
    let s = Scenario::live(name, &page()).await?;
    let first = s.this_tab().await?;
    let second = s.open_tab(&page()).await?;
    s.wait_label("live", SOON).await?;
    s.to_tab(&first).await?;
    type_reply(&s, "seen by both tabs").await?;
    once_everywhere(&s, "seen by both tabs").await?;
    s.to_tab(&second).await?;
    wait_until(SOON, "the reply once in the other tab", || async {
        (shown(&s, "seen by both tabs").await.ok()? == (1, 0)).then_some(())
    })
    .await?;
    let streams = s.bridge.active_streams().await?;
    ensure(streams.len() == 1, || format!("streams: {streams:?}"))
}
