//! Inline markup: the rules that match at a position of a run of text,
//! over bytes. Every rule starts with an ASCII byte, so a position where one
//! matches is a character boundary, and the slices taken there are too.

use super::tokens::token;
use super::{allowed, seek, Event, Found, Parser, Tag, MAX_DEPTH, MAX_TOKENS};

impl<'a> Parser<'a> {
    /// Inline markup of a run of text (or of a marker's content) at
    /// `depth` styles deep.
    pub(super) fn inline(&mut self, s: &'a str, depth: usize) {
        let b = s.as_bytes();
        // Text from `from` to `i` is pending.
        let (mut i, mut from) = (0, 0);
        let mut ahead = Ahead::default();
        while i < b.len() && self.stop.is_none() {
            // A backslash makes the symbol after it text (the rest of a
            // character beyond ASCII starts no rule either).
            let symbol = |c: &u8| !c.is_ascii_alphanumeric() && !c.is_ascii_whitespace();
            if b[i] == b'\\' && b.get(i + 1).is_some_and(symbol) {
                self.text(&s[from..i]);
                from = i + 1;
                i += 2;
                continue;
            }
            let Some((found, used)) = self.rule(s, i, depth, &mut ahead) else {
                // (A run of backticks that nothing closes is text as a
                // whole: no shorter part of it can be closed either, and
                // `Ahead::no_code` says so at once.)
                i += 1;
                continue;
            };
            self.text(&s[from..i]);
            // Past the cap, the rest of the message is text.
            if !self.room(2) {
                return self.halt(&s[i..]);
            }
            match found {
                Found::Leaf(event) => self.push(event),
                Found::Url(href) => {
                    self.push(Event::Open(Tag::Link(href)));
                    self.push(Event::Text(href));
                    self.push(Event::Close);
                }
                Found::Wrap(tag, inner) => {
                    let in_link = self.in_link;
                    self.in_link |= matches!(tag, Tag::Link(_));
                    self.push(Event::Open(tag));
                    self.inline(inner, depth + 1);
                    self.push(Event::Close);
                    self.in_link = in_link;
                }
            }
            i += used;
            from = i;
        }
        self.text(&s[from..]);
    }

    /// The rule that matches at byte `i` of `s`, if one does: what it found
    /// and the bytes it took. Every rule starts with an ASCII byte, so `i`
    /// is then a character boundary.
    fn rule(
        &mut self,
        s: &'a str,
        i: usize,
        depth: usize,
        ahead: &mut Ahead,
    ) -> Option<(Found<'a>, usize)> {
        let all = s.as_bytes();
        let b = &all[i..];
        let styles = depth < MAX_DEPTH;
        let wrap = |tag, marks: usize, len: usize| {
            let inner = &s[i + marks..i + marks + len];
            (Found::Wrap(tag, inner), 2 * marks + len)
        };
        match b[0] {
            b'*' | b'_' if styles => {
                let (em, strong) = match b[0] {
                    b'*' => (em_star(b), Tag::Strong),
                    _ => (em_under(b), Tag::Underline),
                };
                let double = (b.get(1) == Some(&b[0]))
                    .then(|| doubled(b, b[0], true, Some(b[0])))
                    .flatten();
                // The longer reading wins; italic wins a tie.
                match (em, double) {
                    (em, Some(len)) if em.is_none_or(|em| len + 2 > em) => {
                        Some(wrap(strong, 2, len))
                    }
                    (Some(len), _) => Some(wrap(Tag::Em, 1, len)),
                    _ => None,
                }
            }
            b'~' if styles && !ahead.no_strike && b.starts_with(b"~~") => {
                let len = doubled(b, b'~', false, Some(b'_'));
                // None closes from here: none closes from further on either.
                ahead.no_strike = len.is_none();
                len.map(|len| wrap(Tag::Strike, 2, len))
            }
            // A spoiler hides at any depth, in a link's text too (a click
            // on it reveals it and follows nothing); not inside one.
            b'|' if !self.in_spoiler && b.starts_with(b"||") => {
                doubled(b, b'|', false, None).map(|len| wrap(Tag::Spoiler(false), 2, len))
            }
            b'`' => code_span(b, &mut ahead.no_code).map(|(marks, len)| {
                let code = &s[i + marks..i + marks + len];
                (Found::Leaf(Event::Code(code)), 2 * marks + len)
            }),
            b'[' if !self.in_link => {
                // `[label](href)`: the first `]` ends the label.
                let close = find(all, i + 1, b']', &mut ahead.next[0])? - i;
                let from = i + close + 2;
                // An address (`h…` or `m…`) and a `)` somewhere after: cheap
                // refusals first.
                let scheme = all.get(from).map(|c| c | 0x20);
                if b.get(close + 1) != Some(&b'(') || !matches!(scheme, Some(b'h' | b'm')) {
                    return None;
                }
                find(all, from, b')', &mut ahead.next[1])?;
                let end = from + href(&all[from..])?;
                let (label, href) = (&s[i + 1..i + close], &s[from..end]);
                let newline = find(all, i + 1, b'\n', &mut ahead.next[3]);
                let one_line = newline.is_none_or(|n| n > i + close);
                // A label that holds an address could pose as another, and
                // one with a bidi control could turn into one on screen
                // ("\u{202e}moc.knab//:sptth"): then it is no masked link,
                // and each address reads as itself.
                let posing = seek(label.as_bytes(), b"://").is_some() || turns(label);
                (!label.is_empty() && one_line && !posing && allowed(href))
                    .then_some((Found::Wrap(Tag::Link(href), label), end + 1 - i))
            }
            b'<' => {
                let end = find(all, i + 1, b'>', &mut ahead.next[2])? - i;
                let inner = &s[i + 1..i + end];
                if !self.in_link && allowed(inner) {
                    return Some((Found::Url(inner), end + 1));
                }
                // A token is short (`<a:` and a name of 32, `:` and an id of
                // 20): a longer one is not looked into.
                if self.tokens == MAX_TOKENS || end > 64 {
                    return None;
                }
                let event = token(inner)?;
                self.tokens += 1;
                Some((Found::Leaf(event), end + 1))
            }
            b'h' if !self.in_link && (i == 0 || !is_word(s.as_bytes()[i - 1])) => {
                bare_url(b).map(|end| (Found::Url(&s[i..i + end]), end))
            }
            _ => None,
        }
    }
}

/// What the rules learned of a run of inline text ahead of its position,
/// so that a run of openers that nothing closes costs one search, not one
/// each (4,000 `[` took 6 ms).
#[derive(Default)]
struct Ahead {
    /// Where the next `]`, `)`, `>` and newline are (see [`find`]).
    next: [usize; 4],
    /// No `~~` closes a strike from here on.
    no_strike: bool,
    /// No run of backticks this long or shorter closes inline code from
    /// here on (see [`code_span`]).
    no_code: usize,
}

/// The first `byte` at or after `from` in `b`, remembered in `seen`: the
/// first one after a position is also the first after any position before
/// it. `seen` is where the last search ended (`b.len()` when it found
/// none); 0 before the first (every search starts past 0).
fn find(b: &[u8], from: usize, byte: u8, seen: &mut usize) -> Option<usize> {
    if *seen < from {
        *seen = (b[from..].iter().position(|c| *c == byte)).map_or(b.len(), |n| from + n);
    }
    (*seen < b.len()).then_some(*seen)
}

/// Whether a byte belongs to a word: an ASCII letter or digit, or part of a
/// character beyond ASCII.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// `**…**`, `__…__`, `~~…~~` or `||…||` at the start of `b` (its mark
/// doubled): the length of the content up to the first doubled mark that
/// closes it (not followed by `not`), with at least one byte between.
/// With `escapes`, a backslash and the byte after it never close.
fn doubled(b: &[u8], mark: u8, escapes: bool, not: Option<u8>) -> Option<usize> {
    let mut k = 2;
    loop {
        k += if escapes && b.get(k) == Some(&b'\\') {
            2
        } else {
            1
        };
        if k + 1 >= b.len() {
            return None;
        }
        if b[k] == mark && b[k + 1] == mark && b.get(k + 2).is_none_or(|c| Some(*c) != not) {
            return Some(k - 2);
        }
    }
}

/// `*italic*` at the start of `b`: the content's length. It starts with no
/// space, holds no single `*` (a `**` pair may be inside: a bold in the
/// italic), and ends with neither a space nor a `*` before its `*`.
fn em_star(b: &[u8]) -> Option<usize> {
    let mut k = 1;
    loop {
        // One piece: after the first, spaces and what follows them.
        if k > 1 {
            k += b[k..]
                .iter()
                .take_while(|c| c.is_ascii_whitespace())
                .count();
        }
        k += match *b.get(k)? {
            b'*' if b.get(k + 1) == Some(&b'*') => 2,
            b'\\' if k + 1 < b.len() => 2,
            b'*' | b'\\' => return None,
            c if c.is_ascii_whitespace() => return None,
            _ => 1,
        };
        if b.get(k) == Some(&b'*') && b.get(k + 1) != Some(&b'*') {
            return Some(k - 1);
        }
    }
}

/// `_italic_` at the start of `b`: the content's length. It holds no single
/// `_`, and its closing `_` ends a word (what follows is no letter, digit
/// or `_`): `snake_case_name` is no italic.
fn em_under(b: &[u8]) -> Option<usize> {
    let mut k = 1;
    loop {
        k += match *b.get(k)? {
            b'_' if b.get(k + 1) == Some(&b'_') => 2,
            b'\\' if k + 1 < b.len() => 2,
            b'_' | b'\\' => return None,
            _ => 1,
        };
        let word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
        if b.get(k) == Some(&b'_') && !b.get(k + 1).is_some_and(word) {
            return Some(k - 1);
        }
    }
}

/// Inline code at the start of `b`: a run of backticks, the code, and a run
/// of as many. As Discord (and a regular expression) reads it, the longest
/// opening run that a later run of the same length closes wins, the first
/// such run closing it: the length of the opening run and of the code.
/// When none closes, no shorter run can be closed further on either:
/// `no_code` remembers it, so that a run of such openers (`\``\``…`)
/// costs one search, not one each.
pub(super) fn code_span(b: &[u8], no_code: &mut usize) -> Option<(usize, usize)> {
    let run = |at: usize| b[at..].iter().take_while(|c| **c == b'`').count();
    let open = run(0);
    if open <= *no_code {
        return None;
    }
    let (mut best, mut k) = (None, open);
    while k < b.len() {
        #[cfg(test)]
        SCANNED.with(|s| s.set(s.get() + 1));
        if b[k] != b'`' {
            k += 1;
            continue;
        }
        let len = run(k);
        if len <= open && best.is_none_or(|(marks, _)| len > marks) {
            best = Some((len, k));
            if len == open {
                break; // none can be longer
            }
        }
        k += len;
    }
    if best.is_none() {
        *no_code = open;
    }
    best.map(|(marks, at)| (marks, at - marks))
}

/// A masked link's address at the start of `b`: its length, up to the
/// first `)` that closes no `(` of its own (one level, as Discord reads
/// it: `https://en.wikipedia.org/wiki/Rust_(language)`), with no space.
fn href(b: &[u8]) -> Option<usize> {
    let mut k = 0;
    loop {
        k += match *b.get(k)? {
            b')' => return Some(k),
            b'(' => b[k..].iter().position(|c| *c == b')')? + 1,
            c if c <= b' ' => return None,
            _ => 1,
        };
    }
}

/// A bare `http(s)://` address at the start of `b`: its length, up to white
/// space or `<`, without trailing punctuation, and with a closing
/// parenthesis only when it closes one in the address
/// (`https://en.wikipedia.org/wiki/Rust_(language)`).
fn bare_url(b: &[u8]) -> Option<usize> {
    if !(b.starts_with(b"https://") || b.starts_with(b"http://")) {
        return None;
    }
    let mut end = b
        .iter()
        .position(|c| *c <= b' ' || *c == b'<')
        .unwrap_or(b.len());
    let count = |mark: u8| b[..end].iter().filter(|c| **c == mark).count();
    let (opened, mut closed) = (count(b'('), count(b')'));
    while let Some(&last) = b[..end].last() {
        let unbalanced = last == b')' && opened < closed;
        if !(unbalanced || b".,:;!?\"']".contains(&last)) {
            break;
        }
        closed -= usize::from(last == b')');
        end -= 1;
    }
    // The bytes kept end on ASCII: a character boundary.
    allowed(std::str::from_utf8(&b[..end]).ok()?).then_some(end)
}

#[cfg(test)]
thread_local! {
    /// Steps [`code_span`] took, for the test of its cost.
    pub(super) static SCANNED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Whether `text` holds a bidi control.
fn turns(text: &str) -> bool {
    text.chars().any(|c| {
        matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}
