//! Embedding, through the panel-only build: `<discussion-panel>` in a plain
//! HTML host page (`web/host.html`), the events it tells the host, unread
//! counts, and signing in (a token that expires mid-stream; cookies for a
//! bridge on another origin). Real Chromium, real bridge.

use e2e::bridge::BridgeOptions;
use e2e::panel::{ensure, exactly_once_in_order, Scenario, FAST};
use e2e::{wait_until, Error};
use serde_json::{json, Value};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(10);

fn bridge() -> BridgeOptions {
    BridgeOptions::new(e2e::bridge::binary())
}

/// The events the host page heard, in order, as `{type, detail, from}`.
async fn events(s: &Scenario) -> Result<Vec<Value>, Error> {
    let events = s.run_js("return window.panelEvents || [];").await?;
    Ok(events.as_array().cloned().unwrap_or_default())
}

async fn wait_event(
    s: &Scenario,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Result<Vec<Value>, Error> {
    let check = &check;
    let found = wait_until(SOON, what, || async move {
        let all = events(s).await.ok()?;
        all.iter().any(check).then_some(all)
    })
    .await;
    match found {
        Ok(all) => Ok(all),
        Err(timeout) => Err(format!(
            "{}\n  events: {:?}",
            s.report(&timeout).await,
            events(s).await
        )),
    }
}

fn is(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |event| event["type"] == kind
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_custom_element_takes_its_attributes_and_tells_the_host_everything() -> Result<(), Error>
{
    let name = "the_custom_element_takes_its_attributes_and_tells_the_host_everything";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let mut history = Vec::new();
    for n in 0..3 {
        history.push(
            s.bridge
                .inject("general", "ann", &format!("before {n}"))
                .await?,
        );
    }
    s.open(&format!(
        "/host.html?channel=general&history_limit=2&{FAST}"
    ))
    .await?;
    let state = s.wait_label("live", SOON).await?;
    // The attribute reached the engine: only the newest two were loaded.
    ensure(state.ids == history[1..], || {
        format!("history shown: {:?}", state.ids)
    })?;
    let all = wait_event(&s, "statuschange to live", |e| {
        e["type"] == "statuschange" && e["detail"]["status"] == "live"
    })
    .await?;
    let live = all
        .iter()
        .find(|e| e["detail"]["status"] == "live")
        .unwrap();
    ensure(
        live["detail"]["reason"].is_null() && live["from"] == "discussion-panel",
        || format!("the live event: {live}"),
    )?;
    ensure(!all.iter().any(is("message")), || {
        format!("the history load was announced as new messages: {all:?}")
    })?;
    // A live message: shown, and told to the host with its fields.
    let id = s.bridge.inject("general", "bob", "a live one").await?;
    s.wait_for(SOON, "the live message", |st| st.ids.contains(&id))
        .await?;
    let all = wait_event(&s, "a message event", is("message")).await?;
    let messages: Vec<&Value> = all.iter().filter(|e| is("message")(e)).collect();
    ensure(messages.len() == 1, || {
        format!("message events: {messages:?}")
    })?;
    let message = &messages[0]["detail"]["message"];
    ensure(
        message["id"] == id.as_str()
            && message["author"] == "bob"
            && message["content"] == "a live one"
            && message["channel_id"] == "general",
        || format!("the message event's detail: {message}"),
    )?;
    // Changing `channel` switches streams cleanly.
    let design = s.bridge.inject("design", "cy", "design talk").await?;
    s.run_js("document.querySelector('discussion-panel').setChannel('design');")
        .await?;
    s.wait_for(SOON, "the design channel, live, with its history", |st| {
        st.channel.as_deref() == Some("design")
            && st.label() == "live"
            && st.ids == [design.clone()]
    })
    .await?;
    s.streams_become(&["design"], SOON).await?;
    // Another option: the panel mounts again with it, still one stream.
    s.run_js("document.querySelector('discussion-panel').setAttribute('max-attempts', '3');")
        .await?;
    s.wait_label("live", SOON).await?;
    s.streams_become(&["design"], SOON).await?;
    // Removing the element releases everything.
    s.run_js("document.querySelector('discussion-panel').remove();")
        .await?;
    s.streams_become(&[], SOON).await?;
    let state = s.state().await?;
    ensure(state.statuses == 0, || {
        "the panel stayed in the page".into()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_counts_what_arrives_while_scrolled_up_or_hidden() -> Result<(), Error> {
    let name = "unread_counts_what_arrives_while_scrolled_up_or_hidden";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    for n in 0..40 {
        s.bridge
            .inject("general", "ann", &format!("filler {n}"))
            .await?;
    }
    s.open(&format!("/host.html?channel=general&{FAST}"))
        .await?;
    s.wait_for(SOON, "live with the history", |st| {
        st.label() == "live" && st.ids.len() == 40
    })
    .await?;
    let unread = || async {
        let all = events(&s).await.unwrap_or_default();
        let counts: Vec<i64> = (all.iter())
            .filter(|e| is("unreadchange")(e))
            .filter_map(|e| e["detail"]["count"].as_i64())
            .collect();
        counts
    };
    // Scrolled up to read: what arrives is unread.
    s.run_js("const l = document.querySelector('.dp-messages'); l.scrollTop = 0; l.dispatchEvent(new Event('scroll'));").await?;
    let first = s
        .bridge
        .inject("general", "bob", "while scrolled up")
        .await?;
    s.wait_for(SOON, "the message", |st| st.ids.contains(&first))
        .await?;
    s.bridge.inject("general", "bob", "and another").await?;
    let counted = wait_until(SOON, "unread 1 then 2", || async {
        (unread().await == [1, 2]).then_some(())
    })
    .await;
    counted?;
    // One of them is deleted: nothing left to read there.
    s.bridge.delete("general", &first).await?;
    wait_until(SOON, "unread 1 once one of the two is deleted", || async {
        (unread().await == [1, 2, 1]).then_some(())
    })
    .await?;
    // Back at the bottom: seen.
    s.run_js("const l = document.querySelector('.dp-messages'); l.scrollTop = l.scrollHeight; l.dispatchEvent(new Event('scroll'));").await?;
    wait_until(SOON, "unread back to 0", || async {
        (unread().await == [1, 2, 1, 0]).then_some(())
    })
    .await?;
    // Another tab in front: this page is hidden, and what arrives is unread
    // until the reader comes back.
    let host = s.this_tab().await?;
    s.open_tab("/healthz").await?;
    let hidden = s.bridge.inject("general", "bob", "while hidden").await?;
    // Give the hidden tab the time it needs to show it: its events are read
    // once it is back in front (reading would bring it to the front).
    let shown_in_other_tab = wait_until(SOON, "a moment for the hidden tab", || async {
        let report = s.bridge.api.connections().await.ok()?;
        let at = report.active.first()?.last_event_id.clone();
        (at == hidden).then_some(())
    })
    .await;
    shown_in_other_tab?;
    s.to_tab(&host).await?;
    s.wait_for(SOON, "the message that came while hidden", |st| {
        st.ids.contains(&hidden)
    })
    .await?;
    wait_until(SOON, "unread 1 while hidden, then 0 once back", || async {
        (unread().await == [1, 2, 1, 0, 1, 0]).then_some(())
    })
    .await
    .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_stops_the_panel_and_a_refreshed_one_brings_it_back() -> Result<(), Error>
{
    let name = "an_expired_token_stops_the_panel_and_a_refreshed_one_brings_it_back";
    let options = bridge().with_users("tok-first-e2e Alice\n");
    let s = Scenario::start(name, options, "/healthz").await?;
    s.open(&format!(
        "/host.html?channel=general&token=tok-first-e2e&{FAST}"
    ))
    .await?;
    s.wait_label("live", SOON).await?;
    let before = s.bridge.inject("general", "bob", "before expiry").await?;
    s.wait_for(SOON, "the first message", |st| st.ids.contains(&before))
        .await?;
    let report = s.bridge.api.connections().await?;
    ensure(format!("{report:?}").contains("Alice"), || {
        format!("who streams: {report:?}")
    })?;
    // The sign-in expires: the bridge ends the stream and refuses the token.
    let client = reqwest::Client::new();
    let revoked: Value = client
        .delete(s.bridge.url("/internal/users"))
        .json(&json!({ "token": "tok-first-e2e" }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    ensure(revoked["closed"] == 1, || format!("revoking: {revoked}"))?;
    let state = s
        .wait_for(
            SOON,
            "Disconnected, with the sign-in sentence and Retry",
            |st| st.label() == "disconnected" && st.retry == 1,
        )
        .await?;
    let text = s
        .run_js("return document.querySelector('.dp-error-text').textContent;")
        .await?;
    ensure(text == "Your sign-in has expired.", || {
        format!("the error line: {text} ({state:?})")
    })?;
    wait_event(&s, "authexpired", is("authexpired")).await?;
    let missed = s
        .bridge
        .inject("general", "bob", "while signed out")
        .await?;
    // The host signs in again and retries.
    client
        .put(s.bridge.url("/internal/users"))
        .json(&json!({ "token": "tok-second-e2e", "name": "Alice" }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    s.run_js(
        "window.panelToken = 'tok-second-e2e'; document.querySelector('discussion-panel').retry();",
    )
    .await?;
    let state = s
        .wait_for(SOON, "Live again with the missed message", |st| {
            st.label() == "live" && st.ids.contains(&missed)
        })
        .await?;
    exactly_once_in_order(&state.ids, &[before, missed])?;
    let report = s.bridge.api.connections().await?;
    ensure(report.active.len() == 1, || format!("streams: {report:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_sign_in_to_a_bridge_on_another_origin_with_credentials() -> Result<(), Error> {
    let name = "cookies_sign_in_to_a_bridge_on_another_origin_with_credentials";
    let host = e2e::serve_dist().await;
    let origin = format!("http://127.0.0.1:{host}");
    let options = bridge().with_users("tok-cookie-e2e Carol\n").with_args(&[
        "--allowed-origins",
        &origin,
        "--allow-credentials",
    ]);
    let s = Scenario::start(name, options, "/healthz").await?;
    let id = s
        .bridge
        .inject("general", "dan", "for signed-in eyes")
        .await?;
    // The host's sign-in left a cookie for the bridge (same site, another port).
    s.browser
        .cdp(
            "Network.setCookie",
            json!({ "name": "dp_token", "value": "tok-cookie-e2e", "url": s.bridge.url("/") }),
        )
        .await?;
    let page = |credentials: &str| {
        format!(
            "{origin}/host.html?channel=general&bridge_url={}&{credentials}{FAST}",
            s.bridge.url("")
        )
    };
    // Without credentials the cookie stays home: the bridge says 401.
    s.browser
        .client
        .goto(&page(""))
        .await
        .map_err(|e| e.to_string())?;
    s.wait_for(SOON, "Disconnected without the cookie", |st| {
        st.label() == "disconnected"
    })
    .await?;
    wait_event(&s, "authexpired", is("authexpired")).await?;
    // With them, the stream and the fetches carry it.
    s.browser
        .client
        .goto(&page("with_credentials=true&"))
        .await
        .map_err(|e| e.to_string())?;
    s.wait_for(SOON, "Live with the history, signed in by cookie", |st| {
        st.label() == "live" && st.ids == [id.clone()]
    })
    .await?;
    let report = s.bridge.api.connections().await?;
    ensure(format!("{report:?}").contains("Carol"), || {
        format!("who streams: {report:?}")
    })?;
    Ok(())
}

/// A host that knows its proxy buffers starts the panel on long polling
/// (`polling`): the status it hears says so, and messages come by polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_can_start_the_panel_on_polling_and_hears_the_transport() -> Result<(), Error> {
    let name = "a_host_can_start_the_panel_on_polling";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    s.open(&format!("/host.html?channel=general&polling=on&{FAST}"))
        .await?;
    let all = wait_event(&s, "statuschange to live by polling", |e| {
        e["type"] == "statuschange"
            && e["detail"]["status"] == "live"
            && e["detail"]["transport"] == "polling"
    })
    .await?;
    ensure(
        all.iter()
            .filter(|e| e["type"] == "statuschange")
            .all(|e| e["detail"]["transport"] == "polling"),
        || format!("a status said another transport: {all:?}"),
    )?;
    ensure(s.bridge.active_streams().await?.is_empty(), || {
        "polling opens no stream".into()
    })?;
    let id = s.bridge.inject("general", "bob", "by a poll").await?;
    s.wait_for(SOON, "the message by polling", |st| st.ids.contains(&id))
        .await
        .map(|_| ())
}

/// The same short timings as [`FAST`], for the JS API's camelCase options.
const FAST_CAMEL: &str =
    "backoffBaseMs=150&backoffCapMs=600&stabilityWindowMs=1500&initialWatchdogMs=3000";

/// Every panel of the page: its channel and label.
const PANELS: &str = r#"return [...document.querySelectorAll('.discussion-panel')].map((p) => [
  p.getAttribute('data-channel'),
  p.querySelector('[data-connection-status]').getAttribute('data-connection-status'),
]);"#;

async fn panels(s: &Scenario) -> Result<Vec<(String, String)>, Error> {
    let value = s.run_js(PANELS).await?;
    serde_json::from_value(value).map_err(|e| format!("unexpected panels: {e}"))
}

/// Waits until the page shows exactly the panels of `channels`, each Live.
async fn all_live(s: &Scenario, channels: &[String], what: &str) -> Result<(), Error> {
    let mut expected: Vec<(String, String)> = (channels.iter())
        .map(|c| (c.clone(), "live".to_owned()))
        .collect();
    expected.sort();
    let found = wait_until(SOON, what, || async {
        let mut shown = panels(s).await.ok()?;
        shown.sort();
        (shown == expected).then_some(())
    })
    .await;
    match found {
        Ok(()) => Ok(()),
        Err(timeout) => Err(format!("{timeout}: shown {:?}", panels(s).await)),
    }
}

/// Issue 31, item 21: `mountDiscussionPanel(el, {...})` as a one-liner,
/// the handle not kept: each panel stays mounted through garbage
/// collections until `unmount()` or until its element leaves the document
/// (a move within the page is no leaving).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panels_whose_handles_are_not_kept_stay_until_their_element_leaves() -> Result<(), Error> {
    let name = "panels_whose_handles_are_not_kept_stay_until_their_element_leaves";
    let s = Scenario::live(name, &format!("/embed.html?channel=general&{FAST_CAMEL}")).await?;
    let script = format!(
        r#"const done = arguments[arguments.length - 1];
        import('/discussion-panel.js').then((m) => {{
          const options = Object.fromEntries(new URLSearchParams('{FAST_CAMEL}'));
          for (let n = 0; n < 20; n++) {{
            const host = document.createElement('div');
            host.id = 'host-c' + n;
            document.body.append(host);
            m.mountDiscussionPanel(host, {{ ...options, channel: 'c' + n }});
          }}
          done('mounted');
        }}).catch((e) => done(String(e)));"#
    );
    let answer = (s.browser.client.execute_async(&script, vec![]).await)
        .map_err(|e| format!("mounting twenty panels: {e}"))?;
    ensure(answer == "mounted", || format!("mounting: {answer}"))?;
    let gc = || s.browser.cdp("HeapProfiler.collectGarbage", json!({}));
    gc().await?;
    let mut channels: Vec<String> = (0..20).map(|n| format!("c{n}")).collect();
    channels.push("general".into());
    all_live(
        &s,
        &channels,
        "twenty-one panels Live after a garbage collection",
    )
    .await?;
    gc().await?;
    let id = s.bridge.inject("c7", "bob", "to the eighth").await?;
    s.wait_for(SOON, "the message in its panel", |st| st.ids.contains(&id))
        .await?;
    all_live(&s, &channels, "every panel still Live after another").await?;
    let mut sorted = channels.clone();
    sorted.sort();
    s.streams_become(&[&sorted.join(",")], SOON).await?;
    // Moved within the page: still mounted. Removed: released.
    s.run_js("const h = document.getElementById('host-c3'); h.remove(); document.body.prepend(h);")
        .await?;
    s.run_js("document.getElementById('host-c19').remove();")
        .await?;
    channels.retain(|c| c != "c19");
    all_live(
        &s,
        &channels,
        "the panel of the removed element gone, the others Live",
    )
    .await?;
    sorted.retain(|c| c != "c19");
    s.streams_become(&[&sorted.join(",")], SOON).await
}
