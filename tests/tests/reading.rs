//! Reading aids: the "N new messages" button, older messages loaded at the
//! top without moving the view or doubling a message, and days marked on
//! the list with full dates in the times' tooltips.

use e2e::bridge::BridgeOptions;
use e2e::panel::{ensure, exactly_once_in_order, Scenario, FAST};
use e2e::{epoch_ms, wait_until, Error};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(10);

fn bridge() -> BridgeOptions {
    BridgeOptions::new(e2e::bridge::binary())
}

/// Counts the panel's requests for older pages (`window.olderPages`), and
/// sends the list a scroll event before every frame while it is at the top.
const OLDER_PAGE_RACE: &str = r#"
    window.olderPages = 0;
    const fetch = window.fetch.bind(window);
    window.fetch = (request, init) => {
        if (String(request.url || request).includes('before=')) window.olderPages += 1;
        return fetch(request, init);
    };
    const frame = window.requestAnimationFrame.bind(window);
    window.requestAnimationFrame = (callback) => frame((time) => {
        const l = document.querySelector('.dp-messages');
        if (l && l.scrollTop < 24) l.dispatchEvent(new Event('scroll'));
        callback(time);
    });"#;
const SCROLL_UP: &str = "const l = document.querySelector('.dp-messages'); l.scrollTop = 0; l.dispatchEvent(new Event('scroll'));";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_messages_below_show_a_button_that_jumps_to_them() -> Result<(), Error> {
    let name = "new_messages_below_show_a_button_that_jumps_to_them";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    for n in 0..40 {
        s.bridge
            .inject("general", "ann", &format!("filler {n}"))
            .await?;
    }
    // history_limit=40: the top of the list is the channel's start, so
    // scrolling up loads nothing older.
    s.open(&format!(
        "/host.html?channel=general&history_limit=40&{FAST}"
    ))
    .await?;
    s.wait_for(SOON, "live with the history", |st| {
        st.label() == "live" && st.ids.len() == 40
    })
    .await?;
    let button = "return (b => b && !b.hidden ? b.textContent : null)(document.querySelector('[data-action=\"jump-to-newest\"]'));";
    ensure(s.run_js(button).await?.is_null(), || {
        "a button while at the bottom".into()
    })?;
    s.run_js(SCROLL_UP).await?;
    for n in 0..2 {
        let id = s
            .bridge
            .inject("general", "bob", &format!("new {n}"))
            .await?;
        s.wait_for(SOON, "the new message", |st| st.ids.contains(&id))
            .await?;
    }
    let label = wait_until(SOON, "the button", || async {
        s.run_js(button).await.ok()?.as_str().map(str::to_owned)
    })
    .await?;
    ensure(label == "2 new messages", || {
        format!("the button says {label:?}")
    })?;
    let top = s
        .run_js("return document.querySelector('.dp-messages').scrollTop;")
        .await?;
    ensure(top == 0, || {
        format!("the list moved to {top} while the reader was up")
    })?;
    s.run_js("document.querySelector('[data-action=\"jump-to-newest\"]').click();")
        .await?;
    wait_until(SOON, "at the newest, the button gone", || async {
        let at_bottom = s
            .run_js("const l = document.querySelector('.dp-messages'); return l.scrollHeight - l.scrollTop - l.clientHeight < 24;")
            .await
            .ok()?;
        let gone = s.run_js(button).await.ok()?.is_null();
        (at_bottom == true && gone).then_some(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_messages_load_at_the_top_keeping_the_view_and_never_doubling() -> Result<(), Error> {
    let name = "older_messages_load_at_the_top_keeping_the_view_and_never_doubling";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let mut all = Vec::new();
    for n in 0..80 {
        all.push(
            s.bridge
                .inject("general", "ann", &format!("message {n}"))
                .await?,
        );
    }
    s.open(&format!(
        "/host.html?channel=general&history_limit=30&page_limit=20&{FAST}"
    ))
    .await?;
    s.wait_for(SOON, "live with the newest 30", |st| {
        st.label() == "live" && st.ids.len() == 30
    })
    .await?;
    // The browser runs scroll events just before a frame, so a page that has
    // come but is not shown yet meets a scroll event at the top. Make that
    // happen before every frame, and count the requests for older pages: the
    // reader scrolled up once, one page must come.
    s.run_js(OLDER_PAGE_RACE).await?;
    // Where the oldest shown message's text sits in the list (its row loses
    // the day's mark when older messages of that day come above it).
    let anchor = all[50].clone();
    let position = format!(
        "const l = document.querySelector('.dp-messages'); const r = l.querySelector('[data-message-id=\"{anchor}\"] .dp-content'); return r.getBoundingClientRect().top - l.getBoundingClientRect().top;"
    );
    // Up to the top, and where the row sits then, in the same task: the
    // older page cannot have come in between.
    let up_and_measure = format!("{{ {SCROLL_UP} }} {position}");
    let before = s
        .run_js(&up_and_measure)
        .await?
        .as_f64()
        .unwrap_or(f64::NAN);
    s.wait_for(SOON, "the older page", |st| st.ids.len() == 50)
        .await?;
    let after = s.run_js(&position).await?.as_f64().unwrap_or(f64::NAN);
    ensure((after - before).abs() <= 2.0, || {
        format!("the row the reader saw moved from {before} to {after} px")
    })?;
    // A second request would have been made before the page was shown.
    let pages = s.run_js("return window.olderPages;").await?;
    ensure(pages == 1, || {
        format!("{pages} requests for older messages after one scroll to the top")
    })?;
    // On to the start of the channel: every message once, in order.
    let state = wait_until(Duration::from_secs(20), "all 80, once each", || async {
        s.run_js(SCROLL_UP).await.ok()?;
        let state = s.state().await.ok()?;
        (state.ids.len() >= 80).then_some(state)
    })
    .await?;
    exactly_once_in_order(&state.ids, &all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn days_are_marked_and_times_carry_the_full_date() -> Result<(), Error> {
    let name = "days_are_marked_and_times_carry_the_full_date";
    // History from two days ago and from yesterday, in the bridge's file.
    let options = bridge().with_history_file();
    let file = options.history_file.clone().expect("a history file");
    let day = 24.0 * 3_600_000.0;
    let mut lines = String::new();
    for (id, ago) in [
        (1, 2.0 * day),
        (2, 2.0 * day - 60_000.0),
        (3, day),
        (4, day - 60_000.0),
    ] {
        let timestamp = mock_bridge::clock::rfc3339_ms((epoch_ms() - ago) as u64);
        lines.push_str(&format!(
            "{{\"id\":\"{id}\",\"channel_id\":\"general\",\"author\":\"ann\",\"content\":\"from {id}\",\"timestamp\":\"{timestamp}\"}}\n"
        ));
    }
    std::fs::write(&file, lines).map_err(|e| e.to_string())?;
    let s = Scenario::start(name, options, &format!("/host.html?channel=general&{FAST}")).await?;
    s.wait_for(SOON, "live with the old history", |st| {
        st.label() == "live" && st.ids.len() == 4
    })
    .await?;
    let today = s.bridge.inject("general", "bob", "from today").await?;
    s.wait_for(SOON, "today's message", |st| st.ids.contains(&today))
        .await?;
    let check = r#"
        const rows = [...document.querySelectorAll('li[data-message-id]')];
        const day = (li) => new Date(li.querySelector('time').getAttribute('datetime')).toDateString();
        const firsts = rows.filter((li, i) => i === 0 || day(li) !== day(rows[i - 1]));
        return {
            marked: rows.filter((li) => li.hasAttribute('data-day')).map((li) => li.dataset.messageId),
            firsts: firsts.map((li) => li.dataset.messageId),
            labels: firsts.map((li) => li.getAttribute('data-day')),
            today: firsts.filter((li) => day(li) === new Date().toDateString()).map((li) => li.getAttribute('data-day')),
            titled: rows.every((li) => (li.querySelector('time').title || '').length > 8),
        };"#;
    let found = s.run_js(check).await?;
    ensure(found["marked"] == found["firsts"], || {
        format!("marked rows are not the first of each day: {found}")
    })?;
    ensure(found["today"] == serde_json::json!(["Today"]), || {
        format!("today: {found}")
    })?;
    let labels: Vec<&str> = (found["labels"].as_array().into_iter().flatten())
        .filter_map(|l| l.as_str())
        .collect();
    ensure(
        labels.len() >= 2 && labels.iter().all(|l| !l.is_empty()),
        || format!("day labels: {found}"),
    )?;
    ensure(found["titled"] == true, || {
        format!("times without a full date: {found}")
    })
}
