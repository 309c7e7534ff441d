//! Hostile messages in the real panel, in real Chromium, from the real bridge:
//! a timestamp no date can hold, relative timestamps by the thousand, and
//! every input of the `format` fuzz seeds and of the property generator.
//! The page is watched from before its own scripts run (`WATCH_PAGE`): no
//! uncaught error, unhandled rejection or `console.error` may happen, every
//! row must be shown, and the panel must stay Live and show a later message.

use e2e::panel::{ensure, shown_text, Scenario, FAST, FORMATTED};
use e2e::Error;
use serde_json::json;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(20);

/// The panel on `general` with `query`, opened after `before` was posted.
async fn watched(
    name: &str,
    query: &str,
    before: &[String],
) -> Result<(Scenario, Vec<String>), Error> {
    let before: Vec<(&str, &str)> = before.iter().map(|c| ("mallory", c.as_str())).collect();
    Scenario::watched(name, &format!("/?channel=general&{FAST}&{query}"), &before).await
}

/// The panel shows `ids` and, Live, a message posted now (on a timeout, the
/// error says what went wrong in the page).
async fn alive_with(s: &Scenario, ids: &[String], within: Duration) -> Result<(), Error> {
    let later = s.bridge.inject("general", "bob", "still here").await?;
    let shown = s
        .wait_for(within, "every row, then a later message, Live", |st| {
            st.label() == "live"
                && st.ids.contains(&later)
                && ids.iter().all(|i| st.ids.contains(i))
        })
        .await;
    match shown {
        Ok(_) => Ok(()),
        Err(timeout) => {
            let problems = s.browser.page_problems().await?;
            Err(format!("{timeout}\n  the page's problems: {problems:#?}"))
        }
    }
}

/// Nothing went wrong in the page: no uncaught error, unhandled rejection,
/// `console.error` or CSP violation.
async fn no_problems(s: &Scenario) -> Result<(), Error> {
    let problems = s.browser.page_problems().await?;
    ensure(problems.is_empty(), || {
        format!("the page reported problems: {problems:#?}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timestamp_no_date_can_hold_leaves_the_panel_alive() -> Result<(), Error> {
    let hostile = "<t:-9223372036854775808> <t:-9223372036854775808:R> <t:9223372036854775807:F>";
    let (s, ids) = watched("hostile_timestamp", "", &[hostile.to_owned()]).await?;
    alive_with(&s, &ids, SOON).await?;
    // Shown as its text: no date to show.
    let rows = s.rows().await?;
    let row = rows.iter().find(|r| r.id == ids[0]);
    ensure(
        row.is_some_and(|r| r.content == hostile && !r.tokens),
        || format!("the hostile row reads {row:?}"),
    )?;
    no_problems(&s).await
}

/// Messages of nothing but relative timestamps, at the bridge's length limit.
const FLOOD: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relative_timestamps_by_the_thousand_build_a_few_formatters() -> Result<(), Error> {
    let flood = "<t:0:R> ".repeat(500);
    let (s, mut ids) = watched("relative_flood", "", &vec![flood; FLOOD]).await?;
    // One whose text moves on: when it changed, a tick has rewritten them all.
    let soon = (e2e::epoch_ms() / 1000.0) as i64 + 90;
    ids.push(
        (s.bridge)
            .inject("general", "bob", &format!("due <t:{soon}:R>"))
            .await?,
    );
    // Generous: before the fix the page froze for seconds per render.
    alive_with(&s, &ids, Duration::from_secs(60)).await?;
    let read = format!(
        "const row = document.querySelector('li[data-message-id=\"{}\"] time[data-relative]');
         return [row ? row.textContent : null, window.__intl,
           [...document.querySelectorAll('li[data-message-id] .dp-content')].map(c => c.querySelectorAll('time').length)];",
        ids[FLOOD]
    );
    let first = s.run_js(&read).await?;
    let due = first[0].as_str().unwrap_or_default().to_owned();
    e2e::wait_until(
        Duration::from_secs(40),
        "a tick to rewrite the relative times",
        || async {
            let now = s.run_js(&read).await.ok()?;
            (now[0].as_str()? != due).then_some(())
        },
    )
    .await?;
    let after = s.run_js(&read).await?;
    let built = after[1].as_u64().unwrap_or(u64::MAX);
    println!(
        "{built} Intl formatters built for {FLOOD} messages of 500 relative timestamps and a tick"
    );
    // One formatter per style for the page's life (a handful), not one per
    // timestamp and tick.
    ensure(built <= 12, || {
        format!("{built} Intl formatters built for {FLOOD} messages of 500 relative timestamps and a tick")
    })?;
    let times: Vec<u64> = serde_json::from_value(after[2].clone()).map_err(|e| e.to_string())?;
    let cap = panel_core::format::MAX_TOKENS as u64;
    ensure(times.iter().filter(|t| **t == cap).count() == FLOOD, || {
        format!("time elements per row {times:?}, expected {FLOOD} rows capped at {cap}")
    })?;
    no_problems(&s).await
}

/// Cases drawn from the property generator of `panel_core::format`'s tests
/// (the same pieces, the same shape), with a fixed seed.
fn generated(count: usize) -> Vec<String> {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let piece = prop_oneof![
        prop::sample::select(panel_core::format::PIECES).prop_map(str::to_owned),
        "[a-z ]{1,6}",
    ];
    let strategy = prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[31; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let mut cases = Vec::new();
    while cases.len() < count {
        let case = strategy.new_tree(&mut runner).expect("a case").current();
        // The bridge refuses blank messages.
        if !case.trim().is_empty() {
            cases.push(case);
        }
    }
    cases
}

/// The `format` fuzz target's seeds that are messages the bridge takes.
fn fuzz_seeds() -> Vec<String> {
    let dir = e2e::workspace_root().join("frontend/core/fuzz/seeds/format");
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a seed").path())
        .collect();
    seeds.sort();
    let seeds: Vec<String> = (seeds.iter())
        .filter_map(|path| String::from_utf8(std::fs::read(path).ok()?).ok())
        .filter(|text| !text.trim().is_empty() && text.chars().count() <= 4_000)
        .collect();
    assert!(
        seeds.len() >= 8,
        "only {} seeds in {}",
        seeds.len(),
        dir.display()
    );
    seeds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fuzz_seed_and_generated_case_renders_in_the_browser() -> Result<(), Error> {
    let mut cases = fuzz_seeds();
    cases.extend(generated(300));
    // Half in the first history load, half live from the stream.
    let (first, live) = cases.split_at(cases.len() / 2);
    let (s, mut ids) = watched("hostile_corpus", "history_limit=500", first).await?;
    s.wait_label("live", SOON).await?;
    for content in live {
        ids.push(s.bridge.inject("general", "mallory", content).await?);
    }
    alive_with(&s, &ids, Duration::from_secs(90)).await?;
    // Each row reads as the parser says (rows with names and dates aside).
    let rows = s.rows().await?;
    for (id, content) in ids.iter().zip(&cases) {
        let row = rows
            .iter()
            .find(|r| &r.id == id)
            .ok_or("a row went missing")?;
        let expected = shown_text(content);
        ensure(expected == FORMATTED || row.content == expected, || {
            format!("{content:?} shows {:?}, expected {expected:?}", row.content)
        })?;
    }
    no_problems(&s).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonsense_dates_and_the_largest_file_size_are_shown_as_nothing_and_in_full(
) -> Result<(), Error> {
    let (s, _) = watched("hostile_numbers", "", &[]).await?;
    s.wait_label("live", SOON).await?;
    // Straight onto the stream, as a bridge with a bug (or an attacker on
    // it) could send: a time no date holds, a file of u64::MAX bytes.
    let frame = r#"event: message
data: {"id":"9","channel_id":"general","author":"mallory","content":"dated","timestamp":"not a date","edited_at":"nor this","attachments":[{"filename":"huge.bin","size":18446744073709551615,"url":"https://example.com/huge.bin"}]}

"#;
    s.bridge.inject_raw("general", frame).await?;
    alive_with(&s, &["9".to_owned()], SOON).await?;
    let row = s
        .run_js(
            "const li = document.querySelector('li[data-message-id=\"9\"]');
             return [li.querySelector('.dp-time').textContent, li.querySelector('.dp-attachments li').textContent];",
        )
        .await?;
    ensure(
        row == serde_json::json!(["", "huge.bin (18446744073709.6 MB)"]),
        || format!("the row's time and file read {row}"),
    )?;
    no_problems(&s).await
}

/// `visual(node)`: a text node's characters in the order they are painted
/// (top to bottom, left to right), not the order they are stored in; and
/// `row(id)`.
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

/// A right-to-left override (U+202E) turned around what others wrote: the
/// text of a link after it ("https://bank.com/elpmaxe.live//:sptth", to
/// evil.example), a masked link's own text into a bank's address, the rest
/// of bob's message after a mentioned name ending in one, the line of a
/// reply to an author whose name ends in one, and the count after a
/// reaction's emoji (12 read as 21).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bidi_override_turns_around_nothing_it_does_not_belong_to() -> Result<(), Error> {
    let (s, _) = watched("bidi", "author=Ann", &[]).await?;
    s.wait_label("live", SOON).await?;
    let link = (s.bridge)
        .inject(
            "general",
            "mallory",
            "log in at \u{202E} https://evil.example/moc.knab//:sptth",
        )
        .await?;
    let masked = (s.bridge)
        .inject(
            "general",
            "mallory",
            "[\u{202E}moc.knab//:sptth](https://evil.example)",
        )
        .await?;
    let mention = (s.bridge)
        .post_json(
            "general",
            json!({ "author": "bob", "content": "<@7> pays 10 and I pay 90",
                    "mentions": { "7": "eve\u{202E}" } }),
        )
        .await?;
    let reply = (s.bridge)
        .post_json(
            "general",
            json!({ "author": "bob", "content": "sure",
                    "referenced_message": { "id": link, "author": "eve\u{202E}", "content": "pay 10, not 90" } }),
        )
        .await?;
    for n in 0..12 {
        (s.bridge)
            .react("general", &reply, "\u{202E}👍", &format!("voter{n}"), true)
            .await?;
    }
    e2e::wait_until(SOON, "the count of 12", || async {
        let rows = s.rows().await.ok()?;
        rows.iter()
            .any(|r| r.id == reply && r.reactions.iter().any(|c| c.count == 12))
            .then_some(())
    })
    .await?;
    let read = s
        .run_js(&format!(
            "{VISUAL}
             const a = row('{link}').querySelector('.dp-content a');
             const m = row('{masked}').querySelector('.dp-content a');
             const after = row('{mention}').querySelector('[data-mention]').nextSibling;
             const words = row('{reply}').querySelector('.dp-reply-text').firstChild;
             const count = row('{reply}').querySelector('[data-reaction]').lastChild;
             return [[a.getAttribute('href'), visual(a.firstChild)],
                     [m.getAttribute('href'), visual(m.firstChild)], [after.data, visual(after)],
                     [words.data, visual(words)], [count.data.trim(), visual(count).trim()]];"
        ))
        .await?;
    for (what, pair) in [
        "a link",
        "a masked link",
        "bob's words",
        "a reply's line",
        "a count",
    ]
    .iter()
    .zip(read.as_array().into_iter().flatten())
    {
        ensure(pair[0] == pair[1], || {
            format!("{what} {} reads {} on screen", pair[0], pair[1])
        })?;
    }
    no_problems(&s).await
}

/// A message of 800 spoilers made 800 buttons (tab stops), and a first page
/// of 50 such rows one long task of 0.7–1.5 s: a row makes at most
/// `MAX_ELEMENTS` elements now, and what is past them stays hidden. (The
/// longest task is printed, not asserted: this machine is shared.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_spoiler_floods_makes_a_bounded_number_of_elements() -> Result<(), Error> {
    let flood = "||a||".repeat(800);
    let (s, ids) = watched("spoiler_flood", "history_limit=100", &vec![flood; 50]).await?;
    alive_with(&s, &ids, Duration::from_secs(60)).await?;
    let read = s
        .run_js(&format!(
            "return new Promise(done => {{
               const tasks = [];
               new PerformanceObserver(l => l.getEntries().forEach(e => tasks.push(e.duration)))
                 .observe({{ type: 'longtask', buffered: true }});
               setTimeout(() => done([Math.round(Math.max(0, ...tasks)),
                 {ids:?}.map(id => {{
                   const c = document.querySelector(`li[data-message-id=\"${{id}}\"] .dp-content`);
                   const walk = document.createTreeWalker(c, NodeFilter.SHOW_TEXT);
                   let clear = '';
                   for (let n = walk.nextNode(); n; n = walk.nextNode())
                     if (!n.parentElement.closest('[data-spoiler]:not([data-revealed])')) clear += n.data;
                   return [c.querySelectorAll('*').length, clear];
                 }})]), 200);
             }});"
        ))
        .await?;
    println!(
        "the longest task while loading 50 rows of 800 spoilers: {} ms",
        read[0]
    );
    let cap = panel_core::format::MAX_ELEMENTS as u64;
    for row in read[1].as_array().into_iter().flatten() {
        ensure(
            row[0].as_u64().unwrap_or(u64::MAX) <= cap && row[1] == "",
            || format!("a row of 800 spoilers: [elements, text in the clear] {row} (cap {cap})"),
        )?;
    }
    no_problems(&s).await
}

/// Every 10 s the tick rewrote every relative timestamp, whatever its unit
/// (25,000 for 500 rows of 50: a long task of 110–160 ms every tick): it
/// rewrites only those whose words change now. Counted with a
/// `MutationObserver` over two ticks: the stamp of a moment seconds away
/// changes every tick, "56 years ago" never.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_rewrites_only_the_relative_times_whose_words_change() -> Result<(), Error> {
    let flood = "<t:0:R> ".repeat(50);
    let (s, mut ids) = watched("relative_ticks", "", &vec![flood; 20]).await?;
    s.wait_label("live", SOON).await?;
    let soon = (e2e::epoch_ms() / 1000.0) as i64 + 40;
    ids.push(
        (s.bridge)
            .inject("general", "bob", &format!("due <t:{soon}:R>"))
            .await?,
    );
    alive_with(&s, &ids, Duration::from_secs(60)).await?;
    s.run_js(&format!(
        "window.__rewrites = {{ near: 0, far: 0, near_texts: [] }};
         const near = document.querySelector('li[data-message-id=\"{}\"] time[data-relative]');
         new MutationObserver(records => records.forEach(r => {{
           const time = (r.target.nodeType === 1 ? r.target : r.target.parentElement).closest('time[data-relative]');
           if (!time || r.type === 'attributes') return;
           if (time === near) {{ window.__rewrites.near++; window.__rewrites.near_texts.push(time.textContent); }}
           else window.__rewrites.far++;
         }})).observe(document.querySelector('.dp-messages'), {{ subtree: true, childList: true, characterData: true, attributes: true }});
         return 1;",
        ids[20]
    ))
    .await?;
    // Two ticks: the near stamp's words changed twice.
    e2e::wait_until(Duration::from_secs(40), "two ticks", || async {
        let seen = s.run_js("return window.__rewrites.near;").await.ok()?;
        (seen.as_u64()? >= 2).then_some(())
    })
    .await?;
    let seen = s.run_js("return window.__rewrites;").await?;
    println!("rewrites over two ticks of 1,000 far stamps and one near: {seen}");
    ensure(seen["far"] == 0, || {
        format!("a tick rewrote stamps whose words did not change: {seen}")
    })?;
    no_problems(&s).await
}
