//! History, the control API, bad input, authentication, persistence and the
//! binary's configuration handling, over real sockets.

mod support;

use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use support::*;

fn ids(body: &serde_json::Value) -> Vec<String> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn history_pages_as_the_contract_says() {
    let bridge = start(&[]).await;
    let mut all = Vec::new();
    for i in 0..7 {
        all.push(inject(&bridge, "h", &format!("m{i}")).await);
    }
    let get = |query: String| {
        let bridge = &bridge;
        async move {
            call(
                bridge,
                Method::GET,
                &format!("/api/channels/h/messages{query}"),
                None,
            )
            .await
        }
    };
    assert_eq!(
        ids(&get(String::new()).await.1),
        all,
        "default limit 50: everything, oldest first"
    );
    assert_eq!(ids(&get("?limit=3".into()).await.1), all[4..]);
    assert_eq!(
        ids(&get(format!("?limit=2&after={}", all[1])).await.1),
        all[2..4]
    );
    assert_eq!(
        ids(&get(format!("?limit=2&before={}", all[5])).await.1),
        all[3..5]
    );
    assert_eq!(
        ids(&get("?limit=100000".into()).await.1).len(),
        7,
        "a huge limit is clamped, not refused"
    );
    let (status, body) = get(String::new()).await;
    assert_eq!(status, 200);
    let message = &body[0];
    for field in ["id", "channel_id", "author", "content", "timestamp"] {
        assert!(message[field].is_string(), "{field} in {message}");
    }
    let (status, body) = call(
        &bridge,
        Method::GET,
        "/api/channels/never-used/messages",
        None,
    )
    .await;
    assert_eq!((status, body), (200, json!([])));
}

#[tokio::test]
async fn bad_input_gets_a_json_sentence_and_the_right_status() {
    let bridge = start(&[]).await;
    let long = "x".repeat(4_001);
    let huge = "y".repeat(70_000);
    let cases: Vec<(Method, String, Option<serde_json::Value>, u16)> = vec![
        (
            Method::GET,
            "/api/channels/bad%20name/messages".into(),
            None,
            400,
        ),
        (
            Method::GET,
            format!("/api/channels/{}/messages", "x".repeat(65)),
            None,
            400,
        ),
        (
            Method::GET,
            "/api/channels/ok/messages?limit=0".into(),
            None,
            400,
        ),
        (
            Method::GET,
            "/api/channels/ok/messages?limit=ten".into(),
            None,
            400,
        ),
        (
            Method::GET,
            "/api/channels/ok/messages?limit=-5".into(),
            None,
            400,
        ),
        (
            Method::GET,
            "/api/channels/ok/messages?after=abc".into(),
            None,
            400,
        ),
        (
            Method::GET,
            "/api/channels/ok/messages?before=-1".into(),
            None,
            400,
        ),
        (
            Method::GET,
            "/api/channels/ok/events?last_event_id=x1".into(),
            None,
            400,
        ),
        (
            Method::GET,
            "/api/channels/b%C3%A4d/events".into(),
            None,
            400,
        ),
        (
            Method::DELETE,
            "/api/channels/ok/messages".into(),
            None,
            405,
        ),
        // A post that is not JSON.
        (Method::POST, "/api/channels/ok/messages".into(), None, 415),
        (Method::DELETE, "/internal/gateway".into(), None, 405),
        (Method::GET, "/api/nothing-here".into(), None, 404),
        (Method::GET, "/no/such/route".into(), None, 404),
        (
            Method::POST,
            "/internal/channels/ok/messages".into(),
            Some(json!({ "author": "a" })),
            400,
        ),
        (
            Method::POST,
            "/internal/channels/ok/messages".into(),
            Some(json!({ "author": "a", "content": "c", "extra": 1 })),
            400,
        ),
        (
            Method::POST,
            "/internal/channels/ok/messages".into(),
            Some(json!({ "author": "", "content": "c" })),
            400,
        ),
        (
            Method::POST,
            "/internal/channels/ok/messages".into(),
            Some(json!({ "author": "a", "content": "   " })),
            400,
        ),
        (
            Method::POST,
            "/internal/channels/ok/messages".into(),
            Some(json!({ "author": "a", "content": long })),
            413,
        ),
        (
            Method::POST,
            "/internal/channels/ok/messages".into(),
            Some(json!({ "author": "a", "content": huge })),
            413,
        ),
        (
            Method::POST,
            "/internal/channels/b.d/messages".into(),
            Some(json!({ "author": "a", "content": "c" })),
            400,
        ),
        (
            Method::PUT,
            "/internal/gateway".into(),
            Some(json!({ "status": "sideways" })),
            400,
        ),
        (
            Method::PUT,
            "/internal/heartbeats".into(),
            Some(json!({ "paused": "yes" })),
            400,
        ),
        (
            Method::PUT,
            "/internal/sse-fault".into(),
            Some(json!({ "mode": "reject", "status": 200 })),
            400,
        ),
        (
            Method::PUT,
            "/internal/sse-fault".into(),
            Some(json!({ "mode": "explode" })),
            400,
        ),
        (
            Method::POST,
            "/internal/disconnect".into(),
            Some(json!({ "channel": "no spaces" })),
            400,
        ),
    ];
    for (method, path, body, expected) in cases {
        let (status, answer) = call(&bridge, method.clone(), &path, body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        let sentence = answer["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: no JSON error: {answer}"));
        assert!(
            sentence.len() > 10,
            "{method} {path}: {sentence:?} is not a sentence"
        );
    }
    // Malformed JSON text, not just wrong fields.
    let response = reqwest::Client::new()
        .post(url(&bridge, "/internal/channels/ok/messages"))
        .header("content-type", "application/json")
        .body("{\"author\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // Nothing was stored by any of it.
    let (_, history) = call(&bridge, Method::GET, "/api/channels/ok/messages", None).await;
    assert_eq!(history, json!([]));
}

#[tokio::test]
async fn gateway_changes_reach_every_stream_of_every_channel_and_new_ones_start_with_it() {
    let bridge = start(&["--heartbeat-interval", "60"]).await;
    let mut a = Stream::open(&bridge, "/api/channels/a/events", None).await;
    let mut b = Stream::open(&bridge, "/api/channels/b/events", None).await;
    for stream in [&mut a, &mut b] {
        stream.next().await;
        assert_eq!(stream.next().await.json()["gateway"], "connected");
    }
    let (status, _) = call(
        &bridge,
        Method::PUT,
        "/internal/gateway",
        Some(json!({ "status": "reconnecting" })),
    )
    .await;
    assert_eq!(status, 200);
    for stream in [&mut a, &mut b] {
        let frame = stream.next_non_heartbeat().await;
        assert_eq!(
            (frame.event.as_deref(), frame.json()["gateway"].as_str()),
            (Some("status"), Some("reconnecting"))
        );
    }
    let mut late = Stream::open(&bridge, "/api/channels/c/events", None).await;
    late.next().await;
    assert_eq!(late.next().await.json()["gateway"], "reconnecting");
}

#[tokio::test]
async fn the_control_api_needs_the_token_when_one_is_set() {
    let bridge = start(&["--control-token", "s3cret"]).await;
    let body = json!({ "author": "a", "content": "c" });
    let client = reqwest::Client::new();
    let path = url(&bridge, "/internal/channels/t/messages");
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("s3cret"),
        Some("Basic s3cret"),
    ] {
        let mut request = client.post(&path).json(&body);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{auth:?}");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert!(answer["error"].as_str().unwrap().contains("Bearer"));
    }
    let ok = client
        .post(&path)
        .json(&body)
        .header("authorization", "Bearer s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    // The public API does not need it.
    assert_eq!(
        call(&bridge, Method::GET, "/api/channels/t/messages", None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&bridge, Method::GET, "/internal/connections", None)
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn history_survives_a_restart_and_ids_keep_growing() {
    let scratch = scratch();
    let dir = scratch.path();
    let file = dir.join("history.jsonl");
    let path = file.to_str().unwrap();
    let first = start(&["--history-file", path]).await;
    let before = [
        inject(&first, "p", "one").await,
        inject(&first, "p", "two").await,
    ];
    stop(first).await;

    let second = start(&["--history-file", path]).await;
    let after = inject(&second, "p", "three").await;
    let (_, history) = call(&second, Method::GET, "/api/channels/p/messages", None).await;
    assert_eq!(
        ids(&history),
        [before[0].clone(), before[1].clone(), after.clone()]
    );
    assert!(after.parse::<u64>().unwrap() > before[1].parse::<u64>().unwrap());
}

#[tokio::test]
async fn the_binary_refuses_bad_configuration_with_exit_code_2() {
    let binary = env!("CARGO_BIN_EXE_mock-bridge");
    let cases: [&[&str]; 5] = [
        &["--heartbeat-interval", "0"],
        &["--heartbeat-interval", "fast"],
        &["--retry-ms", "-1"],
        &["--listen", "not-an-address"],
        &["--listen", "0.0.0.0:0"],
    ];
    for args in cases {
        let output = std::process::Command::new(binary)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.len() > 20, "{args:?}: no explanation: {stderr}");
    }
    let env = std::process::Command::new(binary)
        .env("HEARTBEAT_INTERVAL_SECONDS", "-3")
        .output()
        .unwrap();
    assert_eq!(
        env.status.code(),
        Some(2),
        "environment values are validated too"
    );
}

#[tokio::test]
async fn the_binary_shuts_down_cleanly_on_its_timer_with_streams_open() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mock-bridge"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("SERVER_SHUTDOWN_AFTER_SECONDS", "1.5")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/channels/x/events");
    let response = loop {
        if let Ok(response) = client.get(&url).send().await {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut body = response.bytes_stream();
    use futures_util::StreamExt;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while body.next().await.is_some() {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the open stream was not ended by the shutdown"
    );
    let status = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await
    .expect("the process exits promptly")
    .unwrap()
    .unwrap();
    assert_eq!(status.code(), Some(0));
}
