//! Discord's markdown, parsed into a flat list of events (open an element,
//! text, close it) that the view turns into DOM nodes and text (never HTML).
//!
//! The dialect Discord renders, not CommonMark, with the rules of its own
//! parser (simple-markdown's, as Discord configures them): `**bold**`,
//! `*italic*` or `_italic_`, `__underline__`, `~~strike~~`, `||spoiler||`,
//! `` `code` `` (any run of backticks), fenced code blocks (the language on
//! the fence's line), `> quote` and `>>> quote to the end`, `#`/`##`/`###`
//! headers, `-# subtext` (a small, dim line), lists, masked links
//! `[text](https://…)`, bare `http(s)://` links and `<https://…>` (a link
//! without its angle brackets), and Discord's `<…>` tokens. As in Discord:
//! styles span the line breaks of plain lines (a quote's, an item's or a
//! header's stay on their line); an italic may hold a bold (`*a **b** c*`) and
//! where two readings compete the longer wins; `_` italicises only whole
//! words (`snake_case_name` stays text); a backslash makes any symbol text.
//! Anything malformed (an unclosed marker, a link to anything but `http`,
//! `https` or `mailto`) stays text.
//!
//! The parser walks bytes and the events borrow the input's slices: no
//! string is built per node. Work is bounded: a message is at most 4,000
//! characters, nesting stops at [`MAX_DEPTH`], each marker looks for its
//! closing one once, and at most [`MAX_TOKENS`] tokens are taken per
//! message. Every number read from the text is checked: a timestamp is
//! kept only within what a JavaScript date holds ([`MAX_UNIX`]).

/// How deep styles nest before inner markers stay text.
pub const MAX_DEPTH: usize = 8;

/// Discord tokens (mentions, emoji, timestamps) shown per message; past
/// them, a token is shown as its text.
pub const MAX_TOKENS: usize = 50;

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
    /// Hidden until the reader reveals it.
    Spoiler,
    Quote,
    /// A header line, of level 1 to 3.
    Heading(u8),
    /// Discord's `-# subtext` line.
    Subtext,
    /// A list: numbered (`true`) or bulleted.
    List(bool),
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
    let mut parser = Parser {
        out: Vec::new(),
        tokens: 0,
        in_link: false,
    };
    let mut rest = text;
    // Fenced code blocks first: nothing inside them is markup.
    while let Some(open) = fence(rest) {
        let inner = &rest[open + 3..];
        let Some(len) = fence(inner).filter(|len| *len > 0) else {
            break;
        };
        parser.lines(&rest[..open], false);
        let inner = &inner[..len];
        // The fence's first line names the language when it is one word.
        let (lang, code) = match inner.split_once('\n') {
            Some((lang, code))
                if !lang.is_empty()
                    && (lang.bytes())
                        .all(|b| b.is_ascii_alphanumeric() || b"+-#_.".contains(&b)) =>
            {
                (lang, code)
            }
            _ => ("", inner),
        };
        parser.push(Event::Block { lang, code });
        rest = &rest[open + 6 + len..];
    }
    parser.lines(rest, false);
    parser.out
}

/// Where the first "```" in `text` is (a byte search: a string searcher
/// would cost the wasm its own code).
fn fence(text: &str) -> Option<usize> {
    text.as_bytes().windows(3).position(|w| w == b"```")
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
/// spaces or control characters.
pub fn allowed(href: &str) -> bool {
    let b = href.as_bytes();
    let scheme = |s: &[u8]| b.len() > 8 && b[..s.len()].eq_ignore_ascii_case(s);
    (scheme(b"https://") || scheme(b"http://") || scheme(b"mailto:"))
        && !b.iter().any(|c| *c <= b' ')
}

/// A file's size as people read it: 980 B, 12.1 KB, 3.4 MB (whole numbers
/// only: formatting floats would cost the wasm kilobytes). Any size the
/// bridge accepts, up to `u64::MAX`: the tenths are computed without
/// multiplying the size itself.
pub fn file_size(bytes: u64) -> String {
    let mut out = String::new();
    let (unit, scale) = match bytes {
        0..=999 => {
            out.push_str(&bytes.to_string());
            out.push_str(" B");
            return out;
        }
        1_000..=999_999 => (" KB", 1_000),
        _ => (" MB", 1_000_000),
    };
    let tenths = bytes / scale * 10 + (bytes % scale * 10 + scale / 2) / scale;
    out.push_str(&(tenths / 10).to_string());
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
    /// Inside a link's text, where no link may open.
    in_link: bool,
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
    /// One place that grows the list (each inlined push costs the wasm).
    #[inline(never)]
    fn push(&mut self, event: Event<'a>) {
        self.out.push(event);
    }

    fn text(&mut self, text: &'a str) {
        if !text.is_empty() {
            self.push(Event::Text(text));
        }
    }

    /// The line structure of text without code blocks: quotes, headers,
    /// subtext and list items line by line; the plain lines between them
    /// as one run of inline text, so that styles span their line breaks.
    /// Quotes do not nest (as in Discord): inside one (`quoted`), `>` is
    /// text.
    fn lines(&mut self, text: &'a str, quoted: bool) {
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
                Some((ordered, _)) => Some(Some(ordered)),
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
            plain = next;
            if let (None, Some(kind)) = (open, block) {
                let tag = kind.map_or(Tag::Quote, Tag::List);
                self.push(Event::Open(tag));
                open = block;
            }
            if let Some((_, item)) = item {
                self.wrap(Tag::Item, item);
            } else if quote {
                // Each quote line's newline is inside the quote.
                self.inline(&line[2..], 0);
                self.text(&text[end..next]);
            } else if all {
                // The rest of the message is one quote.
                self.push(Event::Open(Tag::Quote));
                self.lines(&text[at + 4..], true);
                self.push(Event::Close);
                return;
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
    }

    fn wrap(&mut self, tag: Tag<'a>, inner: &'a str) {
        self.push(Event::Open(tag));
        self.inline(inner, 0);
        self.push(Event::Close);
    }
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
/// number): whether it is numbered, and the item.
fn list_item(line: &str) -> Option<(bool, &str)> {
    if let Some(item) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        return Some((false, item));
    }
    let digits = line.bytes().take(10).take_while(u8::is_ascii_digit).count();
    let item = line[digits..].strip_prefix(". ")?;
    (1..=9).contains(&digits).then_some((true, item))
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

mod inline;
#[cfg(test)]
mod tests;
