//! Accessibility, in real Chromium against the real bridge: what a screen
//! reader hears (the polite announcer's every word, recorded as it is
//! written), axe-core's WCAG 2.x A/AA rules in the states the panel reaches,
//! and a keyboard-only reader's journeys through the list.

use bridge_client::Fault;
use e2e::browser::type_reply;
use e2e::panel::{ensure, Scenario, FAST};
use e2e::{wait_until, Error};
use fantoccini::key::Key;
use serde_json::Value;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(20);

/// Records every text the announcer is given (`window.__said`) and every
/// value the list's `aria-busy` takes (`window.__busy`).
const RECORD: &str = r#"
window.__said = []; window.__busy = [];
const region = document.querySelector('[data-announcer]');
new MutationObserver(() => window.__said.push(region.textContent))
  .observe(region, { childList: true, characterData: true, subtree: true });
const list = document.querySelector('.dp-messages');
new MutationObserver(() => window.__busy.push(list.getAttribute('aria-busy')))
  .observe(list, { attributes: true, attributeFilter: ['aria-busy'] });
return region.textContent;
"#;

async fn said(s: &Scenario) -> Result<Vec<String>, Error> {
    let said = s.run_js("return window.__said;").await?;
    serde_json::from_value(said).map_err(|e| format!("window.__said: {e}"))
}

/// Waits until the announcer has said `count` things in all; answers them.
async fn said_count(s: &Scenario, count: usize, what: &str) -> Result<Vec<String>, Error> {
    wait_until(SOON, what, || async {
        let said = said(s).await.ok()?;
        (said.len() >= count).then_some(said)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_or_a_catch_up_is_announced_once_and_the_history_own_and_older_pages_never(
) -> Result<(), Error> {
    let name = "a11y_announcements";
    let page = format!("/?channel=general&author=ann&history_limit=20&page_limit=20&{FAST}");
    let (s, _) = Scenario::watched(name, "/healthz", &[]).await?;
    for i in 0..45 {
        s.bridge
            .inject("general", "bob", &format!("old {i}"))
            .await?;
    }
    s.open(&page).await?;
    s.wait_for(SOON, "Live with the history", |st| {
        st.label() == "live" && st.ids.len() == 20
    })
    .await?;
    let before = s.run_js(RECORD).await?;
    ensure(before == "", || {
        format!("the history load was announced: {before}")
    })?;
    let busy = s
        .run_js("return document.querySelector('.dp-messages').getAttribute('aria-busy');")
        .await?;
    ensure(busy.is_null(), || {
        format!("still aria-busy={busy} once loaded")
    })?;

    // The reader's own reply is not read back to them; someone else's is.
    type_reply(&s.browser.client, "my own words").await?;
    s.wait_for(SOON, "the reply shown", |st| st.ids.len() == 21)
        .await?;
    s.bridge.inject("general", "bob", "an answer").await?;
    let heard = said_count(&s, 1, "one message announced").await?;
    ensure(heard == ["1 new message"], || {
        format!("after own reply and one from bob: {heard:?}")
    })?;

    // An older page, loaded at the top, is not announced; the list is busy
    // while it comes.
    s.run_js("document.querySelector('.dp-messages').scrollTop = 0;")
        .await?;
    s.wait_for(SOON, "an older page of 20", |st| st.ids.len() == 42)
        .await?;
    let busy: Vec<Value> = serde_json::from_value(s.run_js("return window.__busy;").await?)
        .map_err(|e| e.to_string())?;
    ensure(busy.first() == Some(&Value::from("true")), || {
        format!("aria-busy while the older page came: {busy:?}")
    })?;
    s.bridge
        .inject("general", "bob", "after the older page")
        .await?;
    let heard = said_count(&s, 2, "the next message announced").await?;
    ensure(heard == ["1 new message", "1 new message"], || {
        format!("after an older page and one message: {heard:?}")
    })?;

    // A burst of 50: once.
    for i in 0..50 {
        s.bridge
            .inject("general", "bob", &format!("burst {i}"))
            .await?;
    }
    let heard = said_count(&s, 3, "the burst announced").await?;
    ensure(heard[2] == "50 new messages", || {
        format!("after a burst of 50: {heard:?}")
    })?;

    // A catch-up after a reconnection: once.
    s.bridge.set_fault(Some(Fault::Reject(503))).await?;
    s.bridge.disconnect(None).await?;
    s.wait_label("reconnecting", SOON).await?;
    for i in 0..12 {
        s.bridge
            .inject("general", "cy", &format!("missed {i}"))
            .await?;
    }
    s.bridge.set_fault(None).await?;
    s.wait_label("live", SOON).await?;
    let heard = said_count(&s, 4, "the catch-up announced").await?;
    ensure(heard[3] == "12 new messages", || {
        format!("after a catch-up of 12: {heard:?}")
    })?;
    // Nothing more is on its way: one more message is the next thing said.
    s.bridge.inject("general", "bob", "last").await?;
    let heard = said_count(&s, 5, "the last message announced").await?;
    ensure(heard.len() == 5 && heard[4] == "1 new message", || {
        format!("said: {heard:?}")
    })?;
    println!(
        "announcements: burst of 50 -> 1, catch-up of 12 -> 1, older page of 20 -> 0, history of 20 -> 0, own reply -> 0 ({heard:?})"
    );
    Ok(())
}

/// Fails with every violation axe-core finds in `state`.
async fn no_violations(s: &Scenario, state: &str) -> Result<(), Error> {
    let found = s.browser.axe_violations().await?;
    if found.is_empty() {
        return Ok(());
    }
    s.browser.screenshot(&format!("{}-{state}", s.name)).await;
    Err(format!(
        "{state}: {} axe violation(s):\n  {}",
        found.len(),
        found.join("\n  ")
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_no_wcag_violations_live_with_rich_content_edit_mode_dark_and_forced_colors(
) -> Result<(), Error> {
    let name = "a11y_axe_live";
    let s = Scenario::live(name, &format!("/?channel=general&author=ann&{FAST}")).await?;
    let b = &s.bridge;
    let first = b
        .inject(
            "general",
            "bob lee",
            "**bold** *em* __under__ ~~gone~~ `code` and a [link](https://example.com)",
        )
        .await?;
    b.inject(
        "general",
        "cy",
        "> quoted\n# Heading\n-# small print\n- one\n- two\n```rust\nfn main() {}\n```",
    )
    .await?;
    let soon = (e2e::epoch_ms() / 1000.0) as i64 + 75;
    b.post_json(
        "general",
        serde_json::json!({
            "author": "cy",
            "content": format!("<@7> see ||the secret|| due <t:{soon}:R>"),
            "mentions": { "7": "ann" },
            "referenced_message": { "id": first, "author": "bob lee", "content": "**bold**" },
            "attachments": [{ "filename": "plan.pdf", "size": 123456, "url": "https://example.com/plan.pdf" }],
        }),
    )
    .await?;
    let own = b.inject("general", "ann", "my own message").await?;
    b.edit("general", &own, "my own message, edited").await?;
    b.react("general", &first, "👍", "bob lee", true).await?;
    b.react("general", &first, "👍", "ann", true).await?;
    b.react("general", &own, "🎉", "cy", true).await?;
    let o = own.clone();
    s.wait_for(SOON, "every message", move |st| st.ids.contains(&o))
        .await?;
    wait_until(SOON, "the edit and the reactions shown", || async {
        let done = s
            .run_js("return document.querySelectorAll('[data-edited], [data-reaction]').length;")
            .await
            .ok()?;
        (done.as_u64()? >= 3).then_some(())
    })
    .await?;
    no_violations(&s, "live-light").await?;
    // Chromium's own accessibility tree has the roles and names.
    let tree = s
        .browser
        .cdp_value("Accessibility.getFullAXTree", serde_json::json!({}))
        .await?;
    let nodes: Vec<(String, String)> = (tree["nodes"].as_array().into_iter().flatten())
        .map(|n| {
            let text = |v: &Value| v["value"].as_str().unwrap_or_default().to_owned();
            (text(&n["role"]), text(&n["name"]))
        })
        .collect();
    let has =
        |role: &str, name: &dyn Fn(&str) -> bool| nodes.iter().any(|(r, n)| r == role && name(n));
    for (role, what, found) in [
        (
            "button",
            "the chip",
            has("button", &|n| {
                n == "👍 2 reactions, including you; press to remove yours"
            }),
        ),
        (
            "button",
            "Edit",
            has("button", &|n| {
                n == "Edit your message: my own message, edited"
            }),
        ),
        (
            "button",
            "Delete",
            has("button", &|n| {
                n == "Delete your message: my own message, edited"
            }),
        ),
        ("button", "the spoiler", has("button", &|n| n == "Spoiler")),
        (
            "listitem",
            "a message",
            has("listitem", &|n| {
                n.starts_with("bob lee, ") && n.contains(": bold em under gone code and a link")
            }),
        ),
        ("list", "the messages", has("list", &|n| n == "Messages")),
    ] {
        ensure(found, || {
            format!("no {role} for {what} in the accessibility tree: {nodes:?}")
        })?;
    }
    // The status region reads its label (a status takes no name from its
    // content: what it says is the text inside it).
    let statuses: Vec<_> = (ax_tree(&s).await?.into_iter())
        .filter(|(role, ..)| role == "status")
        .collect();
    ensure(statuses.len() == 1 && statuses[0].2 == "Live", || {
        format!("the status region and the text it holds: {statuses:?}")
    })?;
    s.browser.emulate("dark", "none").await?;
    no_violations(&s, "live-dark").await?;
    s.browser.emulate("light", "active").await?;
    no_violations(&s, "live-forced-colors").await?;
    s.browser.emulate("light", "none").await?;
    // Edit mode, with the row's actions shown by focus.
    s.run_js(&format!(
        "document.querySelector('li[data-message-id=\"{own}\"] [data-action=\"edit-message\"]').click();"
    ))
    .await?;
    wait_until(SOON, "edit mode", || async {
        let editing = s
            .run_js("return !!document.querySelector('.dp-editing-note:not([hidden])');")
            .await
            .ok()?;
        (editing == true).then_some(())
    })
    .await?;
    no_violations(&s, "edit-mode").await?;
    s.browser.emulate("dark", "none").await?;
    no_violations(&s, "edit-mode-dark").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_no_wcag_violations_reconnecting_or_disconnected_with_retry() -> Result<(), Error>
{
    let name = "a11y_axe_connection";
    let s = Scenario::live(
        name,
        &format!("/?channel=general&author=ann&{FAST}&max_attempts=3&backoff_base_ms=1500&backoff_cap_ms=1500"),
    )
    .await?;
    s.bridge.inject("general", "bob", "hello").await?;
    s.bridge.set_fault(Some(Fault::Reject(503))).await?;
    s.bridge.disconnect(None).await?;
    s.wait_label("reconnecting", SOON).await?;
    no_violations(&s, "reconnecting-light").await?;
    s.browser.emulate("dark", "none").await?;
    no_violations(&s, "reconnecting-dark").await?;
    s.wait_for(SOON, "Disconnected with Retry", |st| {
        st.label() == "disconnected" && st.retry == 1
    })
    .await?;
    no_violations(&s, "disconnected-dark").await?;
    s.browser.emulate("light", "none").await?;
    no_violations(&s, "disconnected-light").await?;
    s.browser.emulate("light", "active").await?;
    no_violations(&s, "disconnected-forced-colors").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_no_wcag_violations_polling_with_a_refused_reply() -> Result<(), Error> {
    let name = "a11y_axe_polling";
    let s = Scenario::live(
        name,
        &format!("/?channel=general&author=ann&polling=on&{FAST}"),
    )
    .await?;
    s.bridge.inject("general", "bob", "hello").await?;
    // Past the limit: the bridge refuses it, and the row says why.
    s.run_js("document.querySelector('discussion-panel').send('x'.repeat(4001));")
        .await?;
    wait_until(SOON, "the refused reply and the polling hint", || async {
        let shown = s
            .run_js(
                "return !!document.querySelector('li[data-state=\"failed\"] .dp-pending-note') \
                 && !document.querySelector('.dp-transport').hidden;",
            )
            .await
            .ok()?;
        (shown == true).then_some(())
    })
    .await?;
    no_violations(&s, "polling-refused-light").await?;
    s.browser.emulate("dark", "none").await?;
    no_violations(&s, "polling-refused-dark").await?;
    Ok(())
}

/// What has the focus: its row's id, and what it is.
const FOCUSED: &str = r#"
const a = document.activeElement;
const row = a && a.closest('li[data-message-id]');
return {
  row: row ? row.getAttribute('data-message-id') : null,
  is_row: !!row && a === row,
  composer: !!a && a.matches('textarea[data-action="compose"]'),
  reaction: a ? a.getAttribute('data-reaction') : null,
  pressed: a ? a.getAttribute('aria-pressed') : null,
  action: a ? a.getAttribute('data-action') : null,
  name: a ? a.getAttribute('aria-label') : null,
  stops: document.querySelectorAll('.dp-messages > li[tabindex="0"]').length,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyboard_reader_moves_through_200_messages_reacts_edits_and_reveals_a_spoiler(
) -> Result<(), Error> {
    let name = "a11y_keyboard";
    let page = format!("/?channel=general&author=ann&history_limit=300&{FAST}");
    let (s, mut ids) = Scenario::watched(name, "/healthz", &[]).await?;
    for i in 0..197 {
        ids.push(
            s.bridge
                .inject("general", "bob", &format!("message {i}"))
                .await?,
        );
    }
    let spoiler = s
        .bridge
        .inject("general", "bob", "it is ||a secret||")
        .await?;
    let own = s.bridge.inject("general", "ann", "mine to edit").await?;
    let chip = s.bridge.inject("general", "bob", "react to me").await?;
    s.bridge.react("general", &chip, "👍", "bob", true).await?;
    ids.extend([spoiler.clone(), own.clone(), chip.clone()]);
    s.open(&page).await?;
    s.wait_for(SOON, "200 rows, Live", |st| {
        st.label() == "live" && st.ids.len() == 200
    })
    .await?;
    s.run_js("document.querySelector('textarea[data-action=\"compose\"]').focus();")
        .await?;

    // From the composer back into the list: one Shift+Tab, onto the newest row's
    // chip (its control), one more onto its Mark unread (in its header), one
    // more onto the row; the list is one tab stop.
    let at = press(&s, &format!("{}{}", key(Key::Shift), key(Key::Tab))).await?;
    ensure(
        at["row"] == chip.as_str() && at["reaction"] == "👍",
        || format!("Shift+Tab from the composer: {at}"),
    )?;
    let at = press(&s, &format!("{}{}", key(Key::Shift), key(Key::Tab))).await?;
    ensure(
        at["row"] == chip.as_str() && at["action"] == "mark-unread",
        || format!("Shift+Tab onto Mark unread: {at}"),
    )?;
    let at = press(&s, &format!("{}{}", key(Key::Shift), key(Key::Tab))).await?;
    ensure(
        at["row"] == chip.as_str() && at["is_row"] == true && at["stops"] == 1,
        || format!("Shift+Tab again: {at}"),
    )?;
    let name = at["name"].as_str().unwrap_or_default();
    ensure(
        name.starts_with("bob, ") && name.ends_with(": react to me"),
        || format!("the row's name: {name}"),
    )?;
    // Through the list by keys.
    let steps = [
        (key(Key::Home), ids[0].clone()),
        (key(Key::Down), ids[1].clone()),
        (key(Key::PageDown), ids[11].clone()),
        (key(Key::End), chip.clone()),
        (key(Key::Up), own.clone()),
        (key(Key::PageUp), ids[188].clone()),
    ];
    for (keys, expected) in &steps {
        let at = press(&s, keys).await?;
        ensure(
            at["row"] == expected.as_str() && at["is_row"] == true,
            || format!("expected row {expected}: {at}"),
        )?;
    }
    // Escape goes to the composer; back, the row's one control (its Mark
    // unread), then the row; Tab from there passes its control, then the
    // composer.
    let at = press(&s, &key(Key::Escape)).await?;
    ensure(at["composer"] == true, || format!("Escape: {at}"))?;
    let at = press(&s, &format!("{}{}", key(Key::Shift), key(Key::Tab))).await?;
    ensure(
        at["row"] == ids[188].as_str() && at["action"] == "mark-unread",
        || format!("back where the reader left the list, onto its control: {at}"),
    )?;
    let at = press(&s, &format!("{}{}", key(Key::Shift), key(Key::Tab))).await?;
    ensure(
        at["row"] == ids[188].as_str() && at["is_row"] == true,
        || format!("back where the reader left the list: {at}"),
    )?;
    press(&s, &key(Key::Tab)).await?;
    let at = press(&s, &key(Key::Tab)).await?;
    ensure(at["composer"] == true, || {
        format!("two Tabs from a row with one control reach the composer: {at}")
    })?;

    // React: to the newest row, Tab past its Mark unread onto its chip,
    // Enter; the focus stays on the chip when the row is made again.
    press(&s, &format!("{}{}", key(Key::Shift), key(Key::Tab))).await?;
    press(&s, &format!("{}{}", key(Key::Shift), key(Key::Tab))).await?;
    press(&s, &key(Key::End)).await?;
    press(&s, &key(Key::Tab)).await?;
    let at = press(&s, &key(Key::Tab)).await?;
    ensure(at["reaction"] == "👍" && at["pressed"] == "false", || {
        format!("the chip: {at}")
    })?;
    let label = at["name"].as_str().unwrap_or_default().to_owned();
    ensure(label == "👍 1 reaction; press to add yours", || {
        format!("the chip's name: {label}")
    })?;
    press(&s, &key(Key::Enter)).await?;
    let at = wait_until(SOON, "the reaction added, focus kept", || async {
        let at = s.run_js(FOCUSED).await.ok()?;
        (at["pressed"] == "true").then_some(at)
    })
    .await?;
    ensure(
        at["name"] == "👍 2 reactions, including you; press to remove yours",
        || format!("after reacting: {at}"),
    )?;

    // Reveal the spoiler: its row, Tab past Mark unread onto it, Enter.
    press(&s, &format!("{}{}", key(Key::Shift), key(Key::Tab))).await?;
    press(&s, &format!("{}{}", key(Key::Shift), key(Key::Tab))).await?;
    press(&s, &key(Key::Up)).await?;
    let at = press(&s, &key(Key::Up)).await?;
    ensure(at["row"] == spoiler.as_str(), || {
        format!("the spoiler's row: {at}")
    })?;
    press(&s, &key(Key::Tab)).await?;
    press(&s, &key(Key::Tab)).await?;
    let at = press(&s, &key(Key::Enter)).await?;
    ensure(
        at["row"] == spoiler.as_str() && at["is_row"] == true,
        || format!("the focus after revealing goes to its row: {at}"),
    )?;
    let revealed = s
        .run_js(&format!(
            "return document.querySelector('li[data-message-id=\"{spoiler}\"] [data-spoiler]').hasAttribute('data-revealed');"
        ))
        .await?;
    ensure(revealed == true, || {
        "Enter did not reveal the spoiler".into()
    })?;

    // Edit the reader's own message by keyboard: its row, Tab past Mark
    // unread to Edit, Enter.
    let at = press(&s, &key(Key::Down)).await?;
    ensure(at["row"] == own.as_str(), || format!("own row: {at}"))?;
    press(&s, &key(Key::Tab)).await?;
    let at = press(&s, &key(Key::Tab)).await?;
    ensure(
        at["action"] == "edit-message" && at["name"] == "Edit your message: mine to edit",
        || format!("the Edit button: {at}"),
    )?;
    press(&s, &key(Key::Enter)).await?;
    s.run_js("document.querySelector('textarea[data-action=\"compose\"]').focus();")
        .await?;
    let select_all = format!("{}a{}", key(Key::Control), key(Key::Control));
    press(&s, &select_all).await?;
    press(&s, &format!("edited by keyboard{}", key(Key::Enter))).await?;
    let o = own.clone();
    wait_until(SOON, "the edit shown", || async {
        let rows = s.rows().await.ok()?;
        rows.iter()
            .any(|r| r.id == o && r.content == "edited by keyboard" && r.edited.is_some())
            .then_some(())
    })
    .await?;

    // A focused row deleted: the focus goes to the row in its place.
    s.run_js(&format!(
        "document.querySelector('li[data-message-id=\"{own}\"]').focus();"
    ))
    .await?;
    s.bridge.delete("general", &own).await?;
    let at = wait_until(SOON, "the focus on the next row", || async {
        let at = s.run_js(FOCUSED).await.ok()?;
        (at["row"] == chip.as_str()).then_some(at)
    })
    .await?;
    ensure(at["is_row"] == true && at["stops"] == 1, || {
        format!("after the focused row went: {at}")
    })?;
    Ok(())
}

/// Chromium's accessibility tree of the page: each node's role, name and
/// the text of its subtree (its `StaticText` descendants' names, joined).
async fn ax_tree(s: &Scenario) -> Result<Vec<(String, String, String)>, Error> {
    let tree = s
        .browser
        .cdp_value("Accessibility.getFullAXTree", serde_json::json!({}))
        .await?;
    let nodes = tree["nodes"].as_array().cloned().unwrap_or_default();
    let text = |v: &Value| v["value"].as_str().unwrap_or_default().to_owned();
    let by_id: std::collections::HashMap<String, &Value> = (nodes.iter())
        .map(|n| (n["nodeId"].as_str().unwrap_or_default().to_owned(), n))
        .collect();
    fn words(node: &Value, by_id: &std::collections::HashMap<String, &Value>, out: &mut String) {
        if node["role"]["value"] == "StaticText" {
            out.push_str(node["name"]["value"].as_str().unwrap_or_default());
        }
        for child in node["childIds"].as_array().into_iter().flatten() {
            if let Some(child) = child.as_str().and_then(|c| by_id.get(c)) {
                words(child, by_id, out);
            }
        }
    }
    Ok((nodes.iter())
        .map(|n| {
            let mut inner = String::new();
            words(n, &by_id, &mut inner);
            (text(&n["role"]), text(&n["name"]), inner)
        })
        .collect())
}

/// A real mouse click (the DevTools protocol's input, not a script's
/// `click()`) at the middle of the first element `selector` matches.
async fn click_on(s: &Scenario, selector: &str) -> Result<(), Error> {
    let at = s
        .run_js(&format!(
            "const r = document.querySelector('{selector}').getBoundingClientRect();\
             return [r.left + r.width / 2, r.top + r.height / 2];"
        ))
        .await?;
    let (x, y) = (at[0].as_f64().unwrap_or(0.0), at[1].as_f64().unwrap_or(0.0));
    for kind in ["mousePressed", "mouseReleased"] {
        s.browser
            .cdp(
                "Input.dispatchMouseEvent",
                serde_json::json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            )
            .await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rows_name_says_spoiler_for_a_hidden_spoiler_and_its_text_once_revealed(
) -> Result<(), Error> {
    let name = "a11y_spoiler_name";
    let (s, ids) = Scenario::watched(
        name,
        "/healthz",
        &[("bob", "## Title\ntext"), ("bob", "it is ||a secret||")],
    )
    .await?;
    s.open(&format!("/?channel=general&author=ann&{FAST}"))
        .await?;
    s.wait_for(SOON, "Live with both", |st| {
        st.label() == "live" && st.ids.len() == 2
    })
    .await?;
    let label = |id: &str| {
        format!("return document.querySelector('li[data-message-id=\"{id}\"]').getAttribute('aria-label');")
    };
    let named = s.run_js(&label(&ids[1])).await?;
    let named = named.as_str().unwrap_or_default().to_owned();
    let nodes = ax_tree(&s).await?;
    let item = (nodes.iter())
        .find(|(role, name, _)| role == "listitem" && name.contains("it is"))
        .map(|(_, name, _)| name.clone());
    ensure(
        !named.contains("a secret") && named.ends_with(": it is spoiler"),
        || format!("the row's aria-label reads the hidden spoiler: {named:?}"),
    )?;
    ensure(
        item.as_deref().is_some_and(|n| !n.contains("a secret")),
        || format!("the listitem's name in the accessibility tree: {item:?}"),
    )?;
    // Blocks are words apart: a heading and the line after it.
    let heading = s.run_js(&label(&ids[0])).await?;
    ensure(
        heading
            .as_str()
            .is_some_and(|n| n.ends_with(": Title text")),
        || format!("the heading's row: {heading}"),
    )?;
    // Revealed (a click), the row's name holds what it showed.
    click_on(
        &s,
        &format!("li[data-message-id=\"{}\"] [data-spoiler]", ids[1]),
    )
    .await?;
    let revealed = wait_until(SOON, "the spoiler revealed", || async {
        let named = s.run_js(&label(&ids[1])).await.ok()?;
        named
            .as_str()
            .filter(|n| n.contains("a secret"))
            .map(str::to_owned)
    })
    .await?;
    ensure(revealed.ends_with(": it is a secret"), || {
        format!("revealed: {revealed}")
    })?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_on_a_row_then_an_arrow_leaves_one_tab_stop() -> Result<(), Error> {
    let name = "a11y_click_arrow";
    let before: Vec<(&str, &str)> = (0..5).map(|_| ("bob", "a line to click")).collect();
    let (s, ids) = Scenario::watched(name, "/healthz", &before).await?;
    s.open(&format!("/?channel=general&author=ann&{FAST}"))
        .await?;
    s.wait_for(SOON, "Live with five", |st| {
        st.label() == "live" && st.ids.len() == 5
    })
    .await?;
    click_on(
        &s,
        &format!("li[data-message-id=\"{}\"] .dp-content", ids[2]),
    )
    .await?;
    let at = s.run_js(FOCUSED).await?;
    ensure(at["row"] == ids[2].as_str() && at["is_row"] == true, || {
        format!("the click focused: {at}")
    })?;
    let at = press(&s, &key(Key::Down)).await?;
    ensure(
        at["row"] == ids[3].as_str() && at["is_row"] == true && at["stops"] == 1,
        || format!("a click on the third row, then ArrowDown: {at}"),
    )?;
    Ok(())
}

/// The focused element's place: its row, what it is, and which of its
/// row's spoilers it is (-1 for none).
const FOCUSED_SPOILER: &str = r#"
const a = document.activeElement;
const row = a && a.closest('li[data-message-id]');
const spoilers = row ? [...row.querySelectorAll('[data-spoiler]')] : [];
return {
  row: row ? row.getAttribute('data-message-id') : null,
  reaction: a ? a.getAttribute('data-reaction') : null,
  spoiler: spoilers.indexOf(a),
  revealed: spoilers.map(s => s.hasAttribute('data-revealed')),
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_focus_stays_on_the_same_chip_or_spoiler_when_its_row_is_made_again(
) -> Result<(), Error> {
    let name = "a11y_refocus";
    let (s, ids) = Scenario::watched(
        name,
        "/healthz",
        &[("bob", "react here"), ("bob", "||one|| and ||two||")],
    )
    .await?;
    let (chips, spoilers) = (&ids[0], &ids[1]);
    s.bridge.react("general", chips, "👍", "bob", true).await?;
    s.bridge.react("general", chips, "🎉", "cy", true).await?;
    s.open(&format!("/?channel=general&author=ann&{FAST}"))
        .await?;
    s.wait_for(SOON, "Live", |st| st.label() == "live" && st.ids.len() == 2)
        .await?;
    // On 🎉, the second chip; bob takes back his only 👍.
    s.run_js(&format!(
        "document.querySelector('li[data-message-id=\"{chips}\"] [data-reaction=\"🎉\"]').focus();"
    ))
    .await?;
    s.bridge.react("general", chips, "👍", "bob", false).await?;
    let at = wait_until(SOON, "the 👍 chip gone", || async {
        let gone = s
            .run_js("return !document.querySelector('[data-reaction=\"👍\"]');")
            .await
            .ok()?;
        let at = s.run_js(FOCUSED_SPOILER).await.ok()?;
        (gone == true).then_some(at)
    })
    .await?;
    ensure(
        at["row"] == chips.as_str() && at["reaction"] == "🎉",
        || format!("the reader was on 🎉 when bob took back his 👍: {at}"),
    )?;
    // The first spoiler revealed, the focus on the second; a reaction
    // makes the row again.
    click_on(
        &s,
        &format!("li[data-message-id=\"{spoilers}\"] [data-spoiler]"),
    )
    .await?;
    s.run_js(&format!(
        "document.querySelector('li[data-message-id=\"{spoilers}\"] [data-spoiler]:not([data-revealed])').focus();"
    ))
    .await?;
    let at = s.run_js(FOCUSED_SPOILER).await?;
    ensure(at["spoiler"] == 1, || {
        format!("on the second spoiler: {at}")
    })?;
    s.bridge
        .react("general", spoilers, "👀", "cy", true)
        .await?;
    let at = wait_until(SOON, "the 👀 chip shown", || async {
        let shown = s
            .run_js("return !!document.querySelector('[data-reaction=\"👀\"]');")
            .await
            .ok()?;
        let at = s.run_js(FOCUSED_SPOILER).await.ok()?;
        (shown == true).then_some(at)
    })
    .await?;
    ensure(
        at["row"] == spoilers.as_str()
            && at["spoiler"] == 1
            && at["revealed"] == serde_json::json!([true, false]),
        || format!("after the row was made again: {at}"),
    )?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn others_reacting_to_the_focused_message_do_not_move_the_focus() -> Result<(), Error> {
    let name = "a11y_no_refocus";
    let (s, ids) = Scenario::watched(name, "/healthz", &[("bob", "read me")]).await?;
    s.open(&format!("/?channel=general&author=ann&{FAST}"))
        .await?;
    s.wait_for(SOON, "Live", |st| st.label() == "live" && st.ids.len() == 1)
        .await?;
    let id = &ids[0];
    s.run_js(&format!(
        "document.querySelector('li[data-message-id=\"{id}\"]').focus();\
         window.__focusins = 0;\
         document.querySelector('.dp-messages').addEventListener('focusin', () => window.__focusins++);"
    ))
    .await?;
    s.bridge.react("general", id, "👍", "bob", true).await?;
    s.bridge.react("general", id, "👍", "cy", true).await?;
    wait_until(SOON, "both reactions shown", || async {
        let count = s
            .run_js("return document.querySelector('[data-reaction=\"👍\"]')?.getAttribute('data-count');")
            .await
            .ok()?;
        (count == "2").then_some(())
    })
    .await?;
    let focusins = s.run_js("return window.__focusins;").await?;
    let at = s.run_js(FOCUSED).await?;
    ensure(
        focusins == 0 && at["row"] == id.as_str() && at["is_row"] == true,
        || format!("focusin events while two others reacted: {focusins}; focus: {at}"),
    )?;
    Ok(())
}

/// Records what every live region of the panel says, as
/// `[politeness, text]` in `window.__regions`: a region's text that
/// changes, and an alert put in the page.
const RECORD_REGIONS: &str = r#"
window.__regions = [];
const panel = document.querySelector('.discussion-panel');
const politeness = (r) => r.getAttribute('aria-live') || (r.getAttribute('role') === 'alert' ? 'assertive' : 'polite');
new MutationObserver((records) => {
  for (const m of records) {
    const added = [...m.addedNodes].filter(n => n.nodeType === 1 && n.matches('[role=alert]'));
    for (const alert of added) window.__regions.push([politeness(alert), alert.textContent]);
    const at = m.target.nodeType === 1 ? m.target : m.target.parentElement;
    const region = at && at.closest('[aria-live], [role=alert], [role=status]');
    if (!region || added.includes(region) || region === panel) continue;
    const said = [politeness(region), region.textContent];
    const last = window.__regions[window.__regions.length - 1];
    if (politeness(region) !== 'off' && !(last && last[0] === said[0] && last[1] === said[1]))
      window.__regions.push(said);
  }
}).observe(panel, { childList: true, characterData: true, subtree: true });
"#;

async fn regions(s: &Scenario) -> Result<Vec<(String, String)>, Error> {
    let said = s.run_js("return window.__regions;").await?;
    serde_json::from_value(said).map_err(|e| format!("window.__regions: {e}"))
}

/// What was said of being disconnected: (assertive, polite) counts.
fn disconnected(said: &[(String, String)]) -> (usize, usize) {
    let count = |how: &str| {
        (said.iter())
            .filter(|(p, text)| p == how && text.contains("Disconnected"))
            .count()
    };
    (count("assertive"), count("polite"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnected_is_said_assertively_once_and_the_other_labels_politely() -> Result<(), Error>
{
    let name = "a11y_disconnected";
    let s = Scenario::live(
        name,
        &format!("/?channel=general&author=ann&{FAST}&max_attempts=2&backoff_base_ms=300&backoff_cap_ms=300"),
    )
    .await?;
    s.run_js(RECORD_REGIONS).await?;
    // The gateway goes down: Disconnected, the panel still connected.
    s.bridge
        .set_gateway(bridge_client::Gateway::Disconnected)
        .await?;
    s.wait_label("disconnected", SOON).await?;
    s.bridge
        .set_gateway(bridge_client::Gateway::Connected)
        .await?;
    s.wait_label("live", SOON).await?;
    let said = regions(&s).await?;
    ensure(disconnected(&said) == (1, 0), || {
        format!("the gateway went down and came back: {said:?}")
    })?;
    ensure(
        said.iter()
            .any(|(p, t)| p == "polite" && t.contains("Live")),
        || format!("Live said politely: {said:?}"),
    )?;
    // The panel stops: Disconnected with Retry, said once, assertively.
    s.run_js("window.__regions = [];").await?;
    s.bridge.set_fault(Some(Fault::Reject(503))).await?;
    s.bridge.disconnect(None).await?;
    s.wait_for(SOON, "Disconnected with Retry", |st| {
        st.label() == "disconnected" && st.retry == 1
    })
    .await?;
    let said = regions(&s).await?;
    ensure(disconnected(&said).1 == 0, || {
        format!("the stop said politely: {said:?}")
    })?;
    let assertive = said.iter().filter(|(p, _)| p == "assertive").count();
    ensure(assertive == 1, || {
        format!("the stop said assertively {assertive} times: {said:?}")
    })?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_is_not_left_busy_by_an_empty_or_a_failed_older_page() -> Result<(), Error> {
    let name = "a11y_busy";
    let before: Vec<(String, String)> = (0..30)
        .map(|i| ("bob".to_owned(), format!("line {i}\nand more\nand more")))
        .collect();
    let before: Vec<(&str, &str)> = before
        .iter()
        .map(|(a, c)| (a.as_str(), c.as_str()))
        .collect();
    let (s, _) = Scenario::watched(name, "/healthz", &before).await?;
    let busy_after_top = |what: &'static str| {
        let s = &s;
        async move {
            s.run_js(RECORD).await?;
            s.run_js("document.querySelector('.dp-messages').scrollTop = 0;")
                .await?;
            wait_until(SOON, "aria-busy while the page is asked for", || async {
                let busy: Vec<Value> =
                    serde_json::from_value(s.run_js("return window.__busy;").await.ok()?).ok()?;
                busy.contains(&Value::from("true")).then_some(())
            })
            .await?;
            let result = wait_until(Duration::from_secs(8), what, || async {
                let busy = s
                    .run_js(
                        "return document.querySelector('.dp-messages').getAttribute('aria-busy');",
                    )
                    .await
                    .ok()?;
                busy.is_null().then_some(())
            })
            .await;
            result.map_err(|e| format!("{e}: still aria-busy=\"true\""))
        }
    };
    // Every message held: the page before is empty.
    s.open(&format!(
        "/?channel=general&author=ann&history_limit=30&page_limit=30&{FAST}"
    ))
    .await?;
    s.wait_for(SOON, "Live with all 30", |st| {
        st.label() == "live" && st.ids.len() == 30
    })
    .await?;
    busy_after_top("not busy after an empty older page").await?;
    // The page before fails (the browser blocks it).
    s.open(&format!(
        "/?channel=general&author=ann&history_limit=10&page_limit=10&{FAST}"
    ))
    .await?;
    s.wait_for(SOON, "Live with 10", |st| {
        st.label() == "live" && st.ids.len() == 10
    })
    .await?;
    s.browser
        .cdp("Network.enable", serde_json::json!({}))
        .await?;
    s.browser
        .cdp(
            "Network.setBlockedURLs",
            serde_json::json!({ "urls": ["*before=*"] }),
        )
        .await?;
    let failed = busy_after_top("not busy after a failed older page").await;
    s.browser
        .cdp("Network.setBlockedURLs", serde_json::json!({ "urls": [] }))
        .await?;
    failed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panels_own_buttons_hand_the_focus_on_when_they_go() -> Result<(), Error> {
    let name = "a11y_button_focus";
    let before: Vec<(String, String)> = (0..40)
        .map(|i| ("bob".to_owned(), format!("line {i}")))
        .collect();
    let before: Vec<(&str, &str)> = before
        .iter()
        .map(|(a, c)| (a.as_str(), c.as_str()))
        .collect();
    let (s, _) = Scenario::watched(name, "/healthz", &before).await?;
    s.open(&format!(
        "/?channel=general&author=ann&{FAST}&max_attempts=2&backoff_base_ms=300&backoff_cap_ms=300"
    ))
    .await?;
    s.wait_label("live", SOON).await?;
    let focused_is = |what: &'static str| {
        let s = &s;
        async move {
            s.run_js(&format!(
                "const a = document.activeElement; return a === document.body ? 'body' : a.matches('{what}');"
            ))
            .await
        }
    };
    // "N new messages", pressed by keyboard: the newest row takes the focus.
    // (The scroll event at once: the panel knows the reader is up before
    // the message comes.)
    s.run_js("const l = document.querySelector('.dp-messages'); l.scrollTop = 0; l.dispatchEvent(new Event('scroll'));")
        .await?;
    let newest = s.bridge.inject("general", "cy", "below").await?;
    wait_until(SOON, "the new-messages button", || async {
        let shown = s
            .run_js("return !document.querySelector('[data-action=\"jump-to-newest\"]').hidden;")
            .await
            .ok()?;
        (shown == true).then_some(())
    })
    .await?;
    s.run_js("document.querySelector('[data-action=\"jump-to-newest\"]').focus();")
        .await?;
    press(&s, &key(Key::Enter)).await?;
    let at = wait_until(SOON, "the button hidden", || async {
        let hidden = s
            .run_js("return document.querySelector('[data-action=\"jump-to-newest\"]').hidden;")
            .await
            .ok()?;
        let at = s.run_js(FOCUSED).await.ok()?;
        (hidden == true).then_some(at)
    })
    .await?;
    ensure(
        at["row"] == newest.as_str() && at["is_row"] == true && at["stops"] == 1,
        || format!("after \"1 new message\" by keyboard: {at}"),
    )?;
    // A refused reply's Edit, by keyboard: the composer.
    s.run_js("document.querySelector('discussion-panel').send('x'.repeat(4001));")
        .await?;
    wait_until(SOON, "the refused reply", || async {
        let shown = s
            .run_js("return !!document.querySelector('li[data-state=\"failed\"] [data-action=\"edit\"]');")
            .await
            .ok()?;
        (shown == true).then_some(())
    })
    .await?;
    s.run_js("document.querySelector('li[data-state=\"failed\"] [data-action=\"edit\"]').focus();")
        .await?;
    press(&s, &key(Key::Enter)).await?;
    let on = wait_until(SOON, "the refused reply taken back", || async {
        let gone = s
            .run_js("return !document.querySelector('li[data-state=\"failed\"]');")
            .await
            .ok()?;
        let on = focused_is("textarea[data-action=\"compose\"]").await.ok()?;
        (gone == true).then_some(on)
    })
    .await?;
    ensure(on == true, || {
        format!("after Edit on the refused reply, the composer has the focus: {on}")
    })?;
    // Retry, by keyboard: the composer.
    s.bridge.set_fault(Some(Fault::Reject(503))).await?;
    s.bridge.disconnect(None).await?;
    s.wait_for(SOON, "Disconnected with Retry", |st| st.retry == 1)
        .await?;
    s.bridge.set_fault(None).await?;
    s.run_js("document.querySelector('[data-action=\"retry\"]').focus();")
        .await?;
    press(&s, &key(Key::Enter)).await?;
    s.wait_for(SOON, "Retry gone", |st| st.retry == 0).await?;
    let on = focused_is("textarea[data-action=\"compose\"]").await?;
    ensure(on == true, || {
        format!("after Retry, the composer has the focus: {on}")
    })?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reply_is_announced() -> Result<(), Error> {
    let name = "a11y_refused";
    let s = Scenario::live(name, &format!("/?channel=general&author=ann&{FAST}")).await?;
    s.run_js(RECORD).await?;
    s.run_js("document.querySelector('discussion-panel').send('x'.repeat(4001));")
        .await?;
    let heard = wait_until(SOON, "the refusal announced", || async {
        let said = said(&s).await.ok()?;
        said.iter().find(|t| t.starts_with("Not sent: ")).cloned()
    })
    .await;
    let heard = heard.map_err(|e| format!("{e}: nothing said of the refused reply"))?;
    ensure(heard.len() > "Not sent: ".len(), || {
        format!("the refusal says why: {heard}")
    })?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_forced_colors_the_readers_own_reaction_differs_by_more_than_colour() -> Result<(), Error>
{
    let name = "a11y_forced_chip";
    let (s, ids) = Scenario::watched(name, "/healthz", &[("bob", "chips")]).await?;
    s.bridge
        .react("general", &ids[0], "👍", "ann", true)
        .await?;
    s.bridge
        .react("general", &ids[0], "🎉", "bob", true)
        .await?;
    s.open(&format!("/?channel=general&author=ann&{FAST}"))
        .await?;
    s.wait_for(SOON, "Live", |st| st.label() == "live" && st.ids.len() == 1)
        .await?;
    s.browser.emulate("light", "active").await?;
    let styles = s
        .run_js(
            "const look = (sel) => { const c = getComputedStyle(document.querySelector(sel));\
             return ['borderTopStyle', 'borderTopWidth', 'outlineStyle', 'outlineWidth', 'fontWeight', 'textDecorationLine']\
               .map(p => p + '=' + c[p]).join(' '); };\
             return [look('[aria-pressed=\"true\"]'), look('[aria-pressed=\"false\"]'), matchMedia('(forced-colors: active)').matches];",
        )
        .await?;
    ensure(styles[2] == true, || "forced colors not emulated".into())?;
    ensure(styles[0] != styles[1], || {
        format!(
            "in forced colors, pressed and not pressed chips look alike but for colour: {styles}"
        )
    })?;
    Ok(())
}

/// With `A11Y_UNDO` set, puts back what the reflow fix changed (to see the
/// test fail without rebuilding the panel; through the CSSOM, which the
/// bridge's Content-Security-Policy allows, unlike a `<style>`).
const UNDO_REFLOW: &str = "for (const e of document.querySelectorAll('.dp-attachments, .dp-author')) e.style.setProperty('overflow-wrap', 'normal', 'important');";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_reflows_at_320_px_and_at_200_percent_zoom() -> Result<(), Error> {
    let name = "a11y_reflow";
    let author = "abcdefghijklmnopqrstuvwxyzabcdef"; // 32 characters, unbroken
    let file: String = "longfilename".repeat(12) + ".pdf";
    let page = format!("/host.html?channel=general&author=ann&{FAST}");
    let s = Scenario::live(name, &page).await?;
    s.bridge
        .post_json(
            "general",
            serde_json::json!({
                "author": author,
                "content": "a file",
                "attachments": [{ "filename": file, "size": 1234, "url": "https://example.com/f.pdf" }],
            }),
        )
        .await?;
    wait_until(SOON, "the file shown", || async {
        let shown = s
            .run_js("return !!document.querySelector('.dp-attachments a');")
            .await
            .ok()?;
        (shown == true).then_some(())
    })
    .await?;
    if std::env::var_os("A11Y_UNDO").is_some() {
        s.run_js(UNDO_REFLOW).await?;
    }
    // A 320 CSS px sidebar; then a 640 device px one at 200% zoom (320 CSS
    // px at twice the pixels).
    for (scale, what) in [(1, "320 CSS px"), (2, "200% zoom")] {
        s.browser
            .cdp(
                "Emulation.setDeviceMetricsOverride",
                serde_json::json!({ "width": 1000, "height": 760, "deviceScaleFactor": scale, "mobile": false }),
            )
            .await?;
        s.run_js(
            "document.querySelector('.host-note').hidden = true;\
             Object.assign(document.getElementById('panel-host').style, { width: '320px', height: '640px', margin: '0' });",
        )
        .await?;
        let sizes = s
            .run_js(
                "const l = document.querySelector('.dp-messages');\
                 const p = document.querySelector('.discussion-panel');\
                 return [l.scrollWidth, l.clientWidth, p.scrollWidth, p.clientWidth, p.getBoundingClientRect().width];",
            )
            .await?;
        ensure(
            sizes[0].as_u64() <= sizes[1].as_u64()
                && sizes[2].as_u64() <= sizes[3].as_u64()
                && sizes[4].as_f64() <= Some(320.5),
            || format!("at {what}, [list scroll, client, panel scroll, client, width] = {sizes}"),
        )?;
    }
    Ok(())
}

/// Switches the demo page's channel to `design` as soon as the list shows
/// two rows, in the same frame (the burst they make is still pending).
const SWITCH_ON_TWO: &str = r#"
const list = document.querySelector('.dp-messages');
window.__switched = null;
new MutationObserver(() => {
  if (window.__switched === null && list.querySelectorAll('li[data-message-id]').length >= 2) {
    window.__switched = window.__said.length;
    const picker = document.querySelector('[data-action="switch-channel"]');
    picker.value = 'design';
    picker.dispatchEvent(new Event('change'));
  }
}).observe(list, { childList: true });
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_pending_when_the_channel_changes_is_not_announced_in_the_next() -> Result<(), Error>
{
    let name = "a11y_switch_pending";
    let s = Scenario::live(name, &format!("/?channel=general&author=ann&{FAST}")).await?;
    s.run_js(RECORD).await?;
    s.run_js(SWITCH_ON_TWO).await?;
    s.bridge.inject("general", "bob", "one").await?;
    s.bridge.inject("general", "bob", "two").await?;
    s.wait_for(SOON, "the design channel, Live", |st| {
        st.channel.as_deref() == Some("design") && st.label() == "live"
    })
    .await?;
    let at_switch = s.run_js("return window.__switched;").await?;
    ensure(at_switch == 0, || {
        format!("the general burst was said before the switch: {at_switch}")
    })?;
    s.bridge.inject("design", "bob", "three").await?;
    let heard = said_count(&s, 1, "the design message announced").await?;
    ensure(heard == ["1 new message"], || {
        format!("after two in general, a switch and one in design: {heard:?}")
    })?;
    Ok(())
}

/// Sets the page's wall clock an hour back (`Date.now`, as a reader or NTP
/// may) in the frame that shows the first row: a burst is then pending.
const CLOCK_BACK_ON_FIRST_ROW: &str = r#"
const list = document.querySelector('.dp-messages');
const now = Date.now;
new MutationObserver(() => {
  if (list.querySelector('li[data-message-id]') && Date.now === now) {
    Date.now = () => now.call(Date) - 3600000;
  }
}).observe(list, { childList: true });
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_clock_set_back_does_not_hold_an_announcement_back() -> Result<(), Error> {
    let name = "a11y_clock_back";
    let s = Scenario::live(name, &format!("/?channel=general&author=ann&{FAST}")).await?;
    s.run_js(RECORD).await?;
    s.run_js(CLOCK_BACK_ON_FIRST_ROW).await?;
    s.bridge.inject("general", "bob", "one").await?;
    let heard = said_count(&s, 1, "the message announced, the clock set back an hour").await?;
    ensure(heard == ["1 new message"], || format!("said: {heard:?}"))?;
    Ok(())
}

/// The one moving thing in the panel, the Reconnecting dot's pulse, stops
/// for a reader who asks for less motion, and pulses for the others (so
/// the check can fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_who_asks_for_less_motion_gets_no_pulse() -> Result<(), Error> {
    let name = "a11y_reduced_motion";
    let s = Scenario::live(
        name,
        &format!("/?channel=general&author=ann&{FAST}&max_attempts=50"),
    )
    .await?;
    s.bridge.set_fault(Some(Fault::Reject(503))).await?;
    s.bridge.disconnect(None).await?;
    s.wait_label("reconnecting", SOON).await?;
    let animation = || async {
        let found = s
            .run_js(
                "const dot = document.querySelector('[data-connection-status=\"reconnecting\"] .dp-dot');
                 return dot ? getComputedStyle(dot).animationName : null;",
            )
            .await?;
        Ok::<_, Error>(found.as_str().unwrap_or("(no dot)").to_owned())
    };
    let moving = animation().await?;
    ensure(moving != "none" && moving != "(no dot)", || {
        format!("without a preference the dot pulses: {moving:?}")
    })?;
    s.browser.emulate_motion("reduce").await?;
    let still = animation().await?;
    ensure(still == "none", || {
        format!("asked for less motion, the dot's animation is {still:?}")
    })
}
