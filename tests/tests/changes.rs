//! Edits, deletions and reactions, in real Chromium against the real bridge:
//! what changed while the panel could not hear it is right once it is Live
//! again, in a follower tab while the holder tab closes, and after a gap the
//! bridge can no longer replay (the panel reloads and tells the host);
//! reactions toggled from two readers' tabs.

use bridge_client::Fault;
use e2e::bridge::BridgeOptions;
use e2e::panel::{ensure, Scenario, FAST};
use e2e::{wait_until, Error};
use fantoccini::wd::WindowHandle;
use serde_json::Value;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(15);

fn bridge() -> BridgeOptions {
    BridgeOptions::new(e2e::bridge::binary())
}

/// The events the host page heard (`web/host.js`), as `{type, detail}`.
async fn events(s: &Scenario) -> Result<Vec<Value>, Error> {
    let events = s.run_js("return window.panelEvents || [];").await?;
    Ok(events.as_array().cloned().unwrap_or_default())
}

/// Cuts the panel off: every new stream refused, the open ones dropped.
async fn cut_off(s: &Scenario) -> Result<(), Error> {
    s.bridge.set_fault(Some(Fault::Reject(503))).await?;
    s.bridge.disconnect(None).await?;
    s.wait_label("reconnecting", SOON).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_deletions_and_reactions_made_while_reconnecting_are_right_once_live(
) -> Result<(), Error> {
    let name = "changes_while_reconnecting";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(
            s.bridge
                .inject("general", "ann", &format!("note {n}"))
                .await?,
        );
    }
    s.open(&format!(
        "/host.html?channel=general&author=dee&max_attempts=50&{FAST}"
    ))
    .await?;
    s.wait_for(SOON, "Live with the history", |st| {
        st.label() == "live" && st.ids == ids
    })
    .await?;
    // Shown live: an edit and a reaction, as they happen.
    s.bridge.edit("general", &ids[0], "note 0, fixed").await?;
    s.bridge
        .react("general", &ids[1], "👍", "bob", true)
        .await?;
    s.rows_match_bridge("general", SOON, "live changes shown")
        .await?;

    // Then, while it cannot hear: an edit, a deletion, reactions, a new message.
    cut_off(&s).await?;
    s.bridge
        .edit("general", &ids[2], "note 2, rewritten")
        .await?;
    s.bridge.delete("general", &ids[3]).await?;
    s.bridge.react("general", &ids[1], "👍", "cy", true).await?;
    s.bridge.react("general", &ids[1], "🎉", "cy", true).await?;
    s.bridge
        .react("general", &ids[1], "🎉", "cy", false)
        .await?;
    let new = s.bridge.inject("general", "ann", "after the gap").await?;
    ensure(s.state().await?.label() == "reconnecting", || {
        "the changes were made while Reconnecting".into()
    })?;
    s.bridge.set_fault(None).await?;
    s.wait_label("live", SOON).await?;
    let rows = s
        .rows_match_bridge("general", SOON, "every change shown once Live")
        .await?;
    let ids_shown: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    ensure(
        ids_shown == [&ids[0], &ids[1], &ids[2], &new].map(String::as_str),
        || format!("rows {ids_shown:?}"),
    )?;
    ensure(
        rows[0].edited.is_some() && rows[2].edited.is_some() && rows[1].edited.is_none(),
        || format!("edited marks: {rows:?}"),
    )?;
    // The edited mark's tooltip says when.
    let title = s
        .run_js(&format!(
            "return document.querySelector('li[data-message-id=\"{}\"] .dp-edited').title;",
            ids[0]
        ))
        .await?;
    ensure(
        title.as_str().is_some_and(|t| t.starts_with("Edited ")),
        || format!("the edited mark's tooltip: {title}"),
    )?;

    // The host heard each change once, and no deletion counts as unread.
    let heard = events(&s).await?;
    let of = |kind: &str| -> Vec<Value> {
        (heard.iter())
            .filter(|e| e["type"] == kind)
            .map(|e| e["detail"].clone())
            .collect()
    };
    let updates: Vec<String> = (of("messageupdate").iter())
        .map(|d| d["message"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    ensure(updates == [ids[0].clone(), ids[2].clone()], || {
        format!("messageupdate events: {updates:?}")
    })?;
    let deletes = of("messagedelete");
    ensure(
        deletes.len() == 1 && deletes[0]["id"] == ids[3].as_str(),
        || format!("messagedelete events: {deletes:?}"),
    )?;
    let reactions = of("reaction");
    let last = reactions.last().cloned().unwrap_or_default();
    ensure(
        last["message_id"] == ids[1].as_str() && last["reactions"][0]["count"] == 2,
        || format!("reaction events: {reactions:?}"),
    )?;
    ensure(of("discontinuity").is_empty(), || {
        "a replayable gap is no discontinuity".into()
    })?;
    Ok(())
}

/// The tab among `tabs` that holds the shared stream.
async fn holder(s: &Scenario, tabs: &[WindowHandle]) -> Result<WindowHandle, Error> {
    wait_until(SOON, "a tab to hold the stream", || async {
        for tab in tabs {
            if s.to_tab(tab).await.is_ok() && s.holds_stream().await.unwrap_or(false) {
                return Some(tab.clone());
            }
        }
        None
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_tab_gets_the_changes_made_while_the_holder_closes() -> Result<(), Error> {
    let name = "changes_while_the_holder_closes";
    let page = format!("/?channel=general&{FAST}");
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            s.bridge
                .inject("general", "ann", &format!("line {n}"))
                .await?,
        );
    }
    s.open(&page).await?;
    s.wait_label("live", SOON).await?;
    let first = s.this_tab().await?;
    let second = s.open_tab(&page).await?;
    s.wait_label("live", SOON).await?;
    let tabs = [first, second];
    let holding = holder(&s, &tabs).await?;
    let follower = tabs.iter().find(|t| **t != holding).cloned().unwrap();
    // The holder goes, and the changes come while the follower takes over.
    s.to_tab(&holding).await?;
    (s.browser.client.close_window().await).map_err(|e| format!("closing the tab: {e}"))?;
    s.bridge.edit("general", &ids[0], "line 0, edited").await?;
    s.bridge.delete("general", &ids[1]).await?;
    s.bridge
        .react("general", &ids[2], "👀", "bob", true)
        .await?;
    s.to_tab(&follower).await?;
    s.wait_label("live", SOON).await?;
    let rows = s
        .rows_match_bridge("general", SOON, "the follower, with every change")
        .await?;
    ensure(rows.len() == 2 && rows[0].edited.is_some(), || {
        format!("{rows:?}")
    })?;
    ensure(s.holds_stream().await?, || {
        "the follower holds the stream now".into()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_toggled_from_two_readers_tabs() -> Result<(), Error> {
    let name = "reactions_from_two_tabs";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let id = s.bridge.inject("general", "ann", "vote here").await?;
    s.bridge.react("general", &id, "👍", "cy", true).await?;
    // Two readers (anonymous panels reply and react as their `author`).
    s.open(&format!("/?channel=general&author=ann&{FAST}"))
        .await?;
    s.wait_label("live", SOON).await?;
    let ann = s.this_tab().await?;
    let bob = s
        .open_tab(&format!("/?channel=general&author=bob&{FAST}"))
        .await?;
    s.wait_label("live", SOON).await?;
    let click = format!(
        "document.querySelector('li[data-message-id=\"{id}\"] [data-reaction=\"👍\"]').click();"
    );
    // (count, ann pressed, bob pressed) after each click.
    let steps = [
        (&ann, 2, true, false),
        (&bob, 3, true, true),
        (&ann, 2, false, true),
    ];
    for (tab, count, ann_pressed, bob_pressed) in steps {
        s.to_tab(tab).await?;
        s.run_js(&click).await?;
        for (reader, pressed) in [(&ann, ann_pressed), (&bob, bob_pressed)] {
            s.to_tab(reader).await?;
            let what = format!("👍 {count}, pressed: {pressed}");
            s.rows_match_bridge("general", SOON, &what).await?;
            let pressed_right = wait_until(SOON, &what, || async {
                let rows = s.rows().await.ok()?;
                let chip = rows.first()?.reactions.first()?.clone();
                (chip.count == count && chip.mine == pressed).then_some(())
            })
            .await;
            if let Err(problem) = pressed_right {
                return Err(s.report(&format!("{problem}: {:?}", s.rows().await)).await);
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_the_bridge_cannot_replay_reloads_and_tells_the_host() -> Result<(), Error> {
    let name = "changes_discontinuity";
    // The bridge keeps 5 changes per channel: a longer gap cannot be replayed.
    let options = bridge().with_args(&["--history-per-channel", "5"]);
    let s = Scenario::start(name, options, "/healthz").await?;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            s.bridge
                .inject("general", "ann", &format!("old {n}"))
                .await?,
        );
    }
    s.open(&format!(
        "/host.html?channel=general&max_attempts=50&{FAST}"
    ))
    .await?;
    s.wait_for(SOON, "Live with the history", |st| {
        st.label() == "live" && st.ids == ids
    })
    .await?;
    cut_off(&s).await?;
    s.bridge.edit("general", &ids[2], "old 2, edited").await?;
    s.bridge.delete("general", &ids[1]).await?;
    for n in 0..8 {
        s.bridge
            .inject("general", "ann", &format!("new {n}"))
            .await?;
    }
    s.bridge.set_fault(None).await?;
    s.wait_label("live", SOON).await?;
    let rows = s
        .rows_match_bridge("general", SOON, "the reloaded window")
        .await?;
    let bridge_ids: Vec<String> = (s.bridge.history("general", None, 500).await?)
        .into_iter()
        .map(|m| m.id)
        .collect();
    let shown: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    ensure(shown == bridge_ids, || {
        format!("shown {shown:?}, the bridge has {bridge_ids:?}")
    })?;
    let heard = wait_until(SOON, "a discontinuity event", || async {
        let all = events(&s).await.ok()?;
        all.iter()
            .any(|e| e["type"] == "discontinuity" && e["detail"]["channel_id"] == "general")
            .then_some(all)
    })
    .await?;
    let deletions = heard
        .iter()
        .filter(|e| e["type"] == "messagedelete")
        .count();
    ensure(deletions == 0, || {
        "a reload announces itself, not each deletion".into()
    })
}

/// Presses a key in the composer (WebDriver's key codes).
async fn press_in_composer(s: &Scenario, keys: &str) -> Result<(), Error> {
    use fantoccini::Locator;
    let input = (s.browser.client)
        .find(Locator::Css(r#"textarea[data-action="compose"]"#))
        .await
        .map_err(|e| format!("no composer: {e}"))?;
    (input.send_keys(keys).await).map_err(|e| format!("typing: {e}"))
}

/// The composer's text and the message it edits, if any.
async fn composer(s: &Scenario) -> Result<(String, Option<String>), Error> {
    let state = s
        .run_js(
            "const f = document.querySelector('form.dp-composer');
             return [document.querySelector('textarea[data-action=\"compose\"]').value,
                     f.getAttribute('data-editing')];",
        )
        .await?;
    Ok((
        state[0].as_str().unwrap_or_default().to_owned(),
        state[1].as_str().map(str::to_owned),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ones_own_reply_edited_and_deleted_while_the_bridge_restarts() -> Result<(), Error> {
    use fantoccini::key::Key;
    let name = "own_changes_across_a_restart";
    let options = bridge().with_history_file();
    let file = options.history_file.clone().expect("a history file");
    let page = format!("/?channel=general&author=ann&max_attempts=100&{FAST}");
    let mut s = Scenario::start(name, options, &page).await?;
    s.wait_label("live", SOON).await?;
    let other = s.bridge.inject("general", "bob", "not yours").await?;
    e2e::browser::type_reply(&s.browser.client, "frist").await?;
    e2e::browser::type_reply(&s.browser.client, "spam").await?;
    let rows = wait_until(SOON, "both replies shown as the reader's own", || async {
        let own = s
            .run_js("return [...document.querySelectorAll('li[data-own]')].map(li => li.getAttribute('data-message-id'));")
            .await
            .ok()?;
        let own: Vec<String> = serde_json::from_value(own).ok()?;
        (own.len() == 2).then_some(own)
    })
    .await?;
    let (first, second) = (rows[0].clone(), rows[1].clone());
    ensure(!rows.contains(&other), || {
        "bob's message is not ann's".into()
    })?;

    // Up in the empty composer holds the last reply; Escape lets it go.
    press_in_composer(&s, &Key::Up.to_string()).await?;
    let held = composer(&s).await?;
    ensure(held == ("spam".into(), Some(second.clone())), || {
        format!("after Up, the composer holds {held:?}")
    })?;
    press_in_composer(&s, &Key::Escape.to_string()).await?;
    let held = composer(&s).await?;
    ensure(held == (String::new(), None), || {
        format!("after Escape, the composer holds {held:?}")
    })?;

    // The bridge goes away; the reader edits one reply and deletes the other.
    s.bridge.kill();
    s.wait_label("reconnecting", SOON).await?;
    s.run_js(&format!(
        "document.querySelector('li[data-message-id=\"{first}\"] [data-action=\"edit-message\"]').click();"
    ))
    .await?;
    let held = composer(&s).await?;
    ensure(held == ("frist".into(), Some(first.clone())), || {
        format!("Edit put {held:?} in the composer")
    })?;
    let select_all = format!("{}a", Key::Control);
    press_in_composer(&s, &select_all).await?;
    press_in_composer(&s, &format!("first, fixed{}", Key::Enter)).await?;
    let delete = format!(
        "document.querySelector('li[data-message-id=\"{second}\"] [data-action=\"delete-message\"]').click();"
    );
    s.run_js(&delete).await?; // asks once more…
    s.run_js(&delete).await?; // …and goes
    let pending = s
        .run_js("return document.querySelectorAll('li[data-client-id]').length;")
        .await?;
    ensure(pending == 2, || format!("{pending} changes waiting"))?;

    // Back: each goes once, and the rows read as the bridge has them.
    s.bridge.restart().await?;
    s.wait_label("live", SOON).await?;
    let rows = s
        .rows_match_bridge("general", SOON, "the edit and the deletion applied")
        .await?;
    let shown: Vec<(&str, &str)> = (rows.iter())
        .map(|r| (r.id.as_str(), r.content.as_str()))
        .collect();
    ensure(
        shown
            == [
                (other.as_str(), "not yours"),
                (first.as_str(), "first, fixed"),
            ],
        || format!("rows {shown:?}"),
    )?;
    wait_until(SOON, "no change waiting", || async {
        let n = s
            .run_js("return document.querySelectorAll('li[data-client-id]').length;")
            .await
            .ok()?;
        (n == 0).then_some(())
    })
    .await?;
    // Each was made once (the history file has every change the bridge made).
    let history = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
    let edits = history
        .lines()
        .filter(|l| l.contains("first, fixed") && l.contains("\"change\""))
        .count();
    let deletions = (history.lines())
        .filter(|l| l.contains("\"delete\"") && l.contains(&format!("\"message_id\":\"{second}\"")))
        .count();
    ensure((edits, deletions) == (1, 1), || {
        format!("{edits} edits and {deletions} deletions stored")
    })
}

/// How many of the reader's changes wait in the outbox (`kind`: `react`,
/// `delete`, …), and how many of those failed.
async fn waiting(s: &Scenario, kind: &str) -> Result<(u64, u64), Error> {
    let script = format!(
        "const rows = [...document.querySelectorAll('li[data-client-id][data-change=\"{kind}\"]')];
         return [rows.length, rows.filter(r => r.getAttribute('data-state') === 'failed').length];"
    );
    let counts = s.run_js(&script).await?;
    Ok((
        counts[0].as_u64().unwrap_or(u64::MAX),
        counts[1].as_u64().unwrap_or(u64::MAX),
    ))
}

/// Clicks the `emoji` chip under message `id`.
async fn click_chip(s: &Scenario, id: &str, emoji: &str) -> Result<(), Error> {
    let script = format!(
        "document.querySelector('li[data-message-id=\"{id}\"] [data-reaction=\"{emoji}\"]').click();"
    );
    s.run_js(&script).await.map(drop)
}

/// Who reacts with `emoji` to message `id`, as the bridge has it.
async fn reactors(s: &Scenario, id: &str, emoji: &str) -> Result<Vec<String>, Error> {
    let all = e2e::panel::all_messages(&s.bridge, "general").await?;
    let message = all.iter().find(|m| m.id == id);
    let reaction = message.and_then(|m| m.reactions.iter().find(|r| r.emoji == emoji));
    Ok(reaction.map(|r| r.users.clone()).unwrap_or_default())
}

/// Issue 31, item 11: a reaction toggled while the panel cannot reach the
/// bridge waits in the outbox like an edit, and goes once Live; a toggle
/// and its undo made while waiting send nothing; what waits survives a
/// reload of the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_toggled_while_reconnecting_go_once_live() -> Result<(), Error> {
    let name = "reactions_while_reconnecting";
    let options = bridge().with_history_file();
    let page = format!("/?channel=general&author=dee&max_attempts=100&{FAST}");
    let mut s = Scenario::start(name, options, "/healthz").await?;
    let vote = s.bridge.inject("general", "ann", "vote here").await?;
    let other = s.bridge.inject("general", "ann", "and here").await?;
    s.bridge.react("general", &vote, "👍", "cy", true).await?;
    s.bridge.react("general", &other, "🎉", "cy", true).await?;
    s.open(&page).await?;
    s.wait_label("live", SOON).await?;
    s.rows_match_bridge("general", SOON, "the chips shown")
        .await?;

    // The bridge goes away: one toggle, and a toggle with its undo.
    s.bridge.kill();
    s.wait_label("reconnecting", SOON).await?;
    click_chip(&s, &vote, "👍").await?;
    click_chip(&s, &other, "🎉").await?;
    click_chip(&s, &other, "🎉").await?;
    let shown = waiting(&s, "react").await?;
    ensure(shown == (1, 0), || {
        format!("(waiting, failed) reactions while the bridge is down: {shown:?}")
    })?;
    s.bridge.restart().await?;
    s.wait_label("live", SOON).await?;
    wait_until(SOON, "dee's 👍 stored, the 🎉 untouched", || async {
        let (vote, other) = (
            reactors(&s, &vote, "👍").await.ok()?,
            reactors(&s, &other, "🎉").await.ok()?,
        );
        (vote == ["cy", "dee"] && other == ["cy"]).then_some(())
    })
    .await?;
    s.rows_match_bridge("general", SOON, "the chips as the bridge has them")
        .await?;
    let rows = s.rows().await?;
    let mine: Vec<(u64, bool)> = (rows.iter())
        .map(|r| (r.reactions[0].count, r.reactions[0].mine))
        .collect();
    ensure(mine == [(2, true), (1, false)], || {
        format!("(count, pressed) of each chip: {mine:?}")
    })?;

    // Streams refused: the take-back waits, and a reload keeps it.
    cut_off(&s).await?;
    click_chip(&s, &vote, "👍").await?;
    s.open(&page).await?;
    s.wait_label("reconnecting", SOON).await?;
    wait_until(SOON, "the take-back waits after the reload", || async {
        (waiting(&s, "react").await.ok()? == (1, 0)).then_some(())
    })
    .await?;
    ensure(reactors(&s, &vote, "👍").await? == ["cy", "dee"], || {
        "sent while Reconnecting".into()
    })?;
    s.bridge.set_fault(None).await?;
    s.wait_label("live", SOON).await?;
    wait_until(SOON, "dee's 👍 taken back once", || async {
        (reactors(&s, &vote, "👍").await.ok()? == ["cy"]).then_some(())
    })
    .await?;
    s.rows_match_bridge("general", SOON, "the chips after the take-back")
        .await?;
    wait_until(SOON, "nothing waits", || async {
        (waiting(&s, "react").await.ok()? == (0, 0)).then_some(())
    })
    .await
}

/// Issue 31, item 11: a 404 to the reader's deletion that says the route
/// is missing (a bridge without it, a wrong URL) is no deletion: the row
/// says it failed, and the message stays shown as it is on the bridge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_answered_by_a_missing_route_fails_visibly() -> Result<(), Error> {
    let name = "deletion_without_its_route";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    // Before the page's scripts: the reader's DELETE meets a bridge
    // without that route.
    let script = r#"
        const real = window.fetch.bind(window);
        window.fetch = (input, init) => {
          const method = (init && init.method) || (input && input.method) || 'GET';
          const url = typeof input === 'string' ? input : input.url;
          if (method.toUpperCase() === 'DELETE' && /\/messages\/\d+$/.test(url)) {
            const body = JSON.stringify({ error: 'no route for ' + new URL(url).pathname });
            return Promise.resolve(new Response(body, { status: 404,
              headers: { 'content-type': 'application/json' } }));
          }
          return real(input, init);
        };"#;
    s.browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            serde_json::json!({ "source": script }),
        )
        .await?;
    s.open(&format!("/?channel=general&author=ann&{FAST}"))
        .await?;
    s.wait_label("live", SOON).await?;
    e2e::browser::type_reply(&s.browser.client, "delete me").await?;
    let id = wait_until(SOON, "the reply shown as the reader's own", || async {
        let id = s
            .run_js("const li = document.querySelector('li[data-own]'); return li && li.getAttribute('data-message-id');")
            .await
            .ok()?;
        id.as_str().map(str::to_owned)
    })
    .await?;
    let delete = format!(
        "document.querySelector('li[data-message-id=\"{id}\"] [data-action=\"delete-message\"]').click();"
    );
    s.run_js(&delete).await?; // asks once more…
    s.run_js(&delete).await?; // …and goes
    let failed = wait_until(SOON, "the deletion shown as failed", || async {
        (waiting(&s, "delete").await.ok()? == (1, 1)).then_some(())
    })
    .await;
    if let Err(problem) = failed {
        let rows = s.rows().await?;
        let shown = waiting(&s, "delete").await?;
        return Err(s
            .report(&format!(
                "{problem}: (waiting, failed) deletions {shown:?}, rows {rows:?}"
            ))
            .await);
    }
    let rows = s
        .rows_match_bridge("general", SOON, "the message still shown")
        .await?;
    ensure(rows.iter().any(|r| r.id == id), || {
        format!("{id} is gone from the rows: {rows:?}")
    })
}

/// Issue 31, item 11: the reader's own reaction stays pressed when the
/// bridge names only the newest 20 who reacted (a bridge that says `me`,
/// and `user`/`added` on its events); with one that names everyone, the
/// reader is found among the names. Either way the chip shows the exact
/// count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readers_own_reaction_stays_pressed_past_twenty_names() -> Result<(), Error> {
    let name = "own_reaction_past_twenty_names";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let id = s.bridge.inject("general", "ann", "popular").await?;
    s.bridge.react("general", &id, "👍", "dee", true).await?;
    for n in 0..21 {
        let user = format!("fan{n:02}");
        s.bridge.react("general", &id, "👍", &user, true).await?;
    }
    s.open(&format!("/?channel=general&author=dee&{FAST}"))
        .await?;
    s.wait_label("live", SOON).await?;
    let chip = |count: u64, mine: bool, what: &'static str| {
        let s = &s;
        async move {
            let seen = wait_until(SOON, what, || async {
                let rows = s.rows().await.ok()?;
                let chip = rows.first()?.reactions.first()?.clone();
                (chip.count == count && chip.mine == mine).then_some(())
            })
            .await;
            match seen {
                Ok(()) => Ok(()),
                Err(problem) => Err(s.report(&format!("{problem}: {:?}", s.rows().await)).await),
            }
        }
    };
    chip(22, true, "👍 22, the reader's").await?;
    // Someone else reacts, live: still the reader's.
    s.bridge.react("general", &id, "👍", "fan21", true).await?;
    chip(23, true, "👍 23, still the reader's").await?;
    // The reader takes theirs back.
    click_chip(&s, &id, "👍").await?;
    chip(22, false, "👍 22, no longer the reader's").await
}

/// Every message shown is deleted while older ones remain (the store's model
/// found the panel then holding nothing for good): the list, empty and so
/// without a scroll to ask with, loads the older messages by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_shown_message_is_deleted_the_older_ones_appear() -> Result<(), Error> {
    let name = "every_shown_deleted";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    let mut ids = Vec::new();
    // Long enough that the newest four fill the view: a list that does not
    // fill it asks for older messages by itself from the start.
    let long = "and so on ".repeat(200);
    for n in 0..8 {
        let text = format!("note {n} {long}");
        ids.push(s.bridge.inject("general", "ann", &text).await?);
    }
    s.open(&format!(
        "/host.html?channel=general&author=dee&history_limit=4&{FAST}"
    ))
    .await?;
    s.wait_for(SOON, "Live with the newest four", |st| {
        st.label() == "live" && st.ids == ids[4..]
    })
    .await?;
    for id in &ids[4..] {
        s.bridge.delete("general", id).await?;
    }
    s.wait_for(
        SOON,
        "the four older ones, asked for without a scroll",
        |st| st.label() == "live" && st.ids == ids[..4],
    )
    .await
    .map(|_| ())
}
