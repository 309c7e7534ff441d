//! Behind a real nginx running the repository's `deploy/nginx.conf`: over
//! HTTP/1.1 the panel is Live, streams messages and takes replies through the
//! proxy; over TLS and HTTP/2 ten tabs, each with a stream of its own (no
//! sharing), are all Live, since HTTP/2 carries every stream of the origin
//! over one connection (over HTTP/1.1 the seventh would hang).

use e2e::bridge::{Bridge, BridgeOptions};
use e2e::browser::Browser;
use e2e::nginx::{Listener, Nginx};
use e2e::panel::{ensure, FAST};
use e2e::{wait_until, Error};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(20);

const READ: &str = r#"
const status = document.querySelector('[data-connection-status]');
return [
  status ? status.getAttribute('data-connection-status') : null,
  [...document.querySelectorAll('li[data-message-id]')].map(li => li.getAttribute('data-message-id')),
];
"#;

async fn read(browser: &Browser) -> Option<(String, Vec<String>)> {
    let value = browser.client.execute(READ, vec![]).await.ok()?;
    serde_json::from_value::<(Option<String>, Vec<String>)>(value)
        .ok()
        .map(|(label, ids)| (label.unwrap_or_default(), ids))
}

/// Waits in the current tab until the panel is Live and shows `id` (if any).
async fn live_with(browser: &Browser, id: Option<&str>, what: &str) -> Result<(), Error> {
    wait_until(SOON, what, || async {
        let (label, ids) = read(browser).await?;
        (label == "live" && id.is_none_or(|id| ids.iter().any(|i| i == id))).then_some(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_documented_nginx_the_panel_is_live_streams_and_replies() -> Result<(), Error> {
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let nginx = Nginx::start(bridge.port, Listener::Http1).await?;
    let browser = Browser::start().await?;
    let page = format!("{}/?channel=general&author=ann&{FAST}", nginx.origin());
    (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
    live_with(&browser, None, "Live through nginx")
        .await
        .map_err(|e| format!("{e}\n{}", nginx.log_tail()))?;
    let id = bridge.inject("general", "bob", "through the proxy").await?;
    live_with(&browser, Some(&id), "a message through nginx").await?;
    e2e::browser::type_reply(&browser.client, "a reply through the proxy").await?;
    wait_until(SOON, "the reply stored once and shown", || async {
        let stored = bridge.api.history("general", Some("0"), 500).await.ok()?;
        let mine: Vec<_> = stored
            .iter()
            .filter(|m| m.content == "a reply through the proxy")
            .collect();
        let (_, ids) = read(&browser).await?;
        (mine.len() == 1 && ids.contains(&mine[0].id)).then_some(())
    })
    .await?;
    // The stream went through nginx, as the panel's only one.
    ensure(bridge.active_streams().await?.len() == 1, || {
        "not one stream".into()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http2_ten_tabs_with_a_stream_each_are_all_live() -> Result<(), Error> {
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let nginx = Nginx::start(bridge.port, Listener::Http2).await?;
    let browser = Browser::start_with(&["--ignore-certificate-errors"]).await?;
    let page = format!(
        "{}/?channel=general&share_across_tabs=false&{FAST}",
        nginx.origin()
    );
    let mut tabs = Vec::new();
    for n in 0..10 {
        if n > 0 {
            let tab = (browser.client.new_window(true).await).map_err(|e| e.to_string())?;
            (browser.client.switch_to_window(tab.handle).await).map_err(|e| e.to_string())?;
        }
        (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
        live_with(&browser, None, &format!("tab {n} Live over HTTP/2"))
            .await
            .map_err(|e| format!("{e}\n{}", nginx.log_tail()))?;
        tabs.push(browser.client.window().await.map_err(|e| e.to_string())?);
    }
    let protocol = browser
        .client
        .execute(
            "return performance.getEntriesByType('navigation')[0].nextHopProtocol;",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    ensure(protocol == "h2", || {
        format!("the page came over {protocol}, not h2")
    })?;
    ensure(bridge.active_streams().await?.len() == 10, || {
        "not ten streams".into()
    })?;
    let id = bridge.inject("general", "bob", "to every tab").await?;
    for (n, tab) in tabs.into_iter().enumerate() {
        (browser.client.switch_to_window(tab).await).map_err(|e| e.to_string())?;
        live_with(&browser, Some(&id), &format!("the message in tab {n}")).await?;
    }
    Ok(())
}
