//! What a history file remembers across restarts beyond the messages it
//! retains: each channel's cut (a resume from before it is told to resync,
//! however many restarts later) and the posts it cut (a late retry gets its
//! original, never a copy).

mod support;

use clap::Parser;
use serde_json::{json, Value};
use support::*;

async fn post_reply(bridge: &mock_bridge::RunningBridge, n: usize) -> (u16, Value) {
    let body =
        json!({ "content": format!("reply {n}"), "client_id": format!("c-{n}"), "author": "ann" });
    call(
        bridge,
        reqwest::Method::POST,
        "/api/channels/general/messages",
        Some(body),
    )
    .await
}

async fn restart(bridge: mock_bridge::RunningBridge, args: &[&str]) -> mock_bridge::RunningBridge {
    stop(bridge).await;
    start(args).await
}

#[tokio::test]
async fn a_second_restart_still_knows_the_cut_and_the_posts_it_cut() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = [
        "--history-file",
        file.to_str().unwrap(),
        "--history-per-channel",
        "3",
    ];
    let bridge = start(&args).await;
    let mut originals = Vec::new();
    for n in 0..5 {
        let (status, message) = post_reply(&bridge, n).await;
        assert_eq!(status, 201);
        originals.push(message);
    }
    // The first restart compacts the file to what is retained; the second
    // starts from that file alone.
    let bridge = restart(bridge, &args).await;
    let bridge = restart(bridge, &args).await;
    let first = originals[0]["id"].as_str().unwrap();
    let mut stream = Stream::open(&bridge, "/api/channels/general/events", Some(first)).await;
    // `retry:`, the status, then the resync.
    let resync = loop {
        let frame = stream.next_non_heartbeat().await;
        match frame.event.as_deref() {
            None | Some("status") => continue,
            _ => break frame,
        }
    };
    assert_eq!(resync.event.as_deref(), Some("resync"), "{resync:?}");
    assert_eq!(resync.json()["reason"], "history_gap");
    stream.close();
    // A late retry of a post that was cut gets the original back.
    let (status, again) = post_reply(&bridge, 0).await;
    assert_eq!((status, &again), (200, &originals[0]));
    let (_, held) = call(
        &bridge,
        reqwest::Method::GET,
        "/api/channels/general/messages",
        None,
    )
    .await;
    assert_eq!(held, json!(originals[2..]), "three retained, no copy");
    // And the ids go on above everything ever stored.
    let (status, next) = post_reply(&bridge, 5).await;
    assert_eq!(status, 201);
    let last: u64 = originals[4]["id"].as_str().unwrap().parse().unwrap();
    assert!(next["id"].as_str().unwrap().parse::<u64>().unwrap() > last);
}

async fn get(bridge: &mock_bridge::RunningBridge, path: &str) -> Value {
    let (status, body) = call(bridge, reqwest::Method::GET, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Issue 31, defect 20: the deletion of a channel's last message, then a
/// restart: the cut the file keeps for it (all there is left of it) must
/// outlive the first listener that comes and goes, and the next restart.
#[tokio::test]
async fn the_deletion_of_a_channels_last_message_survives_restarts_and_listeners() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = ["--history-file", file.to_str().unwrap()];
    let bridge = start(&args).await;
    let id = inject(&bridge, "quiet", "the only one").await;
    let message = format!("/internal/channels/quiet/messages/{id}");
    assert_eq!(
        call(&bridge, reqwest::Method::DELETE, &message, None)
            .await
            .0,
        200
    );
    let changes = format!("/api/channels/quiet/changes?after={id}");
    let mut bridge = restart(bridge, &args).await;
    for round in 0..2 {
        // A polling panel: it listens, then lets go.
        get(
            &bridge,
            &format!("/api/poll?channels=quiet&after={id}&wait=0"),
        )
        .await;
        eventually("the poll to let go", || async {
            bridge.hub.listeners("quiet") == 0
        })
        .await;
        let page = get(&bridge, &changes).await;
        assert_eq!(
            page,
            json!({ "resync": "history_gap" }),
            "restart {round}: a reader who saw {id} must learn it is gone"
        );
        bridge = restart(bridge, &args).await;
    }
}

/// Issue 31, defect 4: what makes retries safe survives restarts and the
/// compaction they bring: a reply that was deleted stays gone (410), and a
/// reader's edit retried with its client id answers as the first try did,
/// never applied a second time over a newer edit.
#[tokio::test]
async fn retries_stay_safe_across_restarts() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = ["--history-file", file.to_str().unwrap()];
    let bridge = start(&args).await;
    let (status, gone) = post_reply(&bridge, 0).await;
    assert_eq!(status, 201);
    let gone = format!(
        "/api/channels/general/messages/{}",
        gone["id"].as_str().unwrap()
    );
    let by_ann = json!({ "author": "ann" });
    assert_eq!(
        call(&bridge, reqwest::Method::DELETE, &gone, Some(by_ann))
            .await
            .0,
        200
    );
    let (status, kept) = post_reply(&bridge, 1).await;
    assert_eq!(status, 201);
    let kept = format!(
        "/api/channels/general/messages/{}",
        kept["id"].as_str().unwrap()
    );
    let first_edit = json!({ "content": "first edit", "client_id": "e-1", "author": "ann" });
    let (status, first) = call(
        &bridge,
        reqwest::Method::PATCH,
        &kept,
        Some(first_edit.clone()),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let newer = json!({ "content": "newer edit", "client_id": "e-2", "author": "ann" });
    let (status, newer) = call(&bridge, reqwest::Method::PATCH, &kept, Some(newer)).await;
    assert_eq!(status, 200, "{newer}");
    let mut bridge = bridge;
    for round in 0..3 {
        let (status, again) = post_reply(&bridge, 0).await;
        assert_eq!(
            status, 410,
            "restart {round}: the deleted reply came back: {again}"
        );
        let (status, again) = call(
            &bridge,
            reqwest::Method::PATCH,
            &kept,
            Some(first_edit.clone()),
        )
        .await;
        assert_eq!(
            (status, &again),
            (200, &first),
            "restart {round}: the retried edit answers as the first did"
        );
        let history = get(&bridge, "/api/channels/general/messages").await;
        assert_eq!(
            (history[0]["content"].clone(), history[0]["version"].clone()),
            (json!("newer edit"), newer["version"].clone()),
            "restart {round}: the newer edit stands"
        );
        bridge = restart(bridge, &args).await;
    }
}

/// Issue 31's review, finding 4: two bridges on one history file lose what
/// the first acknowledges (the second's start compacts the file and renames
/// a new one over it; the first goes on appending to the old one) and bring
/// back what it deleted. The second is refused while the first holds the
/// file: in process, its start fails with a sentence; as a program, it
/// exits with code 2, as for other bad starts. The first goes on, and what
/// it acknowledged is all there at the next start.
#[tokio::test]
async fn a_second_bridge_on_the_same_file_is_refused_while_the_first_runs() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = ["--history-file", file.to_str().unwrap()];
    let first = start(&args).await;
    let kept = inject(&first, "general", "first").await;
    let gone = inject(&first, "general", "to delete").await;
    let delete = |id: &str| format!("/internal/channels/general/messages/{id}");
    assert_eq!(
        call(&first, reqwest::Method::DELETE, &delete(&gone), None)
            .await
            .0,
        200
    );
    let config = mock_bridge::config::Config::try_parse_from(
        ["mock-bridge", "--listen", "127.0.0.1:0"]
            .into_iter()
            .chain(args),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second = mock_bridge::spawn(config, listener, Default::default());
    let refused = second.err().map(|e| e.to_string());
    assert!(
        refused
            .as_deref()
            .is_some_and(|e| e.contains("another bridge")),
        "a second bridge started on the file the first holds: {refused:?}"
    );
    // The program: exit code 2 and a sentence, at once.
    let output = tokio::time::timeout(
        SOON,
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mock-bridge"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the second bridge exits at once")
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("another bridge"), "{stderr}");
    // The first goes on: a message and a deletion it acknowledges stay.
    let later = inject(&first, "general", "acknowledged").await;
    assert_eq!(
        call(&first, reqwest::Method::DELETE, &delete(&kept), None)
            .await
            .0,
        200
    );
    stop(first).await;
    let after = start(&args).await;
    let (_, held) = call(
        &after,
        reqwest::Method::GET,
        "/api/channels/general/messages",
        None,
    )
    .await;
    let ids: Vec<&str> = held
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [later.as_str()], "{held}");
}

/// Issue 31's review, finding 5: a bulk deletion is one write, but the
/// file kept each of its lines on its own: a crash that tore the write kept
/// the first deletions and lost the rest. It is one line now (or nothing).
#[tokio::test]
async fn a_bulk_deletion_torn_by_a_crash_is_still_all_or_nothing_after_the_restart() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = ["--history-file", file.to_str().unwrap()];
    let bridge = start(&args).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(inject(&bridge, "general", &format!("m{n}")).await);
    }
    let before = std::fs::metadata(&file).unwrap().len() as usize;
    let named: Vec<&str> = ids.iter().map(String::as_str).collect();
    let deleted = client(&bridge)
        .bulk_delete("general", &named)
        .await
        .unwrap();
    assert_eq!(deleted.len(), 3);
    stop(bridge).await;
    let whole = std::fs::read(&file).unwrap();
    let written = whole.len() - before;
    // A crash at any point of the write: each length it could leave. (The
    // bridge's state alone, started and dropped, for each.)
    let config =
        mock_bridge::config::Config::try_parse_from(["mock-bridge"].into_iter().chain(args))
            .unwrap();
    for cut in 1..written {
        std::fs::write(&file, &whole[..before + cut]).unwrap();
        let hub = mock_bridge::hub::Hub::new(config.clone(), Default::default())
            .unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        let held: Vec<bool> = ids
            .iter()
            .map(|id| hub.holds("general", id.parse().unwrap()))
            .collect();
        assert!(
            held.iter().all(|h| *h) || held.iter().all(|h| !*h),
            "the bulk deletion's write cut after {cut} of {written} bytes: held {held:?}"
        );
    }
}

/// Issue 31's review, finding 1 (on disk): a reader's change remembered by
/// its client id kept its whole answer (the message with every emoji's
/// newest twenty names) in memory and in the file, rewritten at every
/// start: 166 KB an edit of a message with many reactions, and 10,000 are
/// remembered. What a retry needs is the message as the edit made it.
#[tokio::test]
async fn the_changes_remembered_for_retries_stay_small() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = ["--history-file", file.to_str().unwrap()];
    let bridge = start(&args).await;
    let (status, posted) = call(
        &bridge,
        reqwest::Method::POST,
        "/api/channels/general/messages",
        Some(json!({ "content": "heavy", "client_id": "p-1", "author": "ann" })),
    )
    .await;
    assert_eq!(status, 201);
    let id = posted["id"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    for e in 0..20 {
        for r in 0..20 {
            // The widest names and emoji there may be.
            let emoji: String = format!("{e:02}")
                .bytes()
                .chain([b'"'; 62])
                .map(|b| format!("%{b:02X}"))
                .collect();
            let name = format!("{r:02}") + &"\"".repeat(20) + &"😀".repeat(10);
            let path = format!("/api/channels/general/messages/{id}/reactions/{emoji}");
            let (status, body) = answer(
                http.put(url(&bridge, &path))
                    .json(&json!({ "author": name })),
            )
            .await;
            assert_eq!(status, 200, "{body}");
        }
    }
    let message = format!("/api/channels/general/messages/{id}");
    for n in 0..100 {
        let edit = json!({ "content": format!("edit {n}"), "client_id": format!("c{n}"), "author": "ann" });
        let (status, body) = answer(http.patch(url(&bridge, &message)).json(&edit)).await;
        assert_eq!(status, 200, "{body}");
    }
    let bridge = restart(bridge, &args).await;
    let after = std::fs::metadata(&file).unwrap().len() as usize;
    // Once the message's line (with its reactors) is taken off, the rest
    // is the 100 edits remembered.
    let text = std::fs::read_to_string(&file).unwrap();
    let message_line = text.lines().map(str::len).max().unwrap();
    let each = (after - message_line) / 100;
    assert!(
        each <= 1024,
        "after a restart the file is {after} bytes, its message line {message_line}: about \
         {each} bytes per remembered edit (10,000 are remembered)"
    );
    // And a retry still answers as the first did.
    let first = json!({ "content": "edit 0", "client_id": "c0", "author": "ann" });
    let (status, again) = answer(http.patch(url(&bridge, &message)).json(&first)).await;
    assert_eq!(
        (status, &again["content"]),
        (200, &json!("edit 0")),
        "{again}"
    );
}

/// Found by the model once restarts could change `--history-per-channel`:
/// a reply deleted, then a restart with a smaller retention. The file is
/// read back in id order through the new retention, which cuts the reply
/// before its deletion is read: the deletion found no reply to mark, and a
/// late retry of it was answered 200 (as if still there) instead of 410.
#[tokio::test]
async fn a_deleted_reply_stays_gone_after_a_restart_with_a_smaller_retention() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = |keep: &'static str| {
        let file = file.to_str().unwrap().to_owned();
        [
            "--history-file".to_owned(),
            file,
            "--history-per-channel".to_owned(),
            keep.to_owned(),
        ]
    };
    let wide = args("3");
    let bridge = start(&wide.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let (status, gone) = post_reply(&bridge, 0).await;
    assert_eq!(status, 201);
    for n in 1..3 {
        assert_eq!(post_reply(&bridge, n).await.0, 201);
    }
    let path = format!(
        "/api/channels/general/messages/{}",
        gone["id"].as_str().unwrap()
    );
    let by_ann = json!({ "author": "ann" });
    assert_eq!(
        call(&bridge, reqwest::Method::DELETE, &path, Some(by_ann))
            .await
            .0,
        200
    );
    assert_eq!(post_reply(&bridge, 3).await.0, 201);
    let narrow = args("2");
    let bridge = restart(
        bridge,
        &narrow.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let (status, again) = post_reply(&bridge, 0).await;
    assert_eq!(status, 410, "the deleted reply answered {again}");
}
