//! Every timing and size knob of the engine, with the defaults the README documents.

use crate::backoff::Backoff;

/// Tunables of the connection engine. `Options::default()` is what production uses;
/// tests shrink the times so that a whole reconnection cycle takes milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The watchdog deadline is this many advertised heartbeat intervals (2.5).
    pub watchdog_factor: f64,
    /// Watchdog deadline before the bridge has advertised its interval (45 s).
    pub initial_watchdog_ms: u64,
    /// Ceiling of the first backoff delay (1 s); it doubles per failed attempt.
    pub backoff_base_ms: u64,
    /// Largest backoff delay (30 s).
    pub backoff_cap_ms: u64,
    /// Consecutive failed attempts after which the panel stops and offers Retry (5).
    pub max_attempts: u32,
    /// A stream must live this long after opening to count as a success (10 s).
    pub stability_window_ms: u64,
    /// How many of the newest messages the first load fetches (50).
    pub history_limit: u32,
    /// Page size when catching up on missed messages with `after=` (100).
    pub page_limit: u32,
    /// At most this many messages are held; the oldest go first (500).
    pub max_messages: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            watchdog_factor: 2.5,
            initial_watchdog_ms: 45_000,
            backoff_base_ms: 1_000,
            backoff_cap_ms: 30_000,
            max_attempts: 5,
            stability_window_ms: 10_000,
            history_limit: 50,
            page_limit: 100,
            max_messages: 500,
        }
    }
}

impl Options {
    /// The backoff policy these options describe.
    pub fn backoff(&self) -> Backoff {
        Backoff {
            base_ms: self.backoff_base_ms,
            cap_ms: self.backoff_cap_ms,
        }
    }

    /// The watchdog deadline for an advertised heartbeat interval, if any.
    pub fn watchdog_ms(&self, heartbeat_interval_ms: Option<u64>) -> u64 {
        match heartbeat_interval_ms {
            Some(interval) if interval > 0 => {
                let factor = if self.watchdog_factor.is_finite() && self.watchdog_factor > 1.0 {
                    self.watchdog_factor
                } else {
                    Options::default().watchdog_factor
                };
                (interval as f64 * factor).ceil() as u64
            }
            _ => self.initial_watchdog_ms,
        }
    }

    /// Makes nonsensical values sensible (zero attempts, a limit above the bridge's
    /// maximum, no room for messages) instead of failing at run time.
    pub fn normalised(mut self) -> Self {
        self.max_attempts = self.max_attempts.max(1);
        self.history_limit = self.history_limit.clamp(1, 500);
        self.page_limit = self.page_limit.clamp(1, 500);
        self.max_messages = self.max_messages.max(1);
        self.backoff_cap_ms = self.backoff_cap_ms.max(self.backoff_base_ms);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_is_two_and_a_half_intervals_or_the_initial_deadline() {
        let options = Options::default();
        assert_eq!(options.watchdog_ms(Some(15_000)), 37_500);
        assert_eq!(options.watchdog_ms(Some(500)), 1_250);
        assert_eq!(options.watchdog_ms(None), 45_000);
        assert_eq!(options.watchdog_ms(Some(0)), 45_000);
    }

    #[test]
    fn normalising_fixes_nonsense() {
        let options = Options {
            max_attempts: 0,
            history_limit: 10_000,
            max_messages: 0,
            ..Options::default()
        }
        .normalised();
        assert_eq!(
            (
                options.max_attempts,
                options.history_limit,
                options.max_messages
            ),
            (1, 500, 1)
        );
    }
}
