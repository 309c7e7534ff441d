//! One bridge per history file.
//!
//! Two bridges on one file lose what the first acknowledges: the second's
//! start compacts the file into a new one renamed over it, and the first
//! goes on appending to the old one, which nothing reads again (a deletion
//! it made comes back, a message it acknowledged is gone). So a bridge takes
//! an advisory lock before it reads the file and keeps it as long as it
//! runs; a second one is refused at start (exit code 2, with a sentence).
//!
//! The lock is on a file beside the history file (`<file>.lock`), not on
//! the history file itself: compaction replaces that one with a new file
//! (a new inode), and a lock on the old one would keep no one off the new.
//! It is an `flock`: the system lets go of it when the process ends,
//! however it ends, so a crash never leaves the file locked; and two opens
//! in one process exclude each other too (bridges started in-process by the
//! tests).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// How many times a lock held by someone else is tried, 20 ms apart: a
/// bridge that is letting go (its last moments, or, in a process that
/// starts others, a child that has not yet closed what it inherited) gets
/// half a second; a running one is refused after it.
const PATIENCE: usize = 25;

/// The lock of one history file, held until this is dropped.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

/// Where the lock of the history file at `history` lives.
pub fn path_of(history: &Path) -> PathBuf {
    let mut path = history.as_os_str().to_owned();
    path.push(".lock");
    PathBuf::from(path)
}

impl FileLock {
    /// Takes the lock of the history file at `history`, or says who holds
    /// it: an error of kind [`io::ErrorKind::ResourceBusy`] when another
    /// bridge does.
    pub fn take(history: &Path) -> io::Result<FileLock> {
        let path = path_of(history);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!(
                        "cannot open {} to lock the history file: {error}",
                        path.display()
                    ),
                )
            })?;
        let mut error = io::Error::from_raw_os_error(libc::EWOULDBLOCK);
        for attempt in 0..PATIENCE {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            // SAFETY: flock takes a file descriptor this `File` owns, open
            // for as long as the call lasts.
            let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if locked == 0 {
                return Ok(FileLock { _file: file });
            }
            error = io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EWOULDBLOCK) {
                break;
            }
        }
        if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                format!(
                    "another bridge is running on the history file {} (it holds {}): stop it \
                     first, or give this one a --history-file of its own",
                    history.display(),
                    path.display()
                ),
            ));
        }
        Err(io::Error::new(
            error.kind(),
            format!("cannot lock {}: {error}", path.display()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_free_again_once_dropped() {
        let scratch = tempfile::tempdir().unwrap();
        let history = scratch.path().join("history.jsonl");
        let first = FileLock::take(&history).unwrap();
        let second = FileLock::take(&history).unwrap_err();
        assert_eq!(second.kind(), io::ErrorKind::ResourceBusy);
        assert!(second.to_string().contains("another bridge"), "{second}");
        drop(first);
        FileLock::take(&history).expect("free once the first let go");
    }
}
