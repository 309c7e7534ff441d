//! Replies: `POST /api/channels/{channel}/messages` stores a client's message
//! once, whatever the retries (also across a restart with a history file),
//! with the limits and JSON errors of the rest of the API, and the author from
//! the token when people sign in.

mod support;

use serde_json::{json, Value};
use support::*;

async fn post(
    bridge: &mock_bridge::RunningBridge,
    channel: &str,
    body: Value,
    token: Option<&str>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(url(bridge, &format!("/api/channels/{channel}/messages")))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.expect("an answer");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn history(bridge: &mock_bridge::RunningBridge, channel: &str) -> Vec<Value> {
    let answer = reqwest::get(url(bridge, &format!("/api/channels/{channel}/messages")))
        .await
        .unwrap();
    answer.json().await.unwrap()
}

#[tokio::test]
async fn a_post_is_stored_and_streamed_once_however_often_it_is_retried() {
    let bridge = start(&[]).await;
    let mut stream = Stream::open(&bridge, "/api/channels/general/events", None).await;
    let body = json!({ "content": "a reply", "client_id": "c-1", "author": "ann" });
    let (status, first) = post(&bridge, "general", body.clone(), None).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["client_id"], "c-1");
    assert_eq!(first["author"], "ann");
    for _ in 0..3 {
        let (status, again) = post(&bridge, "general", body.clone(), None).await;
        assert_eq!(status, 200, "a retry is not a new message");
        assert_eq!(again, first, "a retry gets the original, not a copy");
    }
    let stored = history(&bridge, "general").await;
    assert_eq!(stored, std::slice::from_ref(&first));
    let frame = loop {
        let frame = stream.next_non_heartbeat().await;
        if frame.event.as_deref() == Some("message") {
            break frame;
        }
    };
    assert_eq!(frame.json()["client_id"], "c-1");
    // One more post: the next message on the stream is it, not a copy of the first.
    let body2 = json!({ "content": "another", "client_id": "c-2", "author": "ann" });
    let (_, second) = post(&bridge, "general", body2, None).await;
    assert_eq!(
        stream.message_ids(1).await,
        [second["id"].as_str().unwrap()]
    );
    // The same client id in another channel is a client's mistake: 409.
    let (status, error) = post(&bridge, "design", body, None).await;
    assert_eq!(status, 409);
    assert!(
        error["error"].as_str().unwrap().contains("general"),
        "{error}"
    );
    stream.close();
}

#[tokio::test]
async fn a_retry_after_a_restart_gets_the_original_from_the_history_file() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let path = file.to_str().unwrap();
    let body =
        json!({ "content": "before the restart", "client_id": "c-restart", "author": "ann" });
    let first = start(&["--history-file", path]).await;
    let (status, original) = post(&first, "general", body.clone(), None).await;
    assert_eq!(status, 201);
    stop(first).await;
    let second = start(&["--history-file", path]).await;
    let (status, again) = post(&second, "general", body, None).await;
    assert_eq!((status, &again), (200, &original));
    assert_eq!(history(&second, "general").await, [original]);
}

#[tokio::test]
async fn bad_posts_get_a_sentence_and_store_nothing() {
    let bridge = start(&[]).await;
    let long = "x".repeat(4_001);
    for (body, status) in [
        (
            json!({ "content": long, "client_id": "c", "author": "a" }),
            413,
        ),
        (
            json!({ "content": "  ", "client_id": "c", "author": "a" }),
            400,
        ),
        (
            json!({ "content": "hi", "client_id": "not a uuid!", "author": "a" }),
            400,
        ),
        (
            json!({ "content": "hi", "client_id": "", "author": "a" }),
            400,
        ),
        (json!({ "content": "hi", "author": "a" }), 400),
        (json!({ "content": "hi", "client_id": "c" }), 400),
        (
            json!({ "content": "hi", "client_id": "c", "author": "a", "colour": 1 }),
            400,
        ),
    ] {
        let (answer, error) = post(&bridge, "general", body.clone(), None).await;
        assert_eq!(answer, status, "{body}: {error}");
        assert!(error["error"].is_string(), "{body}: {error}");
    }
    let (status, _) = post(&bridge, "bad name", json!({}), None).await;
    assert!(status == 400 || status == 404, "{status}");
    assert!(history(&bridge, "general").await.is_empty());
    // Exactly 4,000 characters is fine.
    let body = json!({ "content": "y".repeat(4_000), "client_id": "c-max", "author": "a" });
    assert_eq!(post(&bridge, "general", body, None).await.0, 201);
}

#[tokio::test]
async fn signed_in_posts_are_by_the_tokens_user() {
    let bridge = start_with_users("tok-ann Ann Author\n", &[]).await;
    let body = json!({ "content": "signed", "client_id": "c-s", "author": "someone else" });
    let (status, _) = post(&bridge, "general", body.clone(), None).await;
    assert_eq!(status, 401);
    let (status, message) = post(&bridge, "general", body, Some("tok-ann")).await;
    assert_eq!(status, 201);
    assert_eq!(
        message["author"], "Ann Author",
        "the token decides, not the body"
    );
    // No author in the body is fine then.
    let body = json!({ "content": "again", "client_id": "c-s2" });
    assert_eq!(post(&bridge, "general", body, Some("tok-ann")).await.0, 201);
}

#[tokio::test]
async fn a_lost_answer_leaves_the_message_stored_and_the_retry_gets_it() {
    let bridge = start(&[]).await;
    let client = reqwest::Client::new();
    let fault = client
        .put(url(&bridge, "/internal/post-fault"))
        .json(&json!({ "drop_answers": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(fault.status(), 200);
    let body = json!({ "content": "did it arrive?", "client_id": "c-lost", "author": "ann" });
    let lost = client
        .post(url(&bridge, "/api/channels/general/messages"))
        .json(&body)
        .send()
        .await;
    let read = match lost {
        Ok(answer) => answer.json::<Value>().await.map(|_| ()),
        Err(error) => Err(error),
    };
    assert!(read.is_err(), "the answer should have broken off");
    let stored = history(&bridge, "general").await;
    assert_eq!(stored.len(), 1, "stored before the answer was lost");
    let (status, again) = post(&bridge, "general", body, None).await;
    assert_eq!(status, 200);
    assert_eq!(again, stored[0]);
    assert_eq!(history(&bridge, "general").await.len(), 1);
}
