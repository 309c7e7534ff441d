//! Behind a real nginx running the repository's `deploy/nginx.conf`: over
//! HTTP/1.1 the panel is Live, streams messages and takes replies through the
//! proxy; over TLS and HTTP/2 ten tabs, each with a stream of its own (no
//! sharing), are all Live, since HTTP/2 carries every stream of the origin
//! over one connection (over HTTP/1.1 the seventh would hang).

use e2e::bridge::{Bridge, BridgeOptions};
use e2e::browser::{Browser, CAPTURE_PANEL_LOG};
use e2e::nginx::{Listener, Nginx};
use e2e::panel::{ensure, FAST};
use e2e::{wait_until, Error};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(20);

const READ: &str = r#"
const status = document.querySelector('[data-connection-status]');
return [
  status ? status.getAttribute('data-connection-status') : null,
  [...document.querySelectorAll('li[data-message-id]')].map(li => li.getAttribute('data-message-id')),
];
"#;

async fn read(browser: &Browser) -> Option<(String, Vec<String>)> {
    let value = browser.client.execute(READ, vec![]).await.ok()?;
    serde_json::from_value::<(Option<String>, Vec<String>)>(value)
        .ok()
        .map(|(label, ids)| (label.unwrap_or_default(), ids))
}

/// Waits until the reply `content` is stored once by the bridge and shown
/// once in the current tab.
async fn stored_and_shown_once(
    bridge: &Bridge,
    browser: &Browser,
    content: &str,
) -> Result<(), Error> {
    wait_until(SOON, "the reply stored once and shown once", || async {
        let stored = bridge.api.history("general", Some("0"), 500).await.ok()?;
        let mine: Vec<_> = stored.iter().filter(|m| m.content == content).collect();
        let (_, ids) = read(browser).await?;
        let shown = (ids.iter())
            .filter(|i| mine.first().is_some_and(|m| &m.id == *i))
            .count();
        (mine.len() == 1 && shown == 1).then_some(())
    })
    .await
}

/// Waits in the current tab until the panel is Live and shows `id` (if any).
async fn live_with(browser: &Browser, id: Option<&str>, what: &str) -> Result<(), Error> {
    wait_until(SOON, what, || async {
        let (label, ids) = read(browser).await?;
        (label == "live" && id.is_none_or(|id| ids.iter().any(|i| i == id))).then_some(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_documented_nginx_the_panel_is_live_streams_and_replies() -> Result<(), Error> {
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let nginx = Nginx::start(bridge.port, Listener::Http1).await?;
    let browser = Browser::start().await?;
    let page = format!("{}/?channel=general&author=ann&{FAST}", nginx.origin());
    (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
    live_with(&browser, None, "Live through nginx")
        .await
        .map_err(|e| format!("{e}\n{}", nginx.log_tail()))?;
    let id = bridge.inject("general", "bob", "through the proxy").await?;
    live_with(&browser, Some(&id), "a message through nginx").await?;
    e2e::browser::type_reply(&browser.client, "a reply through the proxy").await?;
    wait_until(SOON, "the reply stored once and shown", || async {
        let stored = bridge.api.history("general", Some("0"), 500).await.ok()?;
        let mine: Vec<_> = stored
            .iter()
            .filter(|m| m.content == "a reply through the proxy")
            .collect();
        let (_, ids) = read(&browser).await?;
        (mine.len() == 1 && ids.contains(&mine[0].id)).then_some(())
    })
    .await?;
    // The stream went through nginx, as the panel's only one.
    ensure(bridge.active_streams().await?.len() == 1, || {
        "not one stream".into()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http2_ten_tabs_with_a_stream_each_are_all_live() -> Result<(), Error> {
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let nginx = Nginx::start(bridge.port, Listener::Http2).await?;
    let browser = Browser::start_with(&["--ignore-certificate-errors"]).await?;
    let page = format!(
        "{}/?channel=general&share_across_tabs=false&{FAST}",
        nginx.origin()
    );
    let mut tabs = Vec::new();
    for n in 0..10 {
        if n > 0 {
            let tab = (browser.client.new_window(true).await).map_err(|e| e.to_string())?;
            (browser.client.switch_to_window(tab.handle).await).map_err(|e| e.to_string())?;
        }
        (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
        live_with(&browser, None, &format!("tab {n} Live over HTTP/2"))
            .await
            .map_err(|e| format!("{e}\n{}", nginx.log_tail()))?;
        tabs.push(browser.client.window().await.map_err(|e| e.to_string())?);
    }
    let protocol = browser
        .client
        .execute(
            "return performance.getEntriesByType('navigation')[0].nextHopProtocol;",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    ensure(protocol == "h2", || {
        format!("the page came over {protocol}, not h2")
    })?;
    ensure(bridge.active_streams().await?.len() == 10, || {
        "not ten streams".into()
    })?;
    let id = bridge.inject("general", "bob", "to every tab").await?;
    for (n, tab) in tabs.into_iter().enumerate() {
        (browser.client.switch_to_window(tab).await).map_err(|e| e.to_string())?;
        live_with(&browser, Some(&id), &format!("the message in tab {n}")).await?;
    }
    Ok(())
}

/// The panel's transport, as its root says (`data-transport`), and whether
/// the "via polling" hint shows.
async fn transport(browser: &Browser) -> Option<(String, bool)> {
    let value = (browser.client)
        .execute(
            "const p = document.querySelector('.discussion-panel');
             const hint = document.querySelector('.dp-transport');
             return [p && p.getAttribute('data-transport'), !!hint && !hint.hidden];",
            vec![],
        )
        .await
        .ok()?;
    serde_json::from_value::<(Option<String>, bool)>(value)
        .ok()
        .map(|(t, hint)| (t.unwrap_or_default(), hint))
}

/// Waits until the panel is Live on `expected` (`eventsource` or `polling`).
async fn live_on(browser: &Browser, expected: &str, what: &str) -> Result<(), Error> {
    wait_until(SOON, what, || async {
        let (label, _) = read(browser).await?;
        let (transport, hint) = transport(browser).await?;
        (label == "live" && transport == expected && hint == (expected == "polling")).then_some(())
    })
    .await
}

/// Short deadlines: a stream that delivers nothing for 1.5 s is suspect,
/// and while polling the panel tries a stream again every 3 s.
const FALLBACK: &str = "first_byte_ms=1500&probe_ms=3000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_buffering_proxy_the_panel_polls_replies_and_remembers_it() -> Result<(), Error> {
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let nginx = Nginx::start(bridge.port, Listener::Buffering).await?;
    let browser = Browser::start().await?;
    let page = format!(
        "{}/?channel=general&author=ann&{FAST}&{FALLBACK}",
        nginx.origin()
    );
    let began = std::time::Instant::now();
    (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
    live_on(
        &browser,
        "polling",
        "Live by polling behind the buffering proxy",
    )
    .await
    .map_err(|e| format!("{e}\n{}", nginx.log_tail()))?;
    let to_live = began.elapsed();
    let id = bridge
        .inject("general", "bob", "through the buffer")
        .await?;
    live_with(&browser, Some(&id), "a message by polling").await?;
    e2e::browser::type_reply(&browser.client, "a reply while polling").await?;
    stored_and_shown_once(&bridge, &browser, "a reply while polling").await?;
    // The next page load polls from the start (the browser remembers the
    // choice), and it is Live at once; the one stream it opens is its trial
    // at the first Live, which stalls in the buffer: it polls on.
    let streams = bridge.connections_opened().await?;
    let began = std::time::Instant::now();
    (browser.client.refresh().await).map_err(|e| e.to_string())?;
    live_on(&browser, "polling", "Live by polling after a reload").await?;
    let again = began.elapsed();
    let opened = bridge.connections_opened().await? - streams;
    ensure(opened <= 1, || {
        format!("{opened} streams opened after the reload; the choice was remembered")
    })?;
    // A second tab shares the first's polling: it holds nothing of its own,
    // and a message reaches both.
    let first = browser.client.window().await.map_err(|e| e.to_string())?;
    let second = (browser.client.new_window(true).await).map_err(|e| e.to_string())?;
    (browser.client.switch_to_window(second.handle.clone()).await).map_err(|e| e.to_string())?;
    (browser.client.goto(&page).await).map_err(|e| e.to_string())?;
    live_on(&browser, "polling", "the second tab, Live by polling").await?;
    let role = (browser.client)
        .execute(
            "return document.documentElement.getAttribute('data-discussion-stream');",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    ensure(role != "holder", || format!("the second tab is the {role}"))?;
    let id = bridge.inject("general", "bob", "to both tabs").await?;
    live_with(&browser, Some(&id), "the message in the second tab").await?;
    (browser.client.switch_to_window(first).await).map_err(|e| e.to_string())?;
    live_with(&browser, Some(&id), "the message in the first tab").await?;
    println!(
        "buffering proxy: Live by polling {} ms after the page's load (the first time, two 1.5 s first-byte deadlines), {} ms after a reload (remembered)",
        to_live.as_millis(),
        again.as_millis()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_starts_then_stops_buffering_moves_the_panel_and_back_losing_nothing(
) -> Result<(), Error> {
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let nginx = Nginx::start(bridge.port, Listener::Http1).await?;
    let browser = Browser::start().await?;
    let page = format!("{}/?channel=general&{FAST}&{FALLBACK}", nginx.origin());
    (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
    live_on(&browser, "eventsource", "Live on the EventSource").await?;
    // A message every 100 ms throughout.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let publisher = {
        let (stop, api) = (stop.clone(), bridge.api.clone());
        tokio::spawn(async move {
            let mut ids = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                if let Ok(id) = api.inject("general", "bob", &format!("m{n}")).await {
                    ids.push(id);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            ids
        })
    };
    // The proxy starts buffering; the panel's stream is cut and comes back
    // through it, delivering nothing: the panel moves to polling.
    nginx.set_buffering(true).await?;
    bridge.disconnect(None).await?;
    live_on(&browser, "polling", "moved to polling")
        .await
        .map_err(|e| format!("{e}\n{}", nginx.log_tail()))?;
    // It stops buffering: a trial stream gets through, and the panel is back.
    nginx.set_buffering(false).await?;
    live_on(&browser, "eventsource", "back on the EventSource").await?;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let published = publisher.await.map_err(|e| e.to_string())?;
    let last = published.last().cloned().unwrap_or_default();
    live_with(&browser, Some(&last), "the last message").await?;
    let (_, shown) = read(&browser).await.ok_or("the page is unreadable")?;
    let from = published
        .iter()
        .position(|id| shown.contains(id))
        .unwrap_or(0);
    e2e::panel::exactly_once_in_order(&shown, &published[from..])?;
    println!(
        "buffering on and off: {} messages published across both switches, each shown exactly once, in order",
        published.len()
    );
    Ok(())
}

/// Counts the EventSources a tab makes: the page's constructor, wrapped
/// before any of the page's own scripts runs.
const COUNT_STREAMS: &str = "window.__streams = 0;
const Native = window.EventSource;
window.EventSource = class extends Native {
  constructor(url, init) { super(url, init); window.__streams += 1; }
};";

async fn streams_made(browser: &Browser) -> Result<u64, Error> {
    let made = (browser
        .client
        .execute("return window.__streams;", vec![])
        .await)
        .map_err(|e| e.to_string())?;
    made.as_u64()
        .ok_or_else(|| format!("window.__streams is {made}"))
}

/// Tabs that share a polled stream try the EventSource again as one: the
/// tab holding the stream makes the trials, the others none (each of ten
/// tabs trying on its own would be ten stalled requests every few minutes,
/// over HTTP/1.1's six per origin). When a trial gets through, every tab is
/// back on the one shared EventSource.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tabs_polling_behind_a_buffering_proxy_make_one_trial_stream_for_all() -> Result<(), Error>
{
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let nginx = Nginx::start(bridge.port, Listener::Buffering).await?;
    let browser = Browser::start().await?;
    let client = &browser.client;
    // A trial every second, each given 1.5 s to deliver.
    let page = format!(
        "{}/?channel=general&{FAST}&first_byte_ms=1500&probe_ms=1000",
        nginx.origin()
    );
    let mut tabs = Vec::new();
    for n in 0..3 {
        if n > 0 {
            let tab = client.new_window(true).await.map_err(|e| e.to_string())?;
            (client.switch_to_window(tab.handle).await).map_err(|e| e.to_string())?;
        }
        let source = serde_json::json!({ "source": COUNT_STREAMS });
        (browser.cdp("Page.addScriptToEvaluateOnNewDocument", source)).await?;
        (client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
        live_on(&browser, "polling", &format!("tab {n}, Live by polling"))
            .await
            .map_err(|e| format!("{e}\n{}", nginx.log_tail()))?;
        tabs.push(client.window().await.map_err(|e| e.to_string())?);
    }
    let (mut holder, mut before) = (None, Vec::new());
    for (n, tab) in tabs.iter().enumerate() {
        (client.switch_to_window(tab.clone()).await).map_err(|e| e.to_string())?;
        let role = (client)
            .execute(
                "return document.documentElement.getAttribute('data-discussion-stream');",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        if role == "holder" {
            holder = Some(n);
        }
        before.push(streams_made(&browser).await?);
    }
    let holder = holder.ok_or("no tab holds the stream")?;
    (client.switch_to_window(tabs[holder].clone()).await).map_err(|e| e.to_string())?;
    wait_until(SOON, "three trial streams from the holding tab", || async {
        let made = streams_made(&browser).await.ok()?;
        (made >= before[holder] + 3).then_some(())
    })
    .await?;
    for (n, tab) in tabs.iter().enumerate().filter(|(n, _)| *n != holder) {
        (client.switch_to_window(tab.clone()).await).map_err(|e| e.to_string())?;
        let made = streams_made(&browser).await? - before[n];
        ensure(made == 0, || {
            format!("tab {n} made {made} streams of its own while the holding tab tried three")
        })?;
    }
    // The proxy stops buffering: a trial gets through, and every tab is
    // back on one shared EventSource.
    nginx.set_buffering(false).await?;
    for (n, tab) in tabs.iter().enumerate() {
        (client.switch_to_window(tab.clone()).await).map_err(|e| e.to_string())?;
        live_on(
            &browser,
            "eventsource",
            &format!("tab {n} back on the EventSource"),
        )
        .await?;
    }
    let id = bridge.inject("general", "bob", "to every tab").await?;
    for (n, tab) in tabs.iter().enumerate() {
        (client.switch_to_window(tab.clone()).await).map_err(|e| e.to_string())?;
        live_with(&browser, Some(&id), &format!("the message in tab {n}")).await?;
    }
    wait_until(SOON, "one stream for the three tabs", || async {
        (bridge.active_streams().await.ok()?.len() == 1).then_some(())
    })
    .await
}

/// Storage refused, as with a browser set to block all site data:
/// `localStorage` and `sessionStorage` throw.
const NO_STORAGE: &str = "for (const name of ['localStorage', 'sessionStorage']) {
  Object.defineProperty(window, name, {
    get() { throw new DOMException('The user denied storage', 'SecurityError'); },
  });
}";

/// A browser that refuses storage cannot remember the choice of transport,
/// but the panel still finds the buffering proxy and polls through it (the
/// choice is kept in the page), shows messages and sends a reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_storage_the_panel_still_polls_through_a_buffering_proxy() -> Result<(), Error> {
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let nginx = Nginx::start(bridge.port, Listener::Buffering).await?;
    let browser = Browser::start().await?;
    let source = serde_json::json!({ "source": NO_STORAGE });
    (browser.cdp("Page.addScriptToEvaluateOnNewDocument", source)).await?;
    let page = format!(
        "{}/?channel=general&author=ann&{FAST}&{FALLBACK}",
        nginx.origin()
    );
    (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
    let refused = (browser.client)
        .execute(
            "try { localStorage.length; return false; } catch (e) { return true; }",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    ensure(refused == true, || "localStorage is not refused".into())?;
    live_on(&browser, "polling", "Live by polling, with no storage")
        .await
        .map_err(|e| format!("{e}\n{}", nginx.log_tail()))?;
    let id = bridge.inject("general", "bob", "no storage").await?;
    live_with(&browser, Some(&id), "a message by polling").await?;
    e2e::browser::type_reply(&browser.client, "a reply with no storage").await?;
    stored_and_shown_once(&bridge, &browser, "a reply with no storage").await
}

/// Issue 31, item 12: a host that signs in with a token function, behind a
/// buffering proxy, polls; once the proxy stops buffering, a trial stream,
/// signed in with a token from that function, gets through and the panel
/// is back on the EventSource (before, the trial never went: the token was
/// not at hand).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_function_a_trial_stream_still_brings_the_panel_back() -> Result<(), Error> {
    let options = BridgeOptions::new(e2e::bridge::binary()).with_users("tok-proxy-e2e Alice\n");
    let bridge = Bridge::start(options).await?;
    let nginx = Nginx::start(bridge.port, Listener::Buffering).await?;
    let browser = Browser::start().await?;
    let page = format!(
        "{}/host.html?channel=general&token=tok-proxy-e2e&{FAST}&{FALLBACK}",
        nginx.origin()
    );
    (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
    live_on(
        &browser,
        "polling",
        "Live by polling, signed in by a function",
    )
    .await
    .map_err(|e| format!("{e}\n{}", nginx.log_tail()))?;
    nginx.set_buffering(false).await?;
    live_on(&browser, "eventsource", "back on the EventSource").await?;
    let id = bridge.inject("general", "bob", "streamed again").await?;
    live_with(&browser, Some(&id), "a message on the stream").await?;
    let report = bridge.api.connections().await?;
    ensure(format!("{report:?}").contains("Alice"), || {
        format!("who streams: {report:?}")
    })
}

/// The `statuschange` events the host page (`host.html`) heard: status and transport.
async fn statuses(browser: &Browser) -> Result<Vec<(String, String)>, Error> {
    let value = (browser.client)
        .execute(
            "return (window.panelEvents || []).filter((e) => e.type === 'statuschange')
               .map((e) => [e.detail.status, e.detail.transport]);",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_value(value).map_err(|e| format!("unexpected events: {e}"))
}

/// Issue 31, item 12: a page load that starts on polling because the
/// browser remembers a buffering proxy tries a stream at its first Live, so
/// a proxy that stopped buffering is found on the next visit rather than
/// `probe_ms` (5 min) into it; and a choice remembered without a date (as
/// panels before this one wrote it) is not taken any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_buffering_proxy_is_tried_again_at_the_first_live() -> Result<(), Error> {
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let nginx = Nginx::start(bridge.port, Listener::Buffering).await?;
    let browser = Browser::start().await?;
    // `probe_ms` left at its five minutes.
    let page = format!(
        "{}/host.html?channel=general&{FAST}&first_byte_ms=1500",
        nginx.origin()
    );
    (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
    live_on(&browser, "polling", "Live by polling behind the buffer")
        .await
        .map_err(|e| format!("{e}\n{}", nginx.log_tail()))?;
    nginx.set_buffering(false).await?;
    (browser.client.refresh().await).map_err(|e| e.to_string())?;
    let live = |transport: &str| ("live".to_owned(), transport.to_owned());
    let found = wait_until(SOON, "Live by polling, then on the EventSource", || async {
        let shown = statuses(&browser).await.ok()?;
        let polled = shown.iter().position(|s| *s == live("polling"))?;
        shown[polled..]
            .contains(&live("eventsource"))
            .then_some(shown)
    })
    .await;
    let shown = match found {
        Ok(shown) => shown,
        Err(e) => {
            return Err(format!(
                "{e}: the host heard {:?}",
                statuses(&browser).await
            ))
        }
    };
    println!("a reload remembering the proxy: {shown:?}");
    // What an older panel left: "polling", with no date.
    (browser.client)
        .execute(
            "for (const key of Object.keys(localStorage)) {
               if (key.startsWith('discussion-panel:transport:')) localStorage.setItem(key, 'polling');
             }",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    (browser.client.refresh().await).map_err(|e| e.to_string())?;
    live_on(&browser, "eventsource", "Live on the EventSource").await?;
    let shown = statuses(&browser).await?;
    ensure(shown.iter().all(|(_, t)| t == "eventsource"), || {
        format!("an undated choice was taken: {shown:?}")
    })
}

/// Keeps every (label, transport) the panel shows in `window.__shown`, in
/// the page itself, so no short-lived state is missed.
const RECORD_SHOWN: &str = r#"const panel = document.querySelector('.discussion-panel');
const status = panel.querySelector('[data-connection-status]');
const read = () => status.getAttribute('data-connection-status') + ' ' + panel.getAttribute('data-transport');
window.__shown = [read()];
new MutationObserver(() => {
  const now = read();
  if (window.__shown[window.__shown.length - 1] !== now) window.__shown.push(now);
}).observe(panel, { attributes: true, subtree: true, attributeFilter: ['data-connection-status', 'data-transport'] });"#;

/// Issue 31, item 13: the proxy starts buffering and the stream is cut; the
/// browser reconnects it on its own, through the buffer, and nothing of it
/// arrives. The panel shows Reconnecting until something does, never Live
/// on the silent stream, and finds the buffer: Live by polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnection_through_a_buffer_is_never_shown_live() -> Result<(), Error> {
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let nginx = Nginx::start(bridge.port, Listener::Http1).await?;
    let browser = Browser::start().await?;
    let page = format!("{}/?channel=general&{FAST}&{FALLBACK}", nginx.origin());
    (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
    live_on(&browser, "eventsource", "Live on the EventSource").await?;
    (browser.client.execute(RECORD_SHOWN, vec![]).await).map_err(|e| e.to_string())?;
    nginx.set_buffering(true).await?;
    bridge.disconnect(None).await?;
    live_on(&browser, "polling", "Live by polling")
        .await
        .map_err(|e| format!("{e}\n{}", nginx.log_tail()))?;
    let shown = (browser
        .client
        .execute("return window.__shown;", vec![])
        .await)
        .map_err(|e| e.to_string())?;
    let shown: Vec<String> = serde_json::from_value(shown).map_err(|e| e.to_string())?;
    println!("shown: {shown:?}");
    let after: Vec<&String> = (shown.iter())
        .skip_while(|s| *s == "live eventsource")
        .collect();
    ensure(!after.iter().any(|s| *s == "live eventsource"), || {
        format!("Live on a stream that delivered nothing since it reconnected: {shown:?}")
    })
}

/// Counts the polls a tab makes: the page's `fetch`, wrapped before any of
/// the page's own scripts runs.
const COUNT_POLLS: &str = "window.__polls = 0;
const fetchNative = window.fetch;
window.fetch = function (input, init) {
  if (String(input.url || input).includes('/api/poll')) window.__polls += 1;
  return fetchNative.call(this, input, init);
};";

async fn polls(browser: &Browser) -> Result<u64, Error> {
    let made = (browser
        .client
        .execute("return window.__polls;", vec![])
        .await)
        .map_err(|e| e.to_string())?;
    made.as_u64()
        .ok_or_else(|| format!("window.__polls is {made}"))
}

/// Issue 31, item 7: a polling panel whose bridge went away tries it on its
/// backoff and, once it gave up (Disconnected), polls no more (before, the
/// tab holding the stream polled every 2 s for ever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_that_went_away_is_polled_no_more_once_the_panel_gave_up() -> Result<(), Error> {
    let mut bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let browser = Browser::start().await?;
    let source = serde_json::json!({ "source": COUNT_POLLS });
    (browser.cdp("Page.addScriptToEvaluateOnNewDocument", source)).await?;
    let page = bridge.url(&format!(
        "/?channel=general&polling=on&max_attempts=2&{FAST}"
    ));
    (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
    live_on(&browser, "polling", "Live by polling").await?;
    bridge.kill();
    wait_until(SOON, "Disconnected", || async {
        let (label, _) = read(&browser).await?;
        (label == "disconnected").then_some(())
    })
    .await?;
    let before = polls(&browser).await?;
    // Absence takes a while to see: three of the poller's own retry
    // intervals (2 s each), during which not one poll may go.
    let more = wait_until(Duration::from_secs(6), "another poll", || async {
        let now = polls(&browser).await.ok()?;
        (now > before).then_some(now)
    })
    .await;
    match more {
        Ok(now) => Err(format!(
            "{} polls after the panel gave up ({before} before)",
            now - before
        )),
        Err(_) => Ok(()),
    }
}

// ------------------------------- the review of issue 31's transport fixes

/// The transport the browser remembers for the bridge (`localStorage`).
async fn remembered(browser: &Browser) -> Result<String, Error> {
    let value = (browser.client)
        .execute(
            "return Object.entries(localStorage)
               .filter(([k]) => k.startsWith('discussion-panel:transport:'))
               .map(([k, v]) => v).join(',');",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

/// Finding 1: a bridge that is down for a while (a deploy's restart) is no
/// proxy that buffers. The sharing glue armed the real EventSource's
/// first-byte deadline when it created one, and nothing disarmed it when
/// that stream failed and was closed: once the panels' backoff was longer
/// than `first_byte_ms`, each refused stream's deadline fired later and
/// counted as a silent one; the second made every tab poll, remembered for
/// a day. Only a stream that opened and said nothing counts now, and its
/// deadline goes with it. (With `share_across_tabs=off` it passed before
/// too: a panel's own engine cancelled its deadline when its stream failed.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_that_was_down_is_not_taken_for_a_buffering_proxy() -> Result<(), Error> {
    let mut bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let browser = Browser::start().await?;
    // The default backoff (1 s, doubling), many attempts, the suite's 1.5 s
    // first-byte deadline.
    let page = bridge.url("/?channel=general&max_attempts=50&first_byte_ms=1500");
    (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
    live_on(&browser, "eventsource", "Live on the EventSource").await?;
    (browser.client.execute(CAPTURE_PANEL_LOG, vec![]).await).map_err(|e| e.to_string())?;
    bridge.kill();
    // Refused streams until the backoff (1, 2, 4 s) is well past 1.5 s;
    // the next comes within 8 s.
    wait_until(Duration::from_secs(40), "four refused attempts", || async {
        let log = (browser.client)
            .execute("return window.__panelLog.join(' ');", vec![])
            .await
            .ok()?;
        let attempts = log.as_str()?.matches("consecutive failures").count();
        (attempts >= 4).then_some(())
    })
    .await?;
    let during = remembered(&browser).await?;
    bridge.restart().await?;
    live_with(&browser, None, "Live again once the bridge is back").await?;
    // Nothing to wait for: what must not happen would come within the
    // first-byte deadline (1.5 s) of the last stream.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (transport, hint) = transport(&browser).await.unwrap_or_default();
    let after = remembered(&browser).await?;
    ensure(
        transport == "eventsource" && !hint && !after.starts_with("polling"),
        || {
            format!(
                "a bridge that was down was taken for a buffering proxy: the panel is Live on \
                 {transport} (\"via polling\" shown: {hint}); the browser remembers {after:?} \
                 (while down: {during:?})"
            )
        },
    )
}

/// Finding 6: a trial asks the host's token function first, and waited for
/// it with no deadline: one call that never answered (a refresh request
/// that hangs once) left the trial under way for good, and the panel polled
/// for the rest of the page's life although streams got through. A token
/// call has 10 s now; past it the trial fails like a network error, and the
/// next one asks again. No proxy buffers here: the first trial that gets a
/// token brings the panel back to the EventSource.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_call_that_never_answers_does_not_end_the_trials() -> Result<(), Error> {
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let browser = Browser::start().await?;
    let page = bridge.url(&format!(
        "/host.html?channel=general&token=tok&polling=on&probe_ms=5000&{FAST}"
    ));
    (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
    live_on(&browser, "polling", "Live by polling, as the host asked").await?;
    // The next call of the token function (the first trial's) never answers.
    let js = |script: &'static str| async {
        let value = (browser.client.execute(script, vec![]).await).map_err(|e| e.to_string())?;
        Ok::<_, Error>(value)
    };
    js("window.__asked = 0;
        Object.defineProperty(window, 'panelToken', { configurable: true,
          get() { window.__asked++; return new Promise(() => {}); } });")
    .await?;
    wait_until(SOON, "a trial asking for a token", || async {
        (js("return window.__asked;").await.ok()? != 0).then_some(())
    })
    .await?;
    // Every later call answers at once.
    js(
        "Object.defineProperty(window, 'panelToken', { configurable: true, writable: true,
          value: 'tok' });",
    )
    .await?;
    // The hung call's 10 s, then the next trial (every 5 s).
    wait_until(Duration::from_secs(30), "a later trial", || async {
        let (label, _) = read(&browser).await?;
        let (transport, hint) = transport(&browser).await?;
        (label == "live" && transport == "eventsource" && !hint).then_some(())
    })
    .await
    .map_err(|e| format!("{e}: still polling, no trial after the hung one"))
}

/// Makes every call of `host.html`'s token function (`async () =>
/// window.panelToken`) answer `ms` later: a host whose token refresh is slow.
fn slow_token(ms: u32) -> String {
    format!(
        "Object.defineProperty(window, 'panelToken', {{
           configurable: true,
           set(v) {{ this.__token = v; }},
           get() {{ return new Promise((r) => setTimeout(() => r(this.__token), {ms})); }},
         }});"
    )
}

/// Finding 2: the first-byte deadline of a stream started when the engine
/// asked for it, before the glue had waited for the host's token function,
/// so a token function slower than `first_byte_ms` made every stream
/// "deliver nothing" in time: the second switched the panel to polling and
/// the browser remembered a buffering proxy for a day. The deadline runs
/// from the stream's opening now. No proxy here: the bridge is reached
/// directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_token_function_is_not_taken_for_a_buffering_proxy() -> Result<(), Error> {
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let browser = Browser::start().await?;
    let source = serde_json::json!({ "source": slow_token(2_000) });
    (browser.cdp("Page.addScriptToEvaluateOnNewDocument", source)).await?;
    let page = bridge.url(&format!(
        "/host.html?channel=general&token=tok&{FAST}&first_byte_ms=1500"
    ));
    (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
    live_with(&browser, None, "Live, signed in by a slow function").await?;
    // Nothing to wait for: the switch came within two first-byte deadlines.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (transport, hint) = transport(&browser).await.unwrap_or_default();
    let memory = remembered(&browser).await?;
    ensure(
        transport == "eventsource" && !memory.starts_with("polling"),
        || {
            format!(
                "a slow token function was taken for a buffering proxy: Live on {transport} \
                 (\"via polling\" shown: {hint}), the browser remembers {memory:?}"
            )
        },
    )
}
