//! The delay before the panel's own next attempt: exponential, capped, randomised.

/// Exponential backoff: `base · 2^(n-1)` before the n-th retry, capped at `cap`,
/// then drawn uniformly from `[d/2, d]` so that many tabs that lost the same bridge
/// do not all come back in the same millisecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Delay ceiling before the first retry, in milliseconds.
    pub base_ms: u64,
    /// No delay exceeds this, however many attempts failed.
    pub cap_ms: u64,
}

impl Backoff {
    /// The delay before retry number `retry` (1 for the first), with `random` in `[0, 1)`.
    pub fn delay_ms(&self, retry: u32, random: f64) -> u64 {
        let doublings = retry.saturating_sub(1).min(63);
        let ceiling = self
            .base_ms
            .saturating_mul(1u64.checked_shl(doublings).unwrap_or(u64::MAX))
            .min(self.cap_ms);
        let random = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let half = ceiling / 2;
        half + ((ceiling - half) as f64 * random).round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DEFAULT: Backoff = Backoff {
        base_ms: 1_000,
        cap_ms: 30_000,
    };

    #[test]
    fn doubles_from_one_second_to_the_cap() {
        let ceilings: Vec<u64> = (1..=7).map(|n| DEFAULT.delay_ms(n, 1.0)).collect();
        assert_eq!(
            ceilings,
            [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
        );
        assert_eq!(DEFAULT.delay_ms(3, 0.0), 2_000);
    }

    #[test]
    fn absurd_inputs_stay_in_range() {
        assert_eq!(DEFAULT.delay_ms(u32::MAX, 1.0), 30_000);
        assert_eq!(DEFAULT.delay_ms(0, 1.0), 1_000);
        assert_eq!(DEFAULT.delay_ms(1, f64::NAN), 500);
        assert_eq!(DEFAULT.delay_ms(1, 7.0), 1_000);
    }

    proptest! {
        #[test]
        fn delay_is_within_half_and_full_ceiling(retry in 1u32..100, random in 0.0f64..1.0) {
            let ceiling = DEFAULT.delay_ms(retry, 1.0);
            let delay = DEFAULT.delay_ms(retry, random);
            prop_assert!(delay >= ceiling / 2 && delay <= ceiling);
        }
    }
}
