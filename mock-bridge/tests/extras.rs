//! What Discord resolves for a message (mentions' names, the message it
//! replies to, its files): taken by the control API, checked, and carried
//! by history and streams as optional fields.

mod support;

use serde_json::json;
use support::*;

#[tokio::test]
async fn mentions_replies_and_attachments_are_carried() {
    let bridge = start(&[]).await;
    let first = inject(&bridge, "general", "the original, which is rather long").await;
    let long = "x".repeat(150);
    let body = json!({
        "author": "bob", "content": "<@80351110224678912> see above",
        "mentions": { "80351110224678912": "Ann" },
        "referenced_message": { "id": first, "author": "alice", "content": long },
        "attachments": [{ "filename": "notes.pdf", "size": 123456, "url": "https://cdn.example/notes.pdf" }],
    });
    let (status, stored) = call(
        &bridge,
        reqwest::Method::POST,
        "/internal/channels/general/messages",
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["mentions"]["80351110224678912"], "Ann");
    let cut = stored["referenced_message"]["content"].as_str().unwrap();
    assert!(cut.ends_with('…') && cut.chars().count() == 101, "{cut}");
    assert_eq!(stored["attachments"][0]["size"], 123456);
    let (_, history) = call(
        &bridge,
        reqwest::Method::GET,
        "/api/channels/general/messages",
        None,
    )
    .await;
    assert_eq!(history[1], stored);
    assert!(
        history[0].get("mentions").is_none(),
        "absent when none: {}",
        history[0]
    );
    // A file anywhere but the web is refused, with a sentence.
    let bad = json!({ "author": "bob", "content": "x", "attachments": [{ "filename": "a", "size": 1, "url": "javascript:x" }] });
    let (status, error) = call(
        &bridge,
        reqwest::Method::POST,
        "/internal/channels/general/messages",
        Some(bad),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        error["error"].as_str().unwrap().contains("attachments"),
        "{error}"
    );
}
