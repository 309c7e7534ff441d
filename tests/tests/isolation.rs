//! One tab, one link or one panel never breaks another's panel: in one
//! Chromium profile whose tabs share their stream, a tab on an invalid channel
//! name or on a crafted link leaves the other tabs Live and receiving, and a
//! profile with more channels than one stream carries gets as many streams as
//! it needs, every panel receiving.

use e2e::panel::{ensure, Scenario, FAST};
use e2e::{wait_until, Error};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(15);

/// Tab 1 shows `general` and is Live; tab 2 opens `page`. Then a message
/// to `general` must reach tab 1, still Live, over a stream that carries
/// `general` alone.
async fn a_second_tab_leaves_the_first_alone(name: &str, page: &str) -> Result<(), Error> {
    let s = Scenario::live(name, &format!("/?channel=general&{FAST}")).await?;
    let first = s.this_tab().await?;
    s.record_labels().await?;
    s.open_tab(page).await?;
    let second = s
        .wait_for(SOON, "the second tab stopped", |st| st.retry == 1)
        .await?;
    ensure(second.label() == "disconnected", || {
        format!("the tab with the bad name shows {second:?}")
    })?;
    let sentence = s
        .run_js("return document.querySelector('.discussion-panel')?.textContent ?? '';")
        .await?;
    ensure(
        sentence
            .as_str()
            .is_some_and(|t| t.contains("is not a valid channel name")),
        || format!("the bad tab does not say why: {sentence}"),
    )?;
    s.to_tab(&first).await?;
    let id = s.bridge.inject("general", "alice", "still here").await?;
    s.wait_for(SOON, "the message in the first tab", |st| {
        st.label() == "live" && st.ids.contains(&id)
    })
    .await?;
    s.streams_become(&["general"], SOON).await?;
    let labels = s.labels_seen().await?;
    ensure(labels.iter().all(|l| l == "live"), || {
        format!("the first tab left Live: {labels:?}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tab_on_an_invalid_channel_name_leaves_the_other_tabs_live() -> Result<(), Error> {
    a_second_tab_leaves_the_first_alone(
        "a_tab_on_an_invalid_channel_name",
        &format!("/?channel=bad%20name&{FAST}"),
    )
    .await
}

/// The name carries `&last_event_id=<u64::MAX>`: sent as it is in the shared
/// stream's URL, it would set the stream's resume point past every id, and
/// the other tabs would stay Live without a message ever again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crafted_link_cannot_configure_the_shared_stream() -> Result<(), Error> {
    a_second_tab_leaves_the_first_alone(
        "a_crafted_link",
        &format!("/host.html?channel=x%26last_event_id%3D18446744073709551615&{FAST}"),
    )
    .await
}

/// Mounts one panel per channel in the current page, each in a box of its
/// own, with the fast timings.
async fn mount_panels(s: &Scenario, channels: &[String]) -> Result<(), Error> {
    let script = format!(
        r#"const done = arguments[arguments.length - 1];
        import('/discussion-panel.js').then((module) => {{
          window.extraPanels = [];
          for (const channel of {channels:?}) {{
            const box = document.createElement('div');
            box.className = 'extra-panel';
            box.style.height = '60px';
            document.body.append(box);
            window.extraPanels.push(module.mountDiscussionPanel(box, {{
              // The page's reader ("visitor", the demo's author): without a
              // sign-in, tabs and panels share a stream per author.
              channel, author: 'visitor', backoffBaseMs: 150, backoffCapMs: 600, stabilityWindowMs: 1500, initialWatchdogMs: 3000,
            }}));
          }}
          done(window.extraPanels.length);
        }}, (error) => done(String(error)));"#
    );
    let mounted = (s.browser.client.execute_async(&script, vec![]).await)
        .map_err(|e| format!("mounting panels: {e}"))?;
    ensure(mounted.as_u64() == Some(channels.len() as u64), || {
        format!("mounted {mounted} panels")
    })
}

/// For each mounted panel: its channel, label and message ids.
async fn extra_panels(s: &Scenario) -> Result<Vec<(String, String, Vec<String>)>, Error> {
    let value = s
        .run_js(
            r#"return [...document.querySelectorAll('.extra-panel .discussion-panel')].map((p) => [
              p.getAttribute('data-channel'),
              p.querySelector('[data-connection-status]')?.getAttribute('data-connection-status') ?? '',
              [...p.querySelectorAll('li[data-message-id]')].map((li) => li.getAttribute('data-message-id')),
            ]);"#,
        )
        .await?;
    serde_json::from_value(value).map_err(|e| format!("reading the panels: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_channels_than_one_stream_carries_get_more_streams() -> Result<(), Error> {
    let s = Scenario::live(
        "more_channels_than_a_stream",
        &format!("/?channel=general&{FAST}"),
    )
    .await?;
    // With the page's own `general`, 71 channels: 64 in one stream, 7 in another.
    let channels: Vec<String> = (0..70).map(|i| format!("c{i:03}")).collect();
    mount_panels(&s, &channels).await?;
    let all_live = wait_until(Duration::from_secs(30), "every panel Live", || async {
        let panels = extra_panels(&s).await.ok()?;
        (panels.len() == channels.len() && panels.iter().all(|(_, label, _)| label == "live"))
            .then_some(())
    })
    .await;
    if let Err(problem) = all_live {
        let panels = extra_panels(&s).await.unwrap_or_default();
        let stuck: Vec<_> = panels.iter().filter(|(_, l, _)| l != "live").collect();
        return Err(s.report(&format!("{problem}; not Live: {stuck:?}")).await);
    }
    let report = s.bridge.api.connections().await?;
    let mut carried: Vec<usize> = report.active.iter().map(|a| a.carries().len()).collect();
    carried.sort_unstable();
    ensure(carried == [7, 64], || {
        format!("the bridge serves streams of {carried:?} channels, not [7, 64]")
    })?;
    // A message on each channel reaches its panel, and only it.
    let mut sent = Vec::new();
    for channel in &channels {
        sent.push(s.bridge.inject(channel, "bob", channel).await?);
    }
    let id = s.bridge.inject("general", "bob", "general").await?;
    let received = wait_until(SOON, "every panel's message", || async {
        let panels = extra_panels(&s).await.ok()?;
        let all = panels
            .iter()
            .zip(&sent)
            .all(|((_, label, ids), id)| label == "live" && ids.len() == 1 && &ids[0] == id);
        all.then_some(())
    })
    .await;
    if let Err(problem) = received {
        let panels = extra_panels(&s).await.unwrap_or_default();
        let missing: Vec<_> = (panels.iter().zip(&sent))
            .filter(|((_, _, ids), id)| ids.as_slice() != [id.to_string()])
            .map(|((channel, label, ids), id)| format!("{channel} ({label}): {ids:?}, not [{id}]"))
            .collect();
        return Err(s.report(&format!("{problem}; {missing:?}")).await);
    }
    s.wait_for(SOON, "the page's own message", |st| st.ids.contains(&id))
        .await
        .map(|_| ())
}

/// A lock granted after the tab's sharing ended (its panel unmounted while
/// the grant was on its way) is let go at once: kept, no other tab of that
/// group could ever hold its stream. The grant is delayed by wrapping the
/// page's `navigator.locks.request` so that the race happens every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_granted_after_its_panel_left_is_let_go() -> Result<(), Error> {
    let s = Scenario::live(
        "a_lock_granted_late",
        &format!("/host.html?channel=general&{FAST}"),
    )
    .await?;
    let script = r#"const done = arguments[arguments.length - 1];
    const request = navigator.locks.request.bind(navigator.locks);
    navigator.locks.request = (name, options, granted) =>
      request(name, options, (lock) => new Promise((resolve) => setTimeout(() => resolve(granted(lock)), 400)));
    import('/discussion-panel.js').then(async (module) => {
      const box = document.createElement('div');
      document.body.append(box);
      // Another bridge: a group (and a lock) of its own, asked for at once.
      const panel = module.mountDiscussionPanel(box, { channel: 'general', bridgeUrl: 'http://127.0.0.1:9' });
      await new Promise((r) => setTimeout(r, 50));
      panel.unmount();
      panel.free();
      // Past the delayed grant, and a little more.
      await new Promise((r) => setTimeout(r, 1200));
      const state = await navigator.locks.query();
      done(state.held.map((lock) => lock.name));
    }, (error) => done(String(error)));"#;
    let held = (s.browser.client.execute_async(script, vec![]).await)
        .map_err(|e| format!("the lock script: {e}"))?;
    let names: Vec<String> = serde_json::from_value(held.clone()).map_err(|_| format!("{held}"))?;
    ensure(!names.iter().any(|n| n.contains("127.0.0.1:9")), || {
        format!("the late lock is still held: {names:?}")
    })?;
    ensure(names.len() == 1, || {
        format!("held: {names:?} (the page's own group only)")
    })
}
