//! Typed reads of a checked [`Value`]: each names what it read in its
//! refusal, so the console line says which field was wrong.

use super::{checked_string_end, hex4, skip_space, value_end, Error, Value, MAX_FIELDS};
use std::borrow::Cow;
use std::cell::Cell;

impl<'a> Value<'a> {
    /// Its text as it came (a string with its quotes and escapes).
    pub fn raw(self) -> &'a str {
        self.0
    }

    pub fn is_null(self) -> bool {
        self.0 == "null"
    }

    /// A string's text: borrowed, or unescaped when it has escapes. An
    /// unpaired UTF-16 surrogate (`"\ud800"`) is refused, as serde_json
    /// refuses it in text it reads.
    pub fn str(self, what: &str) -> Result<Cow<'a, str>, Error> {
        let Some(inner) = self.0.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
            return Err(Error::not(what, "a string"));
        };
        if !inner.as_bytes().contains(&b'\\') {
            return Ok(Cow::Borrowed(inner));
        }
        unescape(inner)
            .map(Cow::Owned)
            .ok_or_else(|| Error::not(what, "a string of whole characters (a lone surrogate)"))
    }

    pub fn string(self, what: &str) -> Result<String, Error> {
        self.str(what).map(Cow::into_owned)
    }

    pub fn bool(self, what: &str) -> Result<bool, Error> {
        match self.0 {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(Error::not(what, "true or false")),
        }
    }

    /// A whole number from 0 to `u64::MAX`, written as a JSON number
    /// without fraction or exponent (what serde_json reads as a `u64`).
    pub fn u64(self, what: &str) -> Result<u64, Error> {
        digits(self.0).ok_or_else(|| Error::not(what, "a whole number from 0 to 2^64-1"))
    }

    /// A `u64` written as a string of decimal digits: how the bridge sends
    /// ids, which a JavaScript number could not hold.
    pub fn decimal(self, what: &str) -> Result<u64, Error> {
        digits(&self.str(what)?).ok_or_else(|| Error::not(what, "a u64 in decimal digits"))
    }

    /// Any number as a `u32`, as Rust's `as` makes one of an `f64`: the
    /// fraction cut, a negative 0, past the range `u32::MAX` (computed on
    /// the decimal digits, so no float parsing is compiled in).
    pub fn saturated_u32(self, what: &str) -> Result<u32, Error> {
        match self.0.as_bytes().first() {
            Some(b'-') => Ok(0),
            Some(b'0'..=b'9') => Ok(saturated(self.0.as_bytes())),
            _ => Err(Error::not(what, "a number")),
        }
    }

    /// The items of an array.
    pub fn array(self, what: &str) -> Result<Items<'a>, Error> {
        match self.0.starts_with('[') {
            true => Ok(Items {
                text: self.0,
                at: 1,
            }),
            false => Err(Error::not(what, "an array")),
        }
    }

    /// The members of an object, in their order, keys not yet read.
    pub fn object(self, what: &str) -> Result<Members<'a>, Error> {
        match self.0.starts_with('{') {
            true => Ok(Members {
                text: self.0,
                at: 1,
            }),
            false => Err(Error::not(what, "an object")),
        }
    }

    /// The members of an object named in `names`, found in one pass over
    /// it; the others are skipped. Every key is read (unescaped, checked),
    /// and a name found twice is refused: both as serde_json does for a
    /// struct's fields. Names past the sixteenth are never found.
    pub fn fields(self, what: &str, names: &'static [&'static str]) -> Result<Fields<'a>, Error> {
        debug_assert!(names.len() <= MAX_FIELDS, "{what}: more names than slots");
        let mut found = [None; MAX_FIELDS];
        for (key, value) in self.object(what)? {
            let key = key.str("a key")?;
            let Some(slot) = names.iter().position(|name| *name == key) else {
                continue;
            };
            match found.get_mut(slot) {
                Some(Some(_)) => return Err(Error::new(&["duplicate field `", &key, "`"])),
                Some(empty) => *empty = Some(value),
                None => {}
            }
        }
        let refused = Cell::new(None);
        Ok(Fields {
            names,
            found,
            refused,
        })
    }
}

/// A `u64` from plain decimal digits (no sign, no space), else none.
fn digits(text: &str) -> Option<u64> {
    crate::message::decimal(text)
}

/// The integer part of the non-negative JSON number `number`, saturated
/// to a `u32`. The digits of its integer part and fraction are one run,
/// the exponent moves the point within it.
fn saturated(number: &[u8]) -> u32 {
    let (mantissa, exponent) = match number.iter().position(|b| matches!(b, b'e' | b'E')) {
        Some(e) => (number.get(..e).unwrap_or_default(), number.get(e + 1..)),
        None => (number, None),
    };
    let point = mantissa.iter().position(|&b| b == b'.');
    let mut shift = exponent.map_or(0, |e| {
        // A bound far past any point that matters keeps this from overflowing.
        let size = e
            .iter()
            .filter(|b| b.is_ascii_digit())
            .fold(0i64, |n, &d| (n * 10 + i64::from(d - b'0')).min(1 << 40));
        if e.first() == Some(&b'-') {
            -size
        } else {
            size
        }
    });
    shift += point.unwrap_or(mantissa.len()) as i64;
    let mut value = 0u64;
    for &digit in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if shift <= 0 {
            break;
        }
        shift -= 1;
        value = value * 10 + u64::from(digit - b'0');
        if value > u64::from(u32::MAX) {
            return u32::MAX;
        }
    }
    // Zeros past the digits: only a value above zero can grow.
    while value > 0 && shift > 0 {
        shift -= 1;
        value *= 10;
        if value > u64::from(u32::MAX) {
            return u32::MAX;
        }
    }
    value as u32
}

/// The text of a string with escapes, or none on an unpaired surrogate.
fn unescape(mut rest: &str) -> Option<String> {
    let mut out = String::with_capacity(rest.len());
    while let Some(slash) = rest.as_bytes().iter().position(|&b| b == b'\\') {
        out.push_str(rest.get(..slash)?);
        let bytes = rest.as_bytes();
        let (code, length) = match *bytes.get(slash + 1)? {
            b'u' => match hex4(bytes, slash + 2)? {
                high @ 0xD800..=0xDBFF => {
                    if bytes.get(slash + 6..slash + 8)? != b"\\u" {
                        return None;
                    }
                    let low = hex4(bytes, slash + 8)?;
                    if !(0xDC00..=0xDFFF).contains(&low) {
                        return None;
                    }
                    (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), 12)
                }
                0xDC00..=0xDFFF => return None,
                code => (code, 6),
            },
            b'b' => (0x8, 2),
            b'f' => (0xC, 2),
            b'n' => (0xA, 2),
            b'r' => (0xD, 2),
            b't' => (0x9, 2),
            other => (u32::from(other), 2),
        };
        out.push(char::from_u32(code)?);
        rest = rest.get(slash + length..)?;
    }
    out.push_str(rest);
    Some(out)
}

/// The items of a checked array, each a [`Value`].
#[derive(Clone, Debug)]
pub struct Items<'a> {
    /// The array's text, brackets included.
    text: &'a str,
    /// Where the next item (or the closing bracket) begins, or space before it.
    at: usize,
}

impl Items<'static> {
    /// No items: an array member that is absent.
    pub const EMPTY: Items<'static> = Items { text: "[]", at: 1 };
}

impl<'a> Iterator for Items<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        let bytes = self.text.as_bytes();
        let at = skip_space(bytes, self.at);
        if matches!(bytes.get(at), None | Some(b']')) {
            self.at = at;
            return None;
        }
        let end = value_end(bytes, at);
        let after = skip_space(bytes, end);
        self.at = after + usize::from(bytes.get(after) == Some(&b','));
        self.text.get(at..end).map(Value)
    }
}

/// The members of a checked object: each key (a string [`Value`]) and value.
#[derive(Clone, Debug)]
pub struct Members<'a> {
    /// The object's text, braces included.
    text: &'a str,
    /// Where the next key (or the closing brace) begins, or space before it.
    at: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (Value<'a>, Value<'a>);

    fn next(&mut self) -> Option<(Value<'a>, Value<'a>)> {
        let bytes = self.text.as_bytes();
        let at = skip_space(bytes, self.at);
        if matches!(bytes.get(at), None | Some(b'}')) {
            self.at = at;
            return None;
        }
        let key_end = checked_string_end(bytes, at);
        // Past the colon.
        let value_at = skip_space(bytes, skip_space(bytes, key_end) + 1);
        let end = value_end(bytes, value_at);
        let after = skip_space(bytes, end);
        self.at = after + usize::from(bytes.get(after) == Some(&b','));
        let key = self.text.get(at..key_end)?;
        self.text
            .get(value_at..end)
            .map(|value| (Value(key), Value(value)))
    }
}

/// The members of an object that [`Value::fields`] looked for, read one
/// by one. A read that is refused gives a default and keeps the refusal
/// (the first one) for [`Fields::done`]: reading on past it makes no early
/// return per field, each of which would drop what was read so far in a
/// copy of its own in the wasm.
pub struct Fields<'a> {
    /// The names looked for.
    names: &'static [&'static str],
    /// What was found for each name, in the order of `names`.
    found: [Option<Value<'a>>; MAX_FIELDS],
    /// The first read refused.
    refused: Cell<Option<Error>>,
}

impl<'a> Fields<'a> {
    /// The member `name`, null included; none when absent.
    pub fn get(&self, name: &str) -> Option<Value<'a>> {
        let slot = self.names.iter().position(|n| *n == name)?;
        *self.found.get(slot)?
    }

    /// The member `name` unless absent or null (an `Option` field's none).
    pub fn optional(&self, name: &str) -> Option<Value<'a>> {
        self.get(name).filter(|value| !value.is_null())
    }

    /// The member `name`, which must be there (null is there: it is then
    /// refused by the read that wanted something else).
    pub fn required(&self, name: &str) -> Result<Value<'a>, Error> {
        self.get(name).ok_or_else(|| Error::missing(name))
    }

    /// What `read` read; after a refusal, the default (the refusal kept).
    pub fn take<T: Default>(&self, read: Result<T, Error>) -> T {
        read.unwrap_or_else(|error| {
            self.refuse(error);
            T::default()
        })
    }

    fn refuse(&self, error: Error) {
        let first = self.refused.take().unwrap_or(error);
        self.refused.set(Some(first));
    }

    /// `value` when every read took, else the first refusal.
    pub fn done<T>(self, value: T) -> Result<T, Error> {
        match self.refused.into_inner() {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }

    pub fn string(&self, name: &str) -> String {
        self.take(self.required(name).and_then(|v| v.string(name)))
    }

    pub fn optional_string(&self, name: &str) -> Option<String> {
        self.take(self.optional(name).map(|v| v.string(name)).transpose())
    }

    pub fn optional_bool(&self, name: &str) -> Option<bool> {
        self.take(self.optional(name).map(|v| v.bool(name)).transpose())
    }

    /// An array member, empty when absent (null is not an array: a
    /// derived `Vec` field's rule).
    pub fn list(&self, name: &str) -> Items<'a> {
        self.take(self.get(name).map_or(Ok(Items::EMPTY), |v| v.array(name)))
    }

    /// An array member, empty when absent or null (an `Option<Vec>`
    /// field's rule).
    pub fn optional_list(&self, name: &str) -> Items<'a> {
        self.take(
            self.optional(name)
                .map_or(Ok(Items::EMPTY), |v| v.array(name)),
        )
    }
}

impl Default for Items<'_> {
    fn default() -> Self {
        Items::EMPTY
    }
}

/// Every item of `items`, read by `read`, or the first refusal.
pub fn collect<'a, T>(
    items: Items<'a>,
    read: fn(Value<'a>) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    for item in items {
        out.push(read(item)?);
    }
    Ok(out)
}
