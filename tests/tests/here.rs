//! Who is here and who is typing, in the real panel (issue 34): one
//! person in several tabs and on a second device is one avatar; a reload
//! and a holder tab's handover never show anyone leaving; typing shows
//! others' names, never the reader's own, goes when their message comes
//! or 8 s after their last signal, and the reader's typing reaches the
//! bridge at most once per 3 s; a stream the application refuses at its
//! connect callback never shows Live.

use e2e::bridge::BridgeOptions;
use e2e::browser::Browser;
use e2e::panel::{ensure, Scenario, FAST};
use e2e::{wait_until, Error};
use fantoccini::Client;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SOON: Duration = Duration::from_secs(15);

/// Well under the 8 s a typing signal lasts: what must change because of
/// something else than its running out.
const AT_ONCE: Duration = Duration::from_secs(3);

fn page(author: &str) -> String {
    format!("/host.html?channel=general&author={author}&{FAST}")
}

/// What a panel shows of who is here: `data-count` and the named people.
const PRESENCE: &str = r#"
    const list = document.querySelector('discussion-panel [data-presence]');
    if (!list) return null;
    const users = [...list.querySelectorAll('[data-user]')].map(e => e.getAttribute('data-user'));
    const shown = [...list.querySelectorAll('[data-user]:not([hidden])')].map(e => e.getAttribute('data-user'));
    const more = list.querySelector('.dp-more');
    return { count: Number(list.getAttribute('data-count')), users, shown,
             more: more ? more.querySelector('[aria-hidden]').textContent + '|' + more.querySelector('.dp-sr').textContent : null,
             label: document.querySelector('discussion-panel [data-connection-status]')?.getAttribute('data-connection-status') };
"#;

async fn js(client: &Client, script: &str) -> Result<Value, Error> {
    (client.execute(script, vec![]).await).map_err(|e| format!("running a script: {e}"))
}

/// Waits until `client`'s panel is Live and shows exactly `users` here
/// (sorted), `count` in all.
async fn shows_here(client: &Client, users: &[&str], count: u64, what: &str) -> Result<(), Error> {
    let last = std::cell::RefCell::new(Value::Null);
    let last = &last;
    let seen = wait_until(SOON, what, || async move {
        let state = js(client, PRESENCE).await.ok()?;
        *last.borrow_mut() = state.clone();
        let mut shown: Vec<String> = serde_json::from_value(state["users"].clone()).ok()?;
        shown.sort();
        (state["label"] == "live" && shown == users && state["count"] == count).then_some(())
    })
    .await;
    seen.map_err(|e| format!("{e}; the panel showed {}", last.borrow()))
}

/// The `presencechange` events the host heard, as `(count, users)`.
async fn presence_events(client: &Client) -> Result<Vec<(u64, Vec<String>)>, Error> {
    let events = js(
        client,
        "return window.panelEvents.filter(e => e.type === 'presencechange').map(e => e.detail);",
    )
    .await?;
    let events: Vec<Value> = serde_json::from_value(events).map_err(|e| e.to_string())?;
    Ok(events
        .iter()
        .map(|d| {
            let mut users: Vec<String> =
                serde_json::from_value(d["users"].clone()).unwrap_or_default();
            users.sort();
            (d["count"].as_u64().unwrap_or(u64::MAX), users)
        })
        .collect())
}

async fn open(client: &Client, url: &str) -> Result<(), Error> {
    (client.goto(url).await).map_err(|e| format!("cannot open {url}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_in_three_tabs_and_two_profiles_are_two_and_never_flap() -> Result<(), Error> {
    let s = Scenario::live("two_people_three_tabs", &page("Ann")).await?;
    let first = s.this_tab().await?;
    let second = s.open_tab(&page("Ann")).await?;
    s.wait_label("live", SOON).await?;
    // Bob, on another device: a browser of his own.
    let bob = Browser::start().await?;
    open(&bob.client, &s.bridge.url(&page("Bob"))).await?;
    shows_here(&bob.client, &["Ann", "Bob"], 2, "Bob sees Ann and himself").await?;
    for tab in [&first, &second] {
        s.to_tab(tab).await?;
        shows_here(
            &s.browser.client,
            &["Ann", "Bob"],
            2,
            "each of Ann's tabs sees two",
        )
        .await?;
    }
    let answer: Value = reqwest::get(s.bridge.url("/api/channels/general/presence"))
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    ensure(answer["count"] == 2, || {
        format!("the bridge counts {answer}")
    })?;
    let heard = presence_events(&bob.client).await?;
    ensure(
        heard.last() == Some(&(2, vec!["Ann".into(), "Bob".into()])),
        || format!("Bob's host heard {heard:?}"),
    )?;
    let before = heard.len();

    // Ann reloads the tab that follows the shared stream: it joins a
    // stream already open, whose opening presence went by, and nothing
    // changes at the bridge; it shows who is here all the same. Then she
    // closes the tab holding the stream: the other takes over. Nobody ever
    // sees her leave.
    let mut holder = None;
    for tab in [&first, &second] {
        s.to_tab(tab).await?;
        if s.holds_stream().await? {
            holder = Some(tab.clone());
        }
    }
    let holder = holder.ok_or("no tab holds the stream")?;
    let other = if holder == first { &second } else { &first };
    s.to_tab(other).await?;
    s.browser
        .client
        .refresh()
        .await
        .map_err(|e| format!("reloading: {e}"))?;
    s.wait_label("live", SOON).await?;
    ensure(!s.holds_stream().await?, || {
        "the reloaded tab took the stream".into()
    })?;
    shows_here(
        &s.browser.client,
        &["Ann", "Bob"],
        2,
        "the reloaded follower sees two",
    )
    .await?;
    s.to_tab(&holder).await?;
    (s.browser.client.close_window().await).map_err(|e| format!("closing the tab: {e}"))?;
    s.to_tab(other).await?;
    s.wait_for(SOON, "the other tab holds the stream", |st| {
        st.label() == "live"
    })
    .await?;
    wait_until(SOON, "the other tab holds the stream", || async {
        s.holds_stream().await.ok().filter(|h| *h)
    })
    .await?;
    shows_here(
        &s.browser.client,
        &["Ann", "Bob"],
        2,
        "Ann's last tab sees two",
    )
    .await?;
    // Past the bridge's grace (5 s) from the handover: still two, and
    // Bob's host never heard a change.
    let handed_over = std::time::Instant::now();
    wait_until(SOON, "the grace to pass", || async {
        (handed_over.elapsed() > Duration::from_secs(6)).then_some(())
    })
    .await?;
    shows_here(&bob.client, &["Ann", "Bob"], 2, "Bob still sees Ann").await?;
    let heard = presence_events(&bob.client).await?;
    ensure(heard.len() == before, || {
        format!("Bob's host heard presence flap: {:?}", &heard[before..])
    })?;

    // Ann leaves for good: after the grace, Bob is alone.
    open(&s.browser.client, "about:blank").await?;
    shows_here(&bob.client, &["Bob"], 1, "Bob alone once Ann left").await?;
    let heard = presence_events(&bob.client).await?;
    ensure(heard.last() == Some(&(1, vec!["Bob".into()])), || {
        format!("Bob's host heard {heard:?}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_shows_five_and_counts_the_rest() -> Result<(), Error> {
    let s = Scenario::live("five_and_the_rest", &page("Ann")).await?;
    // Seven more people, and two streams without a name.
    let mut held = Vec::new();
    for who in ["Bea", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal"] {
        held.push(stream_as(&s, Some(who)).await?);
    }
    held.push(stream_as(&s, None).await?);
    held.push(stream_as(&s, None).await?);
    let state = wait_until(SOON, "ten here", || async {
        let state = js(&s.browser.client, PRESENCE).await.ok()?;
        (state["count"] == 10).then_some(state)
    })
    .await?;
    ensure(state["users"].as_array().map(Vec::len) == Some(8), || {
        format!("every named person is in the markup: {state}")
    })?;
    ensure(state["shown"].as_array().map(Vec::len) == Some(5), || {
        format!("five avatars shown: {state}")
    })?;
    ensure(state["more"] == "+5|5 more", || format!("then +5: {state}"))?;
    // A screen reader hears names, not initials.
    let heard = js(
        &s.browser.client,
        "return [...document.querySelectorAll('discussion-panel [data-user]:not([hidden])')]
            .map(e => e.querySelector('.dp-sr').textContent + '|' + e.querySelector('[aria-hidden]').textContent);",
    )
    .await?;
    ensure(
        heard
            .as_array()
            .is_some_and(|a| a.iter().any(|n| n == "Bea|B")),
        || format!("named for screen readers: {heard}"),
    )?;
    // Avatars, "+N" and a typing line pass axe-core.
    someone_types(&s, "Bea").await?;
    typing_line(&s.browser.client, "Bea is typing…", "Bea typing").await?;
    let found = s.browser.axe_violations().await?;
    ensure(found.is_empty(), || {
        format!("axe-core: {}", found.join("\n  "))
    })?;
    drop(held);
    Ok(())
}

/// A raw stream of `general` held open as `who` (a name-less one without).
async fn stream_as(s: &Scenario, who: Option<&str>) -> Result<reqwest::Response, Error> {
    let mut url = s.bridge.url("/api/channels/general/events");
    if let Some(who) = who {
        url.push_str("?as=");
        url.push_str(who);
    }
    reqwest::get(&url).await.map_err(|e| format!("{url}: {e}"))
}

/// What the typing line says, and how often it changed since `watch_typing`.
const TYPING: &str = r#"
    const line = document.querySelector('discussion-panel [data-typing]');
    // The names are isolated (U+2068 … U+2069): read without the marks.
    return { text: line ? line.textContent.replace(/[\u2068\u2069]/g, '') : null, live: line && line.getAttribute('aria-live'),
             changes: window.typingChanges ?? 0, cleared: window.typingCleared ?? null };
"#;

const WATCH_TYPING: &str = r#"
    const line = document.querySelector('discussion-panel [data-typing]');
    window.typingChanges = 0;
    new MutationObserver(() => {
        window.typingChanges++;
        if (line.textContent === '') window.typingCleared = performance.now();
    }).observe(line, { childList: true, characterData: true, subtree: true });
    return performance.now();
"#;

async fn typing_line(client: &Client, text: &str, what: &str) -> Result<Value, Error> {
    typing_line_within(client, text, SOON, what).await
}

/// As [`typing_line`], within `within` (shorter than the 8 s a signal
/// lasts, where the line must change because of something else).
async fn typing_line_within(
    client: &Client,
    text: &str,
    within: Duration,
    what: &str,
) -> Result<Value, Error> {
    let last = std::cell::RefCell::new(Value::Null);
    let last = &last;
    let seen = wait_until(within, what, || async move {
        let state = js(client, TYPING).await.ok()?;
        *last.borrow_mut() = state.clone();
        (state["text"] == text).then_some(state)
    })
    .await;
    seen.map_err(|e| format!("{e}; the typing line was {}", last.borrow()))
}

async fn someone_types(s: &Scenario, who: &str) -> Result<(), Error> {
    let answer = reqwest::Client::new()
        .post(s.bridge.url("/internal/channels/general/typing"))
        .json(&json!({ "user": who }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    ensure(answer.status().is_success(), || {
        format!("typing: {}", answer.status())
    })
}

async fn typing_events(client: &Client) -> Result<Vec<Value>, Error> {
    let events = js(
        client,
        "return window.panelEvents.filter(e => e.type === 'typingchange').map(e => e.detail.users);",
    )
    .await?;
    serde_json::from_value(events).map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn others_typing_is_named_then_cleared_by_their_message_or_after_eight_seconds(
) -> Result<(), Error> {
    let s = Scenario::live("others_typing", &page("Ann")).await?;
    let client = &s.browser.client;
    let state = js(client, TYPING).await?;
    ensure(state["text"] == "" && state["live"] == "polite", || {
        format!("an empty polite region at first: {state}")
    })?;
    js(client, WATCH_TYPING).await?;
    someone_types(&s, "Ann").await?;
    someone_types(&s, "Bob").await?;
    typing_line(client, "Bob is typing…", "Bob typing (not Ann, who reads)").await?;
    someone_types(&s, "Cy").await?;
    typing_line(client, "Bob and Cy are typing…", "two typing").await?;
    someone_types(&s, "Dee").await?;
    typing_line(client, "Several people are typing…", "three typing").await?;
    let events = typing_events(client).await?;
    ensure(events.last() == Some(&json!(["Bob", "Cy", "Dee"])), || {
        format!("the host heard {events:?}")
    })?;
    // Bob's message ends his typing at once.
    s.bridge.inject("general", "Bob", "here it is").await?;
    typing_line_within(
        client,
        "Cy and Dee are typing…",
        AT_ONCE,
        "Bob's message ends his typing",
    )
    .await?;
    // Cy signals again (past the bridge's 2 s per person): the line does
    // not change, so a screen reader hears nothing new.
    let changes = js(client, TYPING).await?["changes"].clone();
    let again = std::time::Instant::now();
    wait_until(SOON, "2 s", || async {
        (again.elapsed() > Duration::from_millis(2_100)).then_some(())
    })
    .await?;
    let signalled = js(client, "return performance.now();").await?;
    someone_types(&s, "Cy").await?;
    // Dee's 8 s run out first; Cy's later, 8 s after his last signal.
    typing_line(client, "Cy is typing…", "Dee's signal runs out").await?;
    let state = typing_line(client, "", "Cy's signal runs out").await?;
    let after = state["cleared"].as_f64().unwrap_or(0.0) - signalled.as_f64().unwrap_or(0.0);
    ensure(after >= 7_500.0, || {
        format!("Cy's typing went {after} ms after his last signal, before 8 s")
    })?;
    let changes_now = state["changes"].as_u64().unwrap_or(0);
    ensure(changes_now == changes.as_u64().unwrap_or(0) + 2, || {
        format!("the line changed {changes} times before Cy's second signal, {changes_now} after: only Dee's and Cy's ends")
    })?;
    let events = typing_events(client).await?;
    ensure(events.last() == Some(&json!([])), || {
        format!("the host heard {events:?}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readers_typing_reaches_others_once_per_three_seconds_and_never_themselves(
) -> Result<(), Error> {
    let s = Scenario::live("readers_typing", &page("Ann")).await?;
    let bob = Browser::start().await?;
    open(&bob.client, &s.bridge.url(&page("Bob"))).await?;
    shows_here(&bob.client, &["Ann", "Bob"], 2, "Bob is here").await?;
    let client = &s.browser.client;
    let typing_posts = "return performance.getEntriesByType('resource').filter(e => e.name.includes('/typing')).length;";
    // Spaces only: nothing to say (the throttle's record, written before
    // a signal goes, is not there).
    keys(client, "   ").await?;
    let record = "return Object.keys(localStorage).filter(k => k.startsWith('dp-typing:')).map(k => k + '=' + localStorage.getItem(k));";
    let records = js(client, record).await?;
    ensure(records == json!([]), || {
        format!("a blank draft signalled typing: {records}")
    })?;
    keys(client, "hello").await?;
    keys(client, " there").await?;
    typing_line(&bob.client, "Ann is typing…", "Bob sees Ann typing").await?;
    let posts = js(client, typing_posts).await?;
    ensure(posts == 1, || {
        format!("{posts} typing requests for one burst of keys")
    })?;
    let records = js(client, record).await?;
    ensure(records.as_array().map(Vec::len) == Some(1), || {
        format!("one record per person: {records}")
    })?;
    ensure(js(client, TYPING).await?["text"] == "", || {
        "Ann sees her own typing".into()
    })?;
    // Sent: Bob's line clears at once.
    keys(client, &char::from(fantoccini::key::Key::Enter).to_string()).await?;
    typing_line_within(&bob.client, "", AT_ONCE, "Ann's message ends her typing").await?;
    Ok(())
}

/// Types `text` into the composer (Enter is a key of its own).
async fn keys(client: &Client, text: &str) -> Result<(), Error> {
    let input = client
        .find(fantoccini::Locator::Css(
            r#"textarea[data-action="compose"]"#,
        ))
        .await
        .map_err(|e| format!("no composer: {e}"))?;
    (input.send_keys(text).await).map_err(|e| format!("typing: {e}"))
}

/// An application that refuses every stream at its connect callback, and
/// counts the callbacks by type.
async fn refusing_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let heard = calls.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let heard = heard.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // The callback is one small request: read until its body ends.
                while let Ok(n) = socket.read(&mut buffer).await {
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    if request.ends_with(b"}") {
                        break;
                    }
                }
                let text = String::from_utf8_lossy(&request).to_string();
                let kind = if text.contains("\"type\":\"connect\"") {
                    "connect"
                } else {
                    "other"
                };
                heard.lock().expect("calls").push(kind.to_owned());
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
            });
        }
    });
    (url, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_refused_at_its_connect_callback_never_shows_live() -> Result<(), Error> {
    let (url, calls) = refusing_receiver().await;
    let bridge = BridgeOptions::new(e2e::bridge::binary()).with_args(&["--callback-url", &url]);
    let s = Scenario::start(
        "refused_connect",
        bridge,
        &format!("{}&max_attempts=2", page("Ann")),
    )
    .await?;
    s.record_labels().await?;
    let state = s
        .wait_for(SOON, "the panel to give up", |st| st.retry > 0)
        .await?;
    ensure(state.label() == "disconnected", || format!("{state:?}"))?;
    let labels = s.labels_seen().await?;
    ensure(!labels.iter().any(|l| l == "live"), || {
        format!("a refused stream showed {labels:?}")
    })?;
    let calls = calls.lock().expect("calls").clone();
    ensure(
        !calls.is_empty() && calls.iter().all(|c| c == "connect"),
        || format!("the application heard {calls:?}: connects only, no disconnect"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_polling_too_the_reader_is_named_here_and_sees_others_type() -> Result<(), Error> {
    let s = Scenario::live(
        "here_by_polling",
        &format!("/host.html?channel=general&author=Ann&polling=on&{FAST}"),
    )
    .await?;
    let transport = js(
        &s.browser.client,
        "return document.querySelector('.discussion-panel').getAttribute('data-transport');",
    )
    .await?;
    ensure(transport == "polling", || {
        format!("the panel is on {transport}")
    })?;
    let _bob = stream_as(&s, Some("Bob")).await?;
    shows_here(
        &s.browser.client,
        &["Ann", "Bob"],
        2,
        "Ann, by polls, and Bob",
    )
    .await?;
    someone_types(&s, "Bob").await?;
    typing_line(&s.browser.client, "Bob is typing…", "Bob typing, by a poll").await?;
    Ok(())
}
