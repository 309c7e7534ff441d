//! Two people in one browser profile (a shared computer, or a host that
//! switches accounts): their tabs never share a stream, one person's expired
//! sign-in ends only their own panels (with the sign-in sentence and
//! `authexpired`), a revoked person stops receiving, and a reply waiting when
//! the account switches never goes out under the other person's name.

use e2e::bridge::BridgeOptions;
use e2e::browser::CAPTURE_PANEL_LOG;
use e2e::panel::{ensure, Scenario, FAST};
use e2e::{wait_until, Error};
use fantoccini::wd::WindowHandle;
use serde_json::{json, Value};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(15);

fn bridge_with_users() -> BridgeOptions {
    BridgeOptions::new(e2e::bridge::binary()).with_users("tok-alice Alice\ntok-bob Bob\n")
}

fn page(token: &str) -> String {
    format!("/host.html?channel=general&token={token}&{FAST}")
}

async fn control(
    s: &Scenario,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Result<Value, Error> {
    let answer = reqwest::Client::new()
        .request(method, s.bridge.url(path))
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    ensure(answer.status().is_success(), || {
        format!("{path}: {}", answer.status())
    })?;
    answer.json().await.map_err(|e| e.to_string())
}

/// Who the bridge streams to, one entry per stream.
async fn streaming_users(s: &Scenario) -> Result<Vec<String>, Error> {
    let report = s.bridge.api.connections().await?;
    let mut users: Vec<String> = report
        .active
        .iter()
        .map(|stream| format!("{stream:?}"))
        .map(|text| {
            let user = ["Alice", "Bob"].into_iter().find(|u| text.contains(u));
            user.unwrap_or("?").to_owned()
        })
        .collect();
    users.sort();
    Ok(users)
}

/// In `tab`: the panel stops with the sign-in sentence and tells the host.
async fn stopped_for_sign_in(s: &Scenario, tab: &WindowHandle, who: &str) -> Result<(), Error> {
    s.to_tab(tab).await?;
    s.wait_for(SOON, &format!("{who}'s panel stopped"), |st| {
        st.label() == "disconnected" && st.retry == 1
    })
    .await?;
    let text = s
        .run_js("return document.querySelector('.dp-error-text').textContent;")
        .await?;
    ensure(text == "Your sign-in has expired.", || {
        format!("{who}'s panel says {text}")
    })?;
    let events = s
        .run_js("return window.panelEvents.map((e) => e.type);")
        .await?;
    ensure(
        (events.as_array().into_iter().flatten()).any(|e| e == "authexpired"),
        || format!("{who}'s host heard {events}"),
    )
}

/// In `tab`: Live throughout since `record_labels`, and `id` arrives.
async fn untouched(s: &Scenario, tab: &WindowHandle, who: &str, id: &str) -> Result<(), Error> {
    s.to_tab(tab).await?;
    s.wait_for(SOON, &format!("the message in {who}'s tab"), |st| {
        st.label() == "live" && st.ids.iter().any(|i| i == id)
    })
    .await?;
    let labels = s.labels_seen().await?;
    ensure(labels.iter().all(|l| l == "live"), || {
        format!("{who}'s panel left Live: {labels:?}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_persons_expired_sign_in_ends_only_their_own_panels() -> Result<(), Error> {
    let name = "one_persons_expired_sign_in";
    let s = Scenario::start(name, bridge_with_users(), &page("tok-alice")).await?;
    s.wait_label("live", SOON).await?;
    let alice = s.this_tab().await?;
    let bob = s.open_tab(&page("tok-bob")).await?;
    s.wait_label("live", SOON).await?;
    // Two people, two streams, each signed in as its own.
    wait_until(SOON, "a stream for each person", || async {
        (streaming_users(&s).await.ok()? == ["Alice", "Bob"]).then_some(())
    })
    .await?;

    // Alice's sign-in expires, whichever tab holds what: Bob's is untouched.
    s.to_tab(&bob).await?;
    s.record_labels().await?;
    control(
        &s,
        reqwest::Method::DELETE,
        "/internal/users",
        json!({ "token": "tok-alice" }),
    )
    .await?;
    stopped_for_sign_in(&s, &alice, "Alice").await?;
    let missed = s
        .bridge
        .inject("general", "carol", "after alice left")
        .await?;
    untouched(&s, &bob, "Bob", &missed).await?;
    // Revoked, Alice receives nothing through anyone's stream.
    s.to_tab(&alice).await?;
    let shown = s.state().await?;
    ensure(!shown.ids.contains(&missed), || {
        format!("Alice's stopped panel received {missed}: {shown:?}")
    })?;
    ensure(streaming_users(&s).await? == ["Bob"], || {
        "Alice still streams".into()
    })?;

    // Alice signs in again; then Bob's expires: Alice's is untouched.
    control(
        &s,
        reqwest::Method::PUT,
        "/internal/users",
        json!({ "token": "tok-alice-2", "name": "Alice" }),
    )
    .await?;
    s.run_js(
        "window.panelToken = 'tok-alice-2'; document.querySelector('discussion-panel').retry();",
    )
    .await?;
    s.wait_for(SOON, "Alice Live again, with what she missed", |st| {
        st.label() == "live" && st.ids.contains(&missed)
    })
    .await?;
    s.record_labels().await?;
    control(
        &s,
        reqwest::Method::DELETE,
        "/internal/users",
        json!({ "token": "tok-bob" }),
    )
    .await?;
    stopped_for_sign_in(&s, &bob, "Bob").await?;
    let later = s
        .bridge
        .inject("general", "carol", "after bob left")
        .await?;
    untouched(&s, &alice, "Alice", &later).await
}

/// The messages of `general` with this content, with their authors.
/// (Read with Bob's token, which this test never revokes.)
async fn stored(s: &Scenario, content: &str) -> Result<Vec<String>, Error> {
    let url = s
        .bridge
        .url("/api/channels/general/messages?after=0&limit=500");
    let answer = (reqwest::Client::new()
        .get(url)
        .bearer_auth("tok-bob")
        .send()
        .await)
        .map_err(|e| e.to_string())?;
    let page: Vec<Value> = answer.json().await.map_err(|e| e.to_string())?;
    Ok(page
        .iter()
        .filter(|m| m["content"] == content)
        .filter_map(|m| m["author"].as_str().map(str::to_owned))
        .collect())
}

async fn type_reply(s: &Scenario, text: &str) -> Result<(), Error> {
    e2e::browser::type_reply(&s.browser.client, text).await
}

async fn pending_rows(s: &Scenario) -> Result<u64, Error> {
    let rows = s
        .run_js("return document.querySelectorAll('li[data-client-id]').length;")
        .await?;
    Ok(rows.as_u64().unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_waiting_when_the_account_switches_goes_out_as_its_writer() -> Result<(), Error> {
    let name = "a_reply_waiting_when_the_account_switches";
    let s = Scenario::start(name, bridge_with_users(), &page("tok-alice")).await?;
    s.wait_label("live", SOON).await?;
    s.run_js(CAPTURE_PANEL_LOG).await?;
    // The bridge turns posts away for now: Alice's reply waits.
    let busy = json!({ "busy": 1_000_000, "status": 503 });
    control(&s, reqwest::Method::PUT, "/internal/post-fault", busy).await?;
    type_reply(&s, "written by alice").await?;
    wait_until(SOON, "Alice's reply pending", || async {
        (pending_rows(&s).await.ok()? == 1).then_some(())
    })
    .await?;
    // The host switches to Bob's account.
    s.run_js("document.querySelector('discussion-panel').token = async () => 'tok-bob';")
        .await?;
    wait_until(SOON, "Alice's reply out of Bob's outbox", || async {
        (pending_rows(&s).await.ok()? == 0).then_some(())
    })
    .await?;
    control(
        &s,
        reqwest::Method::PUT,
        "/internal/post-fault",
        json!({ "busy": 0 }),
    )
    .await?;
    type_reply(&s, "written by bob").await?;
    let bobs = wait_until(SOON, "Bob's reply stored", || async {
        (stored(&s, "written by bob").await.ok()? == ["Bob"]).then_some(())
    })
    .await;
    if let Err(problem) = bobs {
        let log = s.run_js("return window.__panelLog;").await?;
        let stored = stored(&s, "written by bob").await?;
        return Err(format!(
            "{}\n  stored as {stored:?}\n  console: {log}",
            s.report(&problem).await
        ));
    }
    // Bob's went through the outbox after the switch: had Alice's still
    // been in it, it would have gone first, as Bob.
    let alices = stored(&s, "written by alice").await?;
    ensure(alices.is_empty(), || {
        format!("Alice's reply stored as {alices:?}")
    })?;
    // Back to Alice: her reply goes, as hers, once.
    s.run_js("document.querySelector('discussion-panel').token = async () => 'tok-alice';")
        .await?;
    wait_until(SOON, "Alice's reply stored as Alice", || async {
        (stored(&s, "written by alice").await.ok()? == ["Alice"]).then_some(())
    })
    .await?;
    s.wait_for(SOON, "both replies shown, none pending", |st| {
        st.ids.len() == 2
    })
    .await?;
    ensure(pending_rows(&s).await? == 0, || "rows still pending".into())
}

/// Two panels of one tab signed in as Alice share her stream, which signs
/// in as the panel that joined last. That panel's host switches it to Bob:
/// it moves to Bob's stream, and Alice's went on signed in with the moved
/// panel's credentials, now Bob's (one stream of her tabs, carried on his
/// sign-in: what Bob may read, or a refusal, reaching her panels). The
/// stream signs in as a panel still in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_that_moves_to_another_account_leaves_the_stream_signed_in_as_its_owner(
) -> Result<(), Error> {
    let name = "a_panel_that_moves_to_another_account";
    let page = format!("/embed.html?channel=general&token=tok-alice&{FAST}");
    let s = Scenario::start(name, bridge_with_users(), &page).await?;
    s.wait_label("live", SOON).await?;
    let script = r#"const done = arguments[arguments.length - 1];
        import('/discussion-panel.js').then((m) => {
          const host = document.createElement('div');
          document.body.append(host);
          const options = Object.fromEntries(new URLSearchParams(location.search));
          delete options.channel;
          window.second = m.mountDiscussionPanel(host, { ...options, channel: 'design' });
          done('mounted');
        }).catch((e) => done(String(e)));"#;
    let answer = (s.browser.client.execute_async(script, vec![]).await)
        .map_err(|e| format!("mounting a second panel: {e}"))?;
    ensure(answer == "mounted", || format!("mounting: {answer}"))?;
    s.streams_become(&["design,general"], SOON).await?;
    ensure(streaming_users(&s).await? == ["Alice"], || {
        "one stream, Alice's".into()
    })?;
    s.run_js("window.second.setToken('tok-bob');").await?;
    let apart = wait_until(SOON, "a stream for each person", || async {
        let mut streams = s.bridge.active_streams().await.ok()?;
        streams.sort();
        (streams == ["design", "general"]).then_some(())
    })
    .await;
    let users = streaming_users(&s).await?;
    ensure(apart.is_ok() && users == ["Alice", "Bob"], || {
        format!("after the switch, the streams are signed in as {users:?} ({apart:?})")
    })
}
