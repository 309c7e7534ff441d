//! The history file under a failing disk. A file-size limit (`RLIMIT_FSIZE`)
//! makes a write stop part-way, as a full disk does; it is process-wide, so
//! this test has a binary of its own.

use mock_bridge::message::Message;
use mock_bridge::persist::HistoryFile;

fn message(id: u64, content: &str) -> Message {
    Message {
        id,
        channel_id: "c".into(),
        author: "a".into(),
        content: content.into(),
        timestamp: "t".into(),
        client_id: None,
        revision: Default::default(),
        extras: Default::default(),
    }
}

fn set_file_size_limit(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: plain system calls on this process's own limits and signal mask.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}

#[test]
fn a_failed_append_leaves_no_fragment_and_the_next_message_survives() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let path = dir.join("history.jsonl");
    let (mut file, _) = HistoryFile::open(&path, false).unwrap();
    file.append(&message(1, "first")).unwrap();
    let length = std::fs::metadata(&path).unwrap().len();
    // The next line can only be written in part.
    set_file_size_limit(length + 40);
    let failed = file.append(&message(2, &"z".repeat(200)));
    set_file_size_limit(libc::RLIM_INFINITY);
    assert!(failed.is_err(), "a short write must be an error");
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        length,
        "the fragment was cut off"
    );
    file.append(&message(3, "third")).unwrap();
    drop(file);
    let (_, loaded) = HistoryFile::open(&path, false).unwrap();
    let ids: Vec<u64> = loaded.iter().map(|m| m.id).collect();
    assert_eq!(
        ids,
        [1, 3],
        "the message acknowledged after the failure was lost"
    );
}
