//! An adversarial reading of the byte-level formatter (review-format): each
//! test shows, in the real panel, a place where a row says something other
//! than what the message says, or costs more than it should.

use e2e::panel::{ensure, Scenario, FAST};
use e2e::Error;
use serde_json::json;

/// `visual(node)`: a text node's characters in the order they are painted
/// (top to bottom, left to right), not the order they are stored in.
const VISUAL: &str = r#"
const visual = (t) => {
  const at = [];
  for (let i = 0; i < t.length; i++) {
    const r = document.createRange(); r.setStart(t, i); r.setEnd(t, i + 1);
    const b = r.getBoundingClientRect();
    at.push([Math.round(b.y), b.x, t.data[i]]);
  }
  return at.sort((p, q) => p[0] - q[0] || p[1] - q[1]).map(p => p[2]).join('');
};
const row = (id) => document.querySelector(`li[data-message-id="${id}"]`);
"#;

use std::time::Duration;

const SOON: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn review_explore() -> Result<(), Error> {
    let s = Scenario::live(
        "review_explore",
        &format!("/?channel=general&author=Ann&{FAST}"),
    )
    .await?;
    let original = s
        .bridge
        .inject("general", "bob", "the ending: ||the butler did it||")
        .await?;
    let reply = s
        .bridge
        .post_json(
            "general",
            json!({
                "author": "cy",
                "content": "no way",
                "referenced_message": { "id": original, "author": "bob", "content": "the ending: ||the butler did it||" },
            }),
        )
        .await?;
    let year = s
        .bridge
        .inject("general", "cy", "2020. What a year")
        .await?;
    let bidi = s
        .bridge
        .inject(
            "general",
            "cy",
            "log in at \u{202E} https://evil.example/moc.knab//:sptth",
        )
        .await?;
    let spoiled = s
        .bridge
        .inject(
            "general",
            "cy",
            "||secret [link](https://example.com/x) <@1> `code` plain🦀||",
        )
        .await?;
    s.wait_for(SOON, "the messages", |st| st.ids.contains(&spoiled))
        .await?;
    let out = s
        .run_js(&format!(
            r#"
const li = (id) => document.querySelector(`li[data-message-id="${{id}}"]`);
const reply = li('{reply}').querySelector('.dp-reply').textContent;
const ol = li('{year}').querySelector('ol');
const a = li('{bidi}').querySelector('a');
const t = a.firstChild;
const xs = [];
for (let i = 0; i < t.length; i++) {{ const r = document.createRange(); r.setStart(t, i); r.setEnd(t, i + 1); xs.push([r.getBoundingClientRect().x, t.data[i]]); }}
const visual = xs.slice().sort((p, q) => p[0] - q[0]).map(p => p[1]).join('');
const sp = li('{spoiled}').querySelector('[data-spoiler]');
const link = sp.querySelector('a'); link.focus();
const focusedLink = document.activeElement === link;
return {{ reply, ol: ol ? [ol.start, ol.getAttribute('start'), ol.textContent] : null,
  href: a.getAttribute('href'), logical: t.data, visual, focusedLink,
  spoilerColor: getComputedStyle(sp).color, userSelect: getComputedStyle(sp).userSelect }};
"#
        ))
        .await?;
    println!("{out:#}");
    let _ = s.run_js(&format!(
        "const sp = document.querySelector('li[data-message-id=\"{spoiled}\"] [data-spoiler]'); getSelection().selectAllChildren(sp); return 1;"
    )).await?;
    println!(
        "{:?}",
        s.browser.screenshot("review_spoiler_selected").await
    );
    let _ = s
        .run_js("getSelection().removeAllRanges(); return 1;")
        .await?;
    println!("{:?}", s.browser.screenshot("review_plain").await);
    Ok(())
}

/// Long tasks the page ran, each `[start, duration]` in ms, over `ms`.
async fn long_tasks(s: &Scenario, ms: u64) -> Result<Vec<(f64, f64)>, Error> {
    s.run_js(
        "window.__long = []; new PerformanceObserver(l => l.getEntries().forEach(e => window.__long.push([e.startTime, e.duration]))).observe({type: 'longtask'}); return 1;",
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    serde_json::from_value(s.run_js("return window.__long;").await?).map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn review_explore_costs() -> Result<(), Error> {
    let content = std::env::var("CONTENT").unwrap_or_else(|_| "<t:0:R> ".repeat(500));
    let count: usize = std::env::var("COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(500);
    let before: Vec<(&str, &str)> = (0..count).map(|_| ("mallory", content.as_str())).collect();
    let t0 = std::time::Instant::now();
    let (s, ids) = Scenario::watched(
        "review_costs",
        &format!("/?channel=general&history_limit=500&{FAST}"),
        &before,
    )
    .await?;
    s.wait_for(Duration::from_secs(120), "every row", |st| {
        ids.iter().all(|i| st.ids.contains(i))
    })
    .await?;
    println!(
        "all {count} rows shown {:?} after the page opened (incl. posting)",
        t0.elapsed()
    );
    let load = s.run_js("return new Promise(r => { const all = []; new PerformanceObserver(l => l.getEntries().forEach(e => all.push(Math.round(e.duration)))).observe({type: 'longtask', buffered: true}); setTimeout(() => r([all.length, Math.max(0, ...all), all.reduce((a, b) => a + b, 0), document.getElementsByTagName('*').length]), 200); });").await?;
    println!("load long tasks [count, longest ms, total ms, elements]: {load}");
    let tasks = long_tasks(&s, 25_000).await?;
    println!("long tasks over 25 s: {tasks:?}");
    let n = s
        .run_js("return document.querySelectorAll('time[data-relative]').length;")
        .await?;
    println!("relative times: {n}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn review_explore_live_costs() -> Result<(), Error> {
    let content = std::env::var("CONTENT").unwrap();
    let count: usize = std::env::var("COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(20);
    let s = Scenario::live("review_live_costs", &format!("/?channel=general&{FAST}")).await?;
    s.run_js(
        "window.__long = []; new PerformanceObserver(l => l.getEntries().forEach(e => window.__long.push([Math.round(e.startTime), e.duration]))).observe({type: 'longtask'}); return 1;",
    )
    .await?;
    let mut last = String::new();
    for _ in 0..count {
        last = s.bridge.inject("general", "mallory", &content).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    s.wait_for(SOON, "the last", |st| st.ids.contains(&last))
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!("long tasks: {}", s.run_js("return window.__long;").await?);
    Ok(())
}

/// A reply's line shows the start of what it answers as plain text: a
/// spoiler in it is read in the clear, bars and all (`message_list.rs`
/// `row`, `words.set_text_content(Some(&original.content))`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_a_reply_preview_keeps_a_spoiler_hidden() -> Result<(), Error> {
    let s = Scenario::live("review_reply_spoiler", &format!("/?channel=general&{FAST}")).await?;
    let ending = "the ending: ||the butler did it||";
    let original = s.bridge.inject("general", "bob", ending).await?;
    let reply = (s.bridge)
        .post_json(
            "general",
            json!({ "author": "cy", "content": "no way",
                    "referenced_message": { "id": original, "author": "bob", "content": ending } }),
        )
        .await?;
    s.wait_for(SOON, "the reply", |st| st.ids.contains(&reply))
        .await?;
    // Every text node of the reply's line that is not inside a hidden spoiler.
    let seen = s
        .run_js(&format!(
            "{VISUAL}
             const line = row('{reply}').querySelector('.dp-reply');
             const walk = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
             const out = [];
             for (let n = walk.nextNode(); n; n = walk.nextNode()) {{
               if (!n.parentElement.closest('[data-spoiler]:not([data-revealed])')) out.push(n.data);
             }}
             return out.join('');"
        ))
        .await?;
    let seen = seen.as_str().unwrap_or_default();
    ensure(!seen.contains("butler"), || {
        format!("the reply's line reads {seen:?}: the spoiler of what it answers, in the clear")
    })
}

/// `||```code```||` (how Discord users hide code) renders a code block in
/// the clear between bars.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_a_spoilered_code_block_is_hidden() -> Result<(), Error> {
    let s = Scenario::live("review_spoiler_block", &format!("/?channel=general&{FAST}")).await?;
    let id = s
        .bridge
        .inject("general", "bob", "||```the answer is 42```||")
        .await?;
    s.wait_for(SOON, "the message", |st| st.ids.contains(&id))
        .await?;
    let shown = s
        .run_js(&format!(
            "{VISUAL}
             const pre = row('{id}').querySelector('pre');
             return pre ? [pre.textContent, getComputedStyle(pre).visibility,
                           !!pre.closest('[data-spoiler]:not([data-revealed])')] : null;"
        ))
        .await?;
    ensure(shown.is_null() || shown[2] == true, || {
        format!("the code block [text, visibility, in a hidden spoiler] is {shown}")
    })
}

/// "2020. What a year" shows "1. What a year".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_a_numbered_line_shows_its_own_number() -> Result<(), Error> {
    let s = Scenario::live("review_list_number", &format!("/?channel=general&{FAST}")).await?;
    let id = s
        .bridge
        .inject("general", "bob", "2020. What a year")
        .await?;
    s.wait_for(SOON, "the message", |st| st.ids.contains(&id))
        .await?;
    let shown = s
        .run_js(&format!(
            "{VISUAL}
             const ol = row('{id}').querySelector('ol');
             return ol ? ol.start : row('{id}').querySelector('.dp-content').textContent;"
        ))
        .await?;
    ensure(shown == 2020 || shown == "2020. What a year", || {
        format!("\"2020. What a year\" is shown numbered {shown}")
    })
}

/// A right-to-left override (U+202E) before a bare link reverses the link's
/// text on screen: it reads "https://bank.com/elpmaxe.live//:sptth" and
/// opens https://evil.example/…; nothing isolates a link's text (panel.css)
/// nor drops the control (content.rs). A mentioned person's name, which
/// the message's author does not choose, ending in one reverses the rest of
/// someone else's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_a_bidi_override_cannot_make_a_link_read_as_another_address() -> Result<(), Error> {
    let s = Scenario::live("review_bidi", &format!("/?channel=general&{FAST}")).await?;
    let link = (s.bridge)
        .inject(
            "general",
            "mallory",
            "log in at \u{202E} https://evil.example/moc.knab//:sptth",
        )
        .await?;
    let mention = (s.bridge)
        .post_json(
            "general",
            json!({ "author": "bob", "content": "<@7> pays 10 and I pay 90",
                    "mentions": { "7": "eve\u{202E}" } }),
        )
        .await?;
    s.wait_for(SOON, "the messages", |st| st.ids.contains(&mention))
        .await?;
    let read = s
        .run_js(&format!(
            "{VISUAL}
             const a = row('{link}').querySelector('.dp-content a');
             const after = row('{mention}').querySelector('[data-mention]').nextSibling;
             return [a.getAttribute('href'), visual(a.firstChild), after.data, visual(after)];"
        ))
        .await?;
    ensure(read[0] == read[1] && read[2] == read[3], || {
        format!(
            "a link to {} reads {} on screen; bob's {} reads {} on screen, after eve's name",
            read[0], read[1], read[2], read[3]
        )
    })
}

/// A reaction's emoji holding U+202E (no control character: the bridge
/// takes it) reverses the count beside it: 12 people read as 21.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_a_reaction_emoji_cannot_reverse_its_count() -> Result<(), Error> {
    let s = Scenario::live("review_bidi_count", &format!("/?channel=general&{FAST}")).await?;
    let id = s.bridge.inject("general", "bob", "vote").await?;
    for n in 0..12 {
        (s.bridge)
            .react("general", &id, "\u{202E}👍", &format!("voter{n}"), true)
            .await?;
    }
    e2e::wait_until(SOON, "the count of 12", || async {
        let rows = s.rows().await.ok()?;
        rows.iter()
            .any(|r| r.id == id && r.reactions.iter().any(|c| c.count == 12))
            .then_some(())
    })
    .await?;
    let read = s
        .run_js(&format!(
            "{VISUAL}
             const chip = row('{id}').querySelector('[data-reaction]');
             const count = chip.lastChild;
             return [chip.getAttribute('data-count'), visual(count)];"
        ))
        .await?;
    ensure(read[0] == read[1], || {
        format!("a count of {} reads {} on screen", read[0], read[1])
    })
}

/// Every 10 s the tick rewrites every relative timestamp of every row (up
/// to 50 a row, 500 rows: 25,000), whatever its unit: a long task each time
/// (110–160 ms measured on this machine), for every reader of a channel
/// whose history holds such messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_relative_times_tick_without_a_long_task() -> Result<(), Error> {
    let content = "<t:0:R> ".repeat(500);
    let before: Vec<(&str, &str)> = (0..500).map(|_| ("mallory", content.as_str())).collect();
    let (s, ids) = Scenario::watched(
        "review_tick",
        &format!("/?channel=general&history_limit=500&{FAST}"),
        &before,
    )
    .await?;
    s.wait_for(Duration::from_secs(120), "every row", |st| {
        ids.iter().all(|i| st.ids.contains(i))
    })
    .await?;
    let tasks = long_tasks(&s, 25_000).await?;
    ensure(tasks.is_empty(), || {
        format!(
            "long tasks [start ms, duration ms] over two ticks, nothing else happening: {tasks:?}"
        )
    })
}

/// The formatter caps tokens (50 a message) but not elements: a message of
/// `||a||` repeated to 4,000 characters is 800 spoiler buttons (800 tab
/// stops, 5 attributes each). A first page (the default 50 rows) of them
/// is one long task of 0.7–1 s here (50 rows of plain 4,000-character text:
/// 174 ms, mostly the panel starting); the 500 rows a panel holds, 16 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_a_page_of_spoiler_floods_renders_without_freezing() -> Result<(), Error> {
    let content = "||a||".repeat(800);
    let before: Vec<(&str, &str)> = (0..50).map(|_| ("mallory", content.as_str())).collect();
    let (s, ids) = Scenario::watched(
        "review_spoiler_flood",
        &format!("/?channel=general&{FAST}"),
        &before,
    )
    .await?;
    s.wait_for(Duration::from_secs(60), "every row", |st| {
        ids.iter().all(|i| st.ids.contains(i))
    })
    .await?;
    let load = s
        .run_js(
            "return new Promise(r => { const all = []; new PerformanceObserver(l => l.getEntries().forEach(e => all.push(Math.round(e.duration)))).observe({type: 'longtask', buffered: true}); setTimeout(() => r([Math.max(0, ...all), document.querySelectorAll('[data-spoiler]').length]), 200); });",
        )
        .await?;
    ensure(load[0].as_u64().unwrap_or(u64::MAX) < 400, || {
        format!(
            "the longest task while loading took {} ms, for {} spoiler buttons",
            load[0], load[1]
        )
    })
}
