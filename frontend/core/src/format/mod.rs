//! Discord's markdown, parsed into a flat list of events (open an element,
//! text, close it) that the view turns into DOM nodes and text (never HTML).
//!
//! The dialect Discord renders, not CommonMark, with the rules of its own
//! parser (simple-markdown's, as Discord configures them): `**bold**`,
//! `*italic*` or `_italic_`, `__underline__`, `~~strike~~`, `||spoiler||`,
//! `` `code` `` (any run of backticks), fenced code blocks (the language on
//! the fence's line), `> quote` and `>>> quote to the end`, `#`/`##`/`###`
//! headers, `-# subtext` (a small, dim line), lists (numbered from their
//! first number), masked links `[text](https://…)` (one level of
//! parentheses in the address), bare `http(s)://` links and `<https://…>`
//! (a link without its angle brackets), and Discord's `<…>` tokens. As in
//! Discord: styles span the line breaks of plain lines (a quote's, an
//! item's or a header's stay on their line); an italic may hold a bold
//! (`*a **b** c*`) and where two readings compete the longer wins; `_`
//! italicises only whole words (`snake_case_name` stays text); a backslash
//! makes any symbol text. Anything malformed (an unclosed marker, a link to
//! anything but `http`, `https` or `mailto`) stays text.
//!
//! What a spoiler hides is never shown: its bars pair across lines of any
//! kind and code blocks (then it is a block, [`Tag::Spoiler`]`(true)`), and
//! it hides at any depth, in a link's text too. A masked link whose text
//! holds an address (`://`) is none: it could pose as another address.
//!
//! The parser walks bytes and the events borrow the input's slices: no
//! string is built per node. Work is bounded: a message is at most 4,000
//! characters, nesting stops at [`MAX_DEPTH`], each marker looks for its
//! closing one once, at most [`MAX_TOKENS`] tokens are taken and
//! [`MAX_ELEMENTS`] elements made per message: past them, the rest of the
//! message is its text, hidden as one spoiler if it holds a `||` (a cap
//! never shows what a spoiler hides). Every number read from the text is
//! checked: a timestamp is kept only within what a JavaScript date holds
//! ([`MAX_UNIX`]).

/// How deep styles nest before inner markers stay text.
pub const MAX_DEPTH: usize = 8;

/// Discord tokens (mentions, emoji, timestamps) shown per message; past
/// them, a token is shown as its text.
pub const MAX_TOKENS: usize = 50;

/// Elements a message makes, at most (a code block is two).
pub const MAX_ELEMENTS: usize = 100;

/// How deep the events nest, at most: [`MAX_DEPTH`] styles, and a quote, a
/// list and its item, a link and a spoiler around or among them.
pub const MAX_NESTING: usize = MAX_DEPTH + 5;

/// The furthest moment from 1970, in seconds either way, that a JavaScript
/// date holds (8.64e15 ms).
pub const MAX_UNIX: i64 = 8_640_000_000_000;

/// An element the events open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag<'a> {
    Strong,
    Em,
    Underline,
    Strike,
    /// Hidden until the reader reveals it; `true` when it holds blocks
    /// (code blocks, quotes, lists, headers) and is one itself.
    Spoiler(bool),
    Quote,
    /// A header line, of level 1 to 3.
    Heading(u8),
    /// Discord's `-# subtext` line.
    Subtext,
    /// A list: numbered from the number given (its digits), or bulleted.
    List(Option<&'a str>),
    /// An item of the list open.
    Item,
    /// A link to this address (`http`, `https` or `mailto` only).
    Link(&'a str),
}

/// One step of a formatted message, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    Open(Tag<'a>),
    /// Closes the element opened last.
    Close,
    Text(&'a str),
    /// Inline code: shown as it is.
    Code(&'a str),
    /// A fenced code block and its language (empty when none).
    Block {
        lang: &'a str,
        code: &'a str,
    },
    /// `<@id>` (a user), `<@&id>` (a role) or `<#id>` (a channel), shown by
    /// the name the message carries for it.
    Mention(Mention, &'a str),
    /// A custom emoji `<:name:id>`, as the `:name:` it shows.
    Emoji(&'a str),
    /// `<t:unix:style>`: a moment (seconds, within [`MAX_UNIX`]) in one of
    /// Discord's styles (`t T d D f F R`; `f` when none).
    Time(i64, u8),
}

/// What a mention names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mention {
    User,
    Role,
    Channel,
}

/// Parses a message's content.
pub fn parse(text: &str) -> Vec<Event<'_>> {
    parse_as(text, false)
}

/// Parses `text`, `cut` or not (see [`preview`]).
fn parse_as(text: &str, cut: bool) -> Vec<Event<'_>> {
    let mut parser = Parser {
        out: Vec::new(),
        tokens: 0,
        elements: 0,
        in_link: false,
        in_spoiler: false,
        cut,
        start: text.as_ptr() as usize,
        stop: None,
    };
    parser.blocks(text, false);
    // Past the cap the rest is text, and one hidden spoiler if it may hold
    // one: the cap never shows what a spoiler hides. A text cut short may
    // have stopped inside a spoiler whose bars the cut took: all hidden.
    if let Some(at) = parser.stop {
        let rest = &text[at..];
        let hide = cut || seek(rest.as_bytes(), b"||").is_some();
        if hide {
            parser.push(Event::Open(Tag::Spoiler(false)));
        }
        parser.push(Event::Text(rest));
        if hide {
            parser.push(Event::Close);
        }
    }
    parser.out
}

/// A reply's line of the message it answers: its events, where an unclosed
/// `||` hides the rest (the bridge may have cut the original inside a
/// spoiler). The view shows them on one line, as plain text.
pub fn preview(text: &str) -> Vec<Event<'_>> {
    parse_as(text, true)
}

/// Where `what` first is in `b` (a byte search: a string searcher would
/// cost the wasm its own code).
fn seek(b: &[u8], what: &[u8]) -> Option<usize> {
    b.windows(what.len()).position(|w| w == what)
}

/// The text a message shows (what a screen reader reads, spoilers
/// revealed, without the names and dates of its tokens).
pub fn text_of(events: &[Event]) -> String {
    let mut out = String::new();
    for event in events {
        match event {
            Event::Text(text) | Event::Code(text) | Event::Emoji(text) => out.push_str(text),
            Event::Block { code, .. } => out.push_str(code),
            _ => {}
        }
    }
    out
}

/// Whether a link may point there: `http`, `https` or `mailto`, with no
/// spaces or control characters, and nothing of Unicode's general
/// punctuation (U+2000–U+207F): a link's text is its address, and its bidi
/// controls (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) would turn it
/// around on screen.
pub fn allowed(href: &str) -> bool {
    let b = href.as_bytes();
    let scheme = |s: &[u8]| b.len() > 8 && b[..s.len()].eq_ignore_ascii_case(s);
    (scheme(b"https://") || scheme(b"http://") || scheme(b"mailto:"))
        && !b.iter().any(|c| *c <= b' ')
        && !b.windows(2).any(|w| w[0] == 0xE2 && w[1] & 0xFE == 0x80)
}

/// A file's size as people read it: 980 B, 12.1 KB, 3.4 MB (whole numbers
/// only: formatting floats would cost the wasm kilobytes). Any size the
/// bridge accepts, up to `u64::MAX`: the tenths are computed without
/// multiplying the size itself.
pub fn file_size(bytes: u64) -> String {
    let mut out = String::new();
    let (unit, scale) = match bytes {
        0..=999 => {
            crate::number::push_digits(&mut out, bytes);
            out.push_str(" B");
            return out;
        }
        // What rounds to 1000.0 KB is 1.0 MB.
        1_000..=999_949 => (" KB", 1_000),
        _ => (" MB", 1_000_000),
    };
    let tenths = bytes / scale * 10 + (bytes % scale * 10 + scale / 2) / scale;
    crate::number::push_digits(&mut out, tenths / 10);
    out.push('.');
    out.push(char::from(b'0' + (tenths % 10) as u8));
    out.push_str(unit);
    out
}

/// The parse under way: the events so far and what limits the rest.
struct Parser<'a> {
    out: Vec<Event<'a>>,
    /// Tokens taken so far (at most [`MAX_TOKENS`]).
    tokens: usize,
    /// Elements made so far (at most [`MAX_ELEMENTS`]).
    elements: usize,
    /// Inside a link's text, where no link may open.
    in_link: bool,
    /// Inside a spoiler that holds blocks, where no spoiler opens (only a
    /// text cut short has `||` there: the first would have closed it).
    in_spoiler: bool,
    /// The text may be cut short: an unclosed `||` hides the rest.
    cut: bool,
    /// Where the message's text starts in memory (to tell where a slice of
    /// it is).
    start: usize,
    /// Where the elements ran out: from there on, the message is text.
    stop: Option<usize>,
}

/// What a rule found at a position of inline text.
enum Found<'a> {
    /// An event with nothing inside.
    Leaf(Event<'a>),
    /// An element around text that is parsed in turn.
    Wrap(Tag<'a>, &'a str),
    /// A link whose text is its address.
    Url(&'a str),
}

impl<'a> Parser<'a> {
    /// One place that grows the list (each inlined push costs the wasm),
    /// and counts the elements.
    #[inline(never)]
    fn push(&mut self, event: Event<'a>) {
        self.elements += match event {
            // A spoiler is a button and the element its text goes in.
            Event::Block { .. } | Event::Open(Tag::Spoiler(_)) => 2,
            Event::Open(_) | Event::Code(_) | Event::Mention(..) | Event::Time(..) => 1,
            _ => 0,
        };
        self.out.push(event);
    }

    /// Text, unless the parse has stopped (the rest is then shown whole).
    fn text(&mut self, text: &'a str) {
        if !text.is_empty() && self.stop.is_none() {
            self.push(Event::Text(text));
        }
    }

    /// Whether `n` more elements may be made, two kept for the spoiler that
    /// may hide the rest.
    fn room(&self, n: usize) -> bool {
        self.elements + n + 2 <= MAX_ELEMENTS
    }

    /// Stops the parse where `rest` starts, unless it already stopped.
    fn halt(&mut self, rest: &str) {
        if self.stop.is_none() {
            self.stop = Some(rest.as_ptr() as usize - self.start);
        }
    }
}

/// Pieces of Discord's markup and the hostile inputs found so far, from which
/// the property test (and the browser render of `tests/tests/hostile.rs`)
/// builds messages, with a few random letters between them. (Unused by the
/// panel: it costs the wasm nothing.)
#[rustfmt::skip]
pub const PIECES: &[&str] = &[
    "*", "**", "***", "_", "__", "~~", "||", "`", "``", "```", "```rust\n", "\\", "\n", " ", "  ",
    "> ", ">>> ", "# ", "## ", "### ", "-# ", "- ", "* ", "1. ", "[", "](", ")", "(", "<", ">",
    ":", "word", "snake_case", "é", "🦀", "\u{202e}", "[docs](https://example.com/d)",
    "[x](javascript:alert(1))", "https://a.example/x_(y).", "<https://b.example/>",
    "mailto:a@b.example", "<@1>", "<@!22>", "<@&3>", "<#4>", "<:e:5>", "<a:party:6>", "<t:0>",
    "<t:0:R>", "<t:1767225600:F>", "<t:-9223372036854775808>", "<t:9223372036854775807:R>",
    "<t:8640000000001>", "<b>html</b>", "<img src=x onerror=alert(1)>",
];

mod blocks;
mod inline;
#[cfg(test)]
mod tests;
mod tokens;
