//! Chaos: three tabs of one browser profile (sharing one stream) watch a
//! channel while a publisher injects numbered messages and a driver applies
//! random faults, among them closing or crashing the tab that holds the
//! stream (a new tab then takes its place). At the end every open tab shows
//! exactly the bridge's history, once each, in order, and no label said Live
//! for longer than the watchdog deadline (plus slack) into a silent stream (a
//! zombie window: heartbeats paused and the publisher quiet, since messages
//! are signs of life too).
//!
//! Beside the publisher, a changer plays Discord's people: it edits, deletes
//! and reacts to the published messages at random, so the final check also
//! compares every tab's rows with the bridge's state, version by version
//! (text, edit time, reactions), with no deleted message shown.
//!
//! And a stranger (issue 31): beside the faults, a client posts hostile
//! messages (a timestamp no date can hold, a flood of relative timestamps,
//! spoilers over links and code, bidi controls, masked links to scripts)
//! and piles the bounds' worth of reactions on them (every distinct emoji a
//! message may hold, a crowd of long names on one). Every tab is watched
//! from before its scripts run: no uncaught error, unhandled rejection or
//! `console.error` in any tab still open at the end, and every tab equal to
//! the bridge, hostile rows included.
//!
//! Last, a zombie upstream that never recovers: every tab, reloaded with
//! `max_attempts=3`, must stop on its own (Disconnected, with Retry) within
//! that budget, and come back Live with every message after Retry.
//!
//! `CHAOS_SECONDS` sets the length (default 45, the CI version); the long run
//! for the notes uses e.g. `CHAOS_SECONDS=1800`.

use bridge_client::{Fault, Gateway};
use e2e::bridge::BridgeOptions;
use e2e::browser::Browser;
use e2e::panel::{all_messages, exactly_once_in_order, row_of, rows_in, RowShape, Scenario};
use e2e::{epoch_ms, wait_until, Error};
use fantoccini::wd::WindowHandle;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Heartbeats every 0.3 s: the watchdog deadline is 0.75 s.
const DEADLINE_MS: f64 = 750.0;
/// Allowance for timers, polling and a loaded machine.
const SLACK_MS: f64 = 1_500.0;
const PAGE: &str = "/?channel=chaos&backoff_base_ms=100&backoff_cap_ms=800&stability_window_ms=1000&max_attempts=1000&max_messages=100000&author=reader";

/// A tiny deterministic generator (xorshift), seeded from the clock and printed,
/// so a failing run can be replayed with `CHAOS_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

/// The longest stretch (ms) the tab said Live without a break inside the silent
/// window `[start, end]`. A new stream that opens inside the window is briefly
/// and rightly Live (its `status` is a sign of life) until its own watchdog
/// fires, so each stretch is measured from its own start or the window's.
fn longest_live_within(timeline: &[(f64, String)], start: f64, end: f64) -> f64 {
    let mut longest: f64 = 0.0;
    for (index, (at, label)) in timeline.iter().enumerate() {
        if label != "live" {
            continue;
        }
        let until = timeline
            .get(index + 1)
            .map_or(f64::INFINITY, |(next, _)| *next);
        let (from, to) = (at.max(start), until.min(end));
        if to > from {
            longest = longest.max(to - from);
        }
    }
    longest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chaos_loses_nothing_and_never_lies() {
    if let Err(problem) = run().await {
        panic!("chaos: {problem}");
    }
}

async fn run() -> Result<(), Error> {
    let seconds: u64 = std::env::var("CHAOS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(45);
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| epoch_ms() as u64 | 1);
    eprintln!("chaos: {seconds} s, seed {seed}");
    let options = BridgeOptions::new(env!("CARGO_BIN_EXE_e2e-bridge"))
        .with_args(&["--history-per-channel", "1000000"])
        .with_history_file();
    let first = Scenario::start("chaos-tab-1", options, PAGE).await?;
    // Watched from before its scripts run: opened again once watched.
    first.browser.watch_page().await?;
    first.open(PAGE).await?;
    first.wait_label("live", Duration::from_secs(20)).await?;
    let mut tabs = vec![first.this_tab().await?];
    for _ in 1..TABS {
        let tab = (first.browser.client.new_window(true).await)
            .map_err(|e| format!("cannot open a tab: {e}"))?
            .handle;
        first.to_tab(&tab).await?;
        first.browser.watch_page().await?;
        first.open(PAGE).await?;
        tabs.push(tab);
        first.wait_label("live", Duration::from_secs(20)).await?;
    }
    for tab in &tabs {
        first.to_tab(tab).await?;
        first.browser.record_labels().await?;
    }
    let Scenario {
        bridge, browser, ..
    } = first;
    let port = bridge.port;

    // The publisher: a numbered message every 50 ms, whether or not the bridge is up.
    let stop = Arc::new(AtomicBool::new(false));
    // Set during a zombie window: messages are signs of life too, so a stream
    // is only silent when the publisher pauses with the heartbeats.
    let quiet = Arc::new(AtomicBool::new(false));
    let injected = Arc::new(AtomicU64::new(0));
    // The ids the publisher stored, for the changer to pick from.
    let published = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let publisher = {
        let (stop, quiet, injected, published) = (
            stop.clone(),
            quiet.clone(),
            injected.clone(),
            published.clone(),
        );
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap();
            let url = format!("http://127.0.0.1:{port}/internal/channels/chaos/messages");
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if quiet.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                n += 1;
                let body = json!({ "author": "publisher", "content": format!("message {n}") });
                if let Ok(answer) = client.post(&url).json(&body).send().await {
                    if answer.status() == 201 {
                        injected.fetch_add(1, Ordering::Relaxed);
                        let stored: serde_json::Value = answer.json().await.unwrap_or_default();
                        if let Some(id) = stored["id"].as_str() {
                            published.lock().unwrap().push(id.to_owned());
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    // The changer: every 150 ms or so, an edit, a deletion or a reaction
    // to a published message (never a reply: those are counted below).
    let changes = Arc::new(Changes::default());
    let changer = {
        let (stop, quiet, published, changes) = (
            stop.clone(),
            quiet.clone(),
            published.clone(),
            changes.clone(),
        );
        let mut rng = Rng(seed.rotate_left(17) | 1);
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap();
            let base = format!("http://127.0.0.1:{port}/internal/channels/chaos/messages");
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(100 + rng.next(100))).await;
                if quiet.load(Ordering::Relaxed) {
                    continue; // a change is a sign of life too
                }
                let pick = {
                    let ids = published.lock().unwrap();
                    (!ids.is_empty()).then(|| ids[rng.next(ids.len() as u64) as usize].clone())
                };
                let Some(id) = pick else {
                    continue;
                };
                let kind = rng.next(10);
                let request = match kind {
                    0..=3 => client.patch(format!("{base}/{id}")).json(
                        &json!({ "content": format!("message {id}, edited {}", rng.next(1000)) }),
                    ),
                    4 => client.delete(format!("{base}/{id}")),
                    _ => {
                        let emoji = ["%F0%9F%91%8D", "%F0%9F%8E%89"][rng.next(2) as usize];
                        let user = ["ann", "bob", "cy"][rng.next(3) as usize];
                        let url = format!("{base}/{id}/reactions/{emoji}");
                        let request = if rng.next(3) == 0 {
                            client.delete(url)
                        } else {
                            client.put(url)
                        };
                        request.json(&json!({ "user": user }))
                    }
                };
                if matches!(request.send().await, Ok(r) if r.status() == 200) {
                    let counter = match kind {
                        0..=3 => &changes.edits,
                        4 => {
                            published.lock().unwrap().retain(|p| *p != id);
                            &changes.deletions
                        }
                        _ => &changes.reactions,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    // The stranger: a hostile message about every 0.8 s, each given the
    // bounds' worth of reactions.
    let strangeness = Arc::new(AtomicU64::new(0));
    let stranger = {
        let (stop, quiet, strangeness) = (stop.clone(), quiet.clone(), strangeness.clone());
        let mut rng = Rng(seed.rotate_left(31) | 1);
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap();
            let base = format!("http://127.0.0.1:{port}/internal/channels/chaos/messages");
            let hostile = hostile_messages();
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(500 + rng.next(600))).await;
                if quiet.load(Ordering::Relaxed) {
                    continue;
                }
                let content = &hostile[rng.next(hostile.len() as u64) as usize];
                let body = json!({ "author": "mallory \u{202e}evil", "content": content });
                let Ok(answer) = client.post(&base).json(&body).send().await else {
                    continue;
                };
                let stored: serde_json::Value = answer.json().await.unwrap_or_default();
                let Some(id) = stored["id"].as_str() else {
                    continue;
                };
                strangeness.fetch_add(1, Ordering::Relaxed);
                // Every emoji a message may hold, and one more (refused);
                // then a crowd of the longest names on the first.
                let reactions = STRANGE_EMOJI
                    .iter()
                    .map(|emoji| (*emoji, "mallory".to_owned()))
                    .chain(
                        (0..25).map(|n| (STRANGE_EMOJI[0], format!("{n:02}{}", "w".repeat(30)))),
                    );
                for (emoji, user) in reactions {
                    if stop.load(Ordering::Relaxed) || quiet.load(Ordering::Relaxed) {
                        break;
                    }
                    let url = format!("{base}/{id}/reactions/{}", percent_encoded(emoji));
                    let _ = client.put(url).json(&json!({ "user": user })).send().await;
                }
            }
        })
    };

    let mut bridge = bridge;
    let mut rng = Rng(seed);
    let mut faults = Vec::new();
    let mut zombies: Vec<(f64, f64)> = Vec::new();
    let mut tabs_replaced = 0;
    // Replies sent from the tabs' composers, and the tabs they came from.
    let mut replies: Vec<(String, WindowHandle)> = Vec::new();
    let mut closed: Vec<WindowHandle> = Vec::new();
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        let hold = Duration::from_millis(500 + rng.next(2_000));
        if rng.next(2) == 0 {
            send_reply(&browser, &tabs, &mut rng, &mut replies).await?;
        }
        let fault = rng.next(8);
        let name = [
            "drop",
            "zombie",
            "gateway flap",
            "reject",
            "stall",
            "kill + restart",
            "tab offline",
            "holder tab closed or crashed",
        ][fault as usize];
        faults.push(name);
        match fault {
            0 => {
                bridge.disconnect(None).await?;
            }
            1 => {
                quiet.store(true, Ordering::Relaxed);
                // Let a message already in flight land before the window starts.
                tokio::time::sleep(Duration::from_millis(100)).await;
                bridge.pause_heartbeats(true).await?;
                let start = epoch_ms();
                tokio::time::sleep(hold).await;
                bridge.pause_heartbeats(false).await?;
                zombies.push((start, epoch_ms()));
                quiet.store(false, Ordering::Relaxed);
            }
            2 => {
                let state = [Gateway::Reconnecting, Gateway::Disconnected][rng.next(2) as usize];
                bridge.set_gateway(state).await?;
                tokio::time::sleep(hold).await;
                bridge.set_gateway(Gateway::Connected).await?;
            }
            3 | 4 => {
                let mode = if fault == 3 {
                    Fault::Reject(503)
                } else {
                    Fault::Stall
                };
                bridge.set_fault(Some(mode)).await?;
                bridge.disconnect(None).await?;
                tokio::time::sleep(hold).await;
                bridge.set_fault(None).await?;
            }
            5 => {
                bridge.kill();
                // A reply written while the bridge is down, sent once it is back.
                send_reply(&browser, &tabs, &mut rng, &mut replies).await?;
                tokio::time::sleep(hold / 2).await;
                bridge.restart().await?;
            }
            6 => {
                // One tab loses the network. DevTools' offline mode fails new
                // requests but leaves an open stream flowing, where a real outage
                // kills it too, so the streams are dropped as it goes offline.
                // (A tab offline may rightly stay Live: its messages come from
                // the holder over the browser's own channel.)
                let tab = &tabs[rng.next(tabs.len() as u64) as usize];
                to_tab(&browser, tab).await?;
                browser.set_offline(true).await?;
                bridge.disconnect(None).await?;
                tokio::time::sleep(hold).await;
                to_tab(&browser, tab).await?;
                browser.set_offline(false).await?;
            }
            _ => {
                // The holder's tab goes: closed, or its renderer crashes. A new
                // tab takes its place, so that there are always three.
                let Some(index) = holder(&browser, &tabs).await else {
                    continue; // nobody holds it at this instant (a handover)
                };
                let gone = tabs.remove(index);
                closed.push(gone.clone());
                to_tab(&browser, &gone).await?;
                if rng.next(2) == 0 {
                    browser
                        .client
                        .close_window()
                        .await
                        .map_err(|e| format!("closing the holder's tab: {e}"))?;
                } else {
                    browser.cdp("Page.crash", json!({})).await.ok();
                    // A crashed tab stays as a window; close it so it is out of the way.
                    to_tab(&browser, &gone).await?;
                    browser.client.close_window().await.ok();
                }
                tokio::time::sleep(hold / 2).await;
                // Windows open from a live one.
                to_tab(&browser, &tabs[0]).await?;
                let tab = browser
                    .client
                    .new_window(true)
                    .await
                    .map_err(|e| format!("a new tab: {e}"))?
                    .handle;
                to_tab(&browser, &tab).await?;
                browser.watch_page().await?;
                browser
                    .client
                    .goto(&format!("http://127.0.0.1:{port}{PAGE}"))
                    .await
                    .map_err(|e| e.to_string())?;
                wait_until(Duration::from_secs(20), "the new tab's panel", || async {
                    browser.record_labels().await.ok()
                })
                .await?;
                tabs.push(tab);
                tabs_replaced += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(300 + rng.next(1_200))).await;
    }
    stop.store(true, Ordering::Relaxed);
    publisher.await.map_err(|e| e.to_string())?;
    changer.await.map_err(|e| e.to_string())?;
    stranger.await.map_err(|e| e.to_string())?;

    // Healed: everything off. Both tabs must come back Live with every message.
    bridge.set_fault(None).await?;
    bridge.pause_heartbeats(false).await?;
    bridge.set_gateway(Gateway::Connected).await?;
    // Every reply stored once; one from a tab that was closed before it went
    // may be gone with the tab, but never doubled.
    let (stored_replies, gone_with_tab) = wait_until(
        Duration::from_secs(40),
        "every reply stored once",
        || async {
            let contents = contents(&bridge, "chaos").await.ok()?;
            let mut gone = 0;
            for (reply, tab) in &replies {
                let stored = contents.iter().filter(|c| *c == reply).count();
                let lost_with_tab = stored == 0 && closed.contains(tab);
                if stored > 1 || (stored == 0 && !lost_with_tab) {
                    return None;
                }
                gone += usize::from(lost_with_tab);
            }
            Some((replies.len() - gone, gone))
        },
    )
    .await
    .map_err(|e| format!("{e} (bridge log:\n{})", bridge.log_tail()))?;
    let expected = bridge.history_ids("chaos").await?;
    let acknowledged = injected.load(Ordering::Relaxed) as usize;
    let deleted = changes.deletions.load(Ordering::Relaxed) as usize;
    if expected.len() + deleted < acknowledged {
        return Err(format!(
            "the bridge lost acknowledged messages: {} stored, {acknowledged} acknowledged, {deleted} deleted",
            expected.len()
        ));
    }
    let last = expected.last().cloned().unwrap_or_default();
    for (index, handle) in tabs.iter().enumerate() {
        let tab = format!("tab {}", index + 1);
        let state = wait_until(
            Duration::from_secs(40),
            &format!("{tab} Live with every message"),
            || async {
                to_tab(&browser, handle).await.ok()?;
                let scenario_state = read(&browser).await.ok()?;
                (scenario_state.0 == "live" && scenario_state.1.contains(&last))
                    .then_some(scenario_state)
            },
        )
        .await
        .map_err(|e| format!("{e} (bridge log:\n{})", bridge.log_tail()))?;
        let shown = &state.1;
        // The first load shows the newest page only; everything after it must be there.
        let from = expected
            .iter()
            .position(|id| id == &shown[0])
            .ok_or("the oldest shown id is unknown")?;
        exactly_once_in_order(shown, &expected[from..])?;
        if shown.len() != expected.len() - from {
            return Err(format!(
                "{tab}: {} shown, {} expected",
                shown.len(),
                expected.len() - from
            ));
        }
        // Version by version: each row reads as the bridge has its message now.
        let states = all_messages(&bridge, "chaos").await?;
        let rows = wait_until(
            Duration::from_secs(20),
            &format!("{tab}'s rows as the bridge has them"),
            || async {
                to_tab(&browser, handle).await.ok()?;
                let rows = rows_in(&browser.client).await.ok()?;
                let shown: Vec<RowShape> = rows.iter().map(|r| r.shape()).collect();
                let expected: Vec<RowShape> = states[states.len().saturating_sub(rows.len())..]
                    .iter()
                    .map(row_of)
                    .collect();
                (shown == expected).then_some(rows)
            },
        )
        .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                return Err(format!(
                    "{e}: {}",
                    first_difference(&states, &browser.client).await
                ))
            }
        };
        let problems = browser.page_problems().await?;
        if !problems.is_empty() {
            return Err(format!("{tab}: the page reported problems: {problems:#?}"));
        }
        let edited = rows.iter().filter(|r| r.edited.is_some()).count();
        let reacted = rows.iter().filter(|r| !r.reactions.is_empty()).count();
        let timeline = browser.label_timeline().await?;
        for &(start, end) in &zombies {
            let longest = longest_live_within(&timeline, start, end);
            if longest > DEADLINE_MS + SLACK_MS {
                return Err(format!(
                    "{tab} said Live for {longest:.0} ms on end during a silent window of {:.0} ms",
                    end - start
                ));
            }
        }
        eprintln!(
            "chaos {tab}: {} messages shown exactly once, as the bridge has them ({edited} edited, {reacted} with reactions); {} label changes",
            shown.len(),
            timeline.len()
        );
    }
    zombie_forever(&bridge, &browser, &tabs, port).await?;
    let mut counts = std::collections::BTreeMap::new();
    for fault in &faults {
        *counts.entry(*fault).or_insert(0) += 1;
    }
    println!(
        "chaos: the stranger posted {} hostile messages with the bounds' worth of reactions each; no page problem in any open tab",
        strangeness.load(Ordering::Relaxed)
    );
    println!(
        "chaos: {} faults survived {counts:?}; {acknowledged} messages acknowledged, {} stored (after {deleted} deletions), shown exactly once in each of the {TABS} open tabs ({tabs_replaced} holder tabs closed or crashed and replaced); 0 duplicates, 0 lost; replies: {} sent from the composers, {stored_replies} stored once each, {gone_with_tab} gone with a closed tab before they were sent, 0 doubled; changes: {} edits, {} deletions, {} reactions, every tab equal to the bridge, version by version",
        faults.len(),
        expected.len(),
        replies.len(),
        changes.edits.load(Ordering::Relaxed),
        changes.deletions.load(Ordering::Relaxed),
        changes.reactions.load(Ordering::Relaxed),
    );
    drop(bridge);
    Ok(())
}

/// Three attempts: three silent streams of a 0.75 s watchdog and two backoffs
/// of at most 0.2 s, and one more deadline: the tabs share the stream, and a
/// tab whose watchdog fires first takes it over, which the others see as a
/// move (a reconnect that is no failure), from which their watchdog starts
/// again once.
const ZOMBIE_PAGE: &str = "/?channel=chaos&backoff_base_ms=100&backoff_cap_ms=200&stability_window_ms=500&max_attempts=3&max_messages=100000";
const ZOMBIE_BUDGET_MS: f64 = 4.0 * DEADLINE_MS + 2.0 * 200.0;

/// The upstream goes silent for good: every tab must give up by itself within
/// its attempts' budget, then come back with Retry once the bridge is healthy.
async fn zombie_forever(
    bridge: &e2e::bridge::Bridge,
    browser: &Browser,
    tabs: &[WindowHandle],
    port: u16,
) -> Result<(), Error> {
    let page = format!("http://127.0.0.1:{port}{ZOMBIE_PAGE}");
    for tab in tabs {
        to_tab(browser, tab).await?;
        browser
            .client
            .goto(&page)
            .await
            .map_err(|e| e.to_string())?;
    }
    for (index, tab) in tabs.iter().enumerate() {
        wait_until(
            Duration::from_secs(20),
            &format!("tab {} Live", index + 1),
            || async {
                to_tab(browser, tab).await.ok()?;
                (read(browser).await.ok()?.0 == "live").then_some(())
            },
        )
        .await?;
    }
    // Each tab records its labels as they change: looking at a tab makes it
    // visible, and coming back to the page re-arms a panel that gave up, so
    // when each gave up is read from its own record, not from a poll.
    for tab in tabs {
        to_tab(browser, tab).await?;
        browser.record_labels().await?;
    }
    bridge.pause_heartbeats(true).await?;
    bridge.disconnect(None).await?;
    let started = e2e::epoch_ms();
    let mut took: f64 = 0.0;
    for (index, tab) in tabs.iter().enumerate() {
        let gave_up = wait_until(
            Duration::from_secs(20),
            &format!("tab {} Disconnected with Retry", index + 1),
            || async {
                to_tab(browser, tab).await.ok()?;
                let timeline = browser.label_timeline().await.ok()?;
                (timeline.into_iter())
                    .find(|(at, label)| *at >= started && label == "disconnected")
                    .map(|(at, _)| at)
            },
        )
        .await;
        let gave_up = match gave_up {
            Ok(at) => at,
            Err(problem) => {
                // What the tab shows, and how it reaches the bridge.
                let seen = (browser.client)
                    .execute(
                        "return [document.querySelector('.discussion-panel').getAttribute('data-transport'), document.documentElement.getAttribute('data-discussion-stream'), JSON.stringify(localStorage)];",
                        vec![],
                    )
                    .await
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                let timeline = browser.label_timeline().await.unwrap_or_default();
                return Err(format!(
                    "{problem}: {seen}; labels since {started:.0}: {:?}",
                    timeline
                        .iter()
                        .filter(|(at, _)| *at >= started - 1000.0)
                        .collect::<Vec<_>>()
                ));
            }
        };
        took = took.max(gave_up - started);
    }
    if took > ZOMBIE_BUDGET_MS + SLACK_MS {
        return Err(format!(
            "a zombie upstream took {took:.0} ms to be given up on (budget {ZOMBIE_BUDGET_MS:.0} ms + {SLACK_MS:.0} ms slack)"
        ));
    }
    bridge.pause_heartbeats(false).await?;
    let last = bridge
        .inject("chaos", "publisher", "after the zombie")
        .await?;
    for tab in tabs {
        to_tab(browser, tab).await?;
        browser
            .client
            .execute(
                // Unless coming back to the tab already re-armed it.
                "document.querySelector('button[data-action=retry]')?.click();",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    for (index, tab) in tabs.iter().enumerate() {
        wait_until(
            Duration::from_secs(20),
            &format!("tab {} Live after Retry", index + 1),
            || async {
                to_tab(browser, tab).await.ok()?;
                let (label, ids) = read(browser).await.ok()?;
                (label == "live" && ids.contains(&last)).then_some(())
            },
        )
        .await?;
    }
    println!("chaos: a zombie upstream for good was given up on by all {} tabs in {took:.0} ms (budget {ZOMBIE_BUDGET_MS:.0} ms); Retry brought them back Live", tabs.len());
    Ok(())
}

/// Tabs in the one browser profile.
const TABS: usize = 3;

/// The changes the changer made (answered 200).
#[derive(Default)]
struct Changes {
    edits: AtomicU64,
    deletions: AtomicU64,
    reactions: AtomicU64,
}

/// Where the current tab's rows first differ from the bridge's messages.
async fn first_difference(
    states: &[bridge_client::Message],
    client: &fantoccini::Client,
) -> String {
    let Ok(rows) = rows_in(client).await else {
        return "rows unreadable".into();
    };
    let expected = &states[states.len().saturating_sub(rows.len())..];
    for (row, message) in rows.iter().zip(expected) {
        if row.shape() != row_of(message) {
            return format!(
                "shown {:?}, the bridge has {:?}",
                row.shape(),
                row_of(message)
            );
        }
    }
    format!("{} rows, {} messages", rows.len(), states.len())
}

/// Sends a numbered reply from a random tab's composer (`send`, as a host would).
async fn send_reply(
    browser: &Browser,
    tabs: &[WindowHandle],
    rng: &mut Rng,
    replies: &mut Vec<(String, WindowHandle)>,
) -> Result<(), Error> {
    let tab = tabs[rng.next(tabs.len() as u64) as usize].clone();
    to_tab(browser, &tab).await?;
    let content = format!("reply {}", replies.len() + 1);
    let script = format!("document.querySelector('discussion-panel').send({content:?});");
    (browser.client.execute(&script, vec![]).await).map_err(|e| format!("sending a reply: {e}"))?;
    replies.push((content, tab));
    Ok(())
}

/// Every stored message's content in a channel, oldest first.
async fn contents(bridge: &e2e::bridge::Bridge, channel: &str) -> Result<Vec<String>, Error> {
    let mut all = Vec::new();
    let mut after = "0".to_owned();
    loop {
        let page = bridge.api.history(channel, Some(&after), 500).await?;
        let Some(last) = page.last() else {
            return Ok(all);
        };
        after = last.id.clone();
        all.extend(page.into_iter().map(|m| m.content));
    }
}

async fn to_tab(browser: &Browser, tab: &WindowHandle) -> Result<(), Error> {
    (browser.client.switch_to_window(tab.clone()).await).map_err(|e| format!("switching tabs: {e}"))
}

/// Which of `tabs` holds the shared stream now, if one does.
async fn holder(browser: &Browser, tabs: &[WindowHandle]) -> Option<usize> {
    for (index, tab) in tabs.iter().enumerate() {
        to_tab(browser, tab).await.ok()?;
        let role = (browser.client)
            .execute(
                "return document.documentElement.getAttribute('data-discussion-stream');",
                vec![],
            )
            .await
            .ok()?;
        if role.as_str() == Some("holder") {
            return Some(index);
        }
    }
    None
}

/// The label and the shown ids of a tab.
async fn read(browser: &Browser) -> Result<(String, Vec<String>), Error> {
    let value = browser
        .client
        .execute(
            "return [document.querySelector('[data-connection-status]').getAttribute('data-connection-status'),
                     [...document.querySelectorAll('li[data-message-id]')].map(li => li.getAttribute('data-message-id'))];",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// The stranger's messages: what broke the panel or made it lie before
/// (issue 31), each within the bridge's 4,000 characters.
fn hostile_messages() -> Vec<String> {
    vec![
        "<t:-9223372036854775808> <t:-9223372036854775808:R> <t:9223372036854775807:F>".into(),
        "<t:0:R> ".repeat(499),
        "||[a link](https://example.com/secret)|| and ||`code` <https://example.org>||".into(),
        "||```rust\nhidden\n```|| ```\n||not a spoiler||\n```".into(),
        "\u{202e}reversed\u{202c} <@123> <#456> <@&789> *a **b** c* snake_case_name".into(),
        "> ||a quoted spoiler||\n-# subtext [masked](javascript:alert(1)) [x](https://a.b/(c))"
            .into(),
        "1. one\n99999999999999999999. big\n- ||[](https://x.y)||".into(),
        "*".repeat(3_999),
    ]
}

/// Twenty-one distinct emoji: a message holds twenty, the last is refused.
const STRANGE_EMOJI: [&str; 21] = [
    "👍", "🎉", "😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘",
    "🥰", "😗", "😙", "🥲", "🤔",
];

/// `text` percent-encoded for a URL's path.
fn percent_encoded(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}
