//! Discord's edge cases, each as the events written out as compact markup:
//! `<b>` strong, `<i>` em, `<u>`, `<s>`, `<sp>` spoiler, `<q>` quote,
//! `<h1>`–`<h3>`, `<small>` subtext, `<ul>`/`<ol>`/`<li>`, `<a href=…>`,
//! `<code>`, `<pre lang>`, and `[@id]` `[@&id]` `[#id]` `[:emoji:]`
//! `[t unix style]` for tokens.

use super::*;
use proptest::prelude::*;

/// The events of `text` as compact markup.
fn html(text: &str) -> String {
    let mut out = String::new();
    let mut open = Vec::new();
    for event in parse(text) {
        match event {
            Event::Open(Tag::Link(href)) => {
                out.push_str(&format!("<a href={href}>"));
                open.push("a");
            }
            Event::Open(Tag::List(Some(start))) => {
                out.push_str(&format!("<ol {start}>"));
                open.push("ol");
            }
            Event::Open(tag) => {
                let name = match tag {
                    Tag::Strong => "b",
                    Tag::Em => "i",
                    Tag::Underline => "u",
                    Tag::Strike => "s",
                    Tag::Spoiler(false) => "sp",
                    Tag::Spoiler(true) => "SP",
                    Tag::Quote => "q",
                    Tag::Heading(level) => ["h1", "h2", "h3"][usize::from(level) - 1],
                    Tag::Subtext => "small",
                    Tag::List(_) => "ul",
                    Tag::Item | Tag::Link(_) => "li",
                };
                out.push_str(&format!("<{name}>"));
                open.push(name);
            }
            Event::Close => out.push_str(&format!("</{}>", open.pop().expect("an open tag"))),
            Event::Text(text) => out.push_str(text),
            Event::Code(code) => out.push_str(&format!("<code>{code}</code>")),
            Event::Block { lang, code } => out.push_str(&format!("<pre {lang}>{code}</pre>")),
            Event::Mention(Mention::User, id) => out.push_str(&format!("[@{id}]")),
            Event::Mention(Mention::Role, id) => out.push_str(&format!("[@&{id}]")),
            Event::Mention(Mention::Channel, id) => out.push_str(&format!("[#{id}]")),
            Event::Emoji(shown) => out.push_str(&format!("[{shown}]")),
            Event::Time(unix, style) => out.push_str(&format!("[t {unix} {}]", style as char)),
        }
    }
    assert!(open.is_empty(), "{text:?} left {open:?} open");
    out
}

/// The text each event of `events` shows, with whether it sits inside a
/// spoiler.
fn shown(events: &[Event]) -> Vec<(String, bool)> {
    let mut open: Vec<Tag> = Vec::new();
    let mut out = Vec::new();
    for event in events {
        let hidden = open.iter().any(|t| matches!(t, Tag::Spoiler(_)));
        match event {
            Event::Open(tag) => open.push(*tag),
            Event::Close => {
                open.pop();
            }
            Event::Text(t) | Event::Code(t) | Event::Emoji(t) => out.push((t.to_string(), hidden)),
            Event::Block { code, .. } => out.push((code.to_string(), hidden)),
            Event::Mention(..) | Event::Time(..) => out.push(("(token)".into(), hidden)),
        }
    }
    out
}

/// Whether `secret` shows anywhere in `text` outside a spoiler.
fn in_the_clear(text: &str, secret: &str) -> bool {
    (shown(&parse(text)).iter()).any(|(t, hidden)| !hidden && t.contains(secret))
}

/// How many elements the events of `text` make (a code block is two).
fn elements(text: &str) -> usize {
    (parse(text).iter())
        .map(|e| match e {
            Event::Block { .. } | Event::Open(Tag::Spoiler(_)) => 2,
            Event::Open(_) | Event::Code(_) | Event::Mention(..) | Event::Time(..) => 1,
            _ => 0,
        })
        .sum()
}

#[test]
fn emphasis_as_discord_reads_it() {
    for (text, want) in [
        ("**bold**", "<b>bold</b>"),
        ("*it* _it_", "<i>it</i> <i>it</i>"),
        ("__u__ ~~s~~ ||sp||", "<u>u</u> <s>s</s> <sp>sp</sp>"),
        // `***` mixes italic and bold (the longer reading, italic on a tie).
        ("***both***", "<i><b>both</b></i>"),
        ("**bold *and* more**", "<b>bold <i>and</i> more</b>"),
        // Unclosed markers, and spaced asterisks, stay text.
        ("**open", "**open"),
        ("2 * 3 * 4", "2 * 3 * 4"),
        ("*a *", "*a *"),
        (r"\*not italic\*", "*not italic*"),
        (r"\_\~\|\`\<\\", r"_~|`<\"),
        (r"a\b", r"a\b"),
    ] {
        assert_eq!(html(text), want, "{text:?}");
    }
}

#[test]
fn bold_inside_italic_is_one_em_with_a_strong_inside() {
    assert_eq!(html("*a **b** c*"), "<i>a <b>b</b> c</i>");
    assert_eq!(html("_a **b** c_"), "<i>a <b>b</b> c</i>");
    assert_eq!(html("**a *b* c**"), "<b>a <i>b</i> c</b>");
}

#[test]
fn underscores_inside_a_word_stay_text() {
    assert_eq!(html("snake_case_name"), "snake_case_name");
    assert_eq!(html("a _b_ c"), "a <i>b</i> c");
    assert_eq!(html("_a_b"), "_a_b");
    assert_eq!(html("__init__"), "<u>init</u>");
}

#[test]
fn a_link_in_angle_brackets_loses_them() {
    assert_eq!(
        html("see <https://example.com/a>."),
        "see <a href=https://example.com/a>https://example.com/a</a>."
    );
    assert_eq!(html("<javascript:alert(1)>"), "<javascript:alert(1)>");
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
    assert_eq!(html("-#nospace"), "-#nospace");
    assert_eq!(html("a -# b"), "a -# b");
}

#[test]
fn code_keeps_its_markers() {
    for (text, want) in [
        ("`**x**`", "<code>**x**</code>"),
        ("``a ` b``", "<code>a ` b</code>"),
        // The longest opening run a later run closes.
        ("``a`", "<code>`a</code>"),
        ("``` never", "``` never"),
        (
            "see ```rust\nlet x = *y*;\n``` ok",
            "see <pre rust>let x = *y*;\n</pre> ok",
        ),
        ("```plain text```", "<pre >plain text</pre>"),
        // A fence with no language: its line break is no part of the code.
        ("```\nlet x;\n```", "<pre >let x;\n</pre>"),
    ] {
        assert_eq!(html(text), want, "{text:?}");
    }
}

#[test]
fn quotes_headers_and_lists() {
    for (text, want) in [
        ("> one\n> two\nafter", "<q>one\ntwo\n</q>after"),
        ("before\n>>> all\nof it", "before\n<q>all\nof it</q>"),
        ("## Title\ntext", "<h2>Title</h2>text"),
        ("#nospace", "#nospace"),
        ("#### four", "#### four"),
        (
            "- one\n* **two**\n1. first\n2. second\nafter",
            "<ul><li>one</li><li><b>two</b></li></ul><ol 1><li>first</li><li>second</li></ol>after",
        ),
        ("-not a list", "-not a list"),
        // Quotes do not nest.
        (">>> >>> > x", "<q>>>> > x</q>"),
        // `>>> ` quotes the rest, code blocks included.
        (">>> q\n```c```\nmore", "<q>q\n<pre >c</pre>\nmore</q>"),
    ] {
        assert_eq!(html(text), want, "{text:?}");
    }
}

#[test]
fn links_only_to_the_web_and_mail() {
    assert_eq!(
        html("[docs](https://example.com/a)"),
        "<a href=https://example.com/a>docs</a>"
    );
    assert_eq!(html("[x](javascript:alert(1))"), "[x](javascript:alert(1))");
    // No link inside a link's text.
    assert_eq!(
        html("[<mailto:a@b.example>](https://b.example)"),
        "<a href=https://b.example><mailto:a@b.example></a>"
    );
    // A spoiler in a link's text hides it (a click on it reveals, and
    // follows nothing); a link in a spoiler is one.
    assert_eq!(
        html("[||x||](https://a.example) ||[y](https://b.example)||"),
        "<a href=https://a.example><sp>x</sp></a> <sp><a href=https://b.example>y</a></sp>"
    );
    // Bare URLs, without the sentence's punctuation, with their own parentheses.
    let wiki = "https://en.wikipedia.org/wiki/Rust_(programming_language)";
    assert_eq!(
        html(&format!("see {wiki}.")),
        format!("see <a href={wiki}>{wiki}</a>.")
    );
    assert_eq!(
        html("(https://a.example/x)"),
        "(<a href=https://a.example/x>https://a.example/x</a>)"
    );
    assert_eq!(html("xhttps://a.example"), "xhttps://a.example");
    assert_eq!(html("javascript:alert(1)"), "javascript:alert(1)");
    assert!(allowed("mailto:a@b.example") && !allowed("data:text/html,x"));
    assert!(!allowed("https://a.example/\tx") && !allowed("https://"));
}

#[test]
fn discords_tokens() {
    assert_eq!(
        html("<@80351110224678912> <@!1> <@&2> <#3>"),
        "[@80351110224678912] [@1] [@&2] [#3]"
    );
    assert_eq!(
        html("<:blobwave:123> <a:party:456>"),
        "[:blobwave:] [:party:]"
    );
    assert_eq!(
        html("<t:1767225600:R> <t:1767225600>"),
        "[t 1767225600 R] [t 1767225600 f]"
    );
    // Malformed tokens are text; a token in code stays code.
    for text in [
        "<@abc>",
        "<t:1:X>",
        "<t:99999999999999999>",
        "<:bad name:1>",
        "<@>",
        "<a:x>",
    ] {
        assert_eq!(html(text), text, "{text}");
    }
    assert_eq!(html("`<@1>`"), "<code><@1></code>");
}

#[test]
fn a_timestamp_past_what_javascript_holds_is_text() {
    for text in [
        "<t:-9223372036854775808>",
        "<t:9223372036854775807:R>",
        "<t:-8640000000001>",
        "<t:99999999999999999999999:R>",
        "<t:->",
    ] {
        assert_eq!(html(text), text, "{text}");
    }
    assert_eq!(html("<t:-8640000000000:R>"), "[t -8640000000000 R]");
    assert_eq!(html("<t:8640000000000>"), "[t 8640000000000 f]");
}

#[test]
fn tokens_past_the_cap_are_text() {
    let flood = "<t:0:R>".repeat(MAX_TOKENS + 3);
    let events = parse(&flood);
    let times = events
        .iter()
        .filter(|e| matches!(e, Event::Time(..)))
        .count();
    assert_eq!(times, MAX_TOKENS);
    assert_eq!(text_of(&events), "<t:0:R>".repeat(3));
}

#[test]
fn any_file_size_the_bridge_accepts_is_written() {
    assert_eq!(file_size(980), "980 B");
    assert_eq!(file_size(123_456), "123.5 KB");
    assert_eq!(file_size(999_949), "999.9 KB");
    assert_eq!(file_size(999_950), "1.0 MB");
    assert_eq!(file_size(999_999), "1.0 MB");
    assert_eq!(file_size(3_449_999), "3.4 MB");
    assert_eq!(file_size(u64::MAX), "18446744073709.6 MB");
}

// What a spoiler hides stays hidden, whatever it spans (a stranger's
// reading found each of these shown in the clear).

#[test]
fn a_spoiler_over_a_code_block_stays_hidden() {
    for text in [
        "||```the answer is 42```||",
        "||```rust\nlet answer = 42;\n```||",
        "before ||a ```42``` b|| after",
    ] {
        assert!(!in_the_clear(text, "42"), "{text:?}: {:?}", parse(text));
    }
    // A spoiler that holds blocks is a block itself.
    assert_eq!(
        html("||```the answer is 42```||"),
        "<SP><pre >the answer is 42</pre></SP>"
    );
    // A code block's own bars are code, not a spoiler.
    assert_eq!(html("```a || b```||c||"), "<pre >a || b</pre><sp>c</sp>");
}

#[test]
fn a_spoiler_over_quote_list_header_or_subtext_lines_stays_hidden() {
    for text in [
        "||the killer is\n> the butler||",
        "||the killer is\n- the butler||",
        "||the killer is\n# the butler||",
        "||the killer is\n-# the butler||",
        "||the killer is\n>>> the butler||",
        "> ||the killer is\n> the butler||",
        "- ||the killer is\nthe butler||",
    ] {
        assert!(!in_the_clear(text, "butler"), "{text:?}: {:?}", parse(text));
    }
    assert_eq!(
        html("||the killer is\n> the butler|| indeed"),
        "<SP>the killer is\n<q>the butler</q></SP> indeed"
    );
    // Across plain lines it stays inline, as before.
    assert_eq!(html("a ||b\nc|| d"), "a <sp>b\nc</sp> d");
}

#[test]
fn a_spoiler_in_a_links_text_stays_hidden() {
    let text = "[||the butler||](https://example.com/ending)";
    assert!(!in_the_clear(text, "butler"), "{:?}", parse(text));
}

/// `x` as deep as styles nest (`MAX_DEPTH`: found by a search).
fn deepest(x: &str) -> String {
    let outer = "~~~~~~~~~~~~~~*****____~~_";
    let inner: String = outer.chars().rev().collect();
    format!("{outer}{x}{inner}")
}

#[test]
fn a_spoiler_past_the_nesting_limit_stays_hidden() {
    assert_eq!(depth(&parse(&deepest("x"))), MAX_DEPTH);
    let text = deepest("||the butler||");
    assert!(!in_the_clear(&text, "butler"), "{}", html(&text));
}

#[test]
fn a_message_makes_a_bounded_number_of_elements_and_hides_what_is_past_them() {
    // 800 spoilers: at most MAX_ELEMENTS elements, and every `a` hidden.
    let flood = "||a||".repeat(800);
    assert!(elements(&flood) <= MAX_ELEMENTS, "{}", elements(&flood));
    assert!(!in_the_clear(&flood, "a"));
    // Past the cap, markup is text; a spoiler still hides.
    let styled = format!("{} ||the butler|| **x**", "*a* ".repeat(300));
    assert!(elements(&styled) <= MAX_ELEMENTS);
    assert!(!in_the_clear(&styled, "butler"));
    let plain = "*a* ".repeat(300);
    let events = parse(&plain);
    assert!(elements(&plain) <= MAX_ELEMENTS);
    assert!(
        text_of(&events).ends_with("*a* *a* "),
        "{:?}",
        text_of(&events)
    );
    // Lines, links and code blocks count too.
    for piece in [
        "> q\nx\n",
        "- i\nx\n",
        "[l](https://a.example) ",
        "```c```x",
        "`c` ",
    ] {
        let text = piece.repeat(4_000 / piece.len());
        assert!(
            elements(&text) <= MAX_ELEMENTS,
            "{piece:?}: {}",
            elements(&text)
        );
    }
}

#[test]
fn a_numbered_list_keeps_its_first_number() {
    assert_eq!(
        html("2020. What a year"),
        "<ol 2020><li>What a year</li></ol>"
    );
    assert_eq!(
        html("3. third\n7. fourth"),
        "<ol 3><li>third</li><li>fourth</li></ol>"
    );
}

#[test]
fn a_masked_links_address_keeps_its_parentheses() {
    let wiki = "https://en.wikipedia.org/wiki/Rust_(programming_language)";
    assert_eq!(
        html(&format!("[Rust]({wiki}) ok")),
        format!("<a href={wiki}>Rust</a> ok")
    );
    // One level, as Discord reads it; the first `)` outside closes.
    assert_eq!(
        html("([a](https://a.example/b)) x)"),
        "(<a href=https://a.example/b>a</a>) x)"
    );
    // Openers by the hundred are still one search each.
    let many = "[a](https://a.example/(".repeat(150);
    assert_eq!(text_of(&parse(&many)), many);
}

#[test]
fn a_masked_link_cannot_pose_as_another_address() {
    // Its label holds an address: not a masked link; each address is a
    // link that reads as where it goes.
    let text = "[https://bank.example/login](https://evil.example/login)";
    for event in parse(text) {
        if let Event::Open(Tag::Link(href)) = event {
            assert!(href.starts_with("https://bank.example/login"), "{href}");
        }
    }
    assert_eq!(
        html("[log in at https://bank.example](https://evil.example)"),
        "[log in at <a href=https://bank.example](https://evil.example)>https://bank.example](https://evil.example)</a>"
    );
    // Any other label stays a masked link (the view shows its address as
    // a tooltip).
    assert_eq!(
        html("[bank.example](https://evil.example)"),
        "<a href=https://evil.example>bank.example</a>"
    );
}

#[test]
fn a_masked_links_text_cannot_be_turned_around_into_an_address() {
    // An override in the label turns it around on screen, inside the link:
    // "\u{202e}moc.knab//:sptth" reads "https://bank.com" and opens
    // evil.example. Such a label is no masked link (its address is then
    // linked as itself).
    for label in [
        "\u{202e}moc.knab//:sptth",
        "\u{2067}a\u{2069}",
        "a\u{200f}",
        "\u{61c}a",
    ] {
        let text = format!("[{label}](https://evil.example)");
        let shown = html(&text);
        assert!(
            !shown.contains(&format!(">{label}</a>")),
            "{text:?}: {shown}"
        );
    }
    // Other punctuation of that block is words (dashes, quotes).
    assert_eq!(
        html("[a \u{2014} \u{201c}b\u{201d}](https://a.example)"),
        "<a href=https://a.example>a \u{2014} \u{201c}b\u{201d}</a>"
    );
}

#[test]
fn a_link_never_holds_a_bidi_control() {
    for href in [
        "https://evil.example/\u{202e}moc.knab",
        "https://a.example/\u{2066}x",
        "https://a.example/\u{202a}x",
    ] {
        assert!(!allowed(href), "{href:?}");
        assert_eq!(html(href), href);
    }
    assert!(allowed("https://ja.wikipedia.org/wiki/日本"));
}

#[test]
fn the_events_nest_no_deeper_than_max_nesting() {
    // The deepest there is: a quote of the rest, a list item, every style,
    // a link, and a spoiler in its text.
    let text = format!(">>> - {}", deepest("[||x||](https://a.example)"));
    assert_eq!(depth(&parse(&text)), MAX_NESTING, "{}", html(&text));
}

#[test]
fn backtick_runs_cost_one_pass() {
    // `\``: to the inline rules, an escaped backtick and an opening one that
    // nothing closes; to a code span's search, a run of two. Each opener
    // once searched all the text after it.
    let scanned = |size: usize| {
        let text = "\\``a".repeat(size / 4);
        inline::SCANNED.with(|s| s.set(0));
        let _ = parse(&text);
        inline::SCANNED.with(|s| s.get())
    };
    let (small, large) = (scanned(4_000), scanned(16_000));
    println!("steps of code span searches: {small} (4 KB), {large} (16 KB)");
    assert!(large <= 4 * 16_000, "{large} steps for 16 KB");
}

#[test]
fn a_reply_line_keeps_spoilers_hidden_even_cut_short() {
    for (text, secret) in [
        ("the ending: ||the butler did it||", "butler"),
        // Cut where the bridge cut it: an unclosed spoiler hides the rest.
        ("the ending: ||the butler did …", "butler"),
        ("||```secret```|| and [||x||](https://a.example)", "secret"),
        ("a\n> ||the butler\n- did it …", "butler"),
    ] {
        let events = preview(text);
        let clear = (shown(&events).into_iter()).any(|(t, hidden)| !hidden && t.contains(secret));
        assert!(!clear, "{text:?}: {events:?}");
    }
    // Bars in code, or closed, are no cut; whole messages are not cut.
    assert_eq!(preview("`a||b` ok"), parse("`a||b` ok"));
    assert_eq!(preview("||a|| b"), parse("||a|| b"));
    assert!(in_the_clear("a || b", "b"));
    assert_eq!(html("a || b"), "a || b");
}

#[test]
fn a_reply_line_cut_inside_a_spoiler_hides_what_is_past_the_element_cap() {
    // The cap stops the parse inside the unclosed spoiler: the rest, which
    // holds no `||` of its own, was shown as text in the clear.
    let text = format!("||{}", "*secret* ".repeat(120));
    let events = preview(&text);
    let clear: Vec<_> = (shown(&events).into_iter())
        .filter(|(t, hidden)| !hidden && t.contains("secret"))
        .collect();
    assert!(clear.is_empty(), "shown in the clear: {clear:?}");
}

/// How deep the events nest.
fn depth(events: &[Event]) -> usize {
    let (mut now, mut most) = (0usize, 0);
    for event in events {
        match event {
            Event::Open(_) => {
                now += 1;
                most = most.max(now);
            }
            Event::Close => now -= 1,
            _ => {}
        }
    }
    most
}

#[test]
fn four_thousand_markers_are_quick_and_shallow() {
    let marks = [
        "*", "_", "~", "|", "`", "[", "<", "\\", "\n> ", "- ", "~~_", "*a **", "_a __", "[a](",
        "<@1", "`a", "*\n", "a*b*",
    ];
    for mark in marks {
        let text = mark.repeat(4_000 / mark.len());
        let events = parse(&text);
        assert!(depth(&events) <= MAX_NESTING, "{mark:?}");
        // Every marker either shows or is one of a pair.
        let markup: usize = (events.iter())
            .map(|e| match e {
                Event::Open(Tag::Em) => 2,
                Event::Open(Tag::Strong | Tag::Underline | Tag::Strike | Tag::Spoiler(_)) => 4,
                _ => 0,
            })
            .sum();
        // (Past the cap, the rest is text, the closing markers of what was
        // open then included.)
        let shown = text_of(&events);
        let capped = elements(&text) + 4 > MAX_ELEMENTS;
        assert!(capped || shown.len() + markup <= text.len(), "{mark:?}");
        assert!(subsequence(&shown, &text), "{mark:?}");
    }
    assert!(depth(&parse(&"*a ".repeat(100))) <= MAX_DEPTH + 1);
    let nested = format!("{}x{}", "**".repeat(50), "**".repeat(50));
    assert!(depth(&parse(&nested)) <= MAX_DEPTH + 1);
}

/// Whether `small` is `big` with some characters left out.
fn subsequence(small: &str, big: &str) -> bool {
    let mut big = big.chars();
    small.chars().all(|c| big.any(|b| b == c))
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
    /// Any text: no panic; the events nest properly and boundedly; links go
    /// only to the web and mail; times are within what a date holds; and
    /// what shows is the text without (some of) its markup, never anything
    /// that was not there.
    #[test]
    fn the_text_shown_is_the_input_without_markup(text in hostile()) {
        let events = parse(&text);
        let mut open = 0usize;
        for event in &events {
            match event {
                Event::Open(tag) => {
                    open += 1;
                    if let Tag::Link(href) = tag {
                        prop_assert!(allowed(href), "a link to {href:?}");
                    }
                }
                Event::Close => open = open.checked_sub(1).expect("a close with nothing open"),
                Event::Time(unix, _) => prop_assert!(unix.unsigned_abs() <= MAX_UNIX as u64),
                _ => {}
            }
        }
        prop_assert_eq!(open, 0);
        prop_assert!(depth(&events) <= MAX_NESTING);
        prop_assert!(elements(&text) <= MAX_ELEMENTS);
        let shown = text_of(&events);
        prop_assert!(subsequence(&shown, &text), "{shown:?} from {text:?}");
    }

    /// A message that is one spoiler shows nothing outside it, whatever it
    /// holds (its bars are the only ones).
    #[test]
    fn a_message_that_is_one_spoiler_shows_nothing(text in hostile()) {
        let text = format!("||a{}||", text.replace('|', ""));
        let events = parse(&text);
        let clear: Vec<_> = (shown(&events).into_iter()).filter(|(t, hidden)| !hidden && !t.is_empty()).collect();
        prop_assert!(clear.is_empty(), "{text:?} shows {clear:?}: {events:?}");
    }
}

/// Found by the fuzzer (`format`, CI of 2026-12-07): a reply's line cut
/// inside a spoiler hides the rest as one spoiler around its blocks, and a
/// spoiler inside that made one level more than [`MAX_NESTING`] (14).
#[test]
fn a_reply_line_cut_in_a_spoiler_nests_no_spoiler_inside_it() {
    let text = "||``````\n>>> - ~~*****____~~_[||x||](http://mp)_~~____*****~~```";
    let events = preview(text);
    assert!(depth(&events) <= MAX_NESTING, "{}", depth(&events));
    assert!(depth(&parse(text)) <= MAX_NESTING);
}
