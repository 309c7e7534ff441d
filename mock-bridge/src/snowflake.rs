//! Message ids: time-based like Discord's snowflakes, strictly increasing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since this epoch fill the high bits (2026-01-01T00:00:00Z).
const EPOCH_MS: u64 = 1_767_225_600_000;
/// Low bits left for ids issued within the same millisecond.
const SEQUENCE_BITS: u32 = 22;

/// Issues ids that grow strictly, across threads, and across restarts (the
/// clock moves on, and the generator starts above every id already stored).
#[derive(Debug, Default)]
pub struct Snowflakes {
    /// The last id issued (or the largest id found in stored history).
    last: AtomicU64,
}

impl Snowflakes {
    /// A generator that will only issue ids greater than `floor`.
    pub fn starting_above(floor: u64) -> Self {
        Snowflakes {
            last: AtomicU64::new(floor),
        }
    }

    /// The next id, or `None` once the largest id has been issued (a history
    /// file can hold it): ids never wrap around.
    pub fn next(&self) -> Option<u64> {
        let from_clock = now_ms().saturating_sub(EPOCH_MS) << SEQUENCE_BITS;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = from_clock.max(last.checked_add(1)?);
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Some(next),
                Err(actual) => last = actual,
            }
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn strictly_increasing_across_threads_and_above_the_floor() {
        let ids = Arc::new(Snowflakes::starting_above(u64::MAX / 2));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let ids = ids.clone();
                std::thread::spawn(move || {
                    (0..10_000).map(|_| ids.next().unwrap()).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count, "no id issued twice");
        assert!(all[0] > u64::MAX / 2);
    }

    #[test]
    fn ids_follow_the_clock() {
        let id = Snowflakes::default().next().unwrap();
        let ms = (id >> SEQUENCE_BITS) + EPOCH_MS;
        assert!(now_ms().abs_diff(ms) < 5_000);
    }

    #[test]
    fn ids_never_wrap() {
        let ids = Snowflakes::starting_above(u64::MAX - 1);
        assert_eq!(ids.next(), Some(u64::MAX));
        assert_eq!(ids.next(), None);
        assert_eq!(ids.next(), None);
    }
}
