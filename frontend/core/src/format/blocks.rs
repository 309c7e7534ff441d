//! The block structure of a message: code blocks, spoilers that hold
//! blocks, `>>> ` quotes of the rest, and lines (quotes, headers, subtext,
//! list items) around runs of plain lines.
//!
//! A spoiler is found before the lines are: its bars pair across anything
//! (lines of any kind, code blocks), so that what it hides is never shown
//! because a line break or a fence fell inside it. One that only spans
//! plain lines stays inline, as Discord shows it.

use super::inline::code_span;
use super::{seek, Event, Parser, Tag};

impl<'a> Parser<'a> {
    /// The blocks of `text`; inside a `>>> ` quote (`quoted`), `>` is text
    /// (quotes do not nest, as in Discord).
    pub(super) fn blocks(&mut self, text: &'a str, quoted: bool) {
        let mut rest = text;
        // Inline code that no run closes, as [`code_span`] remembers it.
        let mut no_code = 0;
        loop {
            let next = next_block(rest, &mut no_code, self.cut);
            let (at, from, to, end) = next.unwrap_or((rest.len(), 0, 0, 0));
            // A `>>> ` line quotes all the rest, code blocks included.
            if let Some(quote) = self.lines(&rest[..at], quoted) {
                if !self.room(1) {
                    return self.halt(&rest[quote..]);
                }
                self.push(Event::Open(Tag::Quote));
                self.blocks(&rest[quote + 4..], true);
                return self.push(Event::Close);
            }
            if next.is_none() || self.stop.is_some() {
                return;
            }
            if !self.room(2) {
                return self.halt(&rest[at..]);
            }
            let inner = &rest[from..to];
            if from - at == 2 {
                self.push(Event::Open(Tag::Spoiler(true)));
                let was = std::mem::replace(&mut self.in_spoiler, true);
                self.blocks(inner, quoted);
                self.in_spoiler = was;
                self.push(Event::Close);
            } else {
                // The fence's first line names the language when it is one
                // word; with none, its line break is no part of the code.
                let (lang, code) = match inner.split_once('\n') {
                    Some((lang, code))
                        if (lang.bytes())
                            .all(|b| b.is_ascii_alphanumeric() || b"+-#_.".contains(&b)) =>
                    {
                        (lang, code)
                    }
                    _ => ("", inner),
                };
                self.push(Event::Block { lang, code });
            }
            rest = &rest[end..];
        }
    }

    /// The lines of text without code blocks: quotes, headers, subtext and
    /// list items line by line; the plain lines between them as one run of
    /// inline text, so that styles span their line breaks. Inside a quote
    /// (`quoted`), `>` is text. Stops at a `>>> ` line, and answers where it
    /// is (all the rest is quoted, blocks included).
    fn lines(&mut self, text: &'a str, quoted: bool) -> Option<usize> {
        // The list or quote open, if one is: a list's kind (numbered or
        // not), or `None` for a quote.
        let mut open: Option<Option<bool>> = None;
        // Where the plain lines not yet parsed start.
        let mut plain = 0;
        let mut at = 0;
        while at < text.len() {
            let end = text[at..].find('\n').map_or(text.len(), |n| at + n);
            let next = text.len().min(end + 1);
            let line = &text[at..end];
            let (item, title) = (list_item(line), heading(line));
            let quote = !quoted && line.starts_with("> ");
            let all = !quoted && line.starts_with(">>> ");
            let block = match item {
                Some((start, _)) => Some(Some(start.is_some())),
                None => quote.then_some(None),
            };
            // An item joins the list just before it if it is of its kind, a
            // quote line the quote just before it.
            if open.is_some() && open != block {
                self.push(Event::Close);
                open = None;
            }
            if block.is_none() && title.is_none() && !all {
                at = next;
                continue;
            }
            self.inline(&text[plain..at], 0);
            // Past the cap, the rest is text.
            if !self.room(2) {
                self.halt(&text[at..]);
            }
            if self.stop.is_some() {
                break;
            }
            if all {
                return Some(at);
            }
            plain = next;
            if let (None, Some(_)) = (open, block) {
                let tag = match item {
                    Some((start, _)) => Tag::List(start),
                    None => Tag::Quote,
                };
                self.push(Event::Open(tag));
                open = block;
            }
            if let Some((_, item)) = item {
                self.wrap(Tag::Item, item);
            } else if quote {
                // Each quote line's newline is inside the quote.
                self.inline(&line[2..], 0);
                self.text(&text[end..next]);
            } else if let Some((tag, title)) = title {
                // Its newline goes with it, as Discord reads it.
                self.wrap(tag, title);
            }
            at = next;
        }
        self.inline(&text[plain..], 0);
        if open.is_some() {
            self.push(Event::Close);
        }
        None
    }

    fn wrap(&mut self, tag: Tag<'a>, inner: &'a str) {
        self.push(Event::Open(tag));
        self.inline(inner, 0);
        self.push(Event::Close);
    }
}

/// The next code block, or spoiler that holds more than plain lines, in
/// `text` (or, `cut`, that is not closed): where it starts, where its
/// inside starts and ends, and where it ends. Bars and fences inside inline
/// code, or after a backslash, are none.
fn next_block(text: &str, no_code: &mut usize, cut: bool) -> Option<(usize, usize, usize, usize)> {
    let b = text.as_bytes();
    // Whether a `||` may still close.
    let mut bars = true;
    let mut k = 0;
    while k < b.len() {
        let step = match b[k] {
            b'\\' => 2,
            b'`' => {
                if let Some(len) = fence(&b[k..]) {
                    return Some((k, k + 3, k + 3 + len, k + 6 + len));
                }
                // (A run that nothing closes is passed a byte at a time:
                // `no_code` makes the rest of it cost nothing.)
                code_span(&b[k..], no_code).map_or(1, |(marks, len)| 2 * marks + len)
            }
            b'|' if bars && b.get(k + 1) == Some(&b'|') => {
                // The first `||` after, code blocks passed over whole.
                let mut close = k + 2;
                while close + 1 < b.len() && &b[close..close + 2] != b"||" {
                    close += fence(&b[close..]).map_or(1, |len| len + 6);
                }
                if close + 1 >= b.len() {
                    // A text cut short may have lost the closing bars.
                    if cut {
                        return Some((k, k + 2, b.len(), b.len()));
                    }
                    // None closes from here: none closes from further on.
                    bars = false;
                    continue;
                }
                // Whether a line it touches may be more than a plain one
                // (from its opener's line on: the lines before it spanned
                // none, so this looks at each byte once).
                let inner = &b[k + 2..close];
                let mut lines = false;
                if inner.contains(&b'\n') {
                    let line = b[..k]
                        .iter()
                        .rposition(|c| *c == b'\n')
                        .map_or(0, |n| n + 1);
                    lines = structured(&b[line..]);
                    for (n, c) in inner.iter().enumerate() {
                        lines |= *c == b'\n' && structured(&inner[n + 1..]);
                    }
                }
                if lines || seek(inner, b"```").is_some() {
                    return Some((k, k + 2, close, close + 2));
                }
                close + 2 - k
            }
            _ => 1,
        };
        k += step;
    }
    None
}

/// A code block's fence at the start of `b`: the length of its code, up to
/// the next fence (a block holds something).
fn fence(b: &[u8]) -> Option<usize> {
    if !b.starts_with(b"```") {
        return None;
    }
    seek(&b[3..], b"```").filter(|len| *len > 0)
}

/// Whether the line `b` starts may be more than a plain line: a quote, a
/// list item, a header or subtext start so (and a few plain lines too:
/// a spoiler over them is then a block, hidden all the same).
fn structured(b: &[u8]) -> bool {
    matches!(b.first(), Some(b'>' | b'#' | b'-' | b'*' | b'0'..=b'9'))
}

/// A `#`, `##` or `###` header line, or a `-#` subtext line: which, and
/// its title (after one space or more).
fn heading(line: &str) -> Option<(Tag<'static>, &str)> {
    let (tag, rest) = match line.strip_prefix("-#") {
        Some(rest) => (Tag::Subtext, rest),
        None => {
            let level = line.bytes().take(4).take_while(|b| *b == b'#').count();
            if !(1..=3).contains(&level) {
                return None;
            }
            (Tag::Heading(level as u8), &line[level..])
        }
    };
    let title = rest.trim_start_matches(' ');
    (rest.starts_with(' ') && !title.is_empty()).then_some((tag, title))
}

/// A list item's line: `- item` or `* item` (a bullet), `1. item` (a
/// number, its digits kept: a list starts at its first item's number).
fn list_item(line: &str) -> Option<(Option<&str>, &str)> {
    if let Some(item) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        return Some((None, item));
    }
    let digits = line.bytes().take(10).take_while(u8::is_ascii_digit).count();
    let item = line[digits..].strip_prefix(". ")?;
    (1..=9)
        .contains(&digits)
        .then_some((Some(&line[..digits]), item))
}
