//! End-to-end: the real panel in headless Chromium against the real bridge.
//! Each test has its own bridge process and browser; waits have deadlines.

use e2e::bridge::BridgeOptions;
use e2e::panel::{ensure, exactly_once_in_order, Scenario, FAST};
use e2e::Error;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(10);

fn bridge() -> BridgeOptions {
    BridgeOptions::new(env!("CARGO_BIN_EXE_e2e-bridge"))
}

/// Runs a scenario body and reports failures with the page's state.
macro_rules! scenario {
    ($name:ident, $body:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let result: Result<(), Error> = ($body)(stringify!($name)).await;
            if let Err(problem) = result {
                panic!("{}: {problem}", stringify!($name));
            }
        }
    };
}

scenario!(
    first_load_shows_history_in_order_and_goes_live,
    |name: &'static str| async move {
        let s = Scenario::start(name, bridge(), "/").await?;
        // The bridge starts empty: seed history through the control API, then load the page.
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(
                s.bridge
                    .inject("general", "alice", &format!("history {i}"))
                    .await?,
            );
        }
        s.open(&format!("/?channel=general&{FAST}")).await?;
        let state = s
            .wait_for(SOON, "five messages and Live", |st| {
                st.ids.len() == 5 && st.label() == "live"
            })
            .await?;
        ensure(state.ids == ids, || {
            format!("history out of order: {:?} vs {ids:?}", state.ids)
        })?;
        ensure(state.text.as_deref() == Some("Live"), || {
            format!("visible label {:?}", state.text)
        })?;
        ensure(
            state.statuses == 1 && state.role.as_deref() == Some("status"),
            || format!("status element: {state:?}"),
        )?;
        ensure(state.retry == 0, || "Retry shown while live".into())?;
        ensure(state.channel.as_deref() == Some("general"), || {
            format!("data-channel {:?}", state.channel)
        })
    }
);

scenario!(
    a_live_message_is_shown_once_in_order,
    |name: &'static str| async move {
        let s = Scenario::start(name, bridge(), &format!("/?channel=general&{FAST}")).await?;
        s.wait_label("live", SOON).await?;
        let first = s.bridge.inject("general", "bob", "first live").await?;
        let second = s.bridge.inject("general", "carol", "second live").await?;
        let other = s.bridge.inject("design", "erin", "another channel").await?;
        let state = s
            .wait_for(SOON, "both live messages", |st| st.ids.contains(&second))
            .await?;
        exactly_once_in_order(&state.ids, &[first.clone(), second.clone()])?;
        ensure(!state.ids.contains(&other), || {
            "a message of another channel was shown".into()
        })
    }
);
