//! Which bridge a page may be pointed at by its address (`?bridge=`).
//!
//! A link is not a configuration: anyone can send one. A demo page that took
//! any `?bridge=` would show whatever a stranger's server says, as if it were
//! the team's channel. So a bridge named in the address must be on the page's
//! own origin, or, when the page itself is served from this machine (local
//! development: trunk on one port, the bridge on another), on this machine too.

/// The bridge URL to use for `requested` (from `?bridge=`) on a page whose
/// origin is `page_origin`, without a trailing slash; `""` is the page's own
/// origin. Anything else is refused with a sentence saying why.
pub fn check_bridge_url(page_origin: &str, requested: &str) -> Result<String, String> {
    let requested = requested.trim().trim_end_matches('/');
    if requested.is_empty() {
        return Ok(String::new());
    }
    let refuse = |why: &str| Err(format!("?bridge={requested:?} is ignored: {why}"));
    let Some(origin) = origin_of(requested) else {
        return refuse("it is not an http(s) address");
    };
    if origin.eq_ignore_ascii_case(page_origin) {
        return Ok(requested.to_owned());
    }
    match (host_of(page_origin), host_of(origin)) {
        (Some(page), Some(bridge)) if is_local(page) && is_local(bridge) => {
            Ok(requested.to_owned())
        }
        _ => refuse(
            "a page may only use a bridge on its own origin (or, served locally, a local one)",
        ),
    }
}

/// `scheme://authority` of an http(s) URL, when it has no credentials in it.
fn origin_of(url: &str) -> Option<&str> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let scheme = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return None;
    };
    let end = url[scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |at| scheme + at);
    let authority = &url[scheme..end];
    (!authority.is_empty() && !authority.contains(['@', '\\', ' '])).then_some(&url[..end])
}

/// The host of an origin, without scheme, port or brackets.
fn host_of(origin: &str) -> Option<&str> {
    let authority = origin.split_once("://")?.1;
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next()?,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then_some(host)
}

/// `localhost`, `127.x.y.z` or `::1`.
fn is_local(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host.strip_prefix("127.").is_some_and(|rest| {
            rest.split('.').count() == 3 && rest.split('.').all(|p| p.parse::<u8>().is_ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_origin_and_local_bridges_for_local_pages_only() {
        let editor = "https://editor.example";
        assert_eq!(check_bridge_url(editor, ""), Ok(String::new()));
        assert_eq!(
            check_bridge_url(editor, "https://editor.example/"),
            Ok("https://editor.example".into())
        );
        assert_eq!(
            check_bridge_url(editor, "https://EDITOR.example/bridge"),
            Ok("https://EDITOR.example/bridge".into())
        );
        for forged in [
            "https://evil.example",
            "http://127.0.0.1:8787",
            "https://editor.example.evil.example",
            "https://editor.example@evil.example",
            "javascript:alert(1)",
            "//evil.example",
            "evil.example",
        ] {
            assert!(
                check_bridge_url(editor, forged)
                    .unwrap_err()
                    .contains("ignored"),
                "{forged}"
            );
        }
        let local = "http://127.0.0.1:8080";
        for fine in [
            "http://127.0.0.1:8787",
            "http://localhost:8787",
            "http://[::1]:8787",
        ] {
            assert_eq!(check_bridge_url(local, fine), Ok(fine.to_owned()), "{fine}");
        }
        for forged in [
            "https://evil.example",
            "http://127.0.0.1.evil.example:80",
            "http://localhost@evil.example",
        ] {
            assert!(check_bridge_url(local, forged).is_err(), "{forged}");
        }
    }
}
