//! How the panel's files reach the browser: through the documented nginx
//! (`deploy/nginx.conf`) gzipped from the build's own `.gz` copies, revalidated
//! rather than downloaded again, the event stream never compressed, and the
//! panel Live; and on every host page, the wasm and the glue preloaded from
//! the page's head and each downloaded once (the glue's own request takes the
//! preload).

use e2e::bridge::{Bridge, BridgeOptions};
use e2e::browser::Browser;
use e2e::nginx::{Listener, Nginx};
use e2e::panel::ensure;
use e2e::{wait_until, workspace_root, Error};
use reqwest::header::{HeaderMap, ACCEPT_ENCODING, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use std::time::Duration;

const SOON: Duration = Duration::from_secs(20);

/// What a browser sends over plain HTTP (Chromium adds br and zstd over HTTPS).
const BROWSER_ACCEPTS: &str = "gzip, deflate, br, zstd";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map_or("", |v| v.to_str().unwrap_or(""))
}

/// The panel's files as a page loads them: (path, file in dist/, content type).
fn panel_files() -> Result<Vec<(String, String, &'static str)>, Error> {
    let snippets = workspace_root().join("dist/snippets");
    let mut files = vec![
        ("/".into(), "index.html".into(), "text/html"),
        (
            "/discussion-panel_bg.wasm".into(),
            "discussion-panel_bg.wasm".into(),
            "application/wasm",
        ),
        (
            "/discussion-panel.js".into(),
            "discussion-panel.js".into(),
            "text/javascript",
        ),
        ("/panel.css".into(), "panel.css".into(), "text/css"),
    ];
    // The element's class: a module of wasm-bindgen's in a folder it names.
    let dirs = std::fs::read_dir(&snippets).map_err(|e| format!("{}: {e}", snippets.display()))?;
    for dir in dirs.flatten() {
        for file in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "js") {
                let relative = path
                    .strip_prefix(workspace_root().join("dist"))
                    .unwrap_or(&path);
                let relative = relative.display().to_string();
                files.push((format!("/{relative}"), relative, "text/javascript"));
            }
        }
    }
    Ok(files)
}

async fn get(url: &str, headers: &[(&str, &str)]) -> Result<(u16, HeaderMap, Vec<u8>), Error> {
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    Ok((status, headers, body.to_vec()))
}

/// Each of the panel's files through nginx: the build's `.gz` when gzip is
/// accepted, the file itself when not, and a 304 on revalidation.
async fn files_come_gzipped(origin: &str) -> Result<(), Error> {
    for (path, file, kind) in panel_files()? {
        let url = format!("{origin}{path}");
        let on_disk = workspace_root().join("dist").join(&file);
        let gz = std::fs::read(format!("{}.gz", on_disk.display())).map_err(|e| {
            format!("dist/{file}.gz: {e} (the release build's post_build hook writes it)")
        })?;
        let (status, headers, body) =
            get(&url, &[(ACCEPT_ENCODING.as_str(), BROWSER_ACCEPTS)]).await?;
        let seen = format!("{path}: {status} {headers:?}");
        ensure(
            status == 200 && header(&headers, "content-encoding") == "gzip",
            || format!("not gzipped: {seen}"),
        )?;
        ensure(body == gz, || {
            format!("{path}: not the build's dist/{file}.gz")
        })?;
        ensure(header(&headers, "content-type").starts_with(kind), || {
            format!("not {kind}: {seen}")
        })?;
        ensure(
            header(&headers, "vary").eq_ignore_ascii_case("accept-encoding"),
            || format!("no Vary: Accept-Encoding: {seen}"),
        )?;
        ensure(header(&headers, "cache-control") == "no-cache", || {
            format!("not revalidated: {seen}")
        })?;
        // Revalidation, by date and by entity tag: nothing sent again.
        let validators = [
            (
                IF_MODIFIED_SINCE.as_str(),
                header(&headers, "last-modified"),
            ),
            (IF_NONE_MATCH.as_str(), header(&headers, "etag")),
        ];
        for (name, value) in validators {
            ensure(!value.is_empty(), || {
                format!("{path}: nothing to send as {name}: {seen}")
            })?;
            let asked = [(ACCEPT_ENCODING.as_str(), BROWSER_ACCEPTS), (name, value)];
            let (status, again, body) = get(&url, &asked).await?;
            ensure(status == 304 && body.is_empty(), || {
                format!("{path} with {name}: {value}: {status} {again:?}")
            })?;
        }
        // A client that takes no compression gets the file as it is.
        let (status, headers, body) = get(&url, &[]).await?;
        let original = std::fs::read(&on_disk).map_err(|e| format!("dist/{file}: {e}"))?;
        ensure(
            status == 200 && header(&headers, "content-encoding").is_empty(),
            || format!("{path} without Accept-Encoding: {status} {headers:?}"),
        )?;
        ensure(body == original, || format!("{path}: not dist/{file}"))?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_documented_nginx_the_files_come_gzipped_and_the_panel_is_live(
) -> Result<(), Error> {
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    for i in 0..20 {
        bridge
            .inject("general", "bob", &format!("message {i}"))
            .await?;
    }
    let nginx = Nginx::start(bridge.port, Listener::Http1).await?;
    let origin = nginx.origin();
    files_come_gzipped(&origin).await?;

    // The bridge's JSON is compressed on the way; its event stream is not
    // (the headers are enough: a compressed stream would say so in them).
    let history = format!("{origin}/api/channels/general/messages?limit=20");
    let (status, headers, _) =
        get(&history, &[(ACCEPT_ENCODING.as_str(), BROWSER_ACCEPTS)]).await?;
    ensure(
        status == 200 && header(&headers, "content-encoding") == "gzip",
        || format!("history not gzipped: {status} {headers:?}"),
    )?;
    let stream = reqwest::Client::new()
        .get(format!("{origin}/api/channels/general/events"))
        .header(ACCEPT_ENCODING, BROWSER_ACCEPTS)
        .send();
    let stream = tokio::time::timeout(SOON, stream)
        .await
        .map_err(|_| "the stream's head did not come".to_string())?
        .map_err(|e| format!("the stream: {e}"))?;
    let headers = stream.headers().clone();
    drop(stream);
    ensure(
        header(&headers, "content-type").starts_with("text/event-stream")
            && header(&headers, "content-encoding").is_empty(),
        || format!("the event stream through nginx: {headers:?}"),
    )?;

    // In Chromium: Live, with the wasm sent compressed and decoded to the build's.
    let browser = Browser::start().await?;
    let page = format!("{origin}/?channel=general");
    (browser.client.goto(&page).await).map_err(|e| format!("{page}: {e}"))?;
    let sizes = wait_until(SOON, "Live through nginx", || async {
        let script = r#"
          const live = document.querySelector('[data-connection-status="live"]');
          const wasm = performance.getEntriesByType('resource')
            .find(e => e.name.endsWith('/discussion-panel_bg.wasm'));
          return live && wasm ? [wasm.encodedBodySize, wasm.decodedBodySize] : null;"#;
        let value = browser.client.execute(script, vec![]).await.ok()?;
        serde_json::from_value::<(u64, u64)>(value).ok()
    })
    .await
    .map_err(|e| format!("{e}\n{}", nginx.log_tail()))?;
    let wasm = workspace_root().join("dist/discussion-panel_bg.wasm");
    let size = std::fs::metadata(&wasm).map_err(|e| e.to_string())?.len();
    ensure(sizes.1 == size && sizes.0 < size / 2, || {
        format!(
            "the wasm came as {} bytes for {} (the file: {size})",
            sizes.0, sizes.1
        )
    })
}

/// Every host page of the repository (the demo, the custom element's page,
/// the JS API's page) preloads the glue and the wasm from its head, and the
/// browser downloads each once: the glue's own request for the wasm takes the
/// preload (a preload that does not match it, say without `crossorigin`,
/// would show as a second download).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_host_page_preloads_the_wasm_and_the_glue_and_uses_each_once() -> Result<(), Error> {
    use e2e::network::{path_of, requests_of};
    let bridge = Bridge::start(BridgeOptions::new(e2e::bridge::binary())).await?;
    for page in ["/", "/host.html", "/embed.html"] {
        // A fresh profile: nothing in the cache.
        let browser = Browser::start_logging_network(&[]).await?;
        browser.network_log().await?;
        let url = bridge.url(&format!("{page}?channel=general"));
        (browser.client.goto(&url).await).map_err(|e| format!("{url}: {e}"))?;
        let script = r#"
          if (!document.querySelector('[data-connection-status="live"]')) return null;
          return [performance.timeOrigin, [...document.querySelectorAll('link[rel=preload], link[rel=modulepreload]')]
            .map(l => [l.rel, l.getAttribute('href'), l.getAttribute('as'), l.crossOrigin])];"#;
        let (zero, links) = wait_until(SOON, &format!("{page} Live"), || async {
            let value = browser.client.execute(script, vec![]).await.ok()?;
            serde_json::from_value::<(f64, Vec<[Option<String>; 4]>)>(value).ok()
        })
        .await?;
        let has = |rel: &str, href: &str, kind: Option<&str>, cors: Option<&str>| {
            links.iter().any(|[r, h, a, c]| {
                r.as_deref() == Some(rel)
                    && h.as_deref() == Some(href)
                    && a.as_deref() == kind
                    && c.as_deref() == cors
            })
        };
        ensure(
            has("modulepreload", "/discussion-panel.js", None, None),
            || format!("{page}: no modulepreload of the glue: {links:?}"),
        )?;
        ensure(
            has(
                "preload",
                "/discussion-panel_bg.wasm",
                Some("fetch"),
                Some("anonymous"),
            ),
            || format!("{page}: no preload of the wasm as a CORS fetch: {links:?}"),
        )?;
        let requests = requests_of(&browser.network_log().await?, zero);
        for file in ["/discussion-panel.js", "/discussion-panel_bg.wasm"] {
            let of_file: Vec<_> = requests
                .iter()
                .filter(|r| path_of(&r.url) == file)
                .collect();
            ensure(
                of_file.len() == 1 && of_file[0].initiator.starts_with("parser"),
                || {
                    format!(
                        "{page}: {file} should come once, from the page's preload: {of_file:#?}"
                    )
                },
            )?;
        }
    }
    Ok(())
}
