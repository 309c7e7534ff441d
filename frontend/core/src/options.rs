//! Every timing and size knob of the engine, with the defaults the README documents.

use crate::backoff::Backoff;
use crate::number::digits;

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
    /// At most this many messages are held (500). Past it, the oldest tenth goes
    /// at once, so the list reshapes once per 50 messages rather than on each.
    pub max_messages: usize,
    /// Whether the panels of every tab of this browser profile share one
    /// stream to the bridge (on). Off: each panel opens its own.
    pub share_across_tabs: bool,
    /// Whether the stream and the fetches carry the browser's cookies for the
    /// bridge (off): for a bridge on another origin that signs people in with
    /// cookies (it must allow credentials in its CORS answers).
    pub with_credentials: bool,
    /// Whom replies are from, for a bridge without sign-in (local
    /// development); with a token, the bridge takes the token's user.
    pub author: String,
    /// An EventSource that delivers nothing this long after it was asked
    /// for is suspect (4 s; the bridge's first event comes at once): a proxy
    /// may be buffering it. Twice in a row, the panel polls instead.
    pub first_byte_ms: u64,
    /// While polling, how often the panel tries an EventSource again (5 min).
    pub probe_ms: u64,
    /// Start on long polling (off): for a host that knows its proxy buffers.
    /// The panel also switches by itself, and remembers it per browser.
    pub polling: bool,
    /// The browser remembers that a proxy held this bridge's streams back
    /// (set by the glue from storage, not a host's knob): start on polling,
    /// as with `polling`, and try a stream again at the first Live rather
    /// than only after `probe_ms`, so a short visit finds out too.
    pub remembered_polling: bool,
    /// Light or dark colours, or `Auto` (the default): as the host's
    /// `color-scheme` says, or the system's when it says nothing.
    pub theme: Theme,
}

/// The panel's colours (see the README's "Theming").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    #[default]
    Auto,
    Light,
    Dark,
}

impl Theme {
    /// As the `theme` attribute and option spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Auto => "auto",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
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
            share_across_tabs: true,
            with_credentials: false,
            author: String::new(),
            first_byte_ms: 4_000,
            probe_ms: 300_000,
            polling: false,
            remembered_polling: false,
            theme: Theme::Auto,
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

impl Options {
    /// Sets one knob by name: `snake_case` (query strings) or `camelCase` (the JS
    /// API), e.g. `backoff_base_ms` or `backoffBaseMs`. Unknown names and values
    /// that are not numbers are errors, for the caller to report.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        // A plain loop: a `flat_map` into a `Vec` per character compiled
        // the vectors' iteration into the panel's build.
        let mut key = String::with_capacity(name.len() + 4);
        for c in name.chars() {
            if c.is_ascii_uppercase() {
                key.push('_');
            }
            key.push(c.to_ascii_lowercase());
        }
        // Each knob has a sensible range; a value outside it is an error with
        // the range in it, never silently clamped or taken as it is.
        let number = |min: u64, max: u64| -> Result<u64, String> {
            crate::number::parse_u64(value.trim())
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    let (min, max) = (digits(min), digits(max));
                    let range = [" must be a whole number from ", &min, " to ", &max].concat();
                    [name, &range, ", not \"", value, "\""].concat()
                })
        };
        match key.as_str() {
            "watchdog_factor" => {
                self.watchdog_factor = plain_decimal(value.trim())
                    .filter(|f| *f > 1.0 && *f <= 100.0)
                    .ok_or_else(|| {
                        let must = " must be a number above 1 and at most 100, not \"";
                        [name, must, value, "\""].concat()
                    })?
            }
            "initial_watchdog_ms" => self.initial_watchdog_ms = number(100, 600_000)?,
            "backoff_base_ms" => self.backoff_base_ms = number(10, 600_000)?,
            "backoff_cap_ms" => self.backoff_cap_ms = number(10, 3_600_000)?,
            "max_attempts" => self.max_attempts = number(1, 1_000)? as u32,
            "stability_window_ms" => self.stability_window_ms = number(0, 3_600_000)?,
            "history_limit" => self.history_limit = number(1, 500)? as u32,
            "page_limit" => self.page_limit = number(1, 500)? as u32,
            "max_messages" => self.max_messages = number(1, 100_000)? as usize,
            "share_across_tabs" => self.share_across_tabs = flag(name, value)?,
            "with_credentials" => self.with_credentials = flag(name, value)?,
            "first_byte_ms" => self.first_byte_ms = number(100, 600_000)?,
            "probe_ms" => self.probe_ms = number(1_000, 86_400_000)?,
            "polling" => self.polling = flag(name, value)?,
            "theme" => {
                self.theme = match value.trim() {
                    "auto" => Theme::Auto,
                    "light" => Theme::Light,
                    "dark" => Theme::Dark,
                    _ => {
                        let must = " must be light, dark or auto, not \"";
                        return Err([name, must, value, "\""].concat());
                    }
                }
            }
            "author" => {
                let author = value.trim();
                if author.chars().count() > 100 {
                    return Err([name, " must be at most 100 characters"].concat());
                }
                self.author = author.to_owned();
            }
            _ => return Err(["unknown option \"", name, "\""].concat()),
        }
        Ok(())
    }

    /// Knob names `set` accepts, in `snake_case`.
    pub const NAMES: [&'static str; 16] = [
        "watchdog_factor",
        "initial_watchdog_ms",
        "backoff_base_ms",
        "backoff_cap_ms",
        "max_attempts",
        "stability_window_ms",
        "history_limit",
        "page_limit",
        "max_messages",
        "share_across_tabs",
        "with_credentials",
        "author",
        "first_byte_ms",
        "probe_ms",
        "polling",
        "theme",
    ];
}

/// A switch: `true`, `on`, `1` or empty (a bare HTML attribute) for on.
fn flag(name: &str, value: &str) -> Result<bool, String> {
    match value.trim() {
        "true" | "on" | "1" | "" => Ok(true),
        "false" | "off" | "0" => Ok(false),
        _ => Err([name, " must be true or false, not \"", value, "\""].concat()),
    }
}

/// A plain decimal, `12` or `2.5` (up to 6 decimals), without the float
/// parser's weight in the panel's wasm: exponents, signs and the like are no
/// knob's value anyway.
fn plain_decimal(text: &str) -> Option<f64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits =
        |part: &str, max: usize| part.len() <= max && part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole, 9) || !digits(fraction, 6) || text.ends_with('.') {
        return None;
    }
    let number = |part: &str| part.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    let scale = 10u64.pow(fraction.len() as u32);
    Some(number(whole) as f64 + number(fraction) as f64 / scale as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimals_only() {
        assert_eq!(plain_decimal("2.5"), Some(2.5));
        assert_eq!(plain_decimal("3"), Some(3.0));
        assert_eq!(plain_decimal("100.000001"), Some(100.000001));
        for bad in [
            "", ".5", "5.", "1e9", "-2", "+2", "2.5.1", "inf", "NaN", "2,5", " 2",
        ] {
            assert_eq!(plain_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn knobs_are_set_by_snake_or_camel_name() {
        let mut options = Options::default();
        options.set("backoff_base_ms", "250").unwrap();
        options.set("maxAttempts", "7").unwrap();
        options.set("watchdogFactor", "3").unwrap();
        assert_eq!(
            (
                options.backoff_base_ms,
                options.max_attempts,
                options.watchdog_factor
            ),
            (250, 7, 3.0)
        );
        assert!(options
            .set("max_attempts", "many")
            .unwrap_err()
            .contains("whole number"));
        // Out of range is an error that names the range, and changes nothing.
        for (name, value) in [
            ("backoff_base_ms", "0"),
            ("max_attempts", "4294967295"),
            ("max_attempts", "0"),
            ("initial_watchdog_ms", "5"),
            ("history_limit", "501"),
            ("max_messages", "18446744073709551616"),
            ("watchdog_factor", "1e9"),
        ] {
            let before = options.clone();
            let error = options.set(name, value).unwrap_err();
            assert!(
                error.contains(name) && error.contains("from") || error.contains("at most"),
                "{error}"
            );
            assert_eq!(options, before, "{name}={value}");
        }
        assert!(options.set("watchdog_factor", "0.5").is_err());
        assert!(options
            .set("colour", "red")
            .unwrap_err()
            .contains("unknown option"));
        for name in Options::NAMES {
            let value = match name {
                "share_across_tabs" | "with_credentials" | "polling" => "off",
                "author" => "Ann",
                "probe_ms" => "60000",
                "theme" => "dark",
                _ => "100",
            };
            assert!(Options::default().set(name, value).is_ok(), "{name}");
        }
        let mut options = Options::default();
        options.set("shareAcrossTabs", "false").unwrap();
        assert!(!options.share_across_tabs);
        assert!(options.set("share_across_tabs", "maybe").is_err());
        // A bare attribute (`<discussion-panel with-credentials>`) is on.
        options.set("withCredentials", "").unwrap();
        assert!(options.with_credentials);
        options.set("theme", "light").unwrap();
        assert_eq!(options.theme, Theme::Light);
        let error = options.set("theme", "sepia").unwrap_err();
        assert!(error.contains("light, dark or auto"), "{error}");
        assert_eq!(options.theme, Theme::Light, "a bad value leaves it");
    }

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
