//! The panel's cold load on a slow phone: Chromium throttled through the
//! DevTools protocol (1.6 Mbit/s down, 750 kbit/s up, 150 ms per request, the
//! CPU slowed 4×), a fresh profile and an empty cache for every run, from the
//! navigation to the panel's first Live (`discussion-panel:live` on the
//! performance timeline), through the documented nginx and through the
//! bridge's `--static-dir`. Also the bytes on the wire (each finished
//! request's `encodedDataLength`, headers included) and, for the median run,
//! every request with when it started, answered and finished and what started
//! it, beside what the panel's glue did meanwhile in the page: the requests
//! in a row on the road to Live.
//!
//! Ignored by the test suite: `scripts/bench.sh` runs it with `--ignored
//! --nocapture` and keeps the lines that start with `BENCH: `.

use e2e::bridge::{Bridge, BridgeOptions};
use e2e::browser::Browser;
use e2e::network::{path_of, requests_of, Request};
use e2e::nginx::{Listener, Nginx};
use e2e::Error;
use serde_json::{json, Value};
use std::time::Duration;

const RUNS: usize = 5;
/// Messages in the channel's history, as in the other time-to-Live figures
/// (`LOAD_BENCH_HISTORY` sets another number, to see what they cost).
fn history() -> usize {
    std::env::var("LOAD_BENCH_HISTORY")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50)
}
const TOKEN: &str = "tok-bench";

/// One way of serving the panel.
struct Route {
    name: &'static str,
    /// The page's URL.
    page: String,
    /// Extra request headers (DevTools' `setExtraHTTPHeaders`).
    headers: Option<Value>,
}

/// One cold load.
struct Load {
    live_ms: f64,
    bytes: u64,
    requests: Vec<Request>,
    /// What the glue did in the page: (ms from the navigation's start, what).
    timeline: Vec<(f64, String)>,
}

/// Notes, in the page and before any of its scripts, when the glue does what
/// the road to Live is made of: the wasm's compilation, each fetch and its
/// answer, the Web Lock that elects the tab holding the shared stream, the
/// EventSource and its first events. (Wrappers of the browser's own
/// functions: they pass everything through unchanged.)
const TIMELINE: &str = r#"
window.__timeline = [];
const note = what => window.__timeline.push([performance.now(), what]);
const short = url => { try { const u = new URL(url, location.href); return u.pathname + u.search; } catch { return String(url); } };
const streaming = WebAssembly.instantiateStreaming;
if (streaming) WebAssembly.instantiateStreaming = async (...args) => {
  note('wasm: compiling as it downloads');
  const result = await streaming.apply(WebAssembly, args);
  note('wasm: instantiated');
  return result;
};
const fetching = window.fetch;
window.fetch = function (input, init) {
  const url = short(input && input.url ? input.url : input);
  note('fetch ' + url);
  const answer = fetching.call(this, input, init);
  answer.then(() => note('answered: ' + url), () => {});
  return answer;
};
if (navigator.locks) {
  const locks = navigator.locks;
  const request = locks.request.bind(locks);
  locks.request = (name, ...rest) => {
    note('lock requested');
    const granted = rest[rest.length - 1];
    rest[rest.length - 1] = lock => { note(lock ? 'lock granted' : 'lock not granted'); return granted(lock); };
    return request(name, ...rest);
  };
}
const Source = window.EventSource;
window.EventSource = function (url, init) {
  note('EventSource ' + short(url));
  const source = new Source(url, init);
  source.addEventListener('open', () => note('stream open'), { once: true });
  for (const type of ['status', 'heartbeat', 'message'])
    source.addEventListener(type, () => note('stream: first ' + type), { once: true });
  return source;
};
window.EventSource.prototype = Source.prototype;
Object.assign(window.EventSource, { CONNECTING: 0, OPEN: 1, CLOSED: 2 });
"#;

/// Resolves with the first Live mark's time (ms from the navigation's
/// start), as soon as the panel sets it: no polling from outside while the
/// throttled page loads.
const WAIT_FOR_LIVE: &str = r#"
const done = arguments[arguments.length - 1];
const name = 'discussion-panel:live';
const answer = mark => done([mark.startTime, performance.timeOrigin, window.__timeline || []]);
const found = performance.getEntriesByName(name)[0];
if (found) return answer(found);
new PerformanceObserver((list, observer) => {
  const mark = list.getEntriesByName(name)[0];
  if (mark) { observer.disconnect(); answer(mark); }
}).observe({ type: 'mark' });
"#;

/// The slow phone, on a browser's only tab, before it navigates.
async fn throttle(browser: &Browser) -> Result<(), Error> {
    browser.cdp("Network.enable", json!({})).await?;
    browser.cdp("Network.clearBrowserCache", json!({})).await?;
    let network = json!({
        "offline": false,
        "latency": 150,
        "downloadThroughput": 1_600_000 / 8,
        "uploadThroughput": 750_000 / 8,
    });
    browser
        .cdp("Network.emulateNetworkConditions", network)
        .await?;
    browser
        .cdp("Emulation.setCPUThrottlingRate", json!({ "rate": 4 }))
        .await
}

/// One cold load of `route` on the slow phone, in a browser of its own.
async fn cold_load(route: &Route) -> Result<Load, Error> {
    let browser = Browser::start_logging_network(&[]).await?;
    throttle(&browser).await?;
    if let Some(headers) = &route.headers {
        browser
            .cdp("Network.setExtraHTTPHeaders", json!({ "headers": headers }))
            .await?;
    }
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": TIMELINE }),
        )
        .await?;
    browser.network_log().await?; // what the blank tab did, left out
    let page = &route.page;
    (browser.client.goto(page).await).map_err(|e| format!("{page}: {e}"))?;
    let live = tokio::time::timeout(
        Duration::from_secs(60),
        browser.client.execute_async(WAIT_FOR_LIVE, vec![]),
    )
    .await
    .map_err(|_| format!("{page}: not Live within 60 s"))?
    .map_err(|e| format!("{page}: waiting for Live: {e}"))?;
    let (live_ms, epoch_zero, timeline) =
        serde_json::from_value::<(f64, f64, Vec<(f64, String)>)>(live)
            .map_err(|e| format!("the Live mark: {e}"))?;
    let requests = requests_of(&browser.network_log().await?, epoch_zero);
    // Each file once: a preload that the glue's own request did not reuse
    // would show as a second download of the same file.
    for file in ["/discussion-panel_bg.wasm", "/discussion-panel.js"] {
        let count = requests.iter().filter(|r| path_of(&r.url) == file).count();
        if count != 1 {
            return Err(format!("{file} was requested {count} times: {requests:#?}"));
        }
    }
    let bytes = (requests.iter())
        .filter(|r| r.end.is_some_and(|end| end <= live_ms))
        .map(|r| r.bytes)
        .sum();
    Ok(Load {
        live_ms,
        bytes,
        requests,
        timeline,
    })
}

fn median_and_spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.total_cmp(b));
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

fn ms(value: Option<f64>) -> String {
    value.map_or("—".into(), |v| format!("{v:.0}"))
}

/// The median run's requests, and the glue's timeline, as tables.
fn print_run(route: &str, load: &Load) {
    println!("BENCH: ");
    println!(
        "BENCH: Requests of the median run, {route} (Live at {:.0} ms; times in ms from the navigation's start):",
        load.live_ms
    );
    println!("BENCH: ");
    println!("BENCH: | request | type | started by | sent | answered | done | bytes | encoding |");
    println!("BENCH: | --- | --- | --- | ---: | ---: | ---: | ---: | --- |");
    for r in &load.requests {
        println!(
            "BENCH: | `{}` | {} | {} | {:.0} | {} | {} | {} | {} |",
            path_of(&r.url),
            r.kind,
            r.initiator,
            r.start,
            ms(r.response),
            ms(r.end),
            r.bytes,
            if r.encoding.is_empty() {
                "—"
            } else {
                &r.encoding
            },
        );
    }
    println!("BENCH: ");
    println!("BENCH: What the glue did meanwhile, in the page:");
    println!("BENCH: ");
    println!("BENCH: | ms | |");
    println!("BENCH: | ---: | --- |");
    for (at, what) in &load.timeline {
        let what: String = what.chars().take(90).collect();
        println!("BENCH: | {at:.0} | {what} |");
    }
    println!(
        "BENCH: | {:.0} | Live (`discussion-panel:live`) |",
        load.live_ms
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by scripts/bench.sh"]
async fn cold_load_on_a_slow_phone() -> Result<(), Error> {
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    let signing_in =
        BridgeOptions::new(e2e::bridge::binary()).with_users(&format!("{TOKEN} Ann\n"));
    let signing_in = Bridge::start(signing_in).await?;
    for i in 0..history() {
        for bridge in [&bridge, &signing_in] {
            bridge
                .inject("general", "bench", &format!("history {i}"))
                .await?;
        }
    }
    let nginx = Nginx::start(bridge.port, Listener::Http1).await?;
    let demo = "/?channel=general";
    let routes = [
        Route {
            name: "the documented nginx (`deploy/nginx.conf`), the demo page",
            page: format!("{}{demo}", nginx.origin()),
            headers: None,
        },
        Route {
            name: "the bridge's `--static-dir`, the demo page",
            page: bridge.url(demo),
            headers: None,
        },
        Route {
            name: "the bridge's `--static-dir`, the demo page, the browser asking for no compression (what every server sent before)",
            page: bridge.url(demo),
            headers: Some(json!({ "Accept-Encoding": "identity" })),
        },
        Route {
            name: "the bridge's `--static-dir`, `web/host.html` signed in with a token (`--users`)",
            page: signing_in.url(&format!("/host.html?channel=general&token={TOKEN}")),
            headers: None,
        },
    ];
    let mut medians = Vec::new();
    println!("BENCH: | served by | to Live: median (min–max) | bytes on the wire: median (min–max) | runs |");
    println!("BENCH: | --- | ---: | ---: | --- |");
    for route in &routes {
        let mut loads = Vec::new();
        for _ in 0..RUNS {
            loads.push(cold_load(route).await?);
        }
        let (live, live_min, live_max) =
            median_and_spread(loads.iter().map(|l| l.live_ms).collect());
        let (bytes, bytes_min, bytes_max) =
            median_and_spread(loads.iter().map(|l| l.bytes as f64).collect());
        println!(
            "BENCH: | {} | {:.2} s ({:.2}–{:.2}) | {bytes:.0} ({bytes_min:.0}–{bytes_max:.0}) | {RUNS}, a fresh profile each |",
            route.name,
            live / 1_000.0,
            live_min / 1_000.0,
            live_max / 1_000.0,
        );
        loads.sort_by(|a, b| a.live_ms.total_cmp(&b.live_ms));
        medians.push((route.name, loads.swap_remove(RUNS / 2)));
    }
    for (route, load) in &medians {
        print_run(route, load);
    }
    Ok(())
}
