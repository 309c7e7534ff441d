//! Discord's markdown, parsed into a small tree that the view turns into DOM
//! nodes and text (never HTML).
//!
//! The dialect Discord renders, not CommonMark: `**bold**`, `*italic*` or
//! `_italic_`, `__underline__`, `~~strike~~`, `||spoiler||`, `` `code` ``,
//! fenced code blocks (the language on the fence's line), `> quote` and
//! `>>> quote to the end`, `#`/`##`/`###` headers, masked links
//! `[text](https://…)` and bare `http(s)://` links. Anything malformed (an
//! unclosed marker, a link to anything but `http`, `https` or `mailto`)
//! stays text. Nesting stops at [`MAX_DEPTH`]; a message is at most 4,000
//! characters, and each marker looks for its closing one once, so the work
//! is bounded. The text of the tree is the input without its markup.

/// How deep styles nest before inner markers stay text.
pub const MAX_DEPTH: usize = 8;

/// Discord tokens (mentions, emoji, timestamps) shown per message; past
/// them, a token is shown as its text.
pub const MAX_TOKENS: usize = 50;

/// One piece of a formatted message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Text(String),
    Styled(Style, Vec<Node>),
    /// Inline code: shown as it is.
    Code(String),
    /// A fenced code block and its language (empty when none).
    Block {
        lang: String,
        code: String,
    },
    Quote(Vec<Node>),
    /// A header line, of level 1 to 3.
    Heading(u8, Vec<Node>),
    /// Consecutive `- item` (or `* item`) lines, or numbered `1. item` ones.
    List {
        ordered: bool,
        items: Vec<Vec<Node>>,
    },
    /// A link to `href` (`http`, `https` or `mailto` only).
    Link {
        href: String,
        children: Vec<Node>,
    },
    /// `<@id>` (a user), `<@&id>` (a role) or `<#id>` (a channel), shown by
    /// the name the message carries for it.
    Mention {
        kind: Mention,
        id: String,
    },
    /// A custom emoji `<:name:id>`, shown as `:name:`.
    Emoji(String),
    /// `<t:unix:style>`: a moment, in the reader's locale and time zone, in
    /// one of Discord's styles (`t T d D f F R`; `f` when none).
    Time {
        unix: i64,
        style: char,
    },
}

/// What a mention names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mention {
    User,
    Role,
    Channel,
}

/// An inline style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Strong,
    Em,
    Underline,
    Strike,
    /// Hidden until the reader reveals it.
    Spoiler,
}

/// Parses a message's content.
pub fn parse(text: &str) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut rest = text;
    // Fenced code blocks first: nothing inside them is markup.
    while let Some(open) = rest.find("```") {
        let Some(len) = rest[open + 3..].find("```") else {
            break;
        };
        let inner = &rest[open + 3..open + 3 + len];
        if inner.is_empty() {
            break;
        }
        lines(&rest[..open], &mut nodes, false);
        // The fence's first line names the language when it is one word.
        let (lang, code) = match inner.split_once('\n') {
            Some((first, code))
                if !first.is_empty()
                    && first
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-#_".contains(c)) =>
            {
                (first.to_owned(), code.to_owned())
            }
            _ => (String::new(), inner.to_owned()),
        };
        nodes.push(Node::Block { lang, code });
        rest = &rest[open + 6 + len..];
    }
    lines(rest, &mut nodes, false);
    nodes
}

/// The block structure of text without code blocks: quotes and headers
/// line by line, the rest inline. Quotes do not nest (as in Discord): inside
/// one (`quoted`), `>` is text.
fn lines(text: &str, out: &mut Vec<Node>, quoted: bool) {
    let mut quote: Vec<Node> = Vec::new();
    let mut rest = text;
    let mut first = true;
    while !rest.is_empty() || first {
        first = false;
        let (line, next, newline) = match rest.split_once('\n') {
            Some((line, next)) => (line, next, true),
            None => (rest, "", false),
        };
        rest = next;
        let ending = |nodes: &mut Vec<Node>| {
            if newline {
                push_text(nodes, "\n");
            }
        };
        if let Some(all) = line.strip_prefix(">>> ").filter(|_| !quoted) {
            // The rest of the message is one quote.
            flush_quote(&mut quote, out);
            let mut inner = Vec::new();
            let body = if newline {
                format!("{all}\n{rest}")
            } else {
                all.to_owned()
            };
            lines(&body, &mut inner, true);
            out.push(Node::Quote(inner));
            return;
        }
        if let Some(line) = line.strip_prefix("> ").filter(|_| !quoted) {
            extend(&mut quote, inline(line, 0));
            ending(&mut quote);
            continue;
        }
        flush_quote(&mut quote, out);
        let level = ["# ", "## ", "### "]
            .iter()
            .position(|p| line.starts_with(p));
        if let Some((ordered, item)) = list_item(line) {
            // An item joins the list just before it, if it is one of its kind.
            if let Some(Node::List { ordered: o, items }) = out.last_mut() {
                if *o == ordered {
                    items.push(inline(item, 0));
                    continue;
                }
            }
            out.push(Node::List {
                ordered,
                items: vec![inline(item, 0)],
            });
            continue;
        }
        match level {
            Some(level) => {
                let title = &line[level + 2..];
                out.push(Node::Heading(level as u8 + 1, inline(title, 0)));
            }
            None => extend(out, inline(line, 0)),
        }
        ending(out);
    }
    flush_quote(&mut quote, out);
}

/// A list item's line: `- item` or `* item` (a bullet), `1. item` (a
/// number): whether it is numbered, and the item.
fn list_item(line: &str) -> Option<(bool, &str)> {
    if let Some(item) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        return Some((false, item));
    }
    let (number, item) = line.split_once(". ")?;
    (!number.is_empty() && number.len() <= 9 && number.bytes().all(|b| b.is_ascii_digit()))
        .then_some((true, item))
}

fn flush_quote(quote: &mut Vec<Node>, out: &mut Vec<Node>) {
    if !quote.is_empty() {
        out.push(Node::Quote(std::mem::take(quote)));
    }
}

/// Appends nodes, merging text with text just before it.
fn extend(nodes: &mut Vec<Node>, more: Vec<Node>) {
    for node in more {
        match node {
            Node::Text(text) => push_text(nodes, &text),
            node => nodes.push(node),
        }
    }
}

/// Appends text, merging with text just before it.
fn push_text(nodes: &mut Vec<Node>, text: &str) {
    if let Some(Node::Text(last)) = nodes.last_mut() {
        last.push_str(text);
    } else if !text.is_empty() {
        nodes.push(Node::Text(text.to_owned()));
    }
}

/// The inline markers, longest first (so `**` is not read as two `*`).
const MARKERS: [(&str, Option<Style>); 7] = [
    ("***", None), // bold and italic at once
    ("**", Some(Style::Strong)),
    ("__", Some(Style::Underline)),
    ("~~", Some(Style::Strike)),
    ("||", Some(Style::Spoiler)),
    ("*", Some(Style::Em)),
    ("_", Some(Style::Em)),
];

/// Characters a backslash makes literal.
const ESCAPABLE: &str = "\\*_~|`[]()<>#-:";

/// Inline markup of one line (or of a marker's content).
fn inline(text: &str, depth: usize) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let c = rest.chars().next().unwrap_or_default();
        // An escaped marker is text.
        if c == '\\' {
            if let Some(next) = rest[1..].chars().next().filter(|n| ESCAPABLE.contains(*n)) {
                push_text(&mut nodes, &rest[1..1 + next.len_utf8()]);
                i += 1 + next.len_utf8();
                continue;
            }
        }
        if c == '`' {
            let ticks = if rest.starts_with("``") { 2 } else { 1 };
            let fence = &rest[..ticks];
            if let Some(len) = rest[ticks..].find(fence).filter(|len| *len > 0) {
                let code = &rest[ticks..ticks + len];
                nodes.push(Node::Code(code.to_owned()));
                i += ticks * 2 + len;
                continue;
            }
        }
        if depth < MAX_DEPTH {
            if let Some((node, used)) = styled(rest, depth) {
                nodes.push(node);
                i += used;
                continue;
            }
        }
        if c == '[' {
            if let Some((node, used)) = masked_link(rest, depth) {
                nodes.push(node);
                i += used;
                continue;
            }
        }
        if c == '<' {
            if let Some((node, used)) = token(rest) {
                nodes.push(node);
                i += used;
                continue;
            }
        }
        if c == 'h' && (i == 0 || !text[..i].ends_with(|p: char| p.is_alphanumeric())) {
            if let Some(url) = bare_url(rest) {
                nodes.push(Node::Link {
                    href: url.to_owned(),
                    children: vec![Node::Text(url.to_owned())],
                });
                i += url.len();
                continue;
            }
        }
        push_text(&mut nodes, &rest[..c.len_utf8()]);
        i += c.len_utf8();
    }
    nodes
}

/// Discord's inline tokens at the start of `text` (`<@id>`, `<@!id>`,
/// `<@&id>`, `<#id>`, `<:name:id>`, `<a:name:id>`, `<t:unix>`,
/// `<t:unix:style>`): the node and the bytes it took.
fn token(text: &str) -> Option<(Node, usize)> {
    let end = text.find('>')?;
    let inner = &text[1..end];
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    let mention = |kind, id: &str| {
        digits(id).then(|| Node::Mention {
            kind,
            id: id.to_owned(),
        })
    };
    let node = if let Some(id) = inner.strip_prefix("@&") {
        mention(Mention::Role, id)?
    } else if let Some(id) = inner.strip_prefix('@') {
        mention(Mention::User, id.strip_prefix('!').unwrap_or(id))?
    } else if let Some(id) = inner.strip_prefix('#') {
        mention(Mention::Channel, id)?
    } else if let Some(time) = inner.strip_prefix("t:") {
        let (unix, style) = match time.split_once(':') {
            Some((unix, style)) if style.len() == 1 && "tTdDfFR".contains(style) => {
                (unix, style.chars().next()?)
            }
            Some(_) => return None,
            None => (time, 'f'),
        };
        if !digits(unix.strip_prefix('-').unwrap_or(unix)) {
            return None;
        }
        let unix: i64 = unix.parse().ok()?;
        // Only dates JavaScript can hold (±8.64e12 s).
        if unix.abs() > 8_640_000_000_000 {
            return None;
        }
        Node::Time { unix, style }
    } else {
        let emoji = inner
            .strip_prefix("a:")
            .or_else(|| inner.strip_prefix(':'))?;
        let (name, id) = emoji.split_once(':')?;
        let named = !name.is_empty()
            && name.len() <= 32
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !named || !digits(id) {
            return None;
        }
        Node::Emoji(name.to_owned())
    };
    Some((node, end + 1))
}

/// A style marker at the start of `text`, its content and its closing
/// marker: the node and the bytes it took.
fn styled(text: &str, depth: usize) -> Option<(Node, usize)> {
    for (marker, style) in MARKERS {
        let Some(after) = text.strip_prefix(marker) else {
            continue;
        };
        let Some(len) = after.find(marker) else {
            continue;
        };
        let content = &after[..len];
        // Nothing between, or (for one-character markers) space just inside:
        // not emphasis (`2 * 3 * 4` stays text).
        if content.is_empty() || (marker.len() == 1 && content.starts_with(char::is_whitespace)) {
            continue;
        }
        // `***` nests two styles at once.
        let step = if style.is_none() { 2 } else { 1 };
        if depth + step > MAX_DEPTH {
            continue;
        }
        let inner = inline(content, depth + step);
        let node = match style {
            Some(style) => Node::Styled(style, inner),
            None => Node::Styled(Style::Strong, vec![Node::Styled(Style::Em, inner)]),
        };
        return Some((node, marker.len() * 2 + len));
    }
    None
}

/// `[text](url)` at the start of `text`, for an allowed URL.
fn masked_link(text: &str, depth: usize) -> Option<(Node, usize)> {
    let close = text.find("](")?;
    let label = &text[1..close];
    let end = text[close + 2..].find(')')?;
    let href = &text[close + 2..close + 2 + end];
    if label.is_empty() || label.contains('\n') || !allowed(href) {
        return None;
    }
    let children = inline(label, depth + 1);
    Some((
        Node::Link {
            href: href.to_owned(),
            children,
        },
        close + 3 + end,
    ))
}

/// Whether a link may point there: `http`, `https` or `mailto`, no spaces.
pub fn allowed(href: &str) -> bool {
    let lower = href.get(..8).unwrap_or(href).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:"))
        && href.len() > 8
        && !href.contains(char::is_whitespace)
}

/// A bare `http(s)://` URL at the start of `text`: up to white space or
/// `<`, without trailing punctuation, and with a closing parenthesis only
/// when it closes one in the URL (`https://en.wikipedia.org/wiki/Rust_(language)`).
fn bare_url(text: &str) -> Option<&str> {
    if !(text.starts_with("https://") || text.starts_with("http://")) {
        return None;
    }
    let mut end = text
        .find(|c: char| c.is_whitespace() || c == '<')
        .unwrap_or(text.len());
    loop {
        let url = &text[..end];
        let last = url.chars().last()?;
        let unbalanced = last == ')' && url.matches('(').count() < url.matches(')').count();
        if ".,:;!?\"'".contains(last) || unbalanced {
            end -= last.len_utf8();
        } else {
            break;
        }
    }
    let url = &text[..end];
    allowed(url).then_some(url)
}

/// The text a tree shows (what a screen reader reads, before spoilers).
pub fn text_of(nodes: &[Node]) -> String {
    let mut out = String::new();
    for node in nodes {
        match node {
            Node::Text(text) | Node::Code(text) | Node::Emoji(text) => out.push_str(text),
            // Shown by names and dates that are not in the text.
            Node::Mention { .. } | Node::Time { .. } => {}
            Node::List { items, .. } => {
                let items: Vec<String> = items.iter().map(|item| text_of(item)).collect();
                out.push_str(&items.join("\n"));
            }
            Node::Block { code, .. } => out.push_str(code),
            Node::Styled(_, inner)
            | Node::Quote(inner)
            | Node::Heading(_, inner)
            | Node::Link {
                children: inner, ..
            } => out.push_str(&text_of(inner)),
        }
    }
    out
}

/// A file's size as people read it: 980 B, 12.1 KB, 3.4 MB (whole
/// numbers only: formatting floats would cost the wasm kilobytes).
pub fn file_size(bytes: u64) -> String {
    let (unit, scale) = match bytes {
        0..=999 => return format!("{bytes} B"),
        1_000..=999_999 => ("KB", 1_000),
        _ => ("MB", 1_000_000),
    };
    let tenths = (bytes * 10 + scale / 2) / scale;
    format!("{}.{} {unit}", tenths / 10, tenths % 10)
}

/// Pieces of Discord's markup and the hostile inputs found so far, from which
/// the property test (and the browser render of `tests/tests/hostile.rs`)
/// builds messages, with a few random letters between them. (Unused by the
/// panel: it costs the wasm nothing.)
pub const PIECES: &[&str] = &[
    "*",
    "**",
    "***",
    "_",
    "__",
    "~~",
    "||",
    "`",
    "``",
    "```",
    "```rust\n",
    "\\",
    "\n",
    " ",
    "  ",
    "> ",
    ">>> ",
    "# ",
    "## ",
    "### ",
    "-# ",
    "- ",
    "* ",
    "1. ",
    "[",
    "](",
    ")",
    "(",
    "<",
    ">",
    ":",
    "word",
    "snake_case",
    "é",
    "🦀",
    "\u{202e}",
    "[docs](https://example.com/d)",
    "[x](javascript:alert(1))",
    "https://a.example/x_(y).",
    "<https://b.example/>",
    "mailto:a@b.example",
    "<@1>",
    "<@!22>",
    "<@&3>",
    "<#4>",
    "<:e:5>",
    "<a:party:6>",
    "<t:0>",
    "<t:0:R>",
    "<t:1767225600:F>",
    "<t:-9223372036854775808>",
    "<t:9223372036854775807:R>",
    "<t:8640000000001>",
    "<b>html</b>",
    "<img src=x onerror=alert(1)>",
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> Node {
        Node::Text(s.into())
    }

    fn styled(style: Style, inner: Vec<Node>) -> Node {
        Node::Styled(style, inner)
    }

    #[test]
    fn emphasis_as_discord_reads_it() {
        assert_eq!(parse("**bold**"), [styled(Style::Strong, vec![t("bold")])]);
        assert_eq!(
            parse("*it* _it_"),
            [
                styled(Style::Em, vec![t("it")]),
                t(" "),
                styled(Style::Em, vec![t("it")])
            ]
        );
        assert_eq!(
            parse("__u__ ~~s~~ ||sp||"),
            [
                styled(Style::Underline, vec![t("u")]),
                t(" "),
                styled(Style::Strike, vec![t("s")]),
                t(" "),
                styled(Style::Spoiler, vec![t("sp")])
            ]
        );
        // `***` mixes bold and italic; nested emphasis nests.
        assert_eq!(
            parse("***both***"),
            [styled(
                Style::Strong,
                vec![styled(Style::Em, vec![t("both")])]
            )]
        );
        assert_eq!(
            parse("**bold *and* more**"),
            [styled(
                Style::Strong,
                vec![t("bold "), styled(Style::Em, vec![t("and")]), t(" more")]
            )]
        );
        // Unclosed markers, and spaced asterisks, stay text.
        assert_eq!(parse("**open"), [t("**open")]);
        assert_eq!(parse("2 * 3 * 4"), [t("2 * 3 * 4")]);
        assert_eq!(parse(r"\*not italic\*"), [t("*not italic*")]);
    }

    #[test]
    fn code_keeps_its_markers() {
        assert_eq!(parse("`**x**`"), [Node::Code("**x**".into())]);
        assert_eq!(parse("``a ` b``"), [Node::Code("a ` b".into())]);
        assert_eq!(
            parse("see ```rust\nlet x = *y*;\n``` ok"),
            [
                t("see "),
                Node::Block {
                    lang: "rust".into(),
                    code: "let x = *y*;\n".into()
                },
                t(" ok")
            ]
        );
        assert_eq!(
            parse("```plain text```"),
            [Node::Block {
                lang: String::new(),
                code: "plain text".into()
            }]
        );
    }

    #[test]
    fn quotes_and_headers() {
        assert_eq!(
            parse("> one\n> two\nafter"),
            [Node::Quote(vec![t("one\ntwo\n")]), t("after")]
        );
        assert_eq!(
            parse("before\n>>> all\nof it"),
            [t("before\n"), Node::Quote(vec![t("all\nof it")])]
        );
        assert_eq!(
            parse("## Title\ntext"),
            [Node::Heading(2, vec![t("Title")]), t("\ntext")]
        );
        assert_eq!(parse("#nospace"), [t("#nospace")]);
        // Lists: bullets and numbers, each run its own list.
        assert_eq!(
            parse("- one\n* **two**\n1. first\n2. second\nafter"),
            [
                Node::List {
                    ordered: false,
                    items: vec![vec![t("one")], vec![styled(Style::Strong, vec![t("two")])]]
                },
                Node::List {
                    ordered: true,
                    items: vec![vec![t("first")], vec![t("second")]]
                },
                t("after")
            ]
        );
        assert_eq!(parse("-not a list"), [t("-not a list")]);
        // Quotes do not nest.
        assert_eq!(parse(">>> >>> > x"), [Node::Quote(vec![t(">>> > x")])]);
    }

    #[test]
    fn links_only_to_the_web_and_mail() {
        assert_eq!(
            parse("[docs](https://example.com/a)"),
            [Node::Link {
                href: "https://example.com/a".into(),
                children: vec![t("docs")]
            }]
        );
        assert_eq!(
            parse("[x](javascript:alert(1))"),
            [t("[x](javascript:alert(1))")]
        );
        // Bare URLs, without the sentence's punctuation, with their own parentheses.
        let wiki = "https://en.wikipedia.org/wiki/Rust_(programming_language)";
        assert_eq!(
            parse(&format!("see {wiki}.")),
            [
                t("see "),
                Node::Link {
                    href: wiki.into(),
                    children: vec![t(wiki)]
                },
                t(".")
            ]
        );
        assert_eq!(
            parse("(https://a.example/x)"),
            [
                t("("),
                Node::Link {
                    href: "https://a.example/x".into(),
                    children: vec![t("https://a.example/x")]
                },
                t(")")
            ]
        );
        assert_eq!(parse("javascript:alert(1)"), [t("javascript:alert(1)")]);
        assert!(allowed("mailto:a@b.example") && !allowed("data:text/html,x"));
    }

    #[test]
    fn discords_tokens() {
        let mention = |kind, id: &str| Node::Mention {
            kind,
            id: id.into(),
        };
        assert_eq!(
            parse("<@80351110224678912> <@!1> <@&2> <#3>"),
            [
                mention(Mention::User, "80351110224678912"),
                t(" "),
                mention(Mention::User, "1"),
                t(" "),
                mention(Mention::Role, "2"),
                t(" "),
                mention(Mention::Channel, "3")
            ]
        );
        assert_eq!(
            parse("<:blobwave:123> <a:party:456>"),
            [
                Node::Emoji("blobwave".into()),
                t(" "),
                Node::Emoji("party".into())
            ]
        );
        let time = |style| Node::Time {
            unix: 1767225600,
            style,
        };
        assert_eq!(
            parse("<t:1767225600:R> <t:1767225600>"),
            [time('R'), t(" "), time('f')]
        );
        // Malformed tokens are text; a token in code stays code.
        for text in [
            "<@abc>",
            "<t:1:X>",
            "<t:99999999999999999>",
            "<:bad name:1>",
            "<@>",
        ] {
            assert_eq!(parse(text), [t(text)], "{text}");
        }
        assert_eq!(parse("`<@1>`"), [Node::Code("<@1>".into())]);
    }

    #[test]
    fn four_thousand_asterisks_are_quick_and_shallow() {
        let stars = "*".repeat(4_000);
        let nodes = parse(&stars);
        assert_eq!(text_of(&nodes).len() + markup(&nodes), 4_000);
        fn depth(nodes: &[Node]) -> usize {
            (nodes.iter())
                .map(|n| match n {
                    Node::Styled(_, inner) | Node::Quote(inner) => 1 + depth(inner),
                    _ => 0,
                })
                .max()
                .unwrap_or(0)
        }
        assert!(depth(&parse(&"*a ".repeat(100))) <= MAX_DEPTH + 1);
        assert!(
            depth(&parse(&format!("{}x{}", "**".repeat(50), "**".repeat(50)))) <= MAX_DEPTH + 1
        );
    }

    /// Characters of markup the tree dropped, for the count above.
    fn markup(nodes: &[Node]) -> usize {
        nodes
            .iter()
            .map(|n| match n {
                Node::Styled(Style::Em, inner) => 2 + markup(inner),
                Node::Styled(_, inner) => 4 + markup(inner),
                _ => 0,
            })
            .sum()
    }

    /// Whether `small` is `big` with some characters left out.
    fn subsequence(small: &str, big: &str) -> bool {
        let mut big = big.chars();
        small.chars().all(|c| big.any(|b| b == c))
    }

    /// The tree as compact HTML-like text, for readable expectations.
    fn html(text: &str) -> String {
        fn walk(nodes: &[Node], out: &mut String) {
            for node in nodes {
                let (open, close, inner): (String, &str, Option<&Vec<Node>>) = match node {
                    Node::Text(t) => (t.clone(), "", None),
                    Node::Styled(s, inner) => {
                        let tag = match s {
                            Style::Strong => "b",
                            Style::Em => "i",
                            Style::Underline => "u",
                            Style::Strike => "s",
                            Style::Spoiler => "sp",
                        };
                        (format!("<{tag}>"), tag, Some(inner))
                    }
                    Node::Link { href, children } => {
                        (format!("<a href={href}>"), "a", Some(children))
                    }
                    Node::Time { unix, style } => (format!("[t {unix} {style}]"), "", None),
                    other => (format!("{other:?}"), "", None),
                };
                out.push_str(&open);
                if let Some(inner) = inner {
                    walk(inner, out);
                    out.push_str(&format!("</{close}>"));
                }
            }
        }
        let mut out = String::new();
        walk(&parse(text), &mut out);
        out
    }

    #[test]
    fn a_timestamp_past_what_javascript_holds_is_text() {
        for text in [
            "<t:-9223372036854775808>",
            "<t:9223372036854775807:R>",
            "<t:-8640000000001>",
        ] {
            assert_eq!(html(text), text, "{text}");
        }
        assert_eq!(html("<t:-8640000000000:R>"), "[t -8640000000000 R]");
    }

    #[test]
    fn bold_inside_italic_is_one_em_with_a_strong_inside() {
        assert_eq!(html("*a **b** c*"), "<i>a <b>b</b> c</i>");
    }

    #[test]
    fn underscores_inside_a_word_stay_text() {
        assert_eq!(html("snake_case_name"), "snake_case_name");
        assert_eq!(html("a _b_ c"), "a <i>b</i> c");
    }

    #[test]
    fn a_link_in_angle_brackets_loses_them() {
        assert_eq!(
            html("see <https://example.com/a>."),
            "see <a href=https://example.com/a>https://example.com/a</a>."
        );
    }

    #[test]
    fn styles_span_line_breaks() {
        for (text, want) in [
            ("**a\nb**", "<b>a\nb</b>"),
            ("*a\nb*", "<i>a\nb</i>"),
            ("__a\nb__", "<u>a\nb</u>"),
            ("~~a\nb~~", "<s>a\nb</s>"),
            ("||a\nb||", "<sp>a\nb</sp>"),
        ] {
            assert_eq!(html(text), want, "{text:?}");
        }
    }

    #[test]
    fn subtext_is_a_small_line() {
        assert_eq!(
            html("-# small print\nnext"),
            "<small>small print</small>next"
        );
    }

    #[test]
    fn any_file_size_the_bridge_accepts_is_written() {
        assert_eq!(file_size(980), "980 B");
        assert_eq!(file_size(123_456), "123.5 KB");
        assert_eq!(file_size(999_999), "1000.0 KB");
        assert_eq!(file_size(3_449_999), "3.4 MB");
        assert_eq!(file_size(u64::MAX), "18446744073709.6 MB");
    }

    /// Messages of Discord's markup pieces with letters between (the browser
    /// render of `tests/tests/hostile.rs` draws its cases the same way).
    fn hostile() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            prop::sample::select(PIECES).prop_map(str::to_owned),
            "[a-z ]{1,6}",
        ];
        prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        /// Any text: no panic, and what shows is the text without (some of)
        /// its markup, never anything that was not there.
        #[test]
        fn the_text_shown_is_the_input_without_markup(text in hostile()) {
            let shown = text_of(&parse(&text));
            prop_assert!(subsequence(&shown, &text), "{shown:?} from {text:?}");
        }
    }
}
