//! The page's life: a panel that gave up while the reader was away tries
//! again when they come back (the page visible again, restored from the
//! back/forward cache, online again), and catches up on what it missed.

use bridge_client::Fault;
use e2e::bridge::BridgeOptions;
use e2e::panel::{ensure, exactly_once_in_order, Scenario, FAST};
use e2e::Error;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(15);

/// Makes the panel give up (every new stream refused), posts a message it
/// misses, lets the bridge recover, then calls `come_back`: the panel must be
/// Live again with the missed message, without anyone pressing Retry.
/// How the reader comes back.
enum Back {
    /// A script dispatches the page's own event.
    Script(&'static str),
    /// The browser goes offline and online again (DevTools' network
    /// emulation), which fires a real `online`.
    Network,
}

async fn gives_up_then(s: &Scenario, how: &str, come_back: Back) -> Result<String, Error> {
    s.bridge.set_fault(Some(Fault::Reject(503))).await?;
    s.bridge.disconnect(None).await?;
    let missed = s.bridge.inject("general", "a", how).await?;
    s.wait_for(SOON, &format!("given up ({how})"), |st| {
        st.label() == "disconnected" && st.retry == 1
    })
    .await?;
    s.bridge.set_fault(None).await?;
    match come_back {
        Back::Script(script) => drop(s.run_js(script).await?),
        Back::Network => {
            s.browser.set_offline(true).await?;
            s.browser.set_offline(false).await?;
        }
    }
    let state = s
        .wait_for(SOON, &format!("Live again after {how}"), |st| {
            st.label() == "live" && st.ids.contains(&missed)
        })
        .await?;
    ensure(state.retry == 0, || "Retry still shown".into())?;
    Ok(missed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coming_back_to_the_page_re_arms_a_panel_that_gave_up() -> Result<(), Error> {
    let s = Scenario::start(
        "coming_back_re_arms",
        BridgeOptions::new(e2e::bridge::binary()),
        &format!("/?channel=general&{FAST}&max_attempts=2"),
    )
    .await?;
    s.wait_label("live", SOON).await?;
    let mut missed = Vec::new();
    // The tab shown again (the panel checks `document.visibilityState`).
    missed.push(
        gives_up_then(
            &s,
            "visible again",
            Back::Script("document.dispatchEvent(new Event('visibilitychange'));"),
        )
        .await?,
    );
    // Restored from the back/forward cache.
    missed.push(
        gives_up_then(
            &s,
            "restored from the cache",
            Back::Script(
                "window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));",
            ),
        )
        .await?,
    );
    // The network back: a real `online`.
    missed.push(gives_up_then(&s, "online again", Back::Network).await?);
    let state = s.state().await?;
    exactly_once_in_order(&state.ids, &missed)
}

/// A tab frozen by the browser (DevTools' page lifecycle state, as Chrome
/// freezes background tabs and Android does) runs no script, and the panel
/// lets go of the shared stream as it freezes: messages and an edit posted
/// meanwhile are shown once it resumes and the reader is back, each message
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_tab_catches_up_when_it_resumes() -> Result<(), Error> {
    let s = Scenario::start(
        "a_frozen_tab_catches_up",
        BridgeOptions::new(e2e::bridge::binary()),
        &format!("/?channel=general&{FAST}"),
    )
    .await?;
    s.wait_label("live", SOON).await?;
    let before = s.bridge.inject("general", "a", "before the freeze").await?;
    s.wait_for(SOON, "the first message", |st| st.ids.contains(&before))
        .await?;
    s.browser
        .cdp(
            "Page.setWebLifecycleState",
            serde_json::json!({ "state": "frozen" }),
        )
        .await?;
    let mut missed = vec![before.clone()];
    for n in 0..3 {
        missed.push(
            s.bridge
                .inject("general", "a", &format!("while frozen {n}"))
                .await?,
        );
    }
    s.bridge
        .edit("general", &before, "edited while frozen")
        .await?;
    s.browser
        .cdp(
            "Page.setWebLifecycleState",
            serde_json::json!({ "state": "active" }),
        )
        .await?;
    // Resumed, the page is still hidden (a background tab draws nothing, so
    // its rows wait for the next frame); the reader comes back to it.
    s.browser
        .cdp(
            "Emulation.setFocusEmulationEnabled",
            serde_json::json!({ "enabled": true }),
        )
        .await?;
    let state = s
        .wait_for(SOON, "every message after the resume", |st| {
            st.label() == "live" && missed.iter().all(|id| st.ids.contains(id))
        })
        .await?;
    exactly_once_in_order(&state.ids, &missed)?;
    s.rows_match_bridge("general", SOON, "the edit made while frozen")
        .await
        .map(|_| ())
}
