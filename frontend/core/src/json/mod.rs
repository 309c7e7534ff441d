//! The panel's one JSON reader: what the bridge sends is checked whole in
//! one pass, then read field by field from the checked text, borrowing it.
//!
//! Not serde_json: every type serde reads is its own copy of the
//! deserialiser in the panel's wasm (about 31 KB of it, before wasm-opt).
//! Here one checker, one skipper and a few typed reads serve every payload,
//! none of them generic over what is read.
//!
//! It reads as serde_json reads (the host tests compare them), with four
//! differences, each on input no bridge sends:
//! - nesting deeper than [`MAX_DEPTH`] is refused everywhere (serde_json
//!   refused it only in what it read, and skipped any depth elsewhere);
//! - a number read as a count is saturated whatever its size (serde_json
//!   refused one past `f64`'s range, `1e400`);
//! - an array in place of an object is refused (serde_json read a struct's
//!   fields from an array, in order);
//! - a count's fraction is cut from its decimal digits, where serde_json
//!   rounded it to the nearest `f64` first: `1.9999999999999999999` (more
//!   digits than an `f64` holds) counts 1, where it counted 2.
//!
//! Nothing here panics or indexes out of bounds, whatever the text: every
//! read of the checked text goes through `get`.

use crate::number::digits;
use std::fmt;

mod read;

pub use read::{collect, Fields, Items, Members};

/// The deepest nesting of arrays and objects read (serde_json's own limit).
pub const MAX_DEPTH: usize = 127;

/// The most fields [`Value::fields`] looks for in one object.
const MAX_FIELDS: usize = 16;

/// A JSON value: a slice of a text [`parse`] checked, without the space
/// around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value<'a>(&'a str);

/// Why a text was not read: a sentence for the console line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    fn new(parts: &[&str]) -> Error {
        Error(parts.concat())
    }

    /// `what` (a field, or the whole text when empty) is not a `kind`.
    fn not(what: &str, kind: &str) -> Error {
        if what.is_empty() {
            Error::new(&["not ", kind])
        } else {
            Error::new(&["`", what, "` is not ", kind])
        }
    }

    /// `value` is not one of the `what`s the panel knows.
    pub fn unknown(what: &str, value: &str) -> Error {
        Error::new(&["unknown ", what, " \"", value, "\""])
    }

    /// A field the reader needs is absent.
    pub fn missing(field: &str) -> Error {
        Error::new(&["missing field `", field, "`"])
    }
}

/// A syntax error: what was wrong, and where.
fn syntax(what: &str, at: usize) -> Error {
    Error::new(&[what, " at byte ", &digits(at as u64)])
}

impl Error {
    /// Its sentence, moved out (no formatting machinery: `to_string` wrote
    /// it again through `Display`).
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Checks that `text` is one JSON value (space around it allowed), and
/// returns it. The check is iterative: nesting costs one bit of a `u128`
/// per level, never stack.
pub fn parse(text: &str) -> Result<Value<'_>, Error> {
    let bytes = text.as_bytes();
    let start = skip_space(bytes, 0);
    let mut at = start;
    // Bit `d` says whether the container at depth `d + 1` is an object.
    let mut objects = 0u128;
    let mut depth = 0;
    loop {
        at = skip_space(bytes, at);
        match bytes.get(at) {
            Some(&open @ (b'{' | b'[')) => {
                if depth == MAX_DEPTH {
                    return Err(syntax("nested deeper than 127 levels", at));
                }
                let object = open == b'{';
                objects = objects & !(1 << depth) | (u128::from(object) << depth);
                depth += 1;
                at = skip_space(bytes, at + 1);
                if bytes.get(at) == Some(if object { &b'}' } else { &b']' }) {
                    at += 1;
                    depth -= 1;
                } else {
                    if object {
                        at = past_key(bytes, at)?;
                    }
                    continue;
                }
            }
            Some(b'"') => at = string_end(bytes, at)?,
            Some(b'-' | b'0'..=b'9') => at = number_end(bytes, at)?,
            Some(b't') => at = word_end(bytes, at, "true")?,
            Some(b'f') => at = word_end(bytes, at, "false")?,
            Some(b'n') => at = word_end(bytes, at, "null")?,
            Some(_) => return Err(syntax("expected a value", at)),
            None => return Err(syntax("the text ends where a value should be", at)),
        }
        // After a value: close what ends here, or go on past a comma.
        loop {
            if depth == 0 {
                let end = at;
                at = skip_space(bytes, at);
                return match (at == bytes.len(), text.get(start..end)) {
                    (true, Some(value)) => Ok(Value(value)),
                    _ => Err(syntax("trailing characters", at)),
                };
            }
            at = skip_space(bytes, at);
            let object = objects >> (depth - 1) & 1 == 1;
            match (bytes.get(at), object) {
                (Some(b','), _) => {
                    at += 1;
                    if object {
                        at = past_key(bytes, skip_space(bytes, at))?;
                    }
                    break;
                }
                (Some(b']'), false) | (Some(b'}'), true) => {
                    at += 1;
                    depth -= 1;
                }
                (None, _) => return Err(syntax("the text ends inside an array or object", at)),
                (_, true) => return Err(syntax("expected `,` or `}`", at)),
                (_, false) => return Err(syntax("expected `,` or `]`", at)),
            }
        }
    }
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        at += 1;
    }
    at
}

/// Past a member's key and its colon; `at` is where the key should begin.
fn past_key(bytes: &[u8], at: usize) -> Result<usize, Error> {
    if bytes.get(at) != Some(&b'"') {
        return Err(syntax("expected a key", at));
    }
    let at = skip_space(bytes, string_end(bytes, at)?);
    match bytes.get(at) {
        Some(b':') => Ok(at + 1),
        _ => Err(syntax("expected `:`", at)),
    }
}

/// Past the string that begins at `at`, checking its escapes' syntax (their
/// surrogates are checked when the string is read: a string skipped may
/// hold any, as with serde_json).
fn string_end(bytes: &[u8], mut at: usize) -> Result<usize, Error> {
    at += 1;
    loop {
        match bytes.get(at) {
            Some(b'"') => return Ok(at + 1),
            Some(b'\\') => match bytes.get(at + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => at += 2,
                Some(b'u') if hex4(bytes, at + 2).is_some() => at += 6,
                Some(_) => return Err(syntax("an invalid escape", at)),
                None => return Err(syntax("the text ends inside a string", at)),
            },
            Some(0..=0x1f) => return Err(syntax("a control character in a string", at)),
            Some(_) => at += 1,
            None => return Err(syntax("the text ends inside a string", at)),
        }
    }
}

/// The four hex digits at `at`, as a number.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    digits.iter().try_fold(0, |n, &d| {
        let d = char::from(d).to_digit(16)?;
        Some(n << 4 | d)
    })
}

fn digits_end(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    at
}

/// Past the number that begins at `at`: `-`? (`0` | [1-9][0-9]*)
/// (`.` [0-9]+)? ([eE] [+-]? [0-9]+)?
fn number_end(bytes: &[u8], mut at: usize) -> Result<usize, Error> {
    let begins = at;
    at += usize::from(bytes.get(at) == Some(&b'-'));
    at = match bytes.get(at) {
        Some(b'0') => at + 1,
        Some(b'1'..=b'9') => digits_end(bytes, at),
        _ => return Err(syntax("an invalid number", begins)),
    };
    if bytes.get(at) == Some(&b'.') {
        let end = digits_end(bytes, at + 1);
        if end == at + 1 {
            return Err(syntax("an invalid number", begins));
        }
        at = end;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        at += usize::from(matches!(bytes.get(at), Some(b'+' | b'-')));
        let end = digits_end(bytes, at);
        if end == at {
            return Err(syntax("an invalid number", begins));
        }
        at = end;
    }
    Ok(at)
}

fn word_end(bytes: &[u8], at: usize, word: &str) -> Result<usize, Error> {
    match bytes.get(at..at + word.len()) {
        Some(found) if found == word.as_bytes() => Ok(at + word.len()),
        _ => Err(syntax("expected a value", at)),
    }
}

/// The end of the checked value that begins at `at`.
fn value_end(bytes: &[u8], mut at: usize) -> usize {
    match bytes.get(at) {
        Some(b'"') => checked_string_end(bytes, at),
        Some(b'[' | b'{') => {
            let mut depth = 0usize;
            loop {
                match bytes.get(at) {
                    Some(b'"') => {
                        at = checked_string_end(bytes, at);
                        continue;
                    }
                    Some(b'[' | b'{') => depth += 1,
                    Some(b']' | b'}') => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return at + 1;
                        }
                    }
                    Some(_) => {}
                    None => return at,
                }
                at += 1;
            }
        }
        _ => {
            while !matches!(
                bytes.get(at),
                None | Some(b',' | b']' | b'}' | b':' | b' ' | b'\n' | b'\r' | b'\t')
            ) {
                at += 1;
            }
            at
        }
    }
}

/// The end of a checked string: its escapes need no second look.
fn checked_string_end(bytes: &[u8], mut at: usize) -> usize {
    at += 1;
    loop {
        match bytes.get(at) {
            Some(b'"') => return at + 1,
            Some(b'\\') => at += 2,
            Some(_) => at += 1,
            None => return at,
        }
    }
}
