//! An integrator's first hour (issue 37): the panel in a host's sidebar.
//! Replies waiting to send stay inside a bounded height, with or without a
//! definite height from the host. Real Chromium, real bridge.

use e2e::bridge::BridgeOptions;
use e2e::panel::{ensure, Scenario, FAST};
use e2e::{wait_until, Error};
use serde_json::{json, Value};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(10);

fn bridge() -> BridgeOptions {
    BridgeOptions::new(e2e::bridge::binary())
}

/// Makes the bridge answer every post with 503 for a long while: replies wait.
async fn refuse_posts(s: &Scenario) -> Result<(), Error> {
    let fault = reqwest::Client::new()
        .put(s.bridge.url("/internal/post-fault"))
        .json(&json!({ "busy": 1_000_000, "status": 503 }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    ensure(fault.status().is_success(), || "the post fault".into())
}

/// Where the host's box, the panel's parts and the page are, in CSS pixels.
const GEOMETRY: &str = r#"const box = (sel) => {
  const r = document.querySelector(sel).getBoundingClientRect();
  return { top: r.top, bottom: r.bottom, height: r.height };
};
const scroll = (sel) => {
  const e = document.querySelector(sel);
  return { client: e.clientHeight, scroll: e.scrollHeight };
};
return {
  host: box('#panel-host'), panel: box('.discussion-panel'), status: box('[data-connection-status]'),
  composer: box('.dp-composer'), send: box('.dp-send'), list: scroll('.dp-messages'), outbox: scroll('.dp-outbox'),
  page: { scroll: document.scrollingElement.scrollHeight, viewport: innerHeight, y: scrollY },
};"#;

async fn geometry(s: &Scenario) -> Result<Value, Error> {
    s.run_js(GEOMETRY).await
}

fn num(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

/// Six long replies waiting to send in a 320×640 sidebar: the outbox
/// scrolls inside the panel, the list keeps room, and the composer and the
/// status stay on screen with the host page unscrolled. Without a definite
/// height the panel is at most the viewport's height and its list scrolls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_replies_scroll_inside_a_sidebar_and_keep_the_composer_on_screen(
) -> Result<(), Error> {
    let name = "waiting_replies_scroll_inside_a_sidebar";
    let page = format!("/host.html?channel=general&author=ann&{FAST}");
    let s = Scenario::live_on(name, bridge(), &page).await?;
    for n in 0..5 {
        s.bridge
            .inject("general", "bob", &format!("earlier {n}"))
            .await?;
    }
    // A window with room for the sidebar (headless Chromium's is shorter).
    let metrics = json!({ "width": 1000, "height": 760, "deviceScaleFactor": 1, "mobile": false });
    (s.browser)
        .cdp("Emulation.setDeviceMetricsOverride", metrics)
        .await?;
    s.run_js(
        "document.querySelector('.host-note').hidden = true;
         Object.assign(document.getElementById('panel-host').style, { width: '320px', height: '640px', margin: '0' });",
    )
    .await?;
    refuse_posts(&s).await?;
    // Typed, as a reader types through a reconnection.
    let long = "a reply written while the bridge is busy, long enough to wrap over several lines in a narrow sidebar";
    for n in 0..6 {
        e2e::browser::type_reply(&s.browser.client, &format!("{n}: {long}")).await?;
    }
    wait_until(SOON, "six waiting replies", || async {
        let rows = s
            .run_js("return document.querySelectorAll('li[data-client-id]').length;")
            .await
            .ok()?;
        (rows == 6).then_some(())
    })
    .await?;
    let g = geometry(&s).await?;
    let (host, composer, status) = (&g["host"], &g["composer"], &g["status"]);
    let fits = |part: &Value| {
        num(&part["top"]) >= num(&host["top"]) - 0.5
            && num(&part["bottom"]) <= num(&host["bottom"]) + 0.5
    };
    ensure(fits(composer) && fits(status) && fits(&g["send"]), || {
        format!("the composer or the status left the 320×640 box: {g}")
    })?;
    ensure(
        num(&g["page"]["scroll"]) <= num(&g["page"]["viewport"]),
        || format!("the host page scrolls: {g}"),
    )?;
    let panel_height = num(&g["panel"]["height"]);
    ensure(num(&g["list"]["client"]) >= panel_height / 4.0, || {
        format!("the message list was squeezed: {g}")
    })?;
    ensure(
        num(&g["outbox"]["scroll"]) > num(&g["outbox"]["client"]),
        || format!("the outbox does not scroll: {g}"),
    )?;
    // No definite height: the host's box grows with what it holds.
    for n in 0..40 {
        s.bridge
            .inject("general", "bob", &format!("filler {n}"))
            .await?;
    }
    s.wait_for(SOON, "the fillers", |st| st.ids.len() >= 45)
        .await?;
    s.run_js("document.getElementById('panel-host').style.height = 'auto';")
        .await?;
    let g = geometry(&s).await?;
    ensure(
        num(&g["panel"]["height"]) <= num(&g["page"]["viewport"]) + 0.5,
        || format!("without a definite height the panel outgrew the viewport: {g}"),
    )?;
    ensure(
        num(&g["list"]["scroll"]) > num(&g["list"]["client"]),
        || format!("without a definite height the list does not scroll: {g}"),
    )?;
    ensure(
        num(&g["composer"]["bottom"]) <= num(&g["panel"]["bottom"]) + 0.5,
        || format!("without a definite height the composer left the panel: {g}"),
    )
}

/// Gives every page this tab opens the `color-scheme` named by its
/// `?host_scheme=` on its root element, before any of its scripts run (as a
/// host's own stylesheet would), or by its `?host_meta=` as a
/// `<meta name="color-scheme">` in its head.
const HOST_SCHEME: &str = r#"new MutationObserver((_, observer) => {
  if (!document.documentElement) return;
  observer.disconnect();
  const scheme = new URLSearchParams(location.search).get('host_scheme');
  if (scheme) document.documentElement.style.colorScheme = scheme;
}).observe(document, { childList: true });
const meta = new URLSearchParams(location.search).get('host_meta');
if (meta) new MutationObserver((_, observer) => {
  if (!document.head) return;
  observer.disconnect();
  document.head.prepend(Object.assign(document.createElement('meta'), { name: 'color-scheme', content: meta }));
}).observe(document, { childList: true, subtree: true });"#;

/// The operating system's preference, as Chromium's emulated media.
async fn os_scheme(s: &Scenario, scheme: &str) -> Result<(), Error> {
    let feature = json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] });
    s.browser.cdp("Emulation.setEmulatedMedia", feature).await
}

/// The panel's background colour once it is Live on `page`.
async fn panel_background(s: &Scenario, page: &str) -> Result<String, Error> {
    s.open(page).await?;
    s.wait_label("live", SOON).await?;
    let value = s
        .run_js(
            "return getComputedStyle(document.querySelector('.discussion-panel')).backgroundColor;",
        )
        .await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

const WHITE: &str = "rgb(255, 255, 255)";
const DARK: &str = "rgb(22, 27, 34)";

/// The panel follows the host's `color-scheme`, the OS when the host says
/// nothing, and an explicit `theme` over both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_follows_the_hosts_color_scheme_and_its_theme_option() -> Result<(), Error> {
    let name = "the_panel_follows_the_hosts_color_scheme";
    let s = Scenario::start(name, bridge(), "/healthz").await?;
    (s.browser)
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": HOST_SCHEME }),
        )
        .await?;
    let page = |query: &str| format!("/host.html?channel=general&{query}{FAST}");
    let cases = [
        (
            "light",
            "host_scheme=dark&",
            DARK,
            "a dark host with the OS light",
        ),
        (
            "dark",
            "host_scheme=light&",
            WHITE,
            "a light host with the OS dark",
        ),
        (
            "dark",
            "",
            DARK,
            "a host that says nothing with the OS dark",
        ),
        (
            "light",
            "",
            WHITE,
            "a host that says nothing with the OS light",
        ),
        (
            "dark",
            "host_scheme=dark&theme=light&",
            WHITE,
            "theme=light on a dark host, OS dark",
        ),
        ("light", "theme=dark&", DARK, "theme=dark with the OS light"),
        (
            "light",
            "host_meta=dark&",
            DARK,
            "a host whose meta tag says dark, OS light",
        ),
    ];
    for (os, query, expected, what) in cases {
        os_scheme(&s, os).await?;
        let background = panel_background(&s, &page(query)).await?;
        ensure(background == expected, || {
            format!("{what}: the panel's background is {background}, not {expected}")
        })?;
    }
    Ok(())
}

/// A host's custom properties reach the panel by inheritance: on the
/// element, on an ancestor, on `:root`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosts_custom_properties_apply_from_the_element_or_any_ancestor() -> Result<(), Error> {
    let name = "a_hosts_custom_properties_apply";
    let page = format!("/host.html?channel=general&author=ann&{FAST}");
    let s = Scenario::live_on(name, bridge(), &page).await?;
    let styled = s
        .run_js(
            "document.querySelector('discussion-panel').style.setProperty('--dp-accent', 'rgb(200, 0, 100)');
             document.getElementById('panel-host').style.setProperty('--dp-fg', 'rgb(1, 2, 3)');
             document.documentElement.style.setProperty('--dp-bg', 'rgb(250, 240, 230)');
             const css = (sel, property) => getComputedStyle(document.querySelector(sel))[property];
             return [css('.dp-send', 'backgroundColor'), css('.discussion-panel', 'color'), css('.discussion-panel', 'backgroundColor')];",
        )
        .await?;
    let expected = json!(["rgb(200, 0, 100)", "rgb(1, 2, 3)", "rgb(250, 240, 230)"]);
    ensure(styled == expected, || {
        format!("the host's --dp-accent (element), --dp-fg (ancestor) and --dp-bg (:root) gave {styled}, not {expected}")
    })
}

/// A host page on an origin the bridge does not allow (its
/// `--allowed-origins` names another): the panel says so in a sentence,
/// rather than "TypeError: Failed to fetch", and never takes the refusal
/// for a buffering proxy (no switch to polling).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_origin_the_bridge_refuses_is_told_so() -> Result<(), Error> {
    let name = "a_page_whose_origin_the_bridge_refuses_is_told_so";
    let host = e2e::serve_dist().await;
    let origin = format!("http://127.0.0.1:{host}");
    let other = format!("http://127.0.0.1:{}", e2e::free_port());
    let options = bridge().with_args(&["--allowed-origins", &other]);
    let s = Scenario::start(name, options, "/healthz").await?;
    s.bridge.inject("general", "ann", "unseen").await?;
    let page = format!(
        "{origin}/host.html?channel=general&bridge_url={}&max_attempts=2&first_byte_ms=300&{FAST}",
        s.bridge.url("")
    );
    (s.browser.client.goto(&page).await).map_err(|e| e.to_string())?;
    // The README quotes this sentence.
    let sentence = format!(
        "this page's origin ({origin}) is not allowed by the bridge: not in its --allowed-origins, or, with credentials, without --allow-credentials."
    );
    let read = "const text = document.querySelector('.dp-error-text');
        const root = document.querySelector('.discussion-panel');
        return [text ? text.textContent : null, root && root.getAttribute('data-transport'),
                (window.panelEvents || []).filter((e) => e.type === 'statuschange').map((e) => e.detail.transport)];";
    let seen = wait_until(SOON, "a sentence about the origin", || async {
        let seen = s.run_js(read).await.ok()?;
        let text = seen[0].as_str().unwrap_or_default().to_lowercase();
        text.contains(&sentence).then_some(seen)
    })
    .await;
    let seen = match seen {
        Ok(seen) => seen,
        Err(timeout) => {
            let now = s.run_js(read).await;
            return Err(format!("{}\n  shown: {now:?}", s.report(&timeout).await));
        }
    };
    s.wait_for(SOON, "Disconnected with Retry", |st| st.retry == 1)
        .await?;
    let seen_after = s.run_js(read).await?;
    for seen in [&seen, &seen_after] {
        let transports = seen[2].as_array().cloned().unwrap_or_default();
        ensure(
            seen[1] != "polling" && !transports.iter().any(|t| t == "polling"),
            || format!("a refused origin was taken for a buffering proxy: {seen}"),
        )?;
    }
    Ok(())
}

/// `mountDiscussionPanel` replaces what its element held (a host's
/// placeholder) rather than putting the panel beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mounting_replaces_what_the_element_held() -> Result<(), Error> {
    let name = "mounting_replaces_what_the_element_held";
    let page = format!("/host.html?channel=general&{FAST}");
    let s = Scenario::live_on(name, bridge(), &page).await?;
    let script = r#"const done = arguments[arguments.length - 1];
import('/discussion-panel.js').then((module) => {
  const box = document.createElement('div');
  box.innerHTML = '<p class="placeholder">Loading the discussion…</p>';
  box.style.height = '300px';
  document.body.append(box);
  window.second = module.mountDiscussionPanel(box, { channel: 'general' });
  done([...box.children].map((child) => child.className));
}, (error) => done(String(error)));"#;
    let children = (s.browser.client.execute_async(script, vec![]).await)
        .map_err(|e| format!("mounting: {e}"))?;
    ensure(children == json!(["discussion-panel"]), || {
        format!("the element holds {children}, not the panel alone")
    })
}

/// Listeners added through a handle go with its panel: after `unmount()`,
/// or `free()` without it, and a new mount on the same element, only the
/// new handle's hear the new panel's events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handles_listeners_go_with_its_panel() -> Result<(), Error> {
    let name = "a_handles_listeners_go_with_its_panel";
    let page = format!("/host.html?channel=general&{FAST}");
    let s = Scenario::live_on(name, bridge(), &page).await?;
    let script = r#"const done = arguments[arguments.length - 1];
import('/discussion-panel.js').then((module) => {
  const box = document.createElement('div');
  box.style.height = '300px';
  document.body.append(box);
  window.heard = { old: 0, new: 0 };
  const old = module.mountDiscussionPanel(box, { channel: 'design' });
  old.addEventListener('message', () => window.heard.old++);
  old.unmount();
  // Freed without unmount() (by free(), as garbage collection would).
  const freed = module.mountDiscussionPanel(box, { channel: 'design' });
  freed.addEventListener('message', () => window.heard.old++);
  freed.free();
  const fresh = module.mountDiscussionPanel(box, { channel: 'design' });
  fresh.addEventListener('message', () => window.heard.new++);
  fresh.addEventListener('statuschange', (e) => { window.heard.status = e.detail.status; });
  done(true);
}, (error) => done(String(error)));"#;
    (s.browser.client.execute_async(script, vec![]).await).map_err(|e| format!("mounting: {e}"))?;
    let heard = "return window.heard;";
    wait_until(SOON, "the new panel Live", || async {
        let seen = s.run_js(heard).await.ok()?;
        (seen["status"] == "live").then_some(())
    })
    .await?;
    s.bridge
        .inject("design", "ann", "for the new panel")
        .await?;
    let seen = wait_until(SOON, "the new handle's listener called", || async {
        let seen = s.run_js(heard).await.ok()?;
        (seen["new"] == 1).then_some(seen)
    })
    .await?;
    ensure(seen["old"] == 0, || {
        format!("the unmounted handle's listener heard the new panel: {seen}")
    })
}

/// A reply sent through a handle whose panel is gone (unmounted after it
/// was Live) throws nothing: it waits, as before a mount.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_after_unmount_throws_nothing() -> Result<(), Error> {
    let name = "a_send_after_unmount_throws_nothing";
    let page = format!("/host.html?channel=general&{FAST}");
    let s = Scenario::live_on(name, bridge(), &page).await?;
    let script = r#"const done = arguments[arguments.length - 1];
import('/discussion-panel.js').then((module) => {
  const box = document.createElement('div');
  document.body.append(box);
  window.p = module.mountDiscussionPanel(box, { channel: 'design', author: 'ann' });
  window.p.addEventListener('statuschange', (e) => { window.st = e.detail.status; });
  done(true);
}, (error) => done(String(error)));"#;
    (s.browser.client.execute_async(script, vec![]).await).map_err(|e| format!("mounting: {e}"))?;
    wait_until(SOON, "the mounted panel Live", || async {
        let st = s.run_js("return window.st;").await.ok()?;
        (st == "live").then_some(())
    })
    .await?;
    let sent = "window.p.unmount(); try { window.p.send('after'); return 'ok'; } catch (e) { return String(e); }";
    let sent = s.run_js(sent).await?;
    ensure(sent == "ok", || {
        format!("send() after unmount threw {sent}")
    })
}

/// At 300 px, "via polling" stays on one line beside the label; and the
/// history requests' addresses end in no stray `&`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrow_polling_panel_keeps_its_header_on_one_line_and_clean_addresses(
) -> Result<(), Error> {
    let name = "a_narrow_polling_panel";
    let page = format!("/host.html?channel=a-rather-long-channel-name&polling=on&{FAST}");
    let s = Scenario::live_on(name, bridge(), &page).await?;
    let seen = s
        .run_js(
            "document.getElementById('panel-host').style.width = '300px';
             const hint = document.querySelector('.dp-transport');
             const label = document.querySelector('[data-connection-status]');
             return [hint.hidden, hint.getClientRects().length, hint.getBoundingClientRect().height,
                     label.getBoundingClientRect().height,
                     performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('/api/'))];",
        )
        .await?;
    ensure(seen[0] == false, || format!("no polling hint: {seen}"))?;
    ensure(num(&seen[2]) <= num(&seen[3]) + 1.0, || {
        format!("\"via polling\" wraps at 300 px (its height against the label's): {seen}")
    })?;
    let urls = seen[4].as_array().cloned().unwrap_or_default();
    ensure(
        urls.iter()
            .any(|u| u.as_str().unwrap_or_default().contains("/messages?")),
        || format!("no history request seen: {seen}"),
    )?;
    ensure(
        !urls
            .iter()
            .any(|u| u.as_str().unwrap_or_default().ends_with('&')),
        || format!("an address ends in a stray &: {urls:?}"),
    )
}

/// The element's `send()` called several times in one task: every reply
/// reaches the bridge, once each and in the order sent (not only the last).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_sends_in_one_task_each_reach_the_bridge_once_in_order() -> Result<(), Error> {
    let name = "several_sends_in_one_task";
    let page = format!("/host.html?channel=general&author=ann&{FAST}");
    let s = Scenario::live_on(name, bridge(), &page).await?;
    s.run_js("const el = document.querySelector('discussion-panel'); el.send('a'); el.send('b'); el.send('c');")
        .await?;
    let stored = || async {
        let page = s.bridge.api.history("general", Some("0"), 500).await.ok()?;
        let ann = page.into_iter().filter(|m| m.author == "ann");
        Some(ann.map(|m| m.content).collect::<Vec<_>>())
    };
    // Done when a reply is stored and none waits any more.
    let waiting = "return document.querySelectorAll('li[data-client-id]').length;";
    wait_until(SOON, "a reply stored and none waiting", || async {
        let pending = s.run_js(waiting).await.ok()?;
        let any = !stored().await?.is_empty();
        (pending == 0 && any).then_some(())
    })
    .await?;
    let contents = stored().await.unwrap_or_default();
    ensure(contents == ["a", "b", "c"], || {
        format!("three sends in one task stored {contents:?}, not [\"a\", \"b\", \"c\"]")
    })
}

/// A reply sent right after a switch of channel, in the same task, belongs
/// to the channel switched to: the switch is a signal whose effect runs a
/// moment later, and until then the old connection still took replies.
/// And a reply sent to an element not yet in the page is sent once it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_sent_with_a_switch_of_channel_goes_to_the_new_one() -> Result<(), Error> {
    let name = "reply_with_a_switch";
    let page = format!("/host.html?channel=general&author=ann&{FAST}");
    let s = Scenario::live_on(name, bridge(), &page).await?;
    s.run_js(
        "const el = document.querySelector('discussion-panel'); \
         el.setChannel('design'); el.send('for design'); \
         const early = document.createElement('discussion-panel'); \
         early.setAttribute('channel', 'random'); early.setAttribute('author', 'ann'); \
         early.send('before the page had it'); \
         document.body.append(early);",
    )
    .await?;
    let contents = |channel: &'static str| {
        let api = &s.bridge.api;
        async move {
            let page = api.history(channel, Some("0"), 500).await.ok()?;
            Some(page.into_iter().map(|m| m.content).collect::<Vec<_>>())
        }
    };
    let stored = wait_until(SOON, "both replies stored where they were sent", || async {
        let design = contents("design").await?;
        let random = contents("random").await?;
        (design.iter().any(|c| c == "for design")
            && random.iter().any(|c| c == "before the page had it"))
        .then_some(())
    })
    .await;
    if let Err(e) = stored {
        let general = contents("general").await;
        let design = contents("design").await;
        let random = contents("random").await;
        return Err(format!(
            "{e}: general {general:?}, design {design:?}, random {random:?}"
        ));
    }
    let general = contents("general").await.unwrap_or_default();
    ensure(!general.iter().any(|c| c == "for design"), || {
        format!("the reply for design also went to general: {general:?}")
    })
}

/// A reply sent while the element restarts for a changed attribute, and
/// moved in the same task, is sent once the panel starts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_sent_while_the_element_restarts_and_moves_is_kept() -> Result<(), Error> {
    let name = "reply_while_restarting";
    let page = format!("/host.html?channel=general&author=ann&{FAST}");
    let s = Scenario::live_on(name, bridge(), &page).await?;
    s.run_js(
        "const el = document.querySelector('discussion-panel'); \
         el.setAttribute('max-attempts', '3'); el.send('kept through a restart'); \
         const other = document.createElement('div'); document.body.append(other); \
         other.append(el);",
    )
    .await?;
    let stored = wait_until(SOON, "the reply stored", || async {
        let page = s.bridge.api.history("general", Some("0"), 500).await.ok()?;
        page.iter()
            .any(|m| m.content == "kept through a restart")
            .then_some(())
    })
    .await;
    if let Err(e) = stored {
        let page = s.bridge.api.history("general", Some("0"), 500).await;
        let contents: Vec<String> = page
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.content)
            .collect();
        return Err(format!("{e}: general holds {contents:?}"));
    }
    Ok(())
}

/// The names a block of the shipped `.d.ts` declares: the methods and
/// properties of `export interface <name> {` (`None`: the module's own
/// `export function`s).
fn declared(types: &str, block: Option<&str>) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = block.is_none();
    for line in types.lines() {
        let line = line.trim();
        match block {
            None => {
                let rest = line.strip_prefix("export function ");
                let rest = rest.or_else(|| {
                    line.strip_prefix("export default function ")
                        .map(|_| "default(")
                });
                if let Some(rest) = rest {
                    names.push(rest.split(['(', '<']).next().unwrap_or_default().to_owned());
                }
            }
            Some(name) if line.starts_with(&format!("export interface {name} ")) => inside = true,
            Some(_) if inside && line == "}" => break,
            Some(_) if inside && !line.starts_with("/*") && !line.starts_with('*') => {
                let name = line.split(['(', '<', ':']).next().unwrap_or_default();
                if !name.is_empty() && !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
            Some(_) => {}
        }
    }
    names.sort();
    names
}

/// The shipped `.d.ts` (hand-written: see frontend/discussion-panel.d.ts)
/// declares what the module has: its functions, every method of the
/// handle's class and no other, and the element's methods.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_types_declare_what_the_module_exports() -> Result<(), Error> {
    let types = std::fs::read_to_string(e2e::workspace_root().join("dist/discussion-panel.d.ts"))
        .map_err(|e| format!("dist/discussion-panel.d.ts: {e}"))?;
    let name = "the_shipped_types_declare_what_the_module_exports";
    let page = format!("/host.html?channel=general&{FAST}");
    let s = Scenario::live_on(name, bridge(), &page).await?;
    let script = r#"const done = arguments[arguments.length - 1];
import('/discussion-panel.js').then((module) => {
  const box = document.createElement('div');
  document.body.append(box);
  const handle = module.mountDiscussionPanel(box, { channel: 'general' });
  const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(handle))
    .filter((name) => name !== 'constructor' && !name.startsWith('__') && typeof handle[name] === 'function');
  const element = document.querySelector('discussion-panel');
  const functions = Object.keys(module).filter((name) => typeof module[name] === 'function');
  const own = Object.getOwnPropertyNames(Object.getPrototypeOf(element))
    .filter((name) => name !== 'constructor' && !name.startsWith('_') && !name.endsWith('Callback'));
  done({ functions, methods: methods.sort(), element: own.sort() });
}, (error) => done(String(error)));"#;
    let seen = (s.browser.client.execute_async(script, vec![]).await)
        .map_err(|e| format!("reading the module: {e}"))?;
    let functions: Vec<String> =
        serde_json::from_value(seen["functions"].clone()).unwrap_or_default();
    for name in declared(&types, None) {
        ensure(functions.contains(&name), || {
            format!("the .d.ts declares the function {name}, which the module does not export ({functions:?})")
        })?;
    }
    let methods: Vec<String> = serde_json::from_value(seen["methods"].clone()).unwrap_or_default();
    let handle = declared(&types, Some("PanelHandle"));
    ensure(methods == handle, || {
        format!("PanelHandle has the methods {methods:?}, the .d.ts declares {handle:?}")
    })?;
    // The element's own methods and properties (its class's), both ways;
    // the listener methods are HTMLElement's, declared for their types.
    let mut element = declared(&types, Some("DiscussionPanelElement"));
    element.retain(|name| !name.ends_with("EventListener"));
    let own: Vec<String> = serde_json::from_value(seen["element"].clone()).unwrap_or_default();
    ensure(element == own, || {
        format!("the element's class has {own:?}, the .d.ts declares {element:?}")
    })
}

/// A host that puts `<discussion-panel>` inside its own shadow root (where
/// the document's `panel.css` does not reach) gets the panel styled there
/// (under the bridge's Content-Security-Policy, `style-src 'self'`): Live,
/// with the flex layout and the background that only panel.css gives it.
/// The link goes first in the root, before the host's own stylesheet, and
/// once: a second panel mounted in the same root adds none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_inside_a_hosts_shadow_root_is_styled() -> Result<(), Error> {
    let name = "a_panel_inside_a_hosts_shadow_root_is_styled";
    let page = format!("/host.html?channel=general&{FAST}");
    let s = Scenario::live_on(name, bridge(), &page).await?;
    s.run_js(
        "const widget = document.createElement('div');
         widget.id = 'widget';
         document.body.append(widget);
         const root = widget.attachShadow({ mode: 'open' });
         root.innerHTML = '<link rel=\"stylesheet\" href=\"/embed.css\"><discussion-panel channel=\"general\"></discussion-panel>';",
    )
    .await?;
    let read = "const root = document.getElementById('widget').shadowRoot;
        const panel = root.querySelector('.discussion-panel');
        const label = root.querySelector('[data-connection-status]');
        return panel && label && [label.getAttribute('data-connection-status'), getComputedStyle(panel).display,
            getComputedStyle(panel).backgroundColor];";
    let seen = wait_until(
        SOON,
        "the panel in the shadow root Live and styled",
        || async {
            let seen = s.run_js(read).await.ok()?;
            (seen[0] == "live" && seen[1] == "flex").then_some(seen)
        },
    )
    .await;
    let seen = match seen {
        Ok(seen) => seen,
        Err(timeout) => return Err(format!("{timeout}: {:?}", s.run_js(read).await)),
    };
    ensure(seen[2] == WHITE, || {
        format!("in the shadow root, the panel's background: {seen}")
    })?;
    // The host's theme reaches in from the page's root and from the widget,
    // as custom properties inherit through a shadow root.
    let themed = "document.documentElement.style.setProperty('--dp-accent', 'rgb(200, 0, 100)');
        document.getElementById('widget').style.setProperty('--dp-bg', 'rgb(1, 2, 3)');
        const root = document.getElementById('widget').shadowRoot;
        return [getComputedStyle(root.querySelector('.dp-send')).backgroundColor,
            getComputedStyle(root.querySelector('.discussion-panel')).backgroundColor];";
    let themed = s.run_js(themed).await?;
    ensure(
        themed == json!(["rgb(200, 0, 100)", "rgb(1, 2, 3)"]),
        || {
            format!(
                "the host's theme from outside the shadow root gave [Send, background] {themed}"
            )
        },
    )?;
    let second = r#"const done = arguments[arguments.length - 1];
import('/discussion-panel.js').then((module) => {
  const root = document.getElementById('widget').shadowRoot;
  const box = document.createElement('div');
  root.append(box);
  window.second = module.mountDiscussionPanel(box, { channel: 'general' });
  done([...root.querySelectorAll('link')].map((link) => link.getAttribute('href')));
}, (error) => done(String(error)));"#;
    let links = (s.browser.client.execute_async(second, vec![]).await)
        .map_err(|e| format!("the second panel: {e}"))?;
    let expected = json!([s.bridge.url("/panel.css"), "/embed.css"]);
    ensure(links == expected, || {
        format!("the shadow root's links are {links}, not {expected}")
    })
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(folder) = todo.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                found.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

/// `dist/panel/` is what a host copies: exactly the panel's files, under
/// names that do not change from build to build, and enough on their own: a
/// host page on another origin that serves a copy of that folder and nothing
/// of the panel's besides gets a Live, styled panel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_serving_a_copy_of_the_panel_folder_alone_gets_a_live_panel() -> Result<(), Error> {
    let panel = e2e::workspace_root().join("dist/panel");
    let files: Vec<String> = (files_under(&panel).into_iter())
        .filter(|f| !f.ends_with(".gz") && !f.ends_with(".br"))
        .collect();
    let expected = [
        "discussion-panel.d.ts",
        "discussion-panel.js",
        "discussion-panel_bg.wasm",
        "panel.css",
        "snippets/discussion-panel/inline0.js",
    ];
    ensure(files == expected, || {
        format!("dist/panel/ holds {files:?}, not {expected:?}")
    })?;
    // The host's site: a copy of the folder, and the host's own page.
    let site = tempfile::tempdir().map_err(|e| e.to_string())?;
    for file in files_under(&panel) {
        let to = site.path().join(&file);
        std::fs::create_dir_all(to.parent().unwrap_or(site.path())).map_err(|e| e.to_string())?;
        std::fs::copy(panel.join(&file), &to).map_err(|e| format!("{file}: {e}"))?;
    }
    for page in ["host.html", "host.js"] {
        let from = e2e::workspace_root().join("web").join(page);
        std::fs::copy(&from, site.path().join(page)).map_err(|e| format!("{page}: {e}"))?;
    }
    let host = e2e::serve_dir(site.path().to_owned()).await;
    let origin = format!("http://127.0.0.1:{host}");
    let options = bridge().with_args(&["--allowed-origins", &origin]);
    let name = "a_host_serving_a_copy_of_the_panel_folder";
    let s = Scenario::start(name, options, "/healthz").await?;
    let page = format!(
        "{origin}/host.html?channel=general&bridge_url={}&{FAST}",
        s.bridge.url("")
    );
    (s.browser.client.goto(&page).await).map_err(|e| e.to_string())?;
    s.wait_label("live", SOON).await?;
    let display = s
        .run_js("return getComputedStyle(document.querySelector('.discussion-panel')).display;")
        .await?;
    ensure(display == "flex", || {
        format!("the panel from the copied folder is not styled (display {display})")
    })
}

/// The Leptos example (examples/leptos-host, built by the test command into
/// target/leptos-host), served from another origin than the bridge's: Live,
/// its typed `on_status` callback heard it, the panel is styled by the CSS
/// it includes as the README says, and its button's reply (through
/// `Replies`) is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leptos_example_goes_live_and_replies_through_its_typed_props() -> Result<(), Error> {
    let app = e2e::workspace_root().join("target/leptos-host");
    ensure(app.join("index.html").is_file(), || {
        format!(
            "{} has no index.html: build the example first (scripts/test.sh does: cd examples/leptos-host && trunk build --release)",
            app.display()
        )
    })?;
    let host = e2e::serve_dir(app).await;
    let origin = format!("http://127.0.0.1:{host}");
    let options = bridge().with_args(&["--allowed-origins", &origin]);
    let s = Scenario::start("the_leptos_example", options, "/healthz").await?;
    let page = format!("{origin}/?bridge={}", s.bridge.url(""));
    (s.browser.client.goto(&page).await).map_err(|e| e.to_string())?;
    s.wait_label("live", SOON).await?;
    let read = "return [document.querySelector('p[data-status]').getAttribute('data-status'),
        getComputedStyle(document.querySelector('.discussion-panel')).display];";
    let seen = wait_until(SOON, "the app's status from on_status", || async {
        let seen = s.run_js(read).await.ok()?;
        (seen[0] == "live").then_some(seen)
    })
    .await?;
    ensure(seen[1] == "flex", || {
        format!("the panel is not styled: {seen}")
    })?;
    s.run_js("document.querySelector('main button').click();")
        .await?;
    let stored = || async {
        let page = s.bridge.api.history("general", Some("0"), 500).await.ok()?;
        let from_app = page.into_iter().filter(|m| m.author == "leptos");
        Some(from_app.map(|m| m.content).collect::<Vec<_>>())
    };
    wait_until(SOON, "the app's reply stored", || async {
        (stored().await? == ["Ready for review."]).then_some(())
    })
    .await
}

/// The README's Leptos snippet is the example's code, word for word.
#[test]
fn the_readmes_leptos_snippet_is_the_examples_code() -> Result<(), Error> {
    let root = e2e::workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).map_err(|e| e.to_string())?;
    let example = std::fs::read_to_string(root.join("examples/leptos-host/src/editor.rs"))
        .map_err(|e| e.to_string())?;
    let section = readme
        .split("### In a Leptos app")
        .nth(1)
        .ok_or("README.md has no \"In a Leptos app\" section")?;
    let snippet = (section.split("```rust\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .ok_or("the Leptos section has no rust block")?;
    ensure(snippet == example, || {
        "the README's Leptos snippet differs from examples/leptos-host/src/editor.rs".into()
    })
}
