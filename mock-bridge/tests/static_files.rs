//! The panel's files as `--static-dir` serves them, over real sockets: the
//! release build's precompressed copies chosen by `Accept-Encoding` (brotli
//! over gzip, the file itself when neither is accepted), `Vary` and
//! revalidation headers for stable names, a 304 when nothing changed, and
//! event streams never compressed whatever the client accepts.

mod support;

use reqwest::header::{HeaderMap, ACCEPT_ENCODING, IF_MODIFIED_SINCE};
use std::io::Read;
use std::path::{Path, PathBuf};
use support::*;

/// A built panel in miniature: each kind of file the release build writes,
/// with its copies made by the build's own step (`scripts/compress-dist.sh`).
/// Returns the folder and each file's path as served with its content type.
fn built_site() -> (tempfile::TempDir, Vec<(&'static str, &'static str)>) {
    let scratch = scratch();
    let dir = scratch.path();
    let text = |line: &str| {
        (0..400)
            .map(|i| format!("{line} {i}\n"))
            .collect::<String>()
    };
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend((0..20_000u32).map(|i| (i % 7 + i / 300) as u8));
    let files: [(&str, Vec<u8>); 6] = [
        ("index.html", text("<p>a page</p>").into_bytes()),
        ("discussion-panel_bg.wasm", wasm),
        (
            "discussion-panel.js",
            text("export const a = 1;").into_bytes(),
        ),
        ("panel.css", text(".dp-row { color: red; }").into_bytes()),
        (
            "snippets/discussion-panel-0a1b/inline0.js",
            text("class A {}").into_bytes(),
        ),
        (
            "discussion-panel.d.ts",
            text("export type A = 1;").into_bytes(),
        ),
    ];
    for (path, bytes) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/compress-dist.sh");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .arg(dir)
        .env_remove("TRUNK_PROFILE")
        .status()
        .expect("bash runs");
    assert!(status.success(), "{} failed: {status}", script.display());
    let served = vec![
        ("/", "text/html"),
        ("/discussion-panel_bg.wasm", "application/wasm"),
        ("/discussion-panel.js", "text/javascript"),
        ("/panel.css", "text/css"),
        (
            "/snippets/discussion-panel-0a1b/inline0.js",
            "text/javascript",
        ),
    ];
    (scratch, served)
}

/// The file on disk that `path` names (`/` is the page).
fn on_disk(dir: &Path, path: &str) -> PathBuf {
    match path.trim_start_matches('/') {
        "" => dir.join("index.html"),
        file => dir.join(file),
    }
}

fn decode(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        None => out.extend_from_slice(body),
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .expect("valid gzip");
        }
        Some("br") => {
            brotli_decompressor::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .expect("valid brotli");
        }
        Some(other) => panic!("an encoding the build does not make: {other}"),
    }
    out
}

fn text<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map_or("", |v| v.to_str().unwrap_or(""))
}

/// Asks for `path` with `accept` as its `Accept-Encoding` (none: no header).
async fn get(
    bridge: &mock_bridge::RunningBridge,
    path: &str,
    accept: Option<&str>,
    since: Option<&str>,
) -> (u16, HeaderMap, Vec<u8>) {
    let mut request = reqwest::Client::new().get(url(bridge, path));
    if let Some(accept) = accept {
        request = request.header(ACCEPT_ENCODING, accept);
    }
    if let Some(since) = since {
        request = request.header(IF_MODIFIED_SINCE, since);
    }
    let response = request.send().await.expect("the bridge answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn each_file_comes_in_the_best_encoding_the_browser_accepts() {
    let (scratch, served) = built_site();
    let dir = scratch.path();
    let bridge = start(&["--static-dir", dir.to_str().unwrap()]).await;
    // What Chromium sends over HTTPS, over plain HTTP, a preference against
    // brotli, and clients that take no compression.
    let cases = [
        (Some("gzip, deflate, br, zstd"), Some("br")),
        (Some("gzip, deflate"), Some("gzip")),
        (Some("br;q=0.5, gzip"), Some("gzip")),
        (Some("identity"), None),
        (Some("gzip;q=0, br;q=0"), None),
        (None, None),
    ];
    for (path, kind) in &served {
        let original = std::fs::read(on_disk(dir, path)).unwrap();
        for (accept, expected) in cases {
            let seen = format!("{path} with Accept-Encoding {accept:?}");
            let (status, headers, body) = get(&bridge, path, accept, None).await;
            assert_eq!(status, 200, "{seen}");
            let encoding = headers.get("content-encoding").map(|v| v.to_str().unwrap());
            assert_eq!(encoding, expected, "{seen}: {headers:?}");
            assert!(
                text(&headers, "content-type").starts_with(kind),
                "{seen}: {headers:?}"
            );
            assert_eq!(
                text(&headers, "vary").to_ascii_lowercase(),
                "accept-encoding",
                "{seen}"
            );
            assert_eq!(text(&headers, "cache-control"), "no-cache", "{seen}");
            assert!(!text(&headers, "last-modified").is_empty(), "{seen}");
            assert!(
                text(&headers, "content-security-policy").contains("'wasm-unsafe-eval'"),
                "{seen}: the strict policy stays"
            );
            // The very copy the build wrote, and the file itself once decoded.
            if let Some(encoding) = expected {
                let extension = if encoding == "br" { "br" } else { "gz" };
                let copy = format!("{}.{extension}", on_disk(dir, path).display());
                assert_eq!(body, std::fs::read(copy).unwrap(), "{seen}");
                assert!(body.len() < original.len(), "{seen}: not smaller");
            }
            assert!(
                decode(expected, &body) == original,
                "{seen}: decoded bytes differ"
            );
        }
    }
    // A file the build leaves uncompressed (not loaded by browsers) comes as
    // it is, whatever is accepted; so does an unknown path's page, compressed.
    let (status, headers, _) = get(&bridge, "/discussion-panel.d.ts", Some("br, gzip"), None).await;
    assert_eq!((status, headers.get("content-encoding")), (200, None));
    let (status, headers, body) = get(&bridge, "/some/page", Some("gzip, br"), None).await;
    assert_eq!((status, text(&headers, "content-encoding")), (200, "br"));
    assert!(decode(Some("br"), &body) == std::fs::read(dir.join("index.html")).unwrap());
}

#[tokio::test]
async fn a_file_that_has_not_changed_is_revalidated_with_a_304() {
    let (scratch, served) = built_site();
    let dir = scratch.path();
    let bridge = start(&["--static-dir", dir.to_str().unwrap()]).await;
    for (path, _) in &served {
        let (_, first, _) = get(&bridge, path, Some("gzip, deflate, br"), None).await;
        let since = text(&first, "last-modified").to_owned();
        assert!(!since.is_empty(), "{path}: no Last-Modified: {first:?}");
        // Whichever encoding the browser holds, the date is the file's.
        for accept in [Some("gzip, deflate, br"), Some("gzip"), None] {
            let seen = format!("{path} with Accept-Encoding {accept:?}, If-Modified-Since {since}");
            let (status, headers, body) = get(&bridge, path, accept, Some(&since)).await;
            assert_eq!(status, 304, "{seen}: {headers:?}");
            assert!(body.is_empty(), "{seen}: a 304 with a body");
            assert_eq!(text(&headers, "cache-control"), "no-cache", "{seen}");
            assert_eq!(
                text(&headers, "vary").to_ascii_lowercase(),
                "accept-encoding",
                "{seen}"
            );
        }
        // An older copy is sent the file again.
        let older = "Mon, 01 Jan 2001 00:00:00 GMT";
        let (status, _, body) = get(&bridge, path, Some("br"), Some(older)).await;
        assert_eq!(status, 200, "{path} after {older}");
        assert!(!body.is_empty(), "{path} after {older}");
    }
}

/// Opens an event stream asking for compression, on a new connection (served
/// straight on the socket) or on one that served a request first (served by
/// the router); returns its headers once it is open.
async fn stream_headers(bridge: &mock_bridge::RunningBridge, served: Served) -> HeaderMap {
    let client = reqwest::Client::new();
    if served == Served::Router {
        let warm = client.get(url(bridge, "/healthz")).send().await.unwrap();
        warm.bytes().await.unwrap(); // back in the pool, ready for reuse
    }
    let response = (client.get(url(bridge, "/api/channels/c/events")))
        .header(ACCEPT_ENCODING, "gzip, deflate, br, zstd")
        .send()
        .await
        .expect("the stream opens");
    assert_eq!(response.status(), 200, "{served:?}");
    response.headers().clone()
}

#[tokio::test]
async fn event_streams_are_never_compressed() {
    let (scratch, _) = built_site();
    let bridge = start(&["--static-dir", scratch.path().to_str().unwrap()]).await;
    for served in [Served::Direct, Served::Router] {
        let headers = stream_headers(&bridge, served).await;
        assert_eq!(
            headers.get("content-encoding"),
            None,
            "{served:?}: {headers:?}"
        );
        assert!(
            text(&headers, "content-type").starts_with("text/event-stream"),
            "{served:?}: {headers:?}"
        );
        let transfer = text(&headers, "transfer-encoding");
        let closes = text(&headers, "connection") == "close";
        match served {
            Served::Direct => assert!(closes && transfer.is_empty(), "not direct: {headers:?}"),
            Served::Router => assert!(transfer == "chunked" && !closes, "not routed: {headers:?}"),
        }
    }
}
