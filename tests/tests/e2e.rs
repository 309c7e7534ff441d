//! End-to-end: the real panel in headless Chromium against the real bridge.
//! Each test has its own bridge process and browser; waits have deadlines.

use bridge_client::{Fault, Gateway};
use e2e::bridge::BridgeOptions;
use e2e::browser::CAPTURE_PANEL_LOG;
use e2e::panel::{ensure, exactly_once_in_order, Scenario, FAST};
use e2e::{wait_until, Error};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(10);

/// The same short timings as [`FAST`], for the JS API's camelCase options.
const FAST_CAMEL: &str =
    "backoffBaseMs=150&backoffCapMs=600&stabilityWindowMs=1500&initialWatchdogMs=3000";

fn bridge() -> BridgeOptions {
    BridgeOptions::new(e2e::bridge::binary())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_load_shows_history_in_order_and_goes_live() -> Result<(), Error> {
    let name = "first_load_shows_history_in_order_and_goes_live";
    let s = Scenario::start(name, bridge(), "/").await?;
    // The bridge starts empty: seed history through the control API, then load the page.
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            s.bridge
                .inject("general", "alice", &format!("history {i}"))
                .await?,
        );
    }
    s.open(&format!("/?channel=general&{FAST}")).await?;
    let state = s
        .wait_for(SOON, "five messages and Live", |st| {
            st.ids.len() == 5 && st.label() == "live"
        })
        .await?;
    ensure(state.ids == ids, || {
        format!("history out of order: {:?} vs {ids:?}", state.ids)
    })?;
    ensure(state.text.as_deref() == Some("Live"), || {
        format!("visible label {:?}", state.text)
    })?;
    ensure(
        state.statuses == 1 && state.role.as_deref() == Some("status"),
        || format!("status element: {state:?}"),
    )?;
    ensure(state.retry == 0, || "Retry shown while live".into())?;
    ensure(state.channel.as_deref() == Some("general"), || {
        format!("data-channel {:?}", state.channel)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_message_is_shown_once_in_order() -> Result<(), Error> {
    let name = "a_live_message_is_shown_once_in_order";
    let s = Scenario::live(name, &format!("/?channel=general&{FAST}")).await?;
    let first = s.bridge.inject("general", "bob", "first live").await?;
    let second = s.bridge.inject("general", "carol", "second live").await?;
    let other = s.bridge.inject("design", "erin", "another channel").await?;
    let state = s
        .wait_for(SOON, "both live messages", |st| st.ids.contains(&second))
        .await?;
    exactly_once_in_order(&state.ids, &[first.clone(), second.clone()])?;
    ensure(!state.ids.contains(&other), || {
        "a message of another channel was shown".into()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_states_fold_into_the_label() -> Result<(), Error> {
    let name = "gateway_states_fold_into_the_label";
    let s = Scenario::live(name, &format!("/?channel=general&{FAST}")).await?;
    s.bridge.set_gateway(Gateway::Reconnecting).await?;
    s.wait_label("reconnecting", SOON).await?;
    s.bridge.set_gateway(Gateway::Disconnected).await?;
    let state = s.wait_label("disconnected", SOON).await?;
    ensure(state.retry == 0, || {
        "Retry shown for an upstream outage the panel cannot fix".into()
    })?;
    ensure(state.text.as_deref() == Some("Disconnected"), || {
        format!("visible label {:?}", state.text)
    })?;
    let during = s
        .bridge
        .inject("general", "alice", "sent during the outage")
        .await?;
    s.bridge.set_gateway(Gateway::Connected).await?;
    let state = s
        .wait_for(SOON, "Live with the outage's message", |st| {
            st.label() == "live" && st.ids.contains(&during)
        })
        .await?;
    exactly_once_in_order(&state.ids, &[during])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zombie_stream_is_detected_and_replaced() -> Result<(), Error> {
    let name = "a_zombie_stream_is_detected_and_replaced";
    let s = Scenario::live(name, &format!("/?channel=general&{FAST}")).await?;
    s.record_labels().await?;
    let before = s.bridge.connections_opened().await?;
    s.bridge.pause_heartbeats(true).await?;
    // Heartbeats every 0.3 s: the watchdog deadline is 0.75 s. Allow generous slack
    // for a loaded machine; the benchmark measures the accuracy.
    s.wait_label("reconnecting", Duration::from_secs(4)).await?;
    s.bridge.pause_heartbeats(false).await?;
    s.wait_label("live", SOON).await?;
    let after = s.bridge.connections_opened().await?;
    ensure(after > before, || {
        format!("no new stream was opened ({before} → {after})")
    })?;
    let labels = s.labels_seen().await?;
    ensure(
        labels.starts_with(&["live".into(), "reconnecting".into()]),
        || format!("labels {labels:?}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_drop_reconnects_and_loses_nothing() -> Result<(), Error> {
    let name = "a_server_drop_reconnects_and_loses_nothing";
    let s = Scenario::live(name, &format!("/?channel=general&{FAST}")).await?;
    let mut expected = vec![s.bridge.inject("general", "a", "before").await?];
    s.record_labels().await?;
    let closed = s.bridge.disconnect(Some("general")).await?;
    ensure(closed == 1, || {
        format!("{closed} streams closed, expected 1")
    })?;
    for i in 0..5 {
        expected.push(
            s.bridge
                .inject("general", "b", &format!("while reconnecting {i}"))
                .await?,
        );
    }
    let last = expected.last().cloned().unwrap_or_default();
    let state = s
        .wait_for(SOON, "Live with every message", |st| {
            st.label() == "live" && st.ids.contains(&last)
        })
        .await?;
    exactly_once_in_order(&state.ids, &expected)?;
    let labels = s.labels_seen().await?;
    ensure(labels.contains(&"reconnecting".to_owned()), || {
        format!("never showed Reconnecting: {labels:?}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_and_restarted_bridge_loses_nothing() -> Result<(), Error> {
    let name = "a_killed_and_restarted_bridge_loses_nothing";
    let options = bridge().with_history_file();
    let mut s = Scenario::live_on(name, options, &format!("/?channel=general&{FAST}")).await?;
    for i in 0..3 {
        s.bridge
            .inject("general", "a", &format!("before the crash {i}"))
            .await?;
    }
    s.wait_for(SOON, "three messages", |st| st.ids.len() == 3)
        .await?;
    s.bridge.kill();
    s.wait_label("reconnecting", SOON).await?;
    s.bridge.restart().await?;
    for i in 0..3 {
        s.bridge
            .inject("general", "b", &format!("after the restart {i}"))
            .await?;
    }
    let all = s.bridge.history_ids("general").await?;
    ensure(all.len() == 6, || {
        format!("the history file kept {} of 6 messages", all.len())
    })?;
    let last = all.last().cloned().unwrap_or_default();
    let state = s
        .wait_for(Duration::from_secs(20), "Live with all six", |st| {
            st.label() == "live" && st.ids.contains(&last)
        })
        .await?;
    exactly_once_in_order(&state.ids, &all)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_browser_gives_up_the_panel_stops_and_retry_recovers() -> Result<(), Error> {
    let name = "when_the_browser_gives_up_the_panel_stops_and_retry_recovers";
    let s = Scenario::start(
        name,
        bridge(),
        &format!("/?channel=general&{FAST}&max_attempts=3"),
    )
    .await?;
    s.wait_label("live", SOON).await?;
    s.bridge.set_fault(Some(Fault::Reject(503))).await?;
    s.bridge.disconnect(None).await?;
    let missed = s
        .bridge
        .inject("general", "a", "sent while refused")
        .await?;
    let state = s
        .wait_for(SOON, "Disconnected with Retry", |st| {
            st.label() == "disconnected" && st.retry == 1
        })
        .await?;
    ensure(!state.ids.contains(&missed), || {
        "shown without a stream?".into()
    })?;
    s.bridge.set_fault(None).await?;
    s.click_retry().await?;
    let state = s
        .wait_for(SOON, "Live again, history complete", |st| {
            st.label() == "live" && st.ids.contains(&missed)
        })
        .await?;
    ensure(state.retry == 0, || "Retry still shown".into())?;
    exactly_once_in_order(&state.ids, &[missed])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zombie_upstream_that_never_recovers_ends_disconnected_with_retry() -> Result<(), Error> {
    let name = "a_zombie_upstream_that_never_recovers_ends_disconnected_with_retry";
    // Heartbeats every 0.3 s: a 0.75 s watchdog, longer than the 0.5 s
    // stability window, so each silent stream outlives the window.
    let page = "/?channel=general&backoff_base_ms=100&backoff_cap_ms=200&stability_window_ms=500&max_attempts=3";
    let s = Scenario::live(name, page).await?;
    // Streams still open and say `status`, then nothing, for good.
    s.bridge.pause_heartbeats(true).await?;
    s.bridge.disconnect(None).await?;
    let started = std::time::Instant::now();
    // The budget: three silent streams of 0.75 s and two backoffs of at
    // most 0.2 s (2.65 s), plus slack for a loaded machine.
    let state = s
        .wait_for(Duration::from_secs(12), "Disconnected with Retry", |st| {
            st.label() == "disconnected" && st.retry == 1
        })
        .await?;
    eprintln!("zombie upstream: gave up after {:?}", started.elapsed());
    let reason = s
        .run_js("return document.querySelector('.dp-error-text').textContent;")
        .await?;
    ensure(
        reason
            .as_str()
            .is_some_and(|r| r.contains("went silent 3 times")),
        || format!("the reason shown: {reason} ({state:?})"),
    )?;
    s.bridge.pause_heartbeats(false).await?;
    let missed = s.bridge.inject("general", "a", "after the silence").await?;
    s.click_retry().await?;
    let state = s
        .wait_for(SOON, "Live again with the missed message", |st| {
            st.label() == "live" && st.ids.contains(&missed)
        })
        .await?;
    ensure(state.retry == 0, || "Retry still shown".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_stalled_from_the_start_recovers_once_cleared() -> Result<(), Error> {
    let name = "a_stream_stalled_from_the_start_recovers_once_cleared";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    s.bridge.set_fault(Some(Fault::Stall)).await?;
    let message = s
        .bridge
        .inject("general", "a", "waiting behind the stall")
        .await?;
    s.open(&format!(
        "/?channel=general&{FAST}&initial_watchdog_ms=1500"
    ))
    .await?;
    // History loads even while streams stall; the label stays Reconnecting.
    // (Both in one wait: the label is Reconnecting from the start, before
    // history has arrived.)
    s.wait_for(SOON, "history shown while Reconnecting", |st| {
        st.label() == "reconnecting" && st.ids.contains(&message)
    })
    .await?;
    s.bridge.set_fault(None).await?;
    s.wait_label("live", Duration::from_secs(15))
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_content_is_shown_as_text() -> Result<(), Error> {
    let name = "hostile_content_is_shown_as_text";
    // Markup in a name, within the bridge's bound on names (32 characters).
    const AUTHOR: &str = r#"<b onmouseover="__xss=4">mal</b>"#;
    let s = Scenario::live(name, &format!("/?channel=general&{FAST}")).await?;
    let payloads = [
        r#"<img src=x onerror="window.__xss=1">"#,
        r#"<script>window.__xss=2</script>"#,
        r#"<a href="javascript:window.__xss=3">click</a>"#,
    ];
    let mut ids = Vec::new();
    for payload in payloads {
        ids.push(s.bridge.inject("general", AUTHOR, payload).await?);
    }
    s.wait_for(SOON, "the payloads", |st| {
        ids.iter().all(|id| st.ids.contains(id))
    })
    .await?;
    let verdict = s
    .run_js(
        r#"const items = [...document.querySelectorAll('li[data-message-id] .dp-content')].map(e => e.textContent);
           const authors = [...document.querySelectorAll('li[data-message-id] .dp-author')].map(e => e.textContent);
           return { xss: typeof window.__xss, texts: items, authors,
                    elements: document.querySelectorAll('.discussion-panel img, .discussion-panel script, .discussion-panel a, .discussion-panel b').length };"#,
    )
    .await?;
    ensure(verdict["xss"] == "undefined", || {
        format!("script ran: {verdict}")
    })?;
    ensure(verdict["elements"] == 0, || {
        format!("markup was interpreted: {verdict}")
    })?;
    let texts: Vec<String> = serde_json::from_value(verdict["texts"].clone()).unwrap_or_default();
    ensure(
        payloads.iter().all(|p| texts.iter().any(|t| t == p)),
        || format!("not shown literally: {texts:?}"),
    )?;
    ensure(
        verdict["authors"]
            .as_array()
            .is_some_and(|a| a.len() == 3 && a.iter().all(|n| n == AUTHOR)),
        || format!("author names not shown literally: {verdict}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_channel_names_are_refused_and_never_requested() -> Result<(), Error> {
    let name = "hostile_channel_names_are_refused_and_never_requested";
    let s = Scenario::live(name, "/?channel=general").await?;
    let opened_before = s.bridge.connections_opened().await?;
    let hostile = [
        r#"<img src=x onerror="window.__xss=5">"#,
        r#""><script>window.__xss=6</script>"#,
        "../internal/connections",
        "general?last_event_id=0",
        "caf\u{e9}",
        &"x".repeat(65),
    ];
    for channel in hostile {
        let query: String = url_encode(channel);
        s.open(&format!("/?channel={query}&{FAST}")).await?;
        let state = s
            .wait_for(SOON, "the refusal", |st| {
                st.label() == "disconnected" && st.channel.as_deref() == Some(channel)
            })
            .await?;
        let verdict = s
            .run_js(
                r#"return { xss: typeof window.__xss,
                           error: (document.querySelector('.dp-error-text') || {}).textContent || null,
                           title: (document.querySelector('.dp-title') || {}).textContent || null,
                           elements: document.querySelectorAll('.discussion-panel img, .discussion-panel script').length };"#,
            )
            .await?;
        ensure(
            verdict["xss"] == "undefined" && verdict["elements"] == 0,
            || format!("{channel:?} was interpreted as markup: {verdict}"),
        )?;
        ensure(
            verdict["error"]
                .as_str()
                .is_some_and(|e| e.contains("not a valid channel name")),
            || format!("{channel:?}: no clear refusal: {verdict}"),
        )?;
        ensure(
            verdict["title"]
                .as_str()
                .is_some_and(|t| t.ends_with(channel)),
            || format!("{channel:?} not shown literally in the title: {verdict}"),
        )?;
        ensure(state.ids.is_empty(), || {
            format!("{channel:?} showed messages: {state:?}")
        })?;
    }
    let opened_after = s.bridge.connections_opened().await?;
    ensure(opened_after == opened_before, || {
        format!(
            "the bridge saw {} stream requests for refused channels",
            opened_after - opened_before
        )
    })
}

/// Percent-encodes everything but unreserved characters, for a page query.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_events_are_ignored_without_harm() -> Result<(), Error> {
    malformed_events("malformed_events_are_ignored_without_harm", true).await
}

/// The same on a stream of the panel's own (the shared stream decodes in
/// the tab that holds it, a panel's own stream in the panel).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_events_on_a_stream_of_its_own_are_ignored_without_harm() -> Result<(), Error> {
    malformed_events(
        "malformed_events_on_a_stream_of_its_own_are_ignored_without_harm",
        false,
    )
    .await
}

async fn malformed_events(name: &str, share: bool) -> Result<(), Error> {
    let s = Scenario::live(
        name,
        &format!("/?channel=general&share_across_tabs={share}&{FAST}"),
    )
    .await?;
    let huge = format!(
        "event: message\ndata: {{\"pad\":\"{}\"}}\n\n",
        "x".repeat(70_000)
    );
    let frames = [
    "event: message\ndata: {broken json\n\n",
    "event: message\ndata: {\"id\":\"77\"}\n\n",
    "event: message\ndata: {\"id\":\"not-a-number\",\"channel_id\":\"general\",\"author\":\"a\",\"content\":\"c\",\"timestamp\":\"t\"}\n\n",
    "event: status\ndata: {\"gateway\":\"sideways\"}\n\n",
    "event: typing\ndata: {\"who\":\"alice\"}\n\n",
    "data: no event name at all\n\n",
    "event: resync\ndata: nonsense\n\n",
    huge.as_str(),
];
    // What the panel tells the console about them.
    s.run_js("window.warnings = []; const warn = console.warn.bind(console); console.warn = (...a) => { window.warnings.push(a.join(' ')); warn(...a); };")
        .await?;
    for frame in frames {
        s.bridge.inject_raw("general", frame).await?;
    }
    let good = s.bridge.inject("general", "alice", "still fine").await?;
    let state = s
        .wait_for(SOON, "the good message after the bad ones", |st| {
            st.ids.contains(&good)
        })
        .await?;
    ensure(state.label() == "live", || {
        format!("label {} after malformed events", state.label())
    })?;
    ensure(state.ids == [good.clone()], || {
        format!("unexpected messages shown: {:?}", state.ids)
    })?;
    // Each dropped payload is named with the reason (the field that was
    // wrong, or the byte where the JSON broke) and what it read.
    let warnings = s.run_js("return window.warnings;").await?;
    let logged = |part: &str| {
        (warnings.as_array().into_iter().flatten())
            .filter_map(|w| w.as_str())
            .filter(|w| w.contains("shared stream:") == share)
            .any(|w| w.contains("malformed `message` event") && w.contains(part))
    };
    ensure(
        logged(r#"it read: {"id":"not-a-number","channel_id""#) && logged("it read: {broken json"),
        || format!("the console did not show the dropped payloads: {warnings}"),
    )?;
    ensure(
        logged("`id` is not a u64 in decimal digits") && logged("expected a key at byte 1"),
        || format!("the console did not name the field or the byte: {warnings}"),
    )?;
    // The WebAssembly instance is alive: it still reacts.
    let later = s.bridge.inject("general", "bob", "and still alive").await?;
    s.wait_for(SOON, "a message after that", |st| st.ids.contains(&later))
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_channels_keeps_one_stream_and_unmount_leaves_none() -> Result<(), Error> {
    let name = "switching_channels_keeps_one_stream_and_unmount_leaves_none";
    let s = Scenario::start(
        name,
        bridge(),
        &format!("/embed.html?channel=general&{FAST_CAMEL}"),
    )
    .await?;
    s.wait_label("live", SOON).await?;
    let design = s.bridge.inject("design", "erin", "design talk").await?;
    s.run_js("window.discussionPanel.setChannel('design');")
        .await?;
    let state = s
        // History is fetched once the stream is open: Live can come first.
        .wait_for(SOON, "the design channel, live, with its history", |st| {
            st.channel.as_deref() == Some("design")
                && st.label() == "live"
                && st.ids.contains(&design)
        })
        .await?;
    ensure(state.ids == [design.clone()], || {
        format!("shown after the switch: {:?}", state.ids)
    })?;
    s.streams_become(&["design"], SOON).await?;
    s.run_js("window.discussionPanel.unmount();").await?;
    s.streams_become(&[], SOON).await?;
    let state = s.state().await?;
    ensure(state.statuses == 0, || {
        "the panel is still in the page after unmount".into()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_js_mount_api_works_in_a_plain_page() -> Result<(), Error> {
    let name = "the_js_mount_api_works_in_a_plain_page";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let id = s
        .bridge
        .inject("random", "dave", "hello from a plain page")
        .await?;
    s.open(&format!("/embed.html?channel=random&{FAST_CAMEL}"))
        .await?;
    let state = s
        .wait_for(SOON, "the embedded panel, live", |st| {
            st.label() == "live" && st.ids.contains(&id)
        })
        .await?;
    ensure(state.channel.as_deref() == Some("random"), || {
        format!("channel {:?}", state.channel)
    })?;
    // Unknown options are refused with a sentence, not ignored.
    let script = r#"const done = arguments[arguments.length - 1];
    import('/discussion-panel.js').then((m) => {
      try { m.mountDiscussionPanel(document.createElement('div'), { channel: 'x', colour: 'red' }); done('accepted'); }
      catch (e) { done(String(e)); }
    });"#;
    let answer = s
        .browser
        .client
        .execute_async(script, vec![])
        .await
        .map_err(|e| format!("script failed: {e}"))?;
    let answer = answer.as_str().unwrap_or_default().to_owned();
    ensure(answer.contains("unknown option"), || {
        format!("an unknown option was not refused: {answer}")
    })?;
    // Numbers and booleans reach the knobs as they were written.
    let script = r#"const done = arguments[arguments.length - 1];
    import('/discussion-panel.js').then((m) => {
      const mount = (options) => {
        try { m.mountDiscussionPanel(document.createElement('div'), { channel: 'x', ...options }).unmount(); return 'accepted'; }
        catch (e) { return String(e); }
      };
      done([mount({ maxAttempts: 2.5 }), mount({ watchdogFactor: 2.5, maxAttempts: 7, shareAcrossTabs: false })]);
    });"#;
    let answers = (s.browser.client.execute_async(script, vec![]).await)
        .map_err(|e| format!("script failed: {e}"))?;
    ensure(
        answers[0]
            .as_str()
            .is_some_and(|a| a.contains("whole number") && a.contains("\"2.5\"")),
        || format!("a fractional maxAttempts: {answers}"),
    )?;
    ensure(answers[1] == "accepted", || {
        format!("numbers and a boolean as options: {answers}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_the_three_states() -> Result<(), Error> {
    let name = "screenshots_of_the_three_states";
    // Saved under tests/artifacts/; with UPDATE_DOCS_SCREENSHOTS=1 also into docs/
    // for the README.
    let s = Scenario::start(
        name,
        bridge().with_args(&["--seed-demo"]),
        &format!("/?channel=general&{FAST}&max_attempts=2&author=Ann"),
    )
    .await?;
    // A mention of the reader, and a run of one author (one header).
    s.bridge
        .post_json(
            "general",
            serde_json::json!({
                "author": "bob", "content": "<@42> the **new screenshots** are in, see https://example.com/shots",
                "mentions": { "42": "Ann" },
            }),
        )
        .await?;
    s.bridge
        .inject("general", "bob", "3.2 still has the old menu.")
        .await?;
    let own = s
        .bridge
        .inject("general", "Ann", "Draft 3 is up for review.")
        .await?;
    s.wait_for(SOON, "Live with the demo history", |st| {
        st.label() == "live" && st.ids.contains(&own)
    })
    .await?;
    // The demo's edited message gets Ann's 👍 too (her chip is pressed).
    let history = s.bridge.history("general", None, 50).await?;
    let edited = (history.iter())
        .find(|m| m.edited_at.is_some())
        .ok_or("the demo has an edited message")?;
    s.bridge
        .react("general", &edited.id, "👍", "Ann", true)
        .await?;
    s.rows_match_bridge("general", SOON, "the edit and the reactions shown")
        .await?;
    // A reply being written.
    s.run_js(
        "const input = document.querySelector('.dp-input'); input.value = 'Section 2 reads well now. One question on the glossary link.'; input.dispatchEvent(new Event('input'));",
    )
    .await?;
    let to_docs = std::env::var_os("UPDATE_DOCS_SCREENSHOTS").is_some();
    let save = |state: &'static str| {
        let s = &s;
        async move {
            let path = s
                .browser
                .screenshot(&format!("panel-{state}"))
                .await
                .ok_or("screenshot failed")?;
            if to_docs {
                let docs = e2e::workspace_root()
                    .join("docs")
                    .join(format!("panel-{state}.png"));
                std::fs::copy(&path, docs).map_err(|e| e.to_string())?;
            }
            Ok::<(), Error>(())
        }
    };
    save("live").await?;
    s.bridge.set_gateway(Gateway::Reconnecting).await?;
    s.wait_label("reconnecting", SOON).await?;
    // Sent while Reconnecting: it waits, pending, and goes once Live; so
    // does the deletion of Ann's own message (Delete, then once more).
    s.run_js("document.querySelector('.dp-send').click();")
        .await?;
    let delete = format!(
        "document.querySelector('li[data-message-id=\"{own}\"] [data-action=\"delete-message\"]').click();"
    );
    s.run_js(&delete).await?;
    s.run_js(&delete).await?;
    e2e::wait_until(SOON, "the pending reply and deletion", || async {
        let rows = s
            .run_js("return document.querySelectorAll('li[data-state=\"pending\"]').length;")
            .await
            .ok()?;
        (rows == 2).then_some(())
    })
    .await?;
    save("reconnecting").await?;
    s.bridge.set_gateway(Gateway::Connected).await?;
    s.bridge.set_fault(Some(Fault::Reject(503))).await?;
    s.bridge.disconnect(None).await?;
    s.wait_for(SOON, "Disconnected with Retry", |st| {
        st.label() == "disconnected" && st.retry == 1
    })
    .await?;
    // The edited message and its reactions, in view.
    s.run_js(&format!(
        "const l = document.querySelector('.dp-messages'); const li = document.querySelector('li[data-message-id=\"{}\"]');
         l.scrollTop = li.offsetTop - l.offsetTop - 60; l.dispatchEvent(new Event('scroll'));
         return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));",
        edited.id
    ))
    .await?;
    save("disconnected").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_follows_new_messages_only_while_at_the_bottom() -> Result<(), Error> {
    let name = "the_list_follows_new_messages_only_while_at_the_bottom";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    for i in 0..40 {
        s.bridge
            .inject(
                "general",
                "alice",
                &format!("filler message number {i} that takes some room"),
            )
            .await?;
    }
    s.open(&format!("/?channel=general&{FAST}")).await?;
    s.wait_for(SOON, "Live with the history", |st| {
        st.label() == "live" && st.ids.len() == 40
    })
    .await?;
    let scroll = r#"const l = document.querySelector('.dp-messages');
                return { top: l.scrollTop, gap: l.scrollHeight - l.scrollTop - l.clientHeight };"#;
    let at_bottom = || async {
        let v = s.run_js(scroll).await.ok()?;
        (v["gap"].as_f64()? <= 2.0).then_some(())
    };
    e2e::wait_until(SOON, "the list scrolled to the newest message", at_bottom).await?;
    let next = s
        .bridge
        .inject("general", "bob", "arrives while at the bottom")
        .await?;
    s.wait_for(SOON, "the new message", |st| st.ids.contains(&next))
        .await?;
    e2e::wait_until(SOON, "the list to follow it", at_bottom).await?;

    // The reader scrolls up to read: new messages must not pull them down.
    s.run_js("const l = document.querySelector('.dp-messages'); l.scrollTop = 0; l.dispatchEvent(new Event('scroll'));")
    .await?;
    let later = s
        .bridge
        .inject("general", "carol", "arrives while reading above")
        .await?;
    s.wait_for(SOON, "the later message", |st| st.ids.contains(&later))
        .await?;
    // Give a pending animation frame its chance before looking.
    s.run_js("return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));")
        .await
        .ok();
    let top = s.run_js(scroll).await?["top"].as_f64().unwrap_or(-1.0);
    ensure(top == 0.0, || {
        format!("the list moved to {top} while the reader was reading above")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_offline_then_online_recovers_every_message() -> Result<(), Error> {
    let name = "browser_offline_then_online_recovers_every_message";
    // A long backoff: only the browser's `online` event can bring the panel
    // back within the test's deadline.
    let page = "/?channel=general&backoff_base_ms=30000&backoff_cap_ms=60000&stability_window_ms=1500&initial_watchdog_ms=3000";
    let s = Scenario::live(name, page).await?;
    let before = s.bridge.inject("general", "alice", "before").await?;
    s.wait_for(SOON, "the first message", |st| st.ids.contains(&before))
        .await?;
    s.run_js(CAPTURE_PANEL_LOG).await?;
    s.record_labels().await?;
    let opened = s.bridge.connections_opened().await?;

    // DevTools' offline mode fails new requests but, in this Chromium, leaves
    // an open stream flowing; a real outage also kills it, so drop it too.
    s.browser.set_offline(true).await?;
    let online = s.run_js("return navigator.onLine;").await?;
    ensure(online == false, || {
        format!("navigator.onLine is {online} while offline")
    })?;
    s.bridge.disconnect(Some("general")).await?;
    s.wait_label("reconnecting", SOON).await?;
    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(
            s.bridge
                .inject("general", "bob", &format!("while offline {i}"))
                .await?,
        );
    }
    // The browser's own retry failed too: the panel is in its 30 s backoff.
    let backoff = wait_until(SOON, "the panel to start its backoff", || async {
        let log = s.run_js("return window.__panelLog;").await.ok()?;
        log.as_array()?
            .iter()
            .any(|line| line.as_str().is_some_and(|l| l.contains("reconnecting in")))
            .then_some(())
    })
    .await;
    if let Err(problem) = backoff {
        let log = s.run_js("return window.__panelLog;").await?;
        let opened_now = s.bridge.connections_opened().await?;
        return Err(format!(
            "{problem}; streams opened {opened} -> {opened_now}; panel log: {log}"
        ));
    }
    ensure(s.bridge.connections_opened().await? == opened, || {
        "a stream reached the bridge through an offline browser".into()
    })?;

    s.browser.set_offline(false).await?;
    let state = s
        .wait_for(SOON, "Live with every missed message", |st| {
            st.label() == "live" && missed.iter().all(|id| st.ids.contains(id))
        })
        .await?;
    let mut expected = vec![before];
    expected.extend(missed);
    exactly_once_in_order(&state.ids, &expected)?;
    let labels = s.labels_seen().await?;
    ensure(!labels.contains(&"disconnected".to_string()), || {
        format!("a short outage should not give up: {labels:?}")
    })?;
    ensure(s.bridge.active_streams().await?.len() == 1, || {
        "not exactly one stream after coming back online".into()
    })
}
