//! Discord's tokens (`<@id>`, `<#id>`, `<:name:id>`, `<t:unix:style>`),
//! read from what is between `<` and `>`, every number in them checked.

use super::{Event, Mention, MAX_UNIX};

/// Discord's tokens, given what is between `<` and `>`: `@id`, `@!id`,
/// `@&id`, `#id`, `:name:id`, `a:name:id`, `t:unix`, `t:unix:style`.
pub(super) fn token(inner: &str) -> Option<Event<'_>> {
    fn mention(kind: Mention, id: &str) -> Option<Event<'_>> {
        digits(id).then_some(Event::Mention(kind, id))
    }
    if let Some(id) = inner.strip_prefix("@&") {
        mention(Mention::Role, id)
    } else if let Some(id) = inner.strip_prefix('@') {
        mention(Mention::User, id.strip_prefix('!').unwrap_or(id))
    } else if let Some(id) = inner.strip_prefix('#') {
        mention(Mention::Channel, id)
    } else if let Some(time) = inner.strip_prefix("t:") {
        let (unix, style) = match time.split_once(':') {
            Some((unix, style))
                if style.len() == 1 && b"tTdDfFR".contains(&style.as_bytes()[0]) =>
            {
                (unix, style.as_bytes()[0])
            }
            Some(_) => return None,
            None => (time, b'f'),
        };
        Some(Event::Time(seconds(unix)?, style))
    } else {
        // `:name:` is kept with its colons: what the emoji shows.
        let emoji = inner.strip_prefix('a').unwrap_or(inner);
        let name_len = emoji.get(1..)?.find(':')?;
        let (shown, id) = emoji.split_at(name_len + 2);
        let name = &shown[1..name_len + 1];
        let named = (1..=32).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        (emoji.starts_with(':') && named && digits(id)).then_some(Event::Emoji(shown))
    }
}

/// An id: 1 to 20 digits (kept as text, never read as a number).
fn digits(s: &str) -> bool {
    (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// A whole number of seconds a JavaScript date holds, or nothing. Checked
/// arithmetic: a number past `i64` is refused, never wrapped into range
/// (`-9223372036854775808`).
fn seconds(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    let value = if negative { -value } else { value };
    (-MAX_UNIX..=MAX_UNIX).contains(&value).then_some(value)
}
