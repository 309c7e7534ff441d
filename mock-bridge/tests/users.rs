//! Signed-in users (`--users`): every `/api` route needs a known token, given
//! as a header, a query parameter or a cookie; a revoked token ends its
//! streams; credentials are allowed cross-origin only when asked; and a token
//! never shows in the connections report (nor in the logs: `users_logs.rs`).

mod support;

use support::*;

const USERS: &str = "# token name\nalice-s3cret-token Alice\nbob-s3cret-token Bob\n";

async fn start_signed_in(extra: &[&str]) -> mock_bridge::RunningBridge {
    start_with_users(USERS, extra).await
}

#[tokio::test]
async fn every_api_route_needs_a_known_token_by_header_query_or_cookie() {
    let bridge = start_signed_in(&[]).await;
    let client = reqwest::Client::new();
    let history = url(&bridge, "/api/channels/general/messages");
    let refused = client.get(&history).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
    for request in [
        client.get(&history).bearer_auth("wrong"),
        client.get(format!("{history}?access_token=wrong")),
        client.get(&history).header("cookie", "dp_token=wrong"),
    ] {
        assert_eq!(request.send().await.unwrap().status(), 401);
    }
    for request in [
        client.get(&history).bearer_auth("alice-s3cret-token"),
        client.get(format!("{history}?access_token=alice-s3cret-token")),
        client
            .get(&history)
            .header("cookie", "theme=dark; dp_token=alice-s3cret-token"),
    ] {
        assert_eq!(request.send().await.unwrap().status(), 200);
    }
    // Streams, on both serving paths and both routes.
    for path in ["/api/channels/general/events", "/api/events?channels=a,b"] {
        let refused = client.get(url(&bridge, path)).send().await.unwrap();
        assert_eq!(refused.status(), 401, "{path}");
        for served in [Served::Direct, Served::Router] {
            let join = if path.contains('?') { '&' } else { '?' };
            let signed = format!("{path}{join}access_token=alice-s3cret-token");
            let stream = Stream::open_served(&bridge, &signed, None, served, None).await;
            let report = client_report(&bridge).await;
            assert!(report.contains("\"user\":\"Alice\""), "{report}");
            assert!(
                !report.contains("s3cret"),
                "a token in the report: {report}"
            );
            stream.close();
        }
    }
    // What is not `/api` stays as it was.
    let health = client.get(url(&bridge, "/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

async fn client_report(bridge: &mock_bridge::RunningBridge) -> String {
    let report = reqwest::get(url(bridge, "/internal/connections"))
        .await
        .unwrap();
    report.text().await.unwrap()
}

#[tokio::test]
async fn a_revoked_token_ends_its_streams_and_is_refused_from_then_on() {
    let bridge = start_signed_in(&[]).await;
    let alice = Stream::open(
        &bridge,
        "/api/channels/general/events?access_token=alice-s3cret-token",
        None,
    )
    .await;
    let bob = Stream::open(
        &bridge,
        "/api/channels/general/events?access_token=bob-s3cret-token",
        None,
    )
    .await;
    let client = reqwest::Client::new();
    let revoke = client
        .delete(url(&bridge, "/internal/users"))
        .json(&serde_json::json!({ "token": "alice-s3cret-token" }))
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = revoke.json().await.unwrap();
    assert_eq!(answer, serde_json::json!({ "revoked": true, "closed": 1 }));
    tokio::time::timeout(SOON, alice.wait_ended())
        .await
        .expect("the revoked token's stream ends");
    assert!(!bob.ended.is_cancelled(), "another user's stream ended too");
    let history = url(&bridge, "/api/channels/general/messages");
    let again = client.get(&history).bearer_auth("alice-s3cret-token");
    assert_eq!(again.send().await.unwrap().status(), 401);
    // Signed in again (a refreshed token), she reads again.
    let add = client
        .put(url(&bridge, "/internal/users"))
        .json(&serde_json::json!({ "token": "alice-fresh-token", "name": "Alice" }))
        .send()
        .await
        .unwrap();
    assert_eq!(add.status(), 200);
    let fresh = client.get(&history).bearer_auth("alice-fresh-token");
    assert_eq!(fresh.send().await.unwrap().status(), 200);
    // Without `--users` there is nobody to sign in: a sentence, not a crash.
    let open = start(&[]).await;
    let refused = client
        .put(url(&open, "/internal/users"))
        .json(&serde_json::json!({ "token": "t", "name": "n" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    bob.close();
}

#[tokio::test]
async fn credentials_are_allowed_to_the_named_origins_only_when_asked() {
    let origin = "http://127.0.0.1:9";
    for (flag, allowed) in [(true, true), (false, false)] {
        let mut args = vec!["--allowed-origins", origin];
        if flag {
            args.push("--allow-credentials");
        }
        let bridge = start_signed_in(&args).await;
        let client = reqwest::Client::new();
        let answer = client
            .get(url(&bridge, "/api/channels/general/messages"))
            .header("origin", origin)
            .header("cookie", "dp_token=bob-s3cret-token")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let credentials = answer.headers().get("access-control-allow-credentials");
        assert_eq!(credentials.is_some_and(|v| v == "true"), allowed);
        // A 401 is readable by the page too: it carries the CORS headers.
        let refused = client
            .get(url(&bridge, "/api/channels/general/messages"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.headers()["access-control-allow-origin"], origin);
        // A preflight for a Bearer fetch needs no token and allows the header.
        let preflight = client
            .request(
                reqwest::Method::OPTIONS,
                url(&bridge, "/api/channels/general/messages"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
            .await
            .unwrap();
        assert!(preflight.status().is_success());
        let headers = preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(headers.contains("authorization"), "{headers}");
    }
}

#[tokio::test]
async fn me_names_the_sign_in_and_nothing_without_one() {
    let bridge = start_signed_in(&[]).await;
    let client = reqwest::Client::new();
    let me = url(&bridge, "/api/me");
    assert_eq!(client.get(&me).send().await.unwrap().status(), 401);
    let alice: serde_json::Value = (client.get(&me).bearer_auth("alice-s3cret-token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alice, serde_json::json!({ "user": "Alice" }));
    let bob: serde_json::Value = (client
        .get(&me)
        .header("cookie", "dp_token=bob-s3cret-token"))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(bob, serde_json::json!({ "user": "Bob" }));
    let open = start(&[]).await;
    let nobody: serde_json::Value = reqwest::get(url(&open, "/api/me"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(nobody, serde_json::json!({ "user": null }));
}
