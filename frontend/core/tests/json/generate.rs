//! JSON texts for the differential tests, built as a tree that says how
//! each string is written (raw, short escapes, `\u` escapes, a lone
//! surrogate) and written with chosen space, so both readers meet every
//! way a bridge (or a hostile one) could write the same value.

use proptest::prelude::*;
use proptest::sample::select;

/// A JSON value as it will be written.
#[derive(Clone, Debug)]
pub enum J {
    Null,
    Bool(bool),
    /// A number's text, as written (it may be one no reader takes whole).
    Num(String),
    Str(Text),
    Arr(Vec<J>),
    /// Members in order; a key may come twice.
    Obj(Vec<(Text, J)>),
}

/// A string's characters, each with how it is written.
#[derive(Clone, Debug)]
pub struct Text(pub Vec<Piece>);

#[derive(Clone, Debug)]
pub enum Piece {
    /// As it is (escaped when JSON requires it).
    Raw(char),
    /// `\n`, `\"`, `\/`… where there is a short escape, else `\u`.
    Short(char),
    /// `\uXXXX`, or a surrogate pair past the basic plane.
    Unicode(char),
    /// `\uXXXX` of one surrogate, alone.
    Lone(u16),
}

impl Text {
    pub fn plain(text: &str) -> Text {
        Text(text.chars().map(Piece::Raw).collect())
    }
}

impl J {
    pub fn str(text: &str) -> J {
        J::Str(Text::plain(text))
    }

    pub fn num(text: &str) -> J {
        J::Num(text.to_owned())
    }

    /// The JSON text, with `space` around every token.
    pub fn write(&self, space: &str) -> String {
        let mut out = String::new();
        self.write_into(&mut out, space);
        out
    }

    fn write_into(&self, out: &mut String, space: &str) {
        out.push_str(space);
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => out.push_str(n),
            J::Str(text) => write_text(text, out),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_into(out, space);
                }
                out.push_str(space);
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(space);
                    write_text(key, out);
                    out.push_str(space);
                    out.push(':');
                    value.write_into(out, space);
                }
                out.push_str(space);
                out.push('}');
            }
        }
        out.push_str(space);
    }
}

fn unicode(code: u32, out: &mut String) {
    // Upper and lower case hex digits both occur.
    if code.is_multiple_of(2) {
        out.push_str(&format!("\\u{code:04x}"));
    } else {
        out.push_str(&format!("\\u{code:04X}"));
    }
}

fn write_text(text: &Text, out: &mut String) {
    out.push('"');
    for piece in &text.0 {
        match *piece {
            Piece::Raw(c @ ('"' | '\\' | '\u{0}'..='\u{1f}')) | Piece::Short(c) => match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '/' => out.push_str("\\/"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => unicode(c as u32, out),
                c => out.push(c),
            },
            Piece::Raw(c) => out.push(c),
            Piece::Unicode(c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    unicode(u32::from(*unit), out);
                }
            }
            Piece::Lone(unit) => unicode(u32::from(unit), out),
        }
    }
    out.push('"');
}

/// Characters worth writing: plain, needing escapes, multi-byte, past the
/// basic plane.
fn character() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => select(vec!['a', 'Z', '0', '9', ' ', '<', '@', '#', '|', ',']),
        2 => select(vec!['"', '\\', '/', '\n', '\t', '\r', '\u{8}', '\u{c}', '\u{1}', '\u{1f}']),
        2 => select(vec!['é', '€', '\u{7f}', '\u{80}', '\u{7ff}', '\u{800}', '\u{ffff}', '\u{fffd}']),
        1 => select(vec!['😀', '𝄞', '\u{10000}', '\u{10ffff}']),
    ]
}

fn piece(lone: u32) -> impl Strategy<Value = Piece> {
    prop_oneof![
        8 => character().prop_map(Piece::Raw),
        2 => character().prop_map(Piece::Short),
        2 => character().prop_map(Piece::Unicode),
        lone => select(vec![0xD800u16, 0xDBFF, 0xDC00, 0xDFFF, 0xD83D]).prop_map(Piece::Lone),
    ]
}

/// A string; `lone`: the weight of a lone surrogate among its pieces.
pub fn text(lone: u32) -> impl Strategy<Value = Text> {
    prop::collection::vec(piece(lone), 0..8).prop_map(Text)
}

/// A number as written: the edges of the integer types, fractions,
/// exponents, past `f64`'s range.
pub fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec![
            "0", "-0", "7", "-3", "42", "4294967295", "4294967296", "18446744073709551615",
            "18446744073709551616", "-9223372036854775808", "-9223372036854775809",
            "123456789012345678901234567890", "2.5", "-2.5", "0.5", "1.0", "-0.0", "1e3",
            "1E+3", "2.5e-1", "5e0", "1e400", "-1e400", "1e-400", "4294967295.5", "0.0001e4",
        ])
        .prop_map(str::to_owned),
        2 => (any::<bool>(), 1u32..12, prop::option::of(1u32..7), prop::option::of(-30i32..30))
            .prop_map(|(negative, digits, fraction, exponent)| {
                let mut n = String::from(if negative { "-" } else { "" });
                n.push_str(&"1234567890".repeat(2)[..digits as usize]);
                if let Some(f) = fraction {
                    n.push('.');
                    n.push_str(&"0950".repeat(2)[..f as usize]);
                }
                if let Some(e) = exponent {
                    n.push_str(&format!("e{e}"));
                }
                n
            }),
    ]
}

/// A count as bridges write it, where both readers agree: never past
/// `f64`'s range, and never so many digits that `f64` rounds across a
/// whole number (two of the documented differences).
pub fn count() -> impl Strategy<Value = J> {
    prop_oneof![
        3 => (0u64..20).prop_map(|n| J::Num(n.to_string())),
        1 => select(vec![
            "4294967295", "4294967296", "99999999999", "-3", "-0", "2.5", "2.999", "0.5",
            "1e3", "1.5E2", "25e-1", "1e12", "1e-5", "123456789012345678901234567890",
            "4294967295.5", "-1e5", "0.001e3",
        ])
        .prop_map(J::num),
    ]
}

/// Any value, nested a few levels.
pub fn value() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        number().prop_map(J::Num),
        text(1).prop_map(J::Str),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(J::Arr),
            prop::collection::vec((text(1), inner), 0..5).prop_map(J::Obj),
        ]
    })
}

/// The space written around tokens.
pub fn space() -> impl Strategy<Value = &'static str> {
    select(vec!["", "", " ", "\n", " \t\r\n"])
}

/// `text` perhaps broken: cut short, a character dropped, or one put in.
pub fn mutate(text: String) -> impl Strategy<Value = String> {
    let length = text.chars().count();
    (
        0..4u8,
        0..=length,
        select(vec![
            '{', '}', '[', ']', ',', ':', '"', '\\', ' ', '0', 'a', '-', '.',
        ]),
    )
        .prop_map(move |(how, at, c)| {
            let mut chars: Vec<char> = text.chars().collect();
            match how {
                0 => chars.truncate(at),
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                2 => chars.insert(at, c),
                _ => {}
            }
            chars.into_iter().collect()
        })
}
