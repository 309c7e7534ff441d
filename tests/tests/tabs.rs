//! Many tabs, one stream: tabs of one Chromium profile share a single event
//! stream to the real bridge. Each test has its own bridge and browser.

use e2e::panel::{ensure, exactly_once_in_order, PanelState, Scenario, FAST};
use e2e::{wait_until, Error};
use fantoccini::wd::WindowHandle;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(15);

/// The same short timings as [`FAST`], for the JS API's camelCase options.
const FAST_CAMEL: &str =
    "backoffBaseMs=150&backoffCapMs=600&stabilityWindowMs=1500&initialWatchdogMs=3000";

/// Opens one tab per page (the scenario's first tab is the first page) and
/// waits for each panel to be Live.
async fn tabs(name: &str, pages: &[String]) -> Result<(Scenario, Vec<WindowHandle>), Error> {
    let s = Scenario::live(name, &pages[0]).await?;
    let mut handles = vec![s.this_tab().await?];
    for page in &pages[1..] {
        handles.push(s.open_tab(page).await?);
        s.wait_label("live", SOON).await?;
    }
    Ok((s, handles))
}

/// Waits, in `tab`, for its panel to satisfy `check`.
async fn in_tab(
    s: &Scenario,
    tab: &WindowHandle,
    what: &str,
    check: impl Fn(&PanelState) -> bool,
) -> Result<PanelState, Error> {
    s.to_tab(tab).await?;
    s.wait_for(SOON, what, check).await
}

/// A same-origin request from the current tab, with its own 3 s limit: its
/// status, or why it failed.
async fn fetch_from_tab(s: &Scenario) -> Result<String, Error> {
    let script = r#"const done = arguments[arguments.length - 1];
    const started = performance.now();
    fetch('/healthz', { signal: AbortSignal.timeout(3000) })
      .then((r) => done(`${r.status} in ${Math.round(performance.now() - started)} ms`))
      .catch((e) => done(String(e)));"#;
    let answer = (s.browser.client.execute_async(script, vec![]).await)
        .map_err(|e| format!("fetch script: {e}"))?;
    Ok(answer.as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_tabs_on_one_channel_share_one_stream() -> Result<(), Error> {
    let page = format!("/?channel=general&{FAST}");
    let (s, handles) = tabs("ten_tabs_on_one_channel", &vec![page; 10]).await?;
    s.streams_become(&["general"], SOON).await?;
    let id = s.bridge.inject("general", "alice", "to every tab").await?;
    for (index, tab) in handles.iter().enumerate() {
        in_tab(&s, tab, &format!("the message in tab {index}"), |st| {
            st.label() == "live" && st.ids.contains(&id)
        })
        .await?;
        let answer = fetch_from_tab(&s).await?;
        ensure(answer.starts_with("200 "), || {
            format!("a same-origin fetch from tab {index}: {answer}")
        })?;
    }
    s.streams_become(&["general"], SOON).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_tabs_on_ten_channels_share_one_stream() -> Result<(), Error> {
    let channels: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
    let pages: Vec<String> = (channels.iter())
        .map(|c| format!("/?channel={c}&{FAST}"))
        .collect();
    let (s, handles) = tabs("ten_tabs_on_ten_channels", &pages).await?;
    let all = channels.join(",");
    s.streams_become(&[&all], SOON).await?;
    let mut ids = Vec::new();
    for channel in &channels {
        ids.push(s.bridge.inject(channel, "bob", channel).await?);
    }
    for (index, tab) in handles.iter().enumerate() {
        let state = in_tab(&s, tab, &format!("its message in tab {index}"), |st| {
            st.ids.contains(&ids[index])
        })
        .await?;
        ensure(state.ids == [ids[index].clone()], || {
            format!("tab {index} shows {:?}, not only {}", state.ids, ids[index])
        })?;
        let answer = fetch_from_tab(&s).await?;
        ensure(answer.starts_with("200 "), || {
            format!("a same-origin fetch from tab {index}: {answer}")
        })?;
    }
    s.streams_become(&[&all], SOON).await
}

/// Posts messages until stopped, one every `every`.
struct Publisher {
    stop: Arc<AtomicBool>,
    posted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl Publisher {
    fn start(s: &Scenario, channel: &'static str, every: Duration) -> Publisher {
        let stop = Arc::new(AtomicBool::new(false));
        let posted = Arc::new(AtomicUsize::new(0));
        let api = bridge_client::BridgeClient::new(s.bridge.url(""));
        let (stopping, counting) = (stop.clone(), posted.clone());
        let task = tokio::spawn(async move {
            let mut ids = Vec::new();
            while !stopping.load(Ordering::Relaxed) {
                let content = format!("m{}", ids.len());
                if let Ok(id) = api.inject(channel, "pub", &content).await {
                    ids.push(id);
                    counting.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(every).await; // pacing, not synchronisation
            }
            ids
        });
        Publisher { stop, posted, task }
    }

    /// Waits until `more` messages were posted since this was called.
    async fn wait_for(&self, more: usize) -> Result<(), Error> {
        let target = self.posted.load(Ordering::Relaxed) + more;
        wait_until(SOON, &format!("{more} more messages posted"), || async {
            (self.posted.load(Ordering::Relaxed) >= target).then_some(())
        })
        .await
    }

    /// Stops and returns the ids posted.
    async fn finish(self) -> Result<Vec<String>, Error> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.map_err(|e| format!("publisher: {e}"))
    }
}

/// The tab among `handles` that holds the stream, once one does.
async fn holder(s: &Scenario, handles: &[WindowHandle]) -> Result<WindowHandle, Error> {
    wait_until(SOON, "a tab to hold the stream", || async {
        for tab in handles {
            if s.to_tab(tab).await.is_ok() && s.holds_stream().await.unwrap_or(false) {
                return Some(tab.clone());
            }
        }
        None
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_or_crashing_the_holder_loses_nothing_in_the_other_tabs() -> Result<(), Error> {
    let page = format!("/?channel=general&{FAST}");
    let (s, mut handles) = tabs("closing_or_crashing_the_holder", &vec![page; 4]).await?;
    let publisher = Publisher::start(&s, "general", Duration::from_millis(40));

    // Close the holder's tab while messages are being posted.
    let first = holder(&s, &handles).await?;
    publisher.wait_for(5).await?;
    s.to_tab(&first).await?;
    (s.browser.client.close_window().await).map_err(|e| format!("closing the tab: {e}"))?;
    handles.retain(|tab| tab != &first);
    let next = holder(&s, &handles).await?;
    let before = s
        .bridge
        .inject("general", "check", "after the close")
        .await?;
    in_tab(&s, &next, "the new holder, live", |st| {
        st.label() == "live" && st.ids.contains(&before)
    })
    .await?;

    // Crash the new holder's renderer.
    publisher.wait_for(5).await?;
    s.to_tab(&next).await?;
    let _ = s.browser.cdp("Page.crash", serde_json::json!({})).await;
    handles.retain(|tab| tab != &next);
    let third = holder(&s, &handles).await?;
    let after = s
        .bridge
        .inject("general", "check", "after the crash")
        .await?;
    in_tab(&s, &third, "the third holder, live", |st| {
        st.label() == "live" && st.ids.contains(&after)
    })
    .await?;

    publisher.wait_for(5).await?;
    let posted = publisher.finish().await?;
    let history = s.bridge.history_ids("general").await?;
    for (index, tab) in handles.iter().enumerate() {
        let last = history.last().cloned().unwrap_or_default();
        let state = in_tab(&s, tab, &format!("every message in tab {index}"), |st| {
            st.ids.contains(&last)
        })
        .await?;
        exactly_once_in_order(&state.ids, &history)?;
    }
    eprintln!(
        "{} messages posted while the holder closed and crashed; both remaining tabs show all once",
        posted.len()
    );
    s.streams_become(&["general"], SOON).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tab_switching_channel_moves_the_shared_stream_without_a_gap() -> Result<(), Error> {
    let pages = [
        format!("/embed.html?channel=general&{FAST_CAMEL}"),
        format!("/embed.html?channel=design&{FAST_CAMEL}"),
    ];
    let (s, handles) = tabs("a_tab_switching_channel", &pages).await?;
    s.streams_become(&["design,general"], SOON).await?;
    s.to_tab(&handles[0]).await?;
    s.record_labels().await?;
    let publisher = Publisher::start(&s, "general", Duration::from_millis(30));
    publisher.wait_for(3).await?;
    s.to_tab(&handles[1]).await?;
    s.run_js("window.discussionPanel.setChannel('random');")
        .await?;
    s.streams_become(&["general,random"], SOON).await?;
    let random = s.bridge.inject("random", "erin", "random talk").await?;
    in_tab(&s, &handles[1], "the switched tab on random", |st| {
        st.channel.as_deref() == Some("random") && st.ids == [random.clone()]
    })
    .await?;
    publisher.wait_for(3).await?;
    let posted = publisher.finish().await?;
    let last = posted.last().cloned().unwrap_or_default();
    let state = in_tab(&s, &handles[0], "every message in the other tab", |st| {
        st.ids.contains(&last)
    })
    .await?;
    exactly_once_in_order(&state.ids, &posted)?;
    let labels = s.labels_seen().await?;
    ensure(labels.iter().all(|l| l == "live"), || {
        format!("the other tab's label changed during the switch: {labels:?}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_panels_in_one_page_share_one_stream() -> Result<(), Error> {
    let page = format!("/embed.html?channel=general&{FAST_CAMEL}");
    let s = Scenario::live("two_panels_in_one_page", &page).await?;
    let script = format!(
        r#"const done = arguments[arguments.length - 1];
        import('/discussion-panel.js').then((m) => {{
          const host = document.createElement('div');
          document.body.append(host);
          const options = Object.fromEntries(new URLSearchParams('{FAST_CAMEL}'));
          window.second = m.mountDiscussionPanel(host, {{ ...options, channel: 'design' }});
          done('mounted');
        }}).catch((e) => done(String(e)));"#
    );
    let answer = (s.browser.client.execute_async(&script, vec![]).await)
        .map_err(|e| format!("mounting a second panel: {e}"))?;
    ensure(answer == "mounted", || format!("second panel: {answer}"))?;
    s.streams_become(&["design,general"], SOON).await?;
    let general = s.bridge.inject("general", "a", "to the first").await?;
    let design = s.bridge.inject("design", "b", "to the second").await?;
    let read = r#"return [...document.querySelectorAll('.discussion-panel')].map((p) => ({
        label: p.querySelector('[data-connection-status]').getAttribute('data-connection-status'),
        ids: [...p.querySelectorAll('li[data-message-id]')].map((li) => li.getAttribute('data-message-id')),
      }));"#;
    let expected = serde_json::json!([
        { "label": "live", "ids": [general] },
        { "label": "live", "ids": [design] },
    ]);
    wait_until(SOON, "both panels live with their own message", || async {
        s.run_js(read)
            .await
            .ok()
            .filter(|panels| panels == &expected)
    })
    .await
    .map_err(|problem| format!("{problem}: expected {expected}"))?;
    // Unmounting one leaves the other's channel only.
    s.run_js("window.second.unmount();").await?;
    s.streams_become(&["general"], SOON).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_holder_is_taken_over_and_steps_down_when_it_wakes() -> Result<(), Error> {
    let page = format!("/?channel=general&{FAST}");
    let (s, handles) = tabs("a_hung_holder", &vec![page; 2]).await?;
    let hung = holder(&s, &handles).await?;
    let other = handles.iter().find(|t| **t != hung).ok_or("one tab only")?;
    s.to_tab(&hung).await?;
    // Its main thread busy for 6 s: it holds the lock but relays nothing.
    s.run_js(
        "setTimeout(() => { const end = Date.now() + 6000; while (Date.now() < end) {} }, 0);",
    )
    .await?;
    let during = s
        .bridge
        .inject("general", "a", "while the holder hangs")
        .await?;
    let state = in_tab(
        &s,
        other,
        "the other tab, live with the new message",
        |st| st.label() == "live" && st.ids.contains(&during),
    )
    .await?;
    ensure(s.holds_stream().await?, || {
        "the other tab did not take the stream over".into()
    })?;
    // Once awake, the old holder learns it lost the lock and closes its stream.
    s.streams_become(&["general"], SOON).await?;
    let after = s.bridge.inject("general", "a", "after it woke").await?;
    for tab in [&hung, other] {
        let state = in_tab(&s, tab, "both tabs with every message", |st| {
            st.label() == "live" && st.ids.contains(&after)
        })
        .await?;
        exactly_once_in_order(&state.ids, &[during.clone(), after.clone()])?;
    }
    let _ = state;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_holder_hands_the_stream_over_at_once() -> Result<(), Error> {
    let page = format!("/?channel=general&{FAST}");
    let (s, handles) = tabs("a_frozen_holder", &vec![page; 2]).await?;
    let frozen = holder(&s, &handles).await?;
    let other = (handles.iter().find(|t| **t != frozen).cloned()).ok_or("one tab only")?;
    s.to_tab(&frozen).await?;
    // Page Lifecycle: the page gets `freeze`, gives up its role, and stops.
    s.browser
        .cdp(
            "Page.setWebLifecycleState",
            serde_json::json!({ "state": "frozen" }),
        )
        .await?;
    s.to_tab(&other).await?;
    wait_until(SOON, "the other tab to hold the stream", || async {
        s.holds_stream().await.ok().filter(|h| *h)
    })
    .await?;
    let id = s.bridge.inject("general", "a", "while frozen").await?;
    in_tab(&s, &other, "the other tab with the message", |st| {
        st.label() == "live" && st.ids.contains(&id)
    })
    .await?;
    s.streams_become(&["general"], SOON).await?;
    s.to_tab(&frozen).await?;
    s.browser
        .cdp(
            "Page.setWebLifecycleState",
            serde_json::json!({ "state": "active" }),
        )
        .await?;
    let state = s
        .wait_for(SOON, "the thawed tab, live with the message", |st| {
            st.label() == "live" && st.ids.contains(&id)
        })
        .await?;
    exactly_once_in_order(&state.ids, &[id])
}

/// What the panel writes to remember that streams go by polling (another
/// tab's `storage` event carries it), as a JavaScript expression: dated,
/// see `panel_core::carrier::remembered`.
const POLLING_REMEMBERED: &str = "'polling@' + Date.now()";

/// Issue 31, item 14: the tab holding the stream waits for a token (the
/// host's function is slow) to open the stream for a new set of channels;
/// meanwhile another tab found that streams must go by polling. When the
/// token comes, the holder opens what is wanted then, a poll, not the
/// EventSource it was about to open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_comes_late_opens_the_transport_wanted_now() -> Result<(), Error> {
    let name = "a_token_that_comes_late_opens_the_transport_wanted_now";
    let page = format!("/host.html?channel=general&token=tok-late&{FAST}");
    let s = Scenario::live(name, &page).await?;
    let holder = s.this_tab().await?;
    s.streams_become(&["general"], SOON).await?;
    // From now on the host's token function answers only when told.
    s.run_js(
        "window.panelToken = new Promise((r) => { window.releaseToken = () => r('tok-late'); });",
    )
    .await?;
    // Another tab shows `design`: the holder closes its stream to open one
    // for both channels, and waits for the token. (The same host page:
    // without a sign-in, tabs share a stream per author name, and the demo
    // page would be "visitor".)
    s.open_tab(&format!("/host.html?channel=design&token=tok-late&{FAST}"))
        .await?;
    s.streams_become(&[], SOON).await?;
    // That tab remembers polling for the bridge: the holder hears it.
    let remember =
        format!("localStorage.setItem('discussion-panel:transport:', {POLLING_REMEMBERED});");
    s.run_js(&remember).await?;
    s.to_tab(&holder).await?;
    wait_until(SOON, "the holder to go by polling", || async {
        let transport = s
            .run_js("return document.querySelector('.discussion-panel').getAttribute('data-transport');")
            .await
            .ok()?;
        (transport == "polling").then_some(())
    })
    .await?;
    s.run_js("window.releaseToken();").await?;
    // Live by polling, the design tab too, and no stream at the bridge.
    let id = s.bridge.inject("general", "bob", "by a poll").await?;
    s.wait_for(SOON, "Live with the message", |st| {
        st.label() == "live" && st.ids.contains(&id)
    })
    .await?;
    let streams = s.bridge.active_streams().await?;
    ensure(streams.is_empty(), || {
        format!("the late token opened an EventSource: the bridge streams {streams:?}")
    })
}

// ------------------------------- the review of issue 31's transport fixes

/// The transport the current tab's panel shows (`data-transport`).
async fn shown_transport(s: &Scenario) -> Result<String, Error> {
    let value = s
        .run_js(
            "return document.querySelector('.discussion-panel').getAttribute('data-transport');",
        )
        .await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

/// Finding 7: how the shared stream is carried was known per tab (from the
/// tab's own options and its own read of `localStorage`), not per group: a
/// tab that joined a holder that polls showed `eventsource` (no "via
/// polling"; `transport: "eventsource"` to the host) while every event it
/// showed came by the holder's polls. The holder's relays say how it
/// carries the stream, and every panel shows that. (The holder polls here
/// because its host asked; the same when its memory of a buffering proxy
/// expired while it polled on, and a new tab opens.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tab_that_joins_a_polling_holder_says_it_polls() -> Result<(), Error> {
    let name = "a_tab_that_joins_a_polling_holder_says_it_polls";
    let pages = [
        format!("/?channel=general&polling=on&{FAST}"),
        format!("/?channel=general&{FAST}"),
    ];
    let (s, handles) = tabs(name, &pages).await?;
    // No EventSource anywhere: the holder polls for both tabs.
    s.streams_become(&[], SOON).await?;
    s.to_tab(&handles[1]).await?;
    ensure(!s.holds_stream().await?, || {
        "the second tab holds the stream".into()
    })?;
    let id = s
        .bridge
        .inject("general", "bob", "by the holder's poll")
        .await?;
    s.wait_for(SOON, "the message in the second tab", |st| {
        st.ids.contains(&id)
    })
    .await?;
    let shown = shown_transport(&s).await?;
    ensure(shown == "polling", || {
        format!("the second tab shows {shown:?}, though its events come by the holder's polls")
    })
}

/// Finding 7, the other way round: a tab whose host asked for `polling`
/// joined a holder on the EventSource and showed "via polling" (and told
/// its host `transport: "polling"`) for the page's life, though it made no
/// poll: its events came by the holder's EventSource.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tab_that_joins_a_streaming_holder_does_not_say_it_polls() -> Result<(), Error> {
    let name = "a_tab_that_joins_a_streaming_holder_does_not_say_it_polls";
    let pages = [
        format!("/?channel=general&{FAST}"),
        format!("/?channel=general&polling=on&{FAST}"),
    ];
    let (s, handles) = tabs(name, &pages).await?;
    s.streams_become(&["general"], SOON).await?;
    s.to_tab(&handles[1]).await?;
    ensure(!s.holds_stream().await?, || {
        "the second tab holds the stream".into()
    })?;
    let id = s
        .bridge
        .inject("general", "bob", "by the holder's stream")
        .await?;
    s.wait_for(SOON, "the message in the second tab", |st| {
        st.ids.contains(&id)
    })
    .await?;
    s.streams_become(&["general"], SOON).await?;
    let shown = shown_transport(&s).await?;
    ensure(shown == "eventsource", || {
        format!(
            "the second tab shows {shown:?}, though its events come by the holder's EventSource"
        )
    })
}

/// Finding 5: a zombie bridge (heartbeats stopped): each panel's watchdog
/// finds the shared stream silent, and the holder replaced it at once, not
/// on a panel's next try; the one opened as the last panel gave up was held
/// for the page's life, every panel Disconnected. A silent shared stream is
/// given up as a panel's own is: none is held once the panel gave up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zombie_bridge_is_held_no_stream_once_the_panel_gave_up() -> Result<(), Error> {
    let name = "a_zombie_bridge_is_held_no_stream_once_the_panel_gave_up";
    let s = Scenario::live(name, &format!("/?channel=general&max_attempts=2&{FAST}")).await?;
    s.streams_become(&["general"], SOON).await?;
    s.bridge.pause_heartbeats(true).await?;
    s.wait_label("disconnected", Duration::from_secs(30))
        .await?;
    // Closed as the panel gives up (before, still held 3 s on, and later).
    s.streams_become(&[], Duration::from_secs(3))
        .await
        .map_err(|e| {
            format!("the panel gave up (Disconnected), and the tab still holds a stream: {e}")
        })
}
